// Shared by the fuzz targets: the one rule of what counts as a finding, and
// the fuzzer's bytes as a file for readers that take a path.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "kplug/core/error.hpp"

namespace kplug_fuzz {

// Runs `fn`; a kplug::error is the expected refusal of bad input. Anything
// else escapes, and libFuzzer reports it as a crash (uncaught exception).
template <class Fn>
void expect_accept_or_refuse(Fn&& fn) {
  try {
    fn();
  } catch (const kplug::error&) {
  }
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) noexcept {
  return {reinterpret_cast<const char*>(data), size};
}

// Writes the input to one file per process (in $TMPDIR, else /tmp) and
// returns its path; rewritten on every call.
inline const std::string& input_file(const std::uint8_t* data, std::size_t size, std::string_view suffix) {
  static const std::string path = [&] {
    const char* dir = std::getenv("TMPDIR");
    return std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") + "/kplug-fuzz-" +
           std::to_string(::getpid()) + std::string(suffix);
  }();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr || (size != 0 && std::fwrite(data, 1, size, f) != size) || std::fclose(f) != 0) std::abort();
  return path;
}

// Consumes bytes from the front of the input (0 once it is exhausted), for
// targets that build structured arguments.
class byte_reader {
 public:
  byte_reader(const std::uint8_t* data, std::size_t size) noexcept : data_(data), size_(size) {}
  bool empty() const noexcept { return size_ == 0; }
  std::uint8_t byte() noexcept {
    if (size_ == 0) return 0;
    --size_;
    return *data_++;
  }
  template <class Int>
  Int integer() noexcept {
    Int v = 0;
    for (std::size_t i = 0; i < sizeof(Int); ++i) v = static_cast<Int>(v | static_cast<Int>(byte()) << (8 * i));
    return v;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
};

}  // namespace kplug_fuzz
