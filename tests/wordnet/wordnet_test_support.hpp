// Temporary WordNet directories for the wordnet tests.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <unistd.h>

namespace kplug_test {

// A fresh directory under the system temp dir, removed when destroyed.
class temp_dir {
 public:
  temp_dir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("kplug-wordnet-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  std::string str() const { return path_.string(); }
  std::string file(std::string_view name) const { return (path_ / std::string(name)).string(); }
  void write(std::string_view name, std::string_view content) const {
    std::ofstream out(file(name), std::ios::binary);
    out << content;
  }

 private:
  std::filesystem::path path_;
};

inline const char* real_wordnet_dir() { return "/usr/share/wordnet"; }

inline bool have_real_wordnet() {
  return std::filesystem::exists(std::string(real_wordnet_dir()) + "/data.noun") &&
         std::filesystem::exists(std::string(real_wordnet_dir()) + "/data.verb") &&
         std::filesystem::exists(std::string(real_wordnet_dir()) + "/index.sense");
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace kplug_test

#define KPLUG_REQUIRE_REAL_WORDNET()                                                                 \
  do {                                                                                               \
    if (!kplug_test::have_real_wordnet())                                                            \
      GTEST_SKIP() << "WordNet 3.0 is not in /usr/share/wordnet (apt-get install wordnet-base "      \
                      "wordnet-sense-index)";                                                        \
  } while (0)
