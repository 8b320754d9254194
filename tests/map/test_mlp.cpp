#include "kplug/map/mlp.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "map/map_test_support.hpp"

namespace {

using kplug::index_t;
using kplug::matrix;
using kplug::matrix_view;
using kplug::map::activation;
using kplug::map::mlp_mapper;
using namespace kplug_test;

constexpr index_t kRows = 5, kDkb = 4, kHidden = 6, kDmodel = 3;

// The activations from their definitions, in double.
double ref_act(activation a, double h) {
  switch (a) {
    case activation::gelu: return 0.5 * h * (1.0 + std::erf(h / std::sqrt(2.0)));
    case activation::relu: return std::max(h, 0.0);
    case activation::tanh: return std::tanh(h);
  }
  return 0.0;
}

mlp_mapper random_mlp(activation a, std::uint64_t seed) {
  mlp_mapper m(kDkb, kHidden, kDmodel, a);
  copy_into(m.weight1(), random_matrix(kHidden, kDkb, seed));
  copy_into(m.bias1(), random_matrix(1, kHidden, seed + 1));
  copy_into(m.weight2(), random_matrix(kDmodel, kHidden, seed + 2));
  copy_into(m.bias2(), random_matrix(1, kDmodel, seed + 3));
  return m;
}

// Smallest |pre-activation| over the batch, computed naively.
double min_abs_preactivation(const mlp_mapper& m, const matrix<float>& x) {
  const auto h = naive_linear(x.view(), m.weight1(), m.bias1());
  double lo = 1e30;
  for (double v : h) lo = std::min(lo, std::abs(v));
  return lo;
}

class MlpActivation : public ::testing::TestWithParam<activation> {};

TEST_P(MlpActivation, ForwardMatchesNaiveLoop) {
  mlp_mapper m = random_mlp(GetParam(), 100);
  const matrix<float> x = random_matrix(kRows, kDkb, 101);
  matrix<float> y(kRows, kDmodel);
  m.forward(x, y);
  const auto h = naive_linear(x.view(), m.weight1(), m.bias1());
  for (index_t i = 0; i < kRows; ++i)
    for (index_t o = 0; o < kDmodel; ++o) {
      double s = m.bias2()(0, o);
      for (index_t j = 0; j < kHidden; ++j)
        s += ref_act(GetParam(), h[static_cast<std::size_t>(i * kHidden + j)]) * m.weight2()(o, j);
      EXPECT_NEAR(y(i, o), s, 2e-5) << i << "," << o;
    }
}

// Finite differences in float, step h = 1e-2. Truncation error of the
// central difference is h^2/6 * |L'''|; with weights and inputs in [-1, 1]
// the activations' third derivatives are O(1), so ~1e-4 per unit of
// sensitivity; float rounding of the loss (~15 terms) adds ~5e-5. The
// tolerance 2e-3 + 1e-2 |g| covers both with margin and still fails on any
// missing activation derivative, transposition or wrong index. For ReLU the
// data are chosen (seed loop) so that no pre-activation lies within 0.05 of
// the kink, where a difference step of at most 1e-2 * |x| <= 1e-2 cannot
// cross it.
mlp_mapper mlp_away_from_kink(activation a, const matrix<float>& x, std::uint64_t seed) {
  for (std::uint64_t s = seed;; s += 10) {
    mlp_mapper m = random_mlp(a, s);
    if (a != activation::relu || min_abs_preactivation(m, x) > 0.05) return m;
  }
}

TEST_P(MlpActivation, ParameterGradientsMatchFiniteDifferences) {
  const matrix<float> x = random_matrix(kRows, kDkb, 201);
  const matrix<float> gy = random_matrix(kRows, kDmodel, 202);
  mlp_mapper m = mlp_away_from_kink(GetParam(), x, 200);
  matrix<float> y(kRows, kDmodel);
  m.forward(x, y);
  m.backward(x, gy, {});
  auto loss = [&] {
    matrix<float> yy(kRows, kDmodel);
    m.forward(x, yy);
    return weighted_sum(yy, gy);
  };
  for (const auto& p : m.parameters()) {
    matrix<float> analytic(p.grad.rows(), p.grad.cols());
    for (index_t r = 0; r < analytic.rows(); ++r)
      for (index_t c = 0; c < analytic.cols(); ++c) analytic(r, c) = p.grad(r, c);
    expect_gradient_matches(p.value, analytic.view(), loss, 1e-2f, 2e-3, 1e-2, p.name);
  }
}

TEST_P(MlpActivation, InputGradientsMatchFiniteDifferences) {
  matrix<float> x = random_matrix(kRows, kDkb, 301);
  const matrix<float> gy = random_matrix(kRows, kDmodel, 302);
  mlp_mapper m = mlp_away_from_kink(GetParam(), x, 300);
  matrix<float> y(kRows, kDmodel), gx(kRows, kDkb);
  m.forward(x, y);
  m.backward(x, gy, gx);
  auto loss = [&] {
    matrix<float> yy(kRows, kDmodel);
    m.forward(x, yy);
    return weighted_sum(yy, gy);
  };
  expect_gradient_matches(x.view(), gx.view(), loss, 1e-2f, 2e-3, 1e-2, "x");
}

INSTANTIATE_TEST_SUITE_P(Activations, MlpActivation,
                         ::testing::Values(activation::gelu, activation::relu, activation::tanh),
                         [](const ::testing::TestParamInfo<activation>& param_info) {
                           return std::string(kplug::map::activation_name(param_info.param));
                         });

TEST(MlpMapper, BackwardOnAnotherBatchRecomputesInsteadOfUsingStaleCache) {
  const matrix<float> x1 = random_matrix(kRows, kDkb, 401), x2 = random_matrix(kRows, kDkb, 402);
  const matrix<float> gy = random_matrix(kRows, kDmodel, 403);
  mlp_mapper a = random_mlp(activation::tanh, 404), b = a;
  matrix<float> y(kRows, kDmodel), gxa(kRows, kDkb), gxb(kRows, kDkb);
  a.forward(x1, y);  // cache now holds x1's activations
  a.backward(x2, gy, gxa);
  b.forward(x2, y);
  b.backward(x2, gy, gxb);
  for (index_t r = 0; r < kRows; ++r)
    for (index_t c = 0; c < kDkb; ++c) EXPECT_FLOAT_EQ(gxa(r, c), gxb(r, c));
  auto pa = a.parameters(), pb = b.parameters();
  for (std::size_t k = 0; k < pa.size(); ++k)
    for (index_t r = 0; r < pa[k].grad.rows(); ++r)
      for (index_t c = 0; c < pa[k].grad.cols(); ++c) EXPECT_FLOAT_EQ(pa[k].grad(r, c), pb[k].grad(r, c)) << pa[k].name;
}

TEST(MlpMapper, GeluIsTheExactErfForm) {
  // x * Phi(x) with Phi(1) = 0.8413447460685429 (standard normal table),
  // not the tanh approximation (which gives 0.8411920).
  EXPECT_NEAR(kplug::map::detail::activate(activation::gelu, 1.0f), 0.8413447460685429, 2e-7);
  EXPECT_NEAR(kplug::map::detail::activate(activation::gelu, -1.0f), -0.1586552539314571, 2e-7);
  // d/dx x Phi(x) at 1 = Phi(1) + phi(1) = 0.8413447 + 0.2419707 = 1.0833155.
  EXPECT_NEAR(kplug::map::detail::activate_derivative(activation::gelu, 1.0f), 1.0833154705876864, 5e-7);
}

TEST(MlpMapper, ReluDerivativeIsZeroAtZeroLikePyTorch) {
  EXPECT_EQ(kplug::map::detail::activate_derivative(activation::relu, 0.0f), 0.0f);
  EXPECT_EQ(kplug::map::detail::activate_derivative(activation::relu, 1e-30f), 1.0f);
}

TEST(MlpMapper, ParametersFollowPyTorchSequentialNames) {
  mlp_mapper m(kDkb, kHidden, kDmodel, activation::relu);
  const auto p = m.parameters();
  ASSERT_EQ(p.size(), 4u);
  EXPECT_EQ(p[0].name, "0.weight");
  EXPECT_EQ(p[0].value.rows(), kHidden);
  EXPECT_EQ(p[0].value.cols(), kDkb);
  EXPECT_EQ(p[1].name, "0.bias");
  EXPECT_EQ(p[1].value.cols(), kHidden);
  EXPECT_EQ(p[2].name, "2.weight");
  EXPECT_EQ(p[2].value.rows(), kDmodel);
  EXPECT_EQ(p[2].value.cols(), kHidden);
  EXPECT_EQ(p[3].name, "2.bias");
  EXPECT_EQ(p[3].value.cols(), kDmodel);
  EXPECT_EQ(m.input_dim(), kDkb);
  EXPECT_EQ(m.hidden_dim(), kHidden);
  EXPECT_EQ(m.output_dim(), kDmodel);
}

TEST(MlpMapper, ActivationNamesRoundTrip) {
  for (activation a : {activation::gelu, activation::relu, activation::tanh})
    EXPECT_EQ(kplug::map::parse_activation(kplug::map::activation_name(a)), a);
}

// --- bad input ----------------------------------------------------------------

TEST(MlpMapper, ParseActivationRejectsUnknownName) {
  KPLUG_EXPECT_ERROR(kplug::map::parse_activation("swish"), "'swish'", "unknown activation");
}

TEST(MlpMapper, ConstructorRejectsNonPositiveDims) {
  KPLUG_EXPECT_ERROR(mlp_mapper(0, 2, 2), "d_kb");
  KPLUG_EXPECT_ERROR(mlp_mapper(2, 0, 2), "hidden");
  KPLUG_EXPECT_ERROR(mlp_mapper(2, 2, -3), "d_model");
}

TEST(MlpMapper, ConstructorRejectsInvalidActivationValue) {
  KPLUG_EXPECT_ERROR(mlp_mapper(2, 2, 2, static_cast<activation>(7)), "activation", "7");
}

TEST(MlpMapper, ForwardRejectsWrongInputWidth) {
  mlp_mapper m(kDkb, kHidden, kDmodel);
  const matrix<float> x(2, kDkb + 1);
  matrix<float> y(2, kDmodel);
  KPLUG_EXPECT_ERROR(m.forward(x, y), "MLP mapper forward", "x");
}

TEST(MlpMapper, ForwardRejectsWrongOutputShape) {
  mlp_mapper m(kDkb, kHidden, kDmodel);
  const matrix<float> x(2, kDkb);
  matrix<float> y(2, kHidden);
  KPLUG_EXPECT_ERROR(m.forward(x, y), "y", "expected a 2 x 3");
}

TEST(MlpMapper, ForwardRejectsAliasedOutput) {
  mlp_mapper m(4, 2, 4);
  matrix<float> buf(3, 4);
  KPLUG_EXPECT_ERROR(m.forward(buf.view(), buf.view()), "shares memory");
}

TEST(MlpMapper, BackwardRejectsWrongGradYShape) {
  mlp_mapper m(kDkb, kHidden, kDmodel);
  const matrix<float> x(2, kDkb), gy(2, kDmodel + 1);
  KPLUG_EXPECT_ERROR(m.backward(x, gy, {}), "MLP mapper backward", "grad_y");
}

TEST(MlpMapper, BackwardRejectsWrongGradXShape) {
  mlp_mapper m(kDkb, kHidden, kDmodel);
  const matrix<float> x(2, kDkb), gy(2, kDmodel);
  matrix<float> gx(1, kDkb);
  KPLUG_EXPECT_ERROR(m.backward(x, gy, gx), "grad_x", "expected a 2 x 4");
}

TEST(MlpMapper, BackwardRejectsWrongInputWidth) {
  mlp_mapper m(kDkb, kHidden, kDmodel);
  const matrix<float> x(2, kDkb - 1), gy(2, kDmodel);
  KPLUG_EXPECT_ERROR(m.backward(x, gy, {}), "x", "expected 4");
}

}  // namespace
