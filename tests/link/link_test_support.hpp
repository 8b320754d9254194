// Helpers shared by the link tests: a temporary directory per process
// and files written into it.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>

#include "kplug/core/error.hpp"
#include "support/temp_dir.hpp"

namespace link_test {

// One directory for the whole test program, removed when it exits.
inline const std::string& temp_dir() {
  static const kplug_test::temp_dir dir;
  return dir.path();
}

inline std::string write_file(std::string_view name, std::string_view content) {
  const std::string path = temp_dir() + "/" + std::string(name);
  std::ofstream f(path, std::ios::binary);
  f.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!f) throw std::runtime_error("cannot write " + path);
  return path;
}

// prefix + decimal n (spelled out: GCC 12's -Wrestrict misfires on
// "literal" + std::to_string(n) at -O3).
inline std::string numbered(std::string_view prefix, long long n) {
  std::string s(prefix);
  s += std::to_string(n);
  return s;
}

// Runs `fn`, expects a kplug::error, and returns its message.
template <class Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const kplug::error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a kplug::error";
  return {};
}

}  // namespace link_test
