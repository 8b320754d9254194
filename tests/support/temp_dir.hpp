// A fresh directory under ::testing::TempDir(), removed with its contents
// when the test ends, plus small file helpers; shared by the test programs.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <iterator>
#include <stdexcept>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace kplug_test {

class temp_dir {
 public:
  temp_dir() {
    std::string pattern = ::testing::TempDir() + "kplug-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + pattern);
    path_ = buf.data();
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }

  const std::string& path() const noexcept { return path_; }
  std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }

  // Writes `bytes` verbatim to `name` and returns the full path.
  std::string write(std::string_view name, std::string_view bytes) const {
    const std::string p = file(name);
    std::ofstream out(p, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + p);
    return p;
  }

 private:
  std::string path_;
};

inline std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace kplug_test

// Expects `statement` to throw kplug::error whose message contains every one
// of the given substrings.
#define KPLUG_EXPECT_ERROR(statement, ...)                                                         \
  do {                                                                                             \
    bool kplug_threw_ = false;                                                                     \
    try {                                                                                          \
      statement;                                                                                   \
    } catch (const kplug::error& e) {                                                              \
      kplug_threw_ = true;                                                                         \
      for (const std::string& kplug_part_ : std::initializer_list<std::string>{__VA_ARGS__})      \
        EXPECT_NE(std::string(e.what()).find(kplug_part_), std::string::npos)                      \
            << "message: " << e.what() << "\n  lacks: " << kplug_part_;                            \
    }                                                                                              \
    EXPECT_TRUE(kplug_threw_) << #statement " did not throw kplug::error";                          \
  } while (false)
