// Consumes the installed kplug package: includes the umbrella header and
// checks the version macros it was built against, and that XXH64 (xxhash.h,
// found by the package config) gives its published value.
#include <kplug/kplug.hpp>

#include <cstdio>

int main() {
  static_assert(kplug::version_major == KPLUG_VERSION_MAJOR);
  if (kplug::xxh64("abc") != 0x44BC2CF5AD770999ULL) {
    std::printf("xxh64(\"abc\") is wrong\n");
    return 1;
  }
  std::printf("kplug %d.%d.%d found\n", kplug::version_major, kplug::version_minor, kplug::version_patch);
  return 0;
}
