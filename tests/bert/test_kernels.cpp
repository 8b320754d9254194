// The encoder's kernels against finite differences and naive loops: each
// backward is checked on its own, so a parity failure on the real model can
// be traced to a kernel.
#include <gtest/gtest.h>

#include <cmath>
#include <kplug/bert/attention.hpp>
#include <kplug/bert/gemm.hpp>
#include <kplug/bert/kernels.hpp>
#include <kplug/core/random.hpp>
#include <vector>

namespace {

using kplug::index_t;
using kplug::matrix;

void fill(matrix<float>& m, kplug::xoshiro256& rng, float scale = 1.0f) {
  for (index_t r = 0; r < m.rows(); ++r)
    for (float& v : m.row(r)) v = static_cast<float>(rng.uniform() * 2.0 - 1.0) * scale;
}

std::vector<float> random_vector(std::size_t n, kplug::xoshiro256& rng, float centre, float scale) {
  std::vector<float> v(n);
  for (float& x : v) x = centre + static_cast<float>(rng.uniform() * 2.0 - 1.0) * scale;
  return v;
}

double dot(const matrix<float>& a, const matrix<float>& b) {
  double s = 0;
  for (index_t r = 0; r < a.rows(); ++r)
    for (index_t c = 0; c < a.cols(); ++c) s += double(a(r, c)) * double(b(r, c));
  return s;
}

// Central difference of L(x) = <f(x), w> at every element of x, against the
// analytic gradient `grad`.
template <class F>
void expect_gradient(matrix<float> x, const matrix<float>& w, F&& f, const matrix<float>& grad, double tol,
                     float step = 1e-2f) {
  for (index_t r = 0; r < x.rows(); ++r)
    for (index_t c = 0; c < x.cols(); ++c) {
      const float keep = x(r, c);
      x(r, c) = keep + step;
      const double up = dot(f(x), w);
      x(r, c) = keep - step;
      const double down = dot(f(x), w);
      x(r, c) = keep;
      const double fd = (up - down) / (2.0 * step);
      EXPECT_NEAR(grad(r, c), fd, tol * (1.0 + std::abs(fd))) << "at (" << r << ", " << c << ")";
    }
}

TEST(Kernels, LinearMatchesNaiveLoopsForBothSplits) {
  kplug::xoshiro256 rng(1);
  for (const index_t m : {3, 200}) {  // few rows: split by columns; many: by rows
    kplug::thread_pool pool(2);
    matrix<float> x(m, 24), w(40, 24), y(m, 40);
    fill(x, rng);
    fill(w, rng);
    const auto b = random_vector(40, rng, 0, 1);
    kplug::bert::kernels::linear(pool, x.view(), {w.view(), b}, y.view());
    for (index_t i = 0; i < m; ++i)
      for (index_t o = 0; o < 40; ++o) {
        double s = b[static_cast<std::size_t>(o)];
        for (index_t k = 0; k < 24; ++k) s += double(x(i, k)) * double(w(o, k));
        EXPECT_NEAR(y(i, o), s, 1e-4) << i << "," << o;
      }
    matrix<float> dy(m, 40), dx(m, 24, 0.5f);
    fill(dy, rng);
    kplug::bert::kernels::linear_backward_input(pool, dy.view(), {w.view(), {}}, dx.view(), true);
    for (index_t i = 0; i < m; ++i)
      for (index_t k = 0; k < 24; ++k) {
        double s = 0.5;
        for (index_t o = 0; o < 40; ++o) s += double(dy(i, o)) * double(w(o, k));
        EXPECT_NEAR(dx(i, k), s, 1e-4);
      }
  }
}

TEST(Kernels, PackedGemmMatchesNaiveLoopsAtOddSizes) {
  using kplug::bert::kernels::packed_panels;
  kplug::xoshiro256 rng(6);
  for (const int threads : {1, 2})
    for (const index_t m : {1, 5, 7, 13, 250}) {
      kplug::thread_pool pool(threads);
      matrix<float> x(m, 13), w(37, 13), y(m, 37, 0.25f);
      fill(x, rng);
      fill(w, rng);
      const auto b = random_vector(37, rng, 0, 1);
      // y += x W^T + b through the forward packing...
      const packed_panels wt = packed_panels::transposed(w.view());
      kplug::bert::kernels::gemm_packed(pool, x.view(), wt, b, y.view(), true);
      for (index_t i = 0; i < m; ++i)
        for (index_t o = 0; o < 37; ++o) {
          double s = 0.25 + b[static_cast<std::size_t>(o)];
          for (index_t k = 0; k < 13; ++k) s += double(x(i, k)) * double(w(o, k));
          ASSERT_NEAR(y(i, o), s, 1e-4) << m << " rows, at " << i << "," << o;
        }
      // ...and dx = dy W through the input-gradient packing.
      matrix<float> dy(m, 37), dx(m, 13, 7.0f);
      fill(dy, rng);
      kplug::bert::kernels::gemm_packed(pool, dy.view(), packed_panels::plain(w.view()), {}, dx.view(), false);
      for (index_t i = 0; i < m; ++i)
        for (index_t k = 0; k < 13; ++k) {
          double s = 0;
          for (index_t o = 0; o < 37; ++o) s += double(dy(i, o)) * double(w(o, k));
          ASSERT_NEAR(dx(i, k), s, 1e-4) << m << " rows, at " << i << "," << k;
        }
    }
}

TEST(Kernels, LayerNormBackwardMatchesFiniteDifferences) {
  kplug::xoshiro256 rng(2);
  kplug::thread_pool pool(2);
  const index_t h = 16;
  matrix<float> x(5, h), w(5, h);
  fill(x, rng, 2.0f);
  fill(w, rng);
  const auto gamma = random_vector(h, rng, 1.0f, 0.5f);
  const auto beta = random_vector(h, rng, 0.0f, 0.5f);
  const kplug::bert::layer_norm_weights ln{gamma, beta};
  const auto f = [&](const matrix<float>& in) {
    matrix<float> y(in.rows(), h);
    kplug::bert::kernels::layer_norm(pool, in.view(), ln, 1e-5f, y.view());
    return y;
  };
  matrix<float> y(5, h), xhat(5, h), dx(5, h);
  std::vector<float> rstd(5);
  kplug::bert::kernels::layer_norm(pool, x.view(), ln, 1e-5f, y.view(), xhat.view(), rstd);
  kplug::bert::kernels::layer_norm_backward(pool, w.view(), xhat.view(), rstd, ln, dx.view());
  expect_gradient(x, w, f, dx, 2e-3);
}

TEST(Kernels, ActivationDerivativesMatchFiniteDifferences) {
  using kplug::bert::activation;
  kplug::xoshiro256 rng(3);
  for (const activation a : {activation::gelu, activation::gelu_tanh, activation::relu}) {
    matrix<float> x(4, 9), w(4, 9);
    fill(x, rng, 3.0f);
    fill(w, rng);
    for (index_t r = 0; r < 4; ++r)  // keep relu's kink away from the finite-difference step
      for (float& v : x.row(r))
        if (std::abs(v) < 0.05f) v = 0.3f;
    const auto f = [&](const matrix<float>& in) {
      matrix<float> y = in;
      kplug::bert::kernels::activate(a, y.data(), y.rows() * y.cols());
      return y;
    };
    matrix<float> g = w;
    kplug::bert::kernels::activation_backward(a, x.data(), g.data(), 36);
    expect_gradient(x, w, f, g, 2e-3);
  }
}

TEST(Kernels, ExactGeluIsTheErfForm) {
  // 0.5 x (1 + erf(x / sqrt 2)) from the C library, in double.
  std::vector<float> x{-5.f, -2.5f, -1.f, -0.3f, 0.f, 0.2f, 1.f, 1.7f, 4.f};
  std::vector<float> y = x;
  kplug::bert::kernels::activate(kplug::bert::activation::gelu, y.data(), static_cast<index_t>(y.size()));
  for (std::size_t i = 0; i < x.size(); ++i)
    EXPECT_NEAR(y[i], 0.5 * x[i] * (1.0 + std::erf(x[i] / std::sqrt(2.0))), 2e-6) << x[i];
}

TEST(Kernels, AttentionBackwardMatchesFiniteDifferencesWithRaggedSequencesAndMask) {
  kplug::xoshiro256 rng(4);
  kplug::thread_pool pool(2);
  const index_t heads = 2, hidden = 8;
  const std::vector<std::int32_t> offsets{0, 3, 3, 8};  // an empty sequence in the middle
  const std::vector<std::uint8_t> mask{1, 0, 1, 1, 1, 0, 1, 1};
  matrix<float> qkv(8, 3 * hidden), w(8, hidden);
  fill(qkv, rng, 1.5f);
  fill(w, rng);
  const auto f = [&](const matrix<float>& in) {
    matrix<float> ctx(8, hidden);
    kplug::bert::kernels::attention_forward(pool, in.view(), offsets, mask, heads, ctx.view());
    return ctx;
  };
  matrix<float> dqkv(8, 3 * hidden);
  kplug::bert::kernels::attention_backward(pool, qkv.view(), offsets, mask, heads, w.view(), dqkv.view());
  expect_gradient(qkv, w, f, dqkv, 2e-3);
}

TEST(Kernels, AttentionNeverMixesSequencesAndHidesMaskedKeys) {
  kplug::thread_pool pool(1);
  const index_t heads = 1, hidden = 4;
  const std::vector<std::int32_t> offsets{0, 2, 4};
  const std::vector<std::uint8_t> mask{1, 0, 1, 1};
  matrix<float> qkv(4, 12);
  kplug::xoshiro256 rng(5);
  fill(qkv, rng);
  matrix<float> ctx(4, hidden);
  kplug::bert::kernels::attention_forward(pool, qkv.view(), offsets, mask, heads, ctx.view());
  // Sequence 0: token 1 is masked, so both rows attend only to token 0 and
  // copy its value vector.
  for (index_t r = 0; r < 2; ++r)
    for (index_t c = 0; c < hidden; ++c) EXPECT_FLOAT_EQ(ctx(r, c), qkv(0, 2 * hidden + c));
  // Sequence 1's output depends only on its own rows.
  matrix<float> other = qkv;
  for (index_t c = 0; c < 12; ++c) other(0, c) += 10.0f;
  matrix<float> ctx2(4, hidden);
  kplug::bert::kernels::attention_forward(pool, other.view(), offsets, mask, heads, ctx2.view());
  for (index_t r = 2; r < 4; ++r)
    for (index_t c = 0; c < hidden; ++c) EXPECT_EQ(ctx(r, c), ctx2(r, c));
}

}  // namespace
