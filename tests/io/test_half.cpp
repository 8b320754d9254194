// binary16 <-> binary32: hand-derived bit patterns, an exhaustive round trip,
// and float -> half checked against a reference that picks the nearest half
// by value from a table of all halves (no bit tricks shared with the code).
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "kplug/detail/half.hpp"

namespace {

using kplug::detail::float_to_half;
using kplug::detail::half_to_float;

bool half_is_nan(std::uint16_t h) { return (h & 0x7c00u) == 0x7c00u && (h & 0x03ffu) != 0; }

// The value of a half from the definition: (-1)^s * 2^(e-15) * (1 + m/1024),
// or 2^-14 * m/1024 for e == 0.
double half_value_by_definition(std::uint16_t h) {
  const int s = h >> 15, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  const double mag = e == 0 ? std::ldexp(m, -24) : std::ldexp(1.0 + m / 1024.0, e - 15);
  return s ? -mag : mag;
}

static_assert(half_to_float(0x3c00) == 1.0f);
static_assert(float_to_half(1.0f) == 0x3c00);

TEST(Half, HandDerivedHalfToFloat) {
  EXPECT_EQ(half_to_float(0x3c00), 1.0f);
  EXPECT_EQ(half_to_float(0xc000), -2.0f);
  EXPECT_EQ(half_to_float(0x7bff), 65504.0f);
  EXPECT_EQ(half_to_float(0x0400), std::ldexp(1.0f, -14));  // smallest normal
  EXPECT_EQ(half_to_float(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(half_to_float(0x03ff), std::ldexp(1023.0f, -24));
  EXPECT_EQ(half_to_float(0x3555), 0.333251953125f);  // 2^-2 * (1 + 341/1024)
  EXPECT_EQ(half_to_float(0x0000), 0.0f);
  EXPECT_FALSE(std::signbit(half_to_float(0x0000)));
  EXPECT_EQ(half_to_float(0x8000), 0.0f);
  EXPECT_TRUE(std::signbit(half_to_float(0x8000)));
  EXPECT_EQ(half_to_float(0x7c00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(half_to_float(0xfc00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(half_to_float(0x7e00)));
  EXPECT_TRUE(std::isnan(half_to_float(0x7c01)));  // signalling NaN, payload 1
  EXPECT_TRUE(std::isnan(half_to_float(0xffff)));
  // The payload sits in the top mantissa bits of the float.
  EXPECT_EQ(std::bit_cast<std::uint32_t>(half_to_float(0x7c01)), 0x7f802000u);
}

TEST(Half, HandDerivedFloatToHalf) {
  EXPECT_EQ(float_to_half(1.0f), 0x3c00);
  EXPECT_EQ(float_to_half(-2.0f), 0xc000);
  EXPECT_EQ(float_to_half(65504.0f), 0x7bff);
  EXPECT_EQ(float_to_half(65519.0f), 0x7bff);  // below the midpoint 65520
  EXPECT_EQ(float_to_half(65520.0f), 0x7c00);  // tie between 65504 (odd) and 2^16 (inf): even wins
  EXPECT_EQ(float_to_half(1e9f), 0x7c00);
  EXPECT_EQ(float_to_half(-1e9f), 0xfc00);
  EXPECT_EQ(float_to_half(-std::numeric_limits<float>::infinity()), 0xfc00);
  EXPECT_EQ(float_to_half(-0.0f), 0x8000);
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -25)), 0x0000);  // tie 0 / 2^-24: even (0)
  EXPECT_EQ(float_to_half(std::nextafter(std::ldexp(1.0f, -25), 1.0f)), 0x0001);
  EXPECT_EQ(float_to_half(std::ldexp(3.0f, -25)), 0x0002);     // 1.5 units: tie 1/2 -> 2
  EXPECT_EQ(float_to_half(std::ldexp(5.0f, -25)), 0x0002);     // 2.5 units: tie 2/3 -> 2
  EXPECT_EQ(float_to_half(std::ldexp(2047.0f, -25)), 0x0400);  // 1023.5 units -> smallest normal
  EXPECT_EQ(float_to_half(1.0f + std::ldexp(1.0f, -11)), 0x3c00);         // tie -> even 0x3c00
  EXPECT_EQ(float_to_half(1.0f + std::ldexp(3.0f, -11)), 0x3c02);         // tie -> even 0x3c02
  EXPECT_EQ(float_to_half(std::numeric_limits<float>::denorm_min()), 0x0000);
  EXPECT_TRUE(half_is_nan(float_to_half(std::numeric_limits<float>::quiet_NaN())));
  // A NaN whose payload lives only in bits the half drops must stay a NaN, not become inf.
  EXPECT_TRUE(half_is_nan(float_to_half(std::bit_cast<float>(0x7f800001u))));
  EXPECT_TRUE(half_is_nan(float_to_half(std::bit_cast<float>(0xff800001u))));
}

TEST(Half, HalfToFloatMatchesDefinitionForEveryPattern) {
  for (std::uint32_t i = 0; i < 65536; ++i) {
    const auto h = static_cast<std::uint16_t>(i);
    const float f = half_to_float(h);
    if ((h & 0x7c00u) == 0x7c00u) {
      EXPECT_EQ(std::isnan(f), (h & 0x3ffu) != 0) << std::hex << h;
      EXPECT_EQ(std::signbit(f), (h & 0x8000u) != 0) << std::hex << h;
      continue;
    }
    ASSERT_EQ(static_cast<double>(f), half_value_by_definition(h)) << std::hex << h;
    ASSERT_EQ(std::signbit(f), (h & 0x8000u) != 0) << std::hex << h;
  }
}

TEST(Half, ExhaustiveRoundTripHalfFloatHalf) {
  for (std::uint32_t i = 0; i < 65536; ++i) {
    const auto h = static_cast<std::uint16_t>(i);
    const std::uint16_t back = float_to_half(half_to_float(h));
    if (half_is_nan(h)) {
      ASSERT_TRUE(half_is_nan(back)) << std::hex << h;
      EXPECT_EQ(back, h) << "NaN payload and sign are kept, " << std::hex << h;
    } else {
      ASSERT_EQ(back, h) << std::hex << h;
    }
  }
}

// Reference float -> half: the nearest finite half by value (ties to the even
// mantissa), or inf at or beyond 65520 (the midpoint between 65504 and 2^16).
class nearest_half_reference {
 public:
  nearest_half_reference() {
    for (std::uint16_t h = 0; h < 0x7c00; ++h) values_.push_back(half_value_by_definition(h));
  }
  std::uint16_t operator()(float f) const {
    const double x = std::fabs(static_cast<double>(f));
    const std::uint16_t sign = std::signbit(f) ? 0x8000 : 0;
    if (x >= 65520.0) return static_cast<std::uint16_t>(sign | 0x7c00);
    const auto it = std::lower_bound(values_.begin(), values_.end(), x);
    auto hi = static_cast<std::uint16_t>(it - values_.begin());
    if (hi == values_.size() || values_[hi] != x) {
      const auto lo = static_cast<std::uint16_t>(hi - 1);
      if (hi == values_.size()) return static_cast<std::uint16_t>(sign | lo);
      const double dlo = x - values_[lo], dhi = values_[hi] - x;
      if (dlo < dhi || (dlo == dhi && (lo & 1) == 0)) hi = lo;
    }
    return static_cast<std::uint16_t>(sign | hi);
  }
  const std::vector<double>& values() const { return values_; }

 private:
  std::vector<double> values_;  // all non-negative finite halves, ascending
};

TEST(Half, FloatToHalfMatchesNearestReference) {
  const nearest_half_reference ref;
  std::size_t checked = 0;
  // Every exact midpoint between neighbouring halves (all the ties) and its
  // float neighbours on both sides, for both signs.
  for (std::size_t i = 0; i + 1 < ref.values().size(); ++i) {
    const auto mid = static_cast<float>((ref.values()[i] + ref.values()[i + 1]) / 2);
    ASSERT_EQ(static_cast<double>(mid), (ref.values()[i] + ref.values()[i + 1]) / 2);  // exact in float
    for (const float f : {mid, std::nextafter(mid, 0.0f), std::nextafter(mid, 1e30f), -mid}) {
      ASSERT_EQ(float_to_half(f), ref(f)) << f;
      ++checked;
    }
  }
  // A stride through all finite float bit patterns.
  for (std::uint64_t bits = 0; bits < 0x7f800000u; bits += 997) {
    const float f = std::bit_cast<float>(static_cast<std::uint32_t>(bits));
    ASSERT_EQ(float_to_half(f), ref(f)) << std::hex << bits;
    ASSERT_EQ(float_to_half(-f), ref(-f)) << std::hex << bits;
    checked += 2;
  }
  EXPECT_GT(checked, 4'000'000u);
}

TEST(Half, RowFunctionsAgreeWithScalar) {
  std::vector<std::uint16_t> halves(65536);
  for (std::uint32_t i = 0; i < 65536; ++i) halves[i] = static_cast<std::uint16_t>(i);
  // An odd length exercises the vector body and the scalar tail.
  const std::size_t n = halves.size() - 3;
  std::vector<float> fast(n), portable(n);
  kplug::detail::half_to_float_row(halves.data(), fast.data(), n);
  kplug::detail::half_to_float_row_portable(halves.data(), portable.data(), n);
  for (std::size_t i = 0; i < n; ++i) {
    if (half_is_nan(halves[i])) {
      ASSERT_TRUE(std::isnan(fast[i]) && std::isnan(portable[i])) << i;
    } else {
      ASSERT_EQ(std::bit_cast<std::uint32_t>(fast[i]), std::bit_cast<std::uint32_t>(portable[i])) << i;
    }
  }

  std::mt19937 rng(7);
  std::vector<float> floats;
  for (int i = 0; i < 200000; ++i) floats.push_back(std::bit_cast<float>(static_cast<std::uint32_t>(rng())));
  for (int i = 0; i < 100000; ++i) floats.push_back(std::uniform_real_distribution<float>(-70000.f, 70000.f)(rng));
  floats.push_back(std::ldexp(1.0f, -25));
  floats.push_back(65520.0f);
  std::vector<std::uint16_t> hf(floats.size()), hp(floats.size());
  kplug::detail::float_to_half_row(floats.data(), hf.data(), floats.size());
  kplug::detail::float_to_half_row_portable(floats.data(), hp.data(), floats.size());
  for (std::size_t i = 0; i < floats.size(); ++i) {
    if (std::isnan(floats[i])) {
      ASSERT_TRUE(half_is_nan(hf[i]) && half_is_nan(hp[i])) << i;
    } else {
      ASSERT_EQ(hf[i], hp[i]) << floats[i];
    }
  }
  RecordProperty("f16c", kplug::detail::half_rows_use_f16c() ? "yes" : "no");
}

}  // namespace
