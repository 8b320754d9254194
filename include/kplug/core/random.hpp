// A small, fully specified random number generator for initialisation and
// dropout. std:: distributions are implementation-defined (libstdc++ and
// libc++ give different numbers for the same engine), so kplug draws its own:
// xoshiro256** (Blackman & Vigna) seeded through splitmix64, with explicit
// integer -> floating-point conversions. Same seed, same numbers, everywhere.
#pragma once

#include <cmath>
#include <cstdint>

namespace kplug {

inline std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

class xoshiro256 {
 public:
  explicit xoshiro256(std::uint64_t seed) noexcept {
    std::uint64_t sm = seed;
    for (auto& w : s_) w = splitmix64(sm);  // never all zero: splitmix64 is a bijection of distinct inputs
  }

  std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform on [0, 1) with 53 random bits: exact in double.
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Uniform on (0, 1]: never 0, for logarithms.
  double uniform_open0() noexcept { return (static_cast<double>(next() >> 11) + 1.0) * 0x1.0p-53; }

  // Standard normal by Marsaglia's polar method. The logarithm is kplug's own
  // (log_double below, + - * / only) rather than libm's, whose last bits
  // differ between C libraries; sqrt is correctly rounded by IEEE 754.
  double normal() noexcept;

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
  bool has_spare_ = false;
  double spare_ = 0.0;
};

// Natural logarithm of x > 0 (finite) from + - * / and frexp only:
// x = m 2^e with m in [sqrt(1/2), sqrt(2)), ln m = 2 atanh(z), z = (m-1)/(m+1),
// |z| <= 0.1716, series to z^41 (error far below double's epsilon).
inline double log_double(double x) noexcept {
  int e = 0;
  double m = std::frexp(x, &e);  // m in [0.5, 1)
  if (m < 0.70710678118654752440) {
    m *= 2.0;
    --e;
  }
  const double z = (m - 1.0) / (m + 1.0);
  const double z2 = z * z;
  double term = z;
  double sum = 0.0;
  for (int k = 1; k <= 41; k += 2) {
    sum += term / static_cast<double>(k);
    term *= z2;
  }
  return 2.0 * sum + static_cast<double>(e) * 0.69314718055994530942;
}

inline double xoshiro256::normal() noexcept {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u = 0.0, v = 0.0, s = 0.0;
  do {
    u = 2.0 * uniform() - 1.0;
    v = 2.0 * uniform() - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  const double f = std::sqrt(-2.0 * log_double(s) / s);
  spare_ = v * f;
  has_spare_ = true;
  return u * f;
}

}  // namespace kplug
