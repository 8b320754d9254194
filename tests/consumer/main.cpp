// Consumes the installed kplug package: includes the umbrella header and
// checks the version macros it was built against.
#include <kplug/kplug.hpp>

#include <cstdio>

int main() {
  static_assert(kplug::version_major == KPLUG_VERSION_MAJOR);
  std::printf("kplug %d.%d.%d found\n", kplug::version_major, kplug::version_minor, kplug::version_patch);
  return 0;
}
