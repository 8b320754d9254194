// Running a test body at each instruction set the CPU supports
// (kplug::cpu), restoring the level that was active before.
#pragma once

#include <kplug/core/cpu_features.hpp>
#include <vector>

namespace kplug_test {

// Every level up to what this CPU supports, lowest first.
inline std::vector<kplug::cpu::isa> available_isas() {
  std::vector<kplug::cpu::isa> levels;
  for (const auto level : {kplug::cpu::isa::portable, kplug::cpu::isa::avx2, kplug::cpu::isa::avx512})
    if (level <= kplug::cpu::detected_isa()) levels.push_back(level);
  return levels;
}

class isa_guard {
 public:
  isa_guard() : saved_(kplug::cpu::active_isa()) {}
  ~isa_guard() { kplug::cpu::set_active_isa(saved_); }
  isa_guard(const isa_guard&) = delete;
  isa_guard& operator=(const isa_guard&) = delete;

 private:
  kplug::cpu::isa saved_;
};

}  // namespace kplug_test
