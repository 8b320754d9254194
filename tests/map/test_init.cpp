#include "kplug/map/init.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "kplug/map/affine.hpp"
#include "kplug/core/random.hpp"
#include "kplug/map/mlp.hpp"
#include "map/map_test_support.hpp"

namespace {

using kplug::index_t;
using kplug::matrix;
using kplug::matrix_view;
using namespace kplug_test;
namespace km = kplug::map;

struct moments {
  double mean = 0, var = 0, kurtosis = 0, max_abs = 0;
};
moments moments_of(const matrix<float>& w) {
  const double n = static_cast<double>(w.rows() * w.cols());
  moments m;
  for (index_t r = 0; r < w.rows(); ++r)
    for (float v : w.row(r)) m.mean += v;
  m.mean /= n;
  double m4 = 0;
  for (index_t r = 0; r < w.rows(); ++r)
    for (float v : w.row(r)) {
      const double d = v - m.mean;
      m.var += d * d;
      m4 += d * d * d * d;
      m.max_abs = std::max(m.max_abs, std::abs(static_cast<double>(v)));
    }
  m.var /= n;
  m.kurtosis = (m4 / n) / (m.var * m.var);
  return m;
}

// Tolerances below: N = 131,072 draws. Relative standard error of the sample
// variance is sqrt((kurtosis - 1) / N): 0.25% (uniform), 0.39% (normal); the
// tests allow 2% (> 5 sigma). The mean's standard error is sigma / sqrt(N).
TEST(XavierInit, UniformStaysWithinTheBoundAndHasTheRightVariance) {
  matrix<float> w(256, 512);
  km::xavier_uniform(w, 42);
  const double a = std::sqrt(6.0 / (256 + 512));  // fan_in 512 (cols), fan_out 256 (rows)
  const moments m = moments_of(w);
  EXPECT_LE(m.max_abs, a);
  EXPECT_GT(m.max_abs, 0.999 * a);  // the bound is reached, not a narrower range
  EXPECT_NEAR(m.var, a * a / 3.0, 0.02 * a * a / 3.0);
  EXPECT_NEAR(m.mean, 0.0, 5.0 * std::sqrt(a * a / 3.0 / 131072.0));
  EXPECT_NEAR(m.kurtosis, 1.8, 0.05);  // flat, as a uniform distribution is
}

TEST(XavierInit, GainScalesTheBound) {
  matrix<float> w(64, 32);
  km::xavier_uniform(w, 7, 2.0f);
  const double a = 2.0 * std::sqrt(6.0 / 96.0);
  const moments m = moments_of(w);
  EXPECT_LE(m.max_abs, a);
  EXPECT_GT(m.max_abs, 0.95 * a);
}

TEST(XavierInit, NormalHasTheRightSpreadAndShape) {
  matrix<float> w(512, 256);
  km::xavier_normal(w, 43);
  const double s = std::sqrt(2.0 / (256 + 512));
  const moments m = moments_of(w);
  EXPECT_NEAR(m.var, s * s, 0.02 * s * s);
  EXPECT_NEAR(m.mean, 0.0, 5.0 * s / std::sqrt(131072.0));
  EXPECT_NEAR(m.kurtosis, 3.0, 0.1);  // standard error sqrt(24 / N) = 0.014
  std::size_t within1 = 0, within2 = 0;
  for (index_t r = 0; r < w.rows(); ++r)
    for (float v : w.row(r)) {
      within1 += std::abs(v) < s;
      within2 += std::abs(v) < 2 * s;
    }
  EXPECT_NEAR(static_cast<double>(within1) / 131072.0, 0.682689, 0.006);
  EXPECT_NEAR(static_cast<double>(within2) / 131072.0, 0.954500, 0.004);
}

TEST(XavierInit, SameSeedSameValuesOtherSeedOtherValues) {
  matrix<float> a(8, 8), b(8, 8), c(8, 8);
  km::xavier_uniform(a, 5);
  km::xavier_uniform(b, 5);
  km::xavier_uniform(c, 6);
  int same = 0;
  for (index_t r = 0; r < 8; ++r)
    for (index_t k = 0; k < 8; ++k) {
      EXPECT_EQ(a(r, k), b(r, k));
      same += a(r, k) == c(r, k);
    }
  EXPECT_LT(same, 2);
}

TEST(XavierInit, SplitMix64MatchesPublishedSequence) {
  // Reference sequence for seed 1234567 (Rosetta Code, "Pseudo-random numbers/Splitmix64").
  std::uint64_t state = 1234567;
  const std::uint64_t want[] = {6457827717110365317ull, 3203168211198807973ull, 9817491932198370423ull,
                                4593380528125082431ull, 16408922859458223821ull};
  for (std::uint64_t w : want) EXPECT_EQ(kplug::splitmix64(state), w);
}

TEST(XavierInit, OwnLogarithmAgreesWithLibm) {
  // The normal generator's log avoids libm for portability; check it against libm.
  kplug::xoshiro256 rng(9);
  for (int i = 0; i < 20000; ++i) {
    const double x = rng.uniform_open0() * (i % 2 ? 1.0 : 1e-6);
    const double want = std::log(x);
    EXPECT_NEAR(kplug::log_double(x), want, 4e-16 * std::max(1.0, std::abs(want))) << x;
  }
  EXPECT_NEAR(kplug::log_double(1.0), 0.0, 1e-300);
  EXPECT_NEAR(kplug::log_double(2.0), 0.69314718055994530942, 2e-16);
}

TEST(XavierInit, FillZeros) {
  matrix<float> w = random_matrix(3, 4, 1);
  km::fill_zeros(w);
  for (index_t r = 0; r < 3; ++r)
    for (float v : w.row(r)) EXPECT_EQ(v, 0.0f);
}

TEST(XavierInit, InitializeMapperDrawsWeightsAndZeroesBiases) {
  km::mlp_mapper m(8, 16, 4);
  for (const auto& p : m.parameters()) km::fill_zeros(p.value);
  copy_into(m.bias1(), random_matrix(1, 16, 3));  // must be reset to zero
  km::initialize(m, km::init_scheme::xavier_uniform, 77);
  const auto p = m.parameters();
  const double a1 = std::sqrt(6.0 / (16 + 8)), a2 = std::sqrt(6.0 / (4 + 16));
  int nonzero = 0;
  for (index_t r = 0; r < 16; ++r)
    for (float v : p[0].value.row(r)) {
      EXPECT_LE(std::abs(v), a1);
      nonzero += v != 0.0f;
    }
  EXPECT_GT(nonzero, 120);
  for (index_t r = 0; r < 4; ++r)
    for (float v : p[2].value.row(r)) EXPECT_LE(std::abs(v), a2);
  for (float v : p[1].value.row(0)) EXPECT_EQ(v, 0.0f);
  for (float v : p[3].value.row(0)) EXPECT_EQ(v, 0.0f);
  // Same seed, same weights; the two layers use different streams.
  km::mlp_mapper m2(8, 16, 4);
  km::initialize(m2, km::init_scheme::xavier_uniform, 77);
  EXPECT_EQ(m2.weight1()(3, 5), m.weight1()(3, 5));
  EXPECT_NE(m.weight1()(0, 0) / a1, m.weight2()(0, 0) / a2);
  km::initialize(m2, km::init_scheme::zeros, 77);
  EXPECT_EQ(m2.weight1()(3, 5), 0.0f);
}

TEST(XavierInit, InitSchemeNamesRoundTrip) {
  for (auto s : {km::init_scheme::zeros, km::init_scheme::xavier_uniform, km::init_scheme::xavier_normal})
    EXPECT_EQ(km::parse_init_scheme(km::init_scheme_name(s)), s);
}

// --- bad input ----------------------------------------------------------------

TEST(XavierInit, RejectsEmptyTarget) {
  matrix<float> w(0, 3);
  KPLUG_EXPECT_ERROR(km::xavier_uniform(w, 1), "Xavier uniform", "empty");
  KPLUG_EXPECT_ERROR(km::xavier_normal(w, 1), "Xavier normal", "empty");
}

TEST(XavierInit, RejectsBadGain) {
  matrix<float> w(2, 2);
  KPLUG_EXPECT_ERROR(km::xavier_uniform(w, 1, 0.0f), "gain");
  KPLUG_EXPECT_ERROR(km::xavier_normal(w, 1, std::numeric_limits<float>::quiet_NaN()), "gain");
  km::affine_mapper m(2, 2);
  KPLUG_EXPECT_ERROR(km::initialize(m, km::init_scheme::xavier_uniform, 1, -1.0f), "gain");
}

TEST(XavierInit, ParseInitSchemeRejectsUnknownName) {
  KPLUG_EXPECT_ERROR(km::parse_init_scheme("kaiming"), "'kaiming'", "unknown scheme");
}

}  // namespace
