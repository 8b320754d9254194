// One malformed input of a parameterised test: a name for the test's label,
// the file's text and the parts the error message must contain; shared by
// the test programs.
#pragma once

#include <ostream>
#include <vector>

namespace kplug_test {

struct bad_text {
  const char* name;
  const char* text;
  std::vector<const char*> parts;
};
inline void PrintTo(const bad_text& t, std::ostream* os) { *os << t.name; }

}  // namespace kplug_test
