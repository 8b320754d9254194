// The one way kplug writes a file: every writer (.npy, safetensors, plugin
// files, checkpoints, WordNet and TransE tables, the tool's outputs) goes
// through atomic_file, so each gives the same guarantee.
//
// The bytes go to a temporary file with a unique name in the target's
// directory (PATH.kplug-tmp-<pid>-<n>, created exclusively, so two writers of
// one path never share a temporary). commit() flushes it to disk (fsync),
// renames it over PATH and syncs the directory, so readers and a crash see
// either the old file or the complete new one, never a truncated one. Until
// commit() succeeds PATH is untouched; a failure at any step, or destroying
// the writer without commit(), removes the temporary. Every error is a
// kplug::error naming PATH and the operating system's reason.
//
// The temporary is created with mode 0666 less the umask, as fopen would
// (mkstemp's 0600 would make outputs unreadable to the group where they were
// readable before). A process killed mid-write leaves its temporary behind:
// nothing else can tell a stale one from a live writer's.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <concepts>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kplug/core/error.hpp"

namespace kplug::io {

class atomic_file {
 public:
  // Creates the temporary next to `path`; `what` names the operation in errors
  // ("write .npy file").
  explicit atomic_file(std::string path, std::string what = "write file");
  atomic_file(const atomic_file&) = delete;
  atomic_file& operator=(const atomic_file&) = delete;
  ~atomic_file();

  const std::string& path() const noexcept { return path_; }
  const std::string& temporary_path() const noexcept { return tmp_; }

  // Appends bytes (buffered; large pieces go straight to the file).
  void write(const void* data, std::size_t bytes);
  void write(std::string_view text) { write(text.data(), text.size()); }
  // Replaces bytes already written at `offset` (e.g. a header whose content is
  // known only at the end); appending continues at the end.
  void overwrite(std::uint64_t offset, std::string_view bytes);
  // fsync, rename over path(), fsync of the directory. Once only.
  void commit();

 private:
  static constexpr std::size_t buffer_bytes = std::size_t{1} << 20;

  void require_open() const;
  void flush();
  void put_at(const char* p, std::size_t n, std::uint64_t offset);
  [[noreturn]] void fail(const std::string& step, int err);
  void discard() noexcept;

  std::string path_;
  std::string what_;
  std::string tmp_;
  int fd_ = -1;
  std::uint64_t size_ = 0;  // bytes in the file, not counting the buffer
  std::vector<char> buffer_;
};

// Writes `content` to `path` through an atomic_file.
inline void write_file_atomically(const std::string& path, std::string_view content,
                                  std::string what = "write file");

// Writes what `produce(put)` emits, put(const void*, std::size_t) appending
// bytes, to `path` through an atomic_file. An exception from `produce` leaves
// `path` untouched and propagates.
template <class Produce>
  requires(!std::convertible_to<Produce, std::string_view>)
void write_file_atomically(const std::string& path, std::string what, Produce&& produce);

// ---------------------------------------------------------------------------
// Implementation

namespace detail {

inline std::string directory_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace detail

inline atomic_file::atomic_file(std::string path, std::string what)
    : path_(std::move(path)), what_(std::move(what)) {
  // pid + a process-wide counter is unique among live writers; O_EXCL makes a
  // clash with a stale temporary of a dead process (same pid reused) a retry.
  static std::atomic<std::uint64_t> counter{0};
  for (int attempt = 0; attempt < 100 && fd_ < 0; ++attempt) {
    tmp_ = path_ + ".kplug-tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1));
    fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ < 0 && errno != EEXIST) break;
  }
  if (fd_ < 0) {
    const int err = errno;
    tmp_.clear();  // nothing of ours to remove
    throw error(what_, at_file(path_), std::string("cannot create a temporary file next to it: ") + std::strerror(err));
  }
  buffer_.reserve(buffer_bytes);
}

inline atomic_file::~atomic_file() { discard(); }

inline void atomic_file::discard() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!tmp_.empty()) ::unlink(tmp_.c_str());
  tmp_.clear();
}

inline void atomic_file::fail(const std::string& step, int err) {
  discard();
  throw error(what_, at_file(path_), step + " failed: " + std::strerror(err));
}

inline void atomic_file::require_open() const {
  if (fd_ < 0) throw error(what_, at_file(path_), "the file was already committed, or abandoned after an error");
}

inline void atomic_file::put_at(const char* p, std::size_t n, std::uint64_t offset) {
  while (n > 0) {
    const ::ssize_t w = ::pwrite(fd_, p, std::min<std::size_t>(n, std::size_t{1} << 30), static_cast<::off_t>(offset));
    if (w < 0) {
      if (errno == EINTR) continue;
      fail("write", errno);
    }
    p += w;
    n -= static_cast<std::size_t>(w);
    offset += static_cast<std::uint64_t>(w);
  }
}

inline void atomic_file::flush() {
  if (buffer_.empty()) return;
  put_at(buffer_.data(), buffer_.size(), size_);
  size_ += buffer_.size();
  buffer_.clear();
}

inline void atomic_file::write(const void* data, std::size_t bytes) {
  require_open();
  const char* p = static_cast<const char*>(data);
  if (buffer_.size() + bytes <= buffer_bytes) {
    buffer_.insert(buffer_.end(), p, p + bytes);
    return;
  }
  flush();
  if (bytes < buffer_bytes) {
    buffer_.insert(buffer_.end(), p, p + bytes);
    return;
  }
  put_at(p, bytes, size_);
  size_ += bytes;
}

inline void atomic_file::overwrite(std::uint64_t offset, std::string_view bytes) {
  require_open();
  flush();
  if (offset > size_ || bytes.size() > size_ - offset)
    throw error(what_, at_file(path_),
                "overwriting bytes [" + std::to_string(offset) + ", " + std::to_string(offset + bytes.size()) +
                    ") of a file of " + std::to_string(size_) + " bytes");
  put_at(bytes.data(), bytes.size(), offset);
}

inline void atomic_file::commit() {
  require_open();
  flush();
  if (::fsync(fd_) != 0) fail("fsync", errno);
  const int closed = ::close(fd_);
  fd_ = -1;
  if (closed != 0) fail("close", errno);
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) fail("rename", errno);
  tmp_.clear();
  // Persist the rename itself. PATH already holds the complete new file, so a
  // file system that cannot sync a directory is not an error: throwing now
  // would report a failure for a write that took place.
  const int dir = ::open(detail::directory_of(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    (void)::fsync(dir);
    ::close(dir);
  }
}

inline void write_file_atomically(const std::string& path, std::string_view content, std::string what) {
  atomic_file f(path, std::move(what));
  f.write(content);
  f.commit();
}

template <class Produce>
  requires(!std::convertible_to<Produce, std::string_view>)
void write_file_atomically(const std::string& path, std::string what, Produce&& produce) {
  atomic_file f(path, std::move(what));
  const auto put = [&f](const void* data, std::size_t bytes) { f.write(data, bytes); };
  std::forward<Produce>(produce)(put);
  f.commit();
}

}  // namespace kplug::io
