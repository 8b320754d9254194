// IEEE 754 binary16 ("half", numpy '<f2') <-> binary32 conversion, exact and
// independent of the compiler's _Float16 support or the FPU's rounding /
// flush-to-zero modes (integer arithmetic plus one exact float subtraction).
//
// - half_to_float: exact for every pattern (subnormals, +-0, +-inf; a NaN keeps
//   its sign and payload, so half -> float -> half is the identity on all 65536
//   patterns, NaNs included).
// - float_to_half: round to nearest, ties to even; overflow gives +-inf;
//   NaN keeps its top 10 payload bits (forced non-zero so it stays a NaN).
// - half_to_float_row / float_to_half_row: the same over a row. On x86-64 with
//   F16C (checked at run time, whatever the compile flags) they use
//   vcvtph2ps / vcvtps2ph, which agree bit for bit with the scalar functions
//   except that they may quiet a signalling NaN (it stays a NaN).
//
// Why not Eigen::half (Eigen 3.4, arch/Default/Half.h), though Eigen is a
// dependency: its conversions are chosen when compiling. Without -mf16c (the
// default build, which runs anywhere) they are scalar bit code: half -> float
// is the same exact algorithm as half_to_float here, but float -> half turns
// every NaN into 0x7e00 (payload lost) and rounds subnormals by a float
// addition, which follows the FPU's rounding mode; and Eigen's packet casts
// then convert element by element, without the run-time F16C dispatch of the
// row functions. With -mf16c (KPLUG_MARCH_NATIVE) its scalar half -> float
// is F16C's _cvtsh_ss, which quiets signalling NaNs, so half -> float -> half
// would no longer be the identity. Neither is constexpr. The bf16 widening
// (io/safetensors.hpp) is one exact shift, as in Eigen::bfloat16. So nothing
// here is replaced.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
#define KPLUG_DETAIL_HAVE_F16C_DISPATCH 1
#else
#define KPLUG_DETAIL_HAVE_F16C_DISPATCH 0
#endif

namespace kplug::detail {

constexpr float half_to_float(std::uint16_t h) noexcept;
constexpr std::uint16_t float_to_half(float f) noexcept;

// `src` and `dst` may be unaligned; they must not overlap.
void half_to_float_row(const std::uint16_t* src, float* dst, std::size_t n) noexcept;
void float_to_half_row(const float* src, std::uint16_t* dst, std::size_t n) noexcept;

// The portable loops, always available (tests compare them with the dispatched ones).
void half_to_float_row_portable(const std::uint16_t* src, float* dst, std::size_t n) noexcept;
void float_to_half_row_portable(const float* src, std::uint16_t* dst, std::size_t n) noexcept;

// True where the row functions use the F16C instructions.
bool half_rows_use_f16c() noexcept;

// ---------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------

constexpr float half_to_float(std::uint16_t h) noexcept {
  // Move exponent and mantissa into float position, then re-bias the exponent
  // (127 - 15 = 112). Inf/NaN get the maximal exponent; subnormals are
  // normalised by an exact subtraction of 2^-14 (they become float normals).
  constexpr std::uint32_t shifted_exp = 0x7c00u << 13;
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  std::uint32_t bits = static_cast<std::uint32_t>(h & 0x7fffu) << 13;
  const std::uint32_t exp = bits & shifted_exp;
  bits += (127u - 15u) << 23;
  if (exp == shifted_exp) {
    bits += (128u - 16u) << 23;  // inf / NaN: exponent 255, payload kept
  } else if (exp == 0) {
    bits += 1u << 23;  // value = 2^-14 * (1 + m/1024); subtract 2^-14 to get m * 2^-24
    bits = std::bit_cast<std::uint32_t>(std::bit_cast<float>(bits) - std::bit_cast<float>(113u << 23));
  }
  return std::bit_cast<float>(bits | sign);
}

constexpr std::uint16_t float_to_half(float f) noexcept {
  std::uint32_t bits = std::bit_cast<std::uint32_t>(f);
  const auto sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000u);
  bits &= 0x7fffffffu;
  std::uint16_t out = 0;
  if (bits >= 0x7f800000u) {
    // inf stays inf; a NaN keeps its top payload bits, never collapsing to inf.
    const auto payload = static_cast<std::uint16_t>((bits & 0x007fffffu) >> 13);
    out = static_cast<std::uint16_t>(0x7c00u | (bits > 0x7f800000u && payload == 0 ? 0x0200u : payload));
  } else if (bits >= ((127u + 16u) << 23)) {
    out = 0x7c00u;  // |f| >= 65536: beyond the largest half even after rounding
  } else if (bits < (113u << 23)) {
    // Result is subnormal or zero. Integer rounding: the half's unit is 2^-24.
    // m24 = |f| / 2^-24 with 24-bit significand; shift right with RNE.
    const std::uint32_t exp = bits >> 23;
    if (exp < 102u) {
      out = 0;  // |f| < 2^-25: rounds to zero (2^-25 exactly ties to even 0)
    } else {
      const std::uint32_t mant = (bits & 0x007fffffu) | 0x00800000u;
      const std::uint32_t shift = 126u - exp;  // exp 112 -> 14 ... exp 102 -> 24
      const std::uint32_t q = mant >> shift;
      const std::uint32_t rem = mant & ((1u << shift) - 1u);
      const std::uint32_t half_ulp = 1u << (shift - 1u);
      const std::uint32_t rounded = q + ((rem > half_ulp || (rem == half_ulp && (q & 1u))) ? 1u : 0u);
      out = static_cast<std::uint16_t>(rounded);  // may carry into the smallest normal: correct
    }
  } else {
    // Normal result: re-bias and round the 13 dropped mantissa bits to nearest even.
    // A carry out of the mantissa bumps the exponent, up to inf: both correct.
    const std::uint32_t odd = (bits >> 13) & 1u;
    bits += (static_cast<std::uint32_t>(15 - 127) << 23) + 0xfffu + odd;
    out = static_cast<std::uint16_t>(bits >> 13);
  }
  return static_cast<std::uint16_t>(out | sign);
}

