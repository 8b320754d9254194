#include "kplug/map/identity.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "map/map_test_support.hpp"

namespace {

using kplug::index_t;
using kplug::matrix;
using kplug::matrix_view;
using kplug::map::identity_mapper;
using namespace kplug_test;

double row_norm(const matrix<float>& m, index_t r) {
  double s = 0.0;
  for (index_t c = 0; c < m.cols(); ++c) s += static_cast<double>(m(r, c)) * m(r, c);
  return std::sqrt(s);
}

TEST(IdentityMapper, ForwardCopiesRowsWithoutTargetNorm) {
  const identity_mapper m(3);
  const matrix<float> x = random_matrix(4, 3, 1);
  matrix<float> y(4, 3);
  m.forward(x, y);
  for (index_t r = 0; r < 4; ++r)
    for (index_t c = 0; c < 3; ++c) EXPECT_EQ(y(r, c), x(r, c));
  EXPECT_TRUE(m.parameters().empty());
  EXPECT_EQ(m.kind(), "identity");
}

TEST(IdentityMapper, ForwardRescalesEachRowToTheTargetNormKeepingDirection) {
  const identity_mapper m(2, 10.0f);
  matrix<float> x(3, 2);
  x(0, 0) = 3.0f, x(0, 1) = 4.0f;    // norm 5 -> (6, 8)
  x(1, 0) = 0.0f, x(1, 1) = -0.5f;   // norm 0.5 -> (0, -10)
  x(2, 0) = 0.0f, x(2, 1) = 0.0f;    // zero row stays zero
  matrix<float> y(3, 2);
  m.forward(x, y);
  EXPECT_FLOAT_EQ(y(0, 0), 6.0f);
  EXPECT_FLOAT_EQ(y(0, 1), 8.0f);
  EXPECT_FLOAT_EQ(y(1, 0), 0.0f);
  EXPECT_FLOAT_EQ(y(1, 1), -10.0f);
  EXPECT_EQ(y(2, 0), 0.0f);
  EXPECT_EQ(y(2, 1), 0.0f);
}

TEST(IdentityMapper, ForwardInPlace) {
  const identity_mapper m(5, 2.0f);
  matrix<float> x = random_matrix(3, 5, 2);
  m.forward(x.view(), x.view());
  for (index_t r = 0; r < 3; ++r) EXPECT_NEAR(row_norm(x, r), 2.0, 1e-6);
}

TEST(IdentityMapper, BackwardWithoutTargetNormPassesTheGradientThrough) {
  const identity_mapper m(3);
  const matrix<float> x = random_matrix(2, 3, 3), gy = random_matrix(2, 3, 4);
  matrix<float> gx(2, 3);
  m.backward(x, gy, gx);
  for (index_t r = 0; r < 2; ++r)
    for (index_t c = 0; c < 3; ++c) EXPECT_EQ(gx(r, c), gy(r, c));
}

// Finite differences in float, h = 1e-3 on inputs of size ~0.5..1: the
// rescaling t x / |x| is smooth away from 0, with second derivatives
// ~t/|x|^2 ~ 3 here, so truncation is ~h^2 * 3 ~ 3e-6; rounding of the loss
// (12 terms of size ~t = 1.5) is ~1e-6 / 2e-3 = 5e-4. Tolerance 2e-3 + 5e-3 |g|.
TEST(IdentityMapper, RescalingInputGradientsMatchFiniteDifferences) {
  const identity_mapper m(4, 1.5f);
  matrix<float> x = random_matrix(3, 4, 5, 0.2f, 1.0f);
  const matrix<float> gy = random_matrix(3, 4, 6);
  matrix<float> gx(3, 4);
  m.backward(x, gy, gx);
  auto loss = [&] {
    matrix<float> y(3, 4);
    m.forward(x, y);
    return weighted_sum(y, gy);
  };
  expect_gradient_matches(x.view(), gx.view(), loss, 1e-3f, 2e-3, 5e-3, "x");
  // The gradient is orthogonal to x (rescaling removes the radial component).
  for (index_t r = 0; r < 3; ++r) {
    double dot = 0.0;
    for (index_t c = 0; c < 4; ++c) dot += static_cast<double>(gx(r, c)) * x(r, c);
    EXPECT_NEAR(dot, 0.0, 1e-5);
  }
}

TEST(IdentityMapper, ZeroRowPassesNoGradient) {
  const identity_mapper m(2, 3.0f);
  const matrix<float> x(1, 2, 0.0f), gy(1, 2, 1.0f);
  matrix<float> gx(1, 2, 9.0f);
  m.backward(x, gy, gx);
  EXPECT_EQ(gx(0, 0), 0.0f);
  EXPECT_EQ(gx(0, 1), 0.0f);
}

TEST(IdentityMapper, MeanRowNormIsTheAverageL2Norm) {
  matrix<float> e(3, 2);
  e(0, 0) = 3.0f, e(0, 1) = 4.0f;  // 5
  e(1, 0) = 0.0f, e(1, 1) = 0.0f;  // 0
  e(2, 0) = 1.0f, e(2, 1) = 0.0f;  // 1
  EXPECT_FLOAT_EQ(kplug::map::mean_row_norm(e), 2.0f);
}

// --- bad input ----------------------------------------------------------------

TEST(IdentityMapper, MeanRowNormRejectsEmptyAndNonFinite) {
  KPLUG_EXPECT_ERROR(kplug::map::mean_row_norm(matrix<float>(0, 4)), "no rows");
  matrix<float> e(2, 2, 1.0f);
  e(1, 0) = std::numeric_limits<float>::quiet_NaN();
  KPLUG_EXPECT_ERROR(kplug::map::mean_row_norm(e), "row 1, column 0", "NaN");
}

TEST(IdentityMapper, ConstructorRejectsBadDimAndTargetNorm) {
  KPLUG_EXPECT_ERROR(identity_mapper(0), "dim");
  KPLUG_EXPECT_ERROR(identity_mapper(3, 0.0f), "target_norm");
  KPLUG_EXPECT_ERROR(identity_mapper(3, -1.0f), "target_norm");
  KPLUG_EXPECT_ERROR(identity_mapper(3, std::numeric_limits<float>::infinity()), "target_norm");
}

TEST(IdentityMapper, ForwardRejectsWrongShapes) {
  const identity_mapper m(3);
  const matrix<float> x(2, 4);
  matrix<float> y(2, 3);
  KPLUG_EXPECT_ERROR(m.forward(x, y), "identity mapper forward", "x");
  const matrix<float> x3(2, 3);
  matrix<float> y_bad(1, 3);
  KPLUG_EXPECT_ERROR(m.forward(x3, y_bad), "y", "expected a 2 x 3");
}

TEST(IdentityMapper, ForwardRejectsPartialOverlap) {
  const identity_mapper m(2);
  matrix<float> buf(3, 2);
  const matrix_view<const float> x(buf.data(), 2, 2);
  const matrix_view<float> y(buf.data() + 2, 2, 2);  // shifted by one row
  KPLUG_EXPECT_ERROR(m.forward(x, y), "shares memory");
}

TEST(IdentityMapper, BackwardRejectsWrongShapesAndOverlapWithInput) {
  const identity_mapper m(2, 1.0f);
  matrix<float> x(2, 2, 1.0f);
  const matrix<float> gy(2, 2), gy_bad(3, 2);
  matrix<float> gx_bad(2, 3);
  KPLUG_EXPECT_ERROR(m.backward(x, gy_bad, {}), "grad_y");
  KPLUG_EXPECT_ERROR(m.backward(x, gy, gx_bad), "grad_x");
  KPLUG_EXPECT_ERROR(m.backward(x.view(), gy, x.view()), "grad_x", "shares memory with x");
}

}  // namespace
