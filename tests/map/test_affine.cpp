#include "kplug/map/affine.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "map/map_test_support.hpp"

namespace {

using kplug::index_t;
using kplug::matrix;
using kplug::matrix_view;
using kplug::map::affine_mapper;
using namespace kplug_test;

affine_mapper random_affine(index_t d_kb, index_t d_model, std::uint64_t seed) {
  affine_mapper m(d_kb, d_model);
  copy_into(m.weight(), random_matrix(d_model, d_kb, seed));
  copy_into(m.bias(), random_matrix(1, d_model, seed + 1));
  return m;
}

void expect_matches_naive(const affine_mapper& m, matrix_view<const float> x, const matrix<float>& y) {
  const std::vector<double> ref = naive_linear(x, m.weight(), m.bias());
  for (index_t i = 0; i < y.rows(); ++i)
    for (index_t o = 0; o < y.cols(); ++o) {
      const double want = ref[static_cast<std::size_t>(i * y.cols() + o)];
      // float GEMM vs double loop: k products of |terms| <= 1, rounding ~ k * 6e-8.
      EXPECT_NEAR(y(i, o), want, 1e-5 * static_cast<double>(x.cols())) << i << "," << o;
    }
}

TEST(AffineMapper, ForwardMatchesNaiveLoop) {
  const affine_mapper m = random_affine(5, 3, 11);
  const matrix<float> x = random_matrix(7, 5, 12);
  matrix<float> y(7, 3);
  m.forward(x, y);
  expect_matches_naive(m, x.view(), y);
}

TEST(AffineMapper, ForwardOnLargeBatchMatchesNaiveLoop) {
  // Large enough for Eigen's blocked GEMM path rather than its small-product path.
  const affine_mapper m = random_affine(128, 96, 21);
  const matrix<float> x = random_matrix(300, 128, 22);
  matrix<float> y(300, 96);
  m.forward(x, y);
  expect_matches_naive(m, x.view(), y);
}

TEST(AffineMapper, ForwardHonoursRowStrides) {
  const affine_mapper m = random_affine(4, 6, 31);
  matrix<float> wide = random_matrix(5, 9, 32);  // x = first 4 columns, stride 9
  const matrix_view<const float> x(wide.data(), 5, 4, 9);
  std::vector<float> ybuf(5 * 10, -7.0f);  // y stride 10, padding must stay untouched
  m.forward(x, matrix_view<float>(ybuf.data(), 5, 6, 10));
  matrix<float> y(5, 6);
  for (index_t r = 0; r < 5; ++r)
    for (index_t c = 0; c < 6; ++c) y(r, c) = ybuf[static_cast<std::size_t>(r * 10 + c)];
  expect_matches_naive(m, x, y);
  for (index_t r = 0; r < 5; ++r)
    for (index_t c = 6; c < 10; ++c) EXPECT_EQ(ybuf[static_cast<std::size_t>(r * 10 + c)], -7.0f);
}

TEST(AffineMapper, ForwardOfZeroRowsWritesNothing) {
  const affine_mapper m = random_affine(3, 2, 41);
  const matrix<float> x(0, 3);
  matrix<float> y(0, 2);
  EXPECT_NO_THROW(m.forward(x, y));
}

TEST(AffineMapper, ParametersAreNamedViewsIntoTheMapper) {
  affine_mapper m(3, 2);
  auto params = m.parameters();
  ASSERT_EQ(params.size(), 2u);
  EXPECT_EQ(params[0].name, "weight");
  EXPECT_EQ(params[0].value.rows(), 2);
  EXPECT_EQ(params[0].value.cols(), 3);
  EXPECT_EQ(params[1].name, "bias");
  EXPECT_EQ(params[1].value.rows(), 1);
  EXPECT_EQ(params[1].value.cols(), 2);
  // Writing through the parameter view changes what forward computes.
  params[0].value(1, 2) = 2.0f;  // W[1][2]
  params[1].value(0, 0) = 0.5f;
  const matrix<float> x(1, 3, 1.0f);
  matrix<float> y(1, 2);
  m.forward(x, y);
  EXPECT_FLOAT_EQ(y(0, 0), 0.5f);
  EXPECT_FLOAT_EQ(y(0, 1), 2.0f);
}

// Finite differences in float. The affine map is linear in W, b and x, so the
// central difference has no truncation error; what remains is float rounding
// of the loss, a sum of ~n * d_model terms of size ~1, i.e. ~1e-6 absolute,
// divided by the step 2h = 2e-2: ~5e-5. The tolerance 1e-3 + 1e-3 |g| leaves
// a 20x margin yet fails on any wrong factor, sign, transposition or index.
TEST(AffineMapper, ParameterGradientsMatchFiniteDifferences) {
  affine_mapper m = random_affine(4, 3, 51);
  const matrix<float> x = random_matrix(6, 4, 52);
  const matrix<float> gy = random_matrix(6, 3, 53);
  m.backward(x, gy, {});
  auto params = m.parameters();
  auto loss = [&] {
    matrix<float> y(6, 3);
    m.forward(x, y);
    return weighted_sum(y, gy);
  };
  for (const auto& p : params) {
    const matrix<float> analytic = [&] {
      matrix<float> a(p.grad.rows(), p.grad.cols());
      for (index_t r = 0; r < a.rows(); ++r)
        for (index_t c = 0; c < a.cols(); ++c) a(r, c) = p.grad(r, c);
      return a;
    }();
    expect_gradient_matches(p.value, analytic.view(), loss, 1e-2f, 1e-3, 1e-3, p.name);
  }
}

TEST(AffineMapper, InputGradientsMatchFiniteDifferences) {
  affine_mapper m = random_affine(4, 3, 61);
  matrix<float> x = random_matrix(6, 4, 62);
  const matrix<float> gy = random_matrix(6, 3, 63);
  matrix<float> gx(6, 4, 99.0f);
  m.backward(x, gy, gx);
  auto loss = [&] {
    matrix<float> y(6, 3);
    m.forward(x, y);
    return weighted_sum(y, gy);
  };
  expect_gradient_matches(x.view(), gx.view(), loss, 1e-2f, 1e-3, 1e-3, "x");
}

TEST(AffineMapper, BackwardAccumulatesParameterGradientsAndOverwritesInputGradients) {
  affine_mapper m = random_affine(3, 2, 71);
  const matrix<float> x = random_matrix(4, 3, 72);
  const matrix<float> gy = random_matrix(4, 2, 73);
  matrix<float> gx1(4, 3, 5.0f), gx2(4, 3, -5.0f);
  m.backward(x, gy, gx1);
  const float w_once = m.weight_grad()(1, 2), b_once = m.bias_grad()(0, 1);
  m.backward(x, gy, gx2);
  EXPECT_FLOAT_EQ(m.weight_grad()(1, 2), 2.0f * w_once);
  EXPECT_FLOAT_EQ(m.bias_grad()(0, 1), 2.0f * b_once);
  for (index_t r = 0; r < 4; ++r)
    for (index_t c = 0; c < 3; ++c) EXPECT_FLOAT_EQ(gx1(r, c), gx2(r, c));
  // Hand check of one entry: dL/db_1 = sum_i gy(i, 1).
  double s = 0.0;
  for (index_t i = 0; i < 4; ++i) s += gy(i, 1);
  EXPECT_NEAR(b_once, s, 1e-6);
}

TEST(AffineMapper, BackwardWithoutInputGradientStillGivesParameterGradients) {
  affine_mapper m = random_affine(3, 2, 81);
  const matrix<float> x = random_matrix(4, 3, 82);
  const matrix<float> gy = random_matrix(4, 2, 83);
  m.backward(x, gy, {});
  double s = 0.0;  // dL/dW[0][0] = sum_i gy(i,0) x(i,0)
  for (index_t i = 0; i < 4; ++i) s += static_cast<double>(gy(i, 0)) * x(i, 0);
  EXPECT_NEAR(m.weight_grad()(0, 0), s, 1e-6);
}

// --- bad input: one test each -------------------------------------------------

TEST(AffineMapper, ConstructorRejectsNonPositiveDims) {
  KPLUG_EXPECT_ERROR(affine_mapper(0, 3), "d_kb", "at least 1");
  KPLUG_EXPECT_ERROR(affine_mapper(3, -1), "d_model", "at least 1");
}

TEST(AffineMapper, ForwardRejectsWrongInputWidth) {
  const affine_mapper m(4, 3);
  const matrix<float> x(2, 5);
  matrix<float> y(2, 3);
  KPLUG_EXPECT_ERROR(m.forward(x, y), "affine mapper forward", "x", "5 wide, expected 4");
}

TEST(AffineMapper, ForwardRejectsWrongOutputShape) {
  const affine_mapper m(4, 3);
  const matrix<float> x(2, 4);
  matrix<float> rows_wrong(3, 3), cols_wrong(2, 4);
  KPLUG_EXPECT_ERROR(m.forward(x, rows_wrong), "y", "expected a 2 x 3");
  KPLUG_EXPECT_ERROR(m.forward(x, cols_wrong), "y", "expected a 2 x 3");
}

TEST(AffineMapper, ForwardRejectsOutputSharingMemoryWithInput) {
  const affine_mapper m(3, 3);
  matrix<float> buf(2, 3, 1.0f);
  KPLUG_EXPECT_ERROR(m.forward(buf.view(), buf.view()), "y", "shares memory with x");
}

TEST(AffineMapper, ForwardRejectsViewWithoutStorage) {
  const affine_mapper m(3, 2);
  matrix<float> y(2, 2);
  KPLUG_EXPECT_ERROR(m.forward(matrix_view<const float>(nullptr, 2, 3), y), "x", "no storage");
}

TEST(AffineMapper, BackwardRejectsWrongInputWidth) {
  affine_mapper m(4, 3);
  const matrix<float> x(2, 3), gy(2, 3);
  KPLUG_EXPECT_ERROR(m.backward(x, gy, {}), "affine mapper backward", "x");
}

TEST(AffineMapper, BackwardRejectsWrongGradYShape) {
  affine_mapper m(4, 3);
  const matrix<float> x(2, 4), gy(3, 3);
  KPLUG_EXPECT_ERROR(m.backward(x, gy, {}), "grad_y", "expected a 2 x 3");
}

TEST(AffineMapper, BackwardRejectsWrongGradXShapeWithoutTouchingGradients) {
  affine_mapper m(4, 3);
  const matrix<float> x = random_matrix(2, 4, 1), gy = random_matrix(2, 3, 2);
  matrix<float> gx(2, 3);
  KPLUG_EXPECT_ERROR(m.backward(x, gy, gx), "grad_x", "expected a 2 x 4");
  for (const auto& p : m.parameters())
    for (index_t r = 0; r < p.grad.rows(); ++r)
      for (float g : p.grad.row(r)) EXPECT_EQ(g, 0.0f) << p.name;
}

TEST(AffineMapper, BackwardRejectsInputGradientOverlappingGradY) {
  affine_mapper m(3, 3);
  const matrix<float> x(2, 3);
  matrix<float> buf(2, 3);
  KPLUG_EXPECT_ERROR(m.backward(x, buf.view(), buf.view()), "grad_x", "shares memory with grad_y");
}

}  // namespace
