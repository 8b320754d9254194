// Output files written while the input streams through: rows appended batch
// by batch, so memory stays at one batch whatever the input size. Each file
// is written under a temporary name (PATH.kplug-tmp) and renamed into place
// by finish(): a run that fails half-way never leaves a valid-looking but
// partial file, and the previous run's files stay until the new ones are complete.
#pragma once

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <kplug/core/error.hpp>
#include <kplug/core/matrix_view.hpp>
#include <kplug/io/npy.hpp>
#include <limits>
#include <memory>
#include <string>
#include <string_view>

namespace kplug::cli {

// A file written to PATH.kplug-tmp and renamed to PATH by commit().
class staged_file {
 public:
  explicit staged_file(std::string path) : path_(std::move(path)), tmp_(path_ + ".kplug-tmp") {
    file_.reset(std::fopen(tmp_.c_str(), "wb"));
    if (!file_) fail("cannot create " + tmp_);
  }
  staged_file(const staged_file&) = delete;
  staged_file& operator=(const staged_file&) = delete;
  ~staged_file() {
    if (committed_) return;
    file_.reset();
    std::remove(tmp_.c_str());
  }

  const std::string& path() const noexcept { return path_; }

  void write(const void* data, std::size_t bytes) {
    if (bytes != 0 && std::fwrite(data, 1, bytes, file_.get()) != bytes) fail("write failed");
  }
  void write(std::string_view text) { write(text.data(), text.size()); }
  // Overwrites bytes at `offset` (after which writing continues at the end).
  void overwrite(std::size_t offset, std::string_view bytes) {
    if (std::fseek(file_.get(), static_cast<long>(offset), SEEK_SET) != 0) fail("seek failed");
    write(bytes);
    if (std::fseek(file_.get(), 0, SEEK_END) != 0) fail("seek failed");
  }
  void commit() {
    if (std::fclose(file_.release()) != 0) fail("close failed");
    if (std::rename(tmp_.c_str(), path_.c_str()) != 0) fail("cannot rename " + tmp_ + " to it");
    committed_ = true;
  }

 private:
  struct closer {
    void operator()(std::FILE* f) const noexcept {
      if (f != nullptr) std::fclose(f);
    }
  };
  [[noreturn]] void fail(const std::string& why) const {
    throw error("write output file", at_file(path_), why + ": " + std::strerror(errno));
  }

  std::string path_;
  std::string tmp_;
  std::unique_ptr<std::FILE, closer> file_;
  bool committed_ = false;
};

// A float32 .npy matrix of `cols` columns whose row count is known only at
// the end: the header is reserved for the largest count and rewritten by
// finish() with the real one (same length: numpy pads headers with spaces).
class npy_row_writer {
 public:
  npy_row_writer(std::string path, index_t cols)
      : file_(std::move(path)),
        cols_(cols),
        header_size_(io::npy_header_bytes(io::npy_dtype::float32, {largest_rows, cols}).size()) {
    file_.write(std::string(header_size_, ' '));
  }

  index_t rows() const noexcept { return rows_; }

  void append(matrix_view<const float> m) {
    require_shape(m, m.rows(), cols_, "append rows to .npy output", file_.path().c_str());
    for (index_t r = 0; r < m.rows(); ++r)
      file_.write(m.row(r).data(), static_cast<std::size_t>(cols_) * sizeof(float));
    rows_ += m.rows();
  }

  void finish() {
    file_.overwrite(0, header_for(rows_));
    file_.commit();
  }

 private:
  static constexpr index_t largest_rows = std::numeric_limits<index_t>::max();

  // The header of a rows x cols float32 array, padded to the reserved size.
  std::string header_for(index_t rows) const {
    std::string h = io::npy_header_bytes(io::npy_dtype::float32, {rows, cols_});
    // Fewer digits can only make it shorter; pad the dict (before its final
    // '\n') and fix the version 1.0 header length, a u16 at byte 8.
    if (h.size() < header_size_) {
      h.insert(h.size() - 1, header_size_ - h.size(), ' ');
      const std::size_t length = h.size() - 10;
      h[8] = static_cast<char>(length & 0xff);
      h[9] = static_cast<char>(length >> 8);
    }
    return h;
  }

  staged_file file_;
  index_t cols_;
  std::size_t header_size_;
  index_t rows_ = 0;
};

}  // namespace kplug::cli