inline void half_to_float_row_portable(const std::uint16_t* src, float* dst, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    std::uint16_t h;
    std::memcpy(&h, src + i, sizeof h);
    dst[i] = half_to_float(h);
  }
}

inline void float_to_half_row_portable(const float* src, std::uint16_t* dst, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) dst[i] = float_to_half(src[i]);
}

#if KPLUG_DETAIL_HAVE_F16C_DISPATCH
namespace f16c {

__attribute__((target("avx,f16c"))) inline void half_to_float_row(const std::uint16_t* src, float* dst,
                                                                  std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
  }
  half_to_float_row_portable(src + i, dst + i, n - i);
}

__attribute__((target("avx,f16c"))) inline void float_to_half_row(const float* src, std::uint16_t* dst,
                                                                  std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), h);
  }
  float_to_half_row_portable(src + i, dst + i, n - i);
}

// CPUID leaf 1: ECX bit 27 OSXSAVE, 28 AVX, 29 F16C; and the OS must save
// the YMM state (XCR0 bits 1 and 2). Plain cpuid because not every compiler's
// __builtin_cpu_supports knows "f16c".
inline bool detect() noexcept {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid(1, &a, &b, &c, &d) == 0) return false;
  constexpr unsigned needed = (1u << 27) | (1u << 28) | (1u << 29);
  if ((c & needed) != needed) return false;
  unsigned xcr0_lo = 0, xcr0_hi = 0;
  __asm__("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  const unsigned long long xcr0 = (static_cast<unsigned long long>(xcr0_hi) << 32) | xcr0_lo;
  return (xcr0 & 0x6u) == 0x6u;
}

inline bool available() noexcept {
  static const bool yes = detect();  // thread-safe, evaluated once
  return yes;
}

}  // namespace f16c
#endif

inline bool half_rows_use_f16c() noexcept {
#if KPLUG_DETAIL_HAVE_F16C_DISPATCH
  return f16c::available();
#else
  return false;
#endif
}

inline void half_to_float_row(const std::uint16_t* src, float* dst, std::size_t n) noexcept {
#if KPLUG_DETAIL_HAVE_F16C_DISPATCH
  if (f16c::available()) return f16c::half_to_float_row(src, dst, n);
#endif
  half_to_float_row_portable(src, dst, n);
}

inline void float_to_half_row(const float* src, std::uint16_t* dst, std::size_t n) noexcept {
#if KPLUG_DETAIL_HAVE_F16C_DISPATCH
  if (f16c::available()) return f16c::float_to_half_row(src, dst, n);
#endif
  float_to_half_row_portable(src, dst, n);
}

}  // namespace kplug::detail
