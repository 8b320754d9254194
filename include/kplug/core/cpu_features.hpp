// The instruction set kplug's kernels run on, chosen at run time.
//
// The encoder's kernels are compiled for several instruction sets in the same
// binary (function-level target attributes, whatever flags the including
// translation unit has) and one is chosen when it runs: the best the CPU and
// the operating system support, lowered on request. So a binary built for
// baseline x86-64 runs AVX2 or AVX-512 kernels where the CPU has them and
// never executes an instruction the CPU lacks.
//
// Lowering: the environment variable KPLUG_ISA (portable, avx2, avx512),
// read once, or set_active_isa() from code (tests force each path). Asking
// for more than the CPU supports is an error, not a crash later.
#pragma once

#include <atomic>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "kplug/core/enum_names.hpp"
#include "kplug/core/error.hpp"

namespace kplug::cpu {

// Ordered: each level includes the ones before it.
enum class isa : int {
  portable = 0,  // what the compiler's flags allow (SSE2 on baseline x86-64)
  avx2 = 1,      // AVX2 + FMA, 8-float vectors
  avx512 = 2,    // AVX-512F, 16-float vectors and 32 registers
};

std::string_view isa_name(isa level) noexcept;
std::optional<isa> parse_isa(std::string_view name) noexcept;
// The best level this CPU and OS support (cpuid and XGETBV, once).
isa detected_isa() noexcept;
// The level the kernels use now: detected_isa(), or KPLUG_ISA, or the last
// set_active_isa(). Throws kplug::error if KPLUG_ISA is not a level or asks
// for more than the CPU has.
isa active_isa();
// Makes every later kernel call run at `level`; throws kplug::error if the
// CPU lacks it. Not meant to be changed while kernels run on other threads
// (each call reads it once, so a change is safe, just not synchronised).
void set_active_isa(isa level);

// ---------------------------------------------------------------------------
// Implementation

namespace detail {
inline constexpr enum_names<isa, 3> isa_names{
    {{{isa::portable, "portable"}, {isa::avx2, "avx2"}, {isa::avx512, "avx512"}}}};
}  // namespace detail

inline std::string_view isa_name(isa level) noexcept { return detail::isa_names.name(level); }

inline std::optional<isa> parse_isa(std::string_view name) noexcept { return detail::isa_names.find(name); }

inline isa detected_isa() noexcept {
  static const isa level = [] {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    // GCC's and Clang's runtime check both OS support (XCR0) for the wider
    // registers, not only the cpuid bits.
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
      return isa::avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return isa::avx2;
#endif
    return isa::portable;
  }();
  return level;
}

namespace detail {

inline isa checked_level(isa wanted, const char* source) {
  if (wanted > detected_isa())
    throw error("choose the kernels' instruction set", source,
                std::string("asks for ") + std::string(isa_name(wanted)) + ", but this CPU supports only up to " +
                    std::string(isa_name(detected_isa())));
  return wanted;
}

inline isa level_from_environment() {
  const char* value = std::getenv("KPLUG_ISA");
  if (value == nullptr || *value == '\0') return detected_isa();
  const auto wanted = parse_isa(value);
  if (!wanted)
    throw error("choose the kernels' instruction set", "KPLUG_ISA",
                "is '" + std::string(value) + "'; expected " + isa_names.listing());
  return checked_level(*wanted, "KPLUG_ISA");
}

// -1: not chosen yet (the environment decides on first use).
inline std::atomic<int> chosen_level{-1};

}  // namespace detail

inline isa active_isa() {
  int level = detail::chosen_level.load(std::memory_order_relaxed);
  if (level < 0) {
    int fresh = static_cast<int>(detail::level_from_environment());
    // A concurrent set_active_isa wins over the environment.
    if (!detail::chosen_level.compare_exchange_strong(level, fresh, std::memory_order_relaxed)) return isa(level);
    level = fresh;
  }
  return isa(level);
}

inline void set_active_isa(isa level) {
  detail::chosen_level.store(static_cast<int>(detail::checked_level(level, "set_active_isa")),
                             std::memory_order_relaxed);
}

}  // namespace kplug::cpu
