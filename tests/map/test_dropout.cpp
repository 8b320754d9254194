#include "kplug/map/dropout.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "map/map_test_support.hpp"

namespace {

using kplug::index_t;
using kplug::matrix;
using kplug::matrix_view;
using kplug::map::input_dropout;
using namespace kplug_test;

TEST(InputDropout, ZeroProbabilityIsTheIdentity) {
  input_dropout d(0.0f, 1);
  const matrix<float> x = random_matrix(4, 5, 1);
  matrix<float> y(4, 5);
  d.forward(x, y);
  for (index_t r = 0; r < 4; ++r)
    for (index_t c = 0; c < 5; ++c) EXPECT_EQ(y(r, c), x(r, c));
}

TEST(InputDropout, EvaluationModeIsTheIdentityAndPassesGradients) {
  input_dropout d(0.5f, 1);
  d.set_training(false);
  const matrix<float> x = random_matrix(4, 5, 2), g = random_matrix(4, 5, 3);
  matrix<float> y(4, 5), gx(4, 5);
  d.forward(x, y);
  d.backward(g, gx);
  for (index_t r = 0; r < 4; ++r)
    for (index_t c = 0; c < 5; ++c) {
      EXPECT_EQ(y(r, c), x(r, c));
      EXPECT_EQ(gx(r, c), g(r, c));
    }
}

TEST(InputDropout, KeptEntriesAreScaledAndTheDropRateIsP) {
  const float p = 0.3f;
  input_dropout d(p, 7);
  const matrix<float> x = random_matrix(200, 100, 4, 0.5f, 1.0f);  // never 0, so 0 means dropped
  matrix<float> y(200, 100);
  d.forward(x, y);
  std::size_t dropped = 0;
  for (index_t r = 0; r < 200; ++r)
    for (index_t c = 0; c < 100; ++c) {
      if (y(r, c) == 0.0f) {
        ++dropped;
        EXPECT_EQ(d.mask()[static_cast<std::size_t>(r * 100 + c)], 0);
      } else {
        EXPECT_FLOAT_EQ(y(r, c), x(r, c) / (1.0f - p));
      }
    }
  // Binomial(20000, 0.3): sd = 64.8; allow 5 sd.
  EXPECT_NEAR(static_cast<double>(dropped), 6000.0, 5 * 64.8);
}

TEST(InputDropout, BackwardAppliesTheSameMaskAndScale) {
  const float p = 0.5f;
  input_dropout d(p, 9);
  const matrix<float> x = random_matrix(10, 10, 5, 0.5f, 1.0f), g = random_matrix(10, 10, 6);
  matrix<float> y(10, 10), gx(10, 10);
  d.forward(x, y);
  d.backward(g, gx);
  for (index_t r = 0; r < 10; ++r)
    for (index_t c = 0; c < 10; ++c) EXPECT_FLOAT_EQ(gx(r, c), y(r, c) == 0.0f ? 0.0f : 2.0f * g(r, c));
}

TEST(InputDropout, SameSeedSameMasksOtherSeedOtherMasks) {
  input_dropout a(0.5f, 3), b(0.5f, 3), c(0.5f, 4);
  const matrix<float> x(8, 8, 1.0f);
  matrix<float> ya(8, 8), yb(8, 8), yc(8, 8);
  a.forward(x, ya);
  b.forward(x, yb);
  c.forward(x, yc);
  EXPECT_EQ(a.mask(), b.mask());
  EXPECT_NE(a.mask(), c.mask());
  a.forward(x, ya);  // a fresh mask on every call
  EXPECT_NE(a.mask(), b.mask());
}

TEST(InputDropout, InPlaceForward) {
  input_dropout d(0.25f, 11);
  matrix<float> x(5, 5, 3.0f);
  d.forward(x.view(), x.view());
  for (index_t r = 0; r < 5; ++r)
    for (index_t c = 0; c < 5; ++c) EXPECT_TRUE(x(r, c) == 0.0f || x(r, c) == 4.0f);
}

// --- bad input ----------------------------------------------------------------

TEST(InputDropout, RejectsProbabilityOutsideZeroOne) {
  KPLUG_EXPECT_ERROR(input_dropout(1.0f), "p", "[0, 1)");
  KPLUG_EXPECT_ERROR(input_dropout(-0.1f), "p");
  KPLUG_EXPECT_ERROR(input_dropout(std::numeric_limits<float>::quiet_NaN()), "p");
}

TEST(InputDropout, BackwardBeforeForwardIsAnError) {
  const input_dropout d(0.1f);
  const matrix<float> g(2, 2);
  matrix<float> gx(2, 2);
  KPLUG_EXPECT_ERROR(d.backward(g, gx), "no forward pass");
}

TEST(InputDropout, RejectsShapeMismatches) {
  input_dropout d(0.1f);
  const matrix<float> x(2, 3);
  matrix<float> y_bad(3, 2), y(2, 3);
  KPLUG_EXPECT_ERROR(d.forward(x, y_bad), "y", "expected a 2 x 3");
  d.forward(x, y);
  const matrix<float> g_bad(2, 4), g(2, 3);
  matrix<float> gx(2, 3), gx_bad(1, 3);
  KPLUG_EXPECT_ERROR(d.backward(g_bad, gx), "grad_y");
  KPLUG_EXPECT_ERROR(d.backward(g, gx_bad), "grad_x");
}

TEST(InputDropout, RejectsPartiallyOverlappingOutput) {
  input_dropout d(0.1f);
  matrix<float> buf(4, 2);
  KPLUG_EXPECT_ERROR(d.forward(matrix_view<const float>(buf.data(), 3, 2), matrix_view<float>(buf.data() + 2, 3, 2)),
                     "shares memory");
}

}  // namespace
