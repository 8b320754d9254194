// The encoder's kernels against finite differences and naive loops: each
// backward is checked on its own, so a parity failure on the real model can
// be traced to a kernel.
#include <gtest/gtest.h>

#include <cmath>
#include <kplug/bert/attention.hpp>
#include <kplug/bert/gemm.hpp>
#include <kplug/bert/kernels.hpp>
#include <kplug/core/random.hpp>
#include <string>
#include <vector>

#include "support/isa.hpp"

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

// Each instruction set's kernels, forced in turn, against double-precision
// loops: odd row counts (every remainder of the 6-row tile), a partial last
// panel (37 columns), an odd number of whole panels (48: the 32-column
// AVX-512 tiles leave one panel), and every epilogue, the activations
// against std::erf and std::tanh.
TEST(Kernels, PackedGemmEpiloguesAtEveryInstructionSet) {
  using namespace kplug::bert::kernels;
  const auto reference_act = [](epilogue_activation act, double v) {
    switch (act) {
      case epilogue_activation::none: return v;
      case epilogue_activation::gelu: return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
      case epilogue_activation::gelu_tanh:
        return 0.5 * v * (1.0 + std::tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
      case epilogue_activation::relu: return v > 0 ? v : 0.0;
    }
    return v;
  };
  const auto reference_grad = [](epilogue_activation act, double v) {
    switch (act) {
      case epilogue_activation::none: return 1.0;
      case epilogue_activation::gelu:
        return 0.5 * (1.0 + std::erf(v / std::sqrt(2.0))) + v * std::exp(-0.5 * v * v) / std::sqrt(2.0 * M_PI);
      case epilogue_activation::gelu_tanh: {
        const double c = 0.7978845608028654, t = std::tanh(c * (v + 0.044715 * v * v * v));
        return 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * c * (1.0 + 3.0 * 0.044715 * v * v);
      }
      case epilogue_activation::relu: return v > 0 ? 1.0 : 0.0;
    }
    return 1.0;
  };
  const kplug_test::isa_guard restore;
  kplug::thread_pool pool(2);
  kplug::xoshiro256 rng(11);
  for (const auto level : kplug_test::available_isas()) {
    kplug::cpu::set_active_isa(level);
    for (const index_t cols : {37, 48, 64})
      for (const index_t m : {1, 5, 7, 13, 250})
        for (const auto act : {epilogue_activation::none, epilogue_activation::gelu, epilogue_activation::gelu_tanh,
                               epilogue_activation::relu})
          for (const int mode : {0, 1, 2}) {  // plain; accumulate; the activation's gradient
            const bool accumulate = mode == 1, gradient = mode == 2;
            if (gradient && act == epilogue_activation::none) continue;
            if (accumulate && act != epilogue_activation::none) continue;
            SCOPED_TRACE(std::string(kplug::cpu::isa_name(level)) + ", " + std::to_string(m) + " x " +
                         std::to_string(cols) + ", activation " + std::to_string(static_cast<int>(act)) +
                         (accumulate ? ", accumulate" : "") + (gradient ? ", gradient" : ""));
            matrix<float> x(m, 19), w(cols, 19), y(m, cols, 0.25f), pre(m, cols, -9.0f);
            fill(x, rng, 2.0f);  // pre-activations of a few units either side of zero
            fill(w, rng);
            const auto b = random_vector(static_cast<std::size_t>(cols), rng, 0, 1);
            gemm_epilogue ep;
            ep.bias = gradient ? nullptr : b.data();
            ep.accumulate = accumulate;
            ep.act = act;
            if (gradient) {
              fill(pre, rng, 4.0f);
              ep.activation_input = pre.view();
            } else if (act != epilogue_activation::none) {
              ep.pre = pre.view();
            }
            gemm_packed(pool, x.view(), packed_panels::transposed(w.view()), y.view(), ep);
            for (index_t i = 0; i < m; ++i)
              for (index_t o = 0; o < cols; ++o) {
                double s = (gradient ? 0.0 : b[static_cast<std::size_t>(o)]) + (accumulate ? 0.25 : 0.0);
                for (index_t k = 0; k < 19; ++k) s += double(x(i, k)) * double(w(o, k));
                if (gradient) {
                  ASSERT_NEAR(y(i, o), s * reference_grad(act, pre(i, o)), 2e-5 * (1 + std::abs(s)))
                      << "at " << i << "," << o;
                  continue;
                }
                ASSERT_NEAR(y(i, o), reference_act(act, s), 2e-5 * (1 + std::abs(s))) << "at " << i << "," << o;
                if (act != epilogue_activation::none) {
                  ASSERT_NEAR(pre(i, o), s, 2e-5 * (1 + std::abs(s)));
                }
              }
          }
  }
}

// The activation alone, where the approximations are weakest (large |x|,
// the GELU tails), at every level: 4e-7 absolute covers the erfc
// approximation (1.5e-7) times |x| / 2 and float rounding; and the
// gradients the backward's epilogue applies, against their derivatives.
TEST(Kernels, FusedActivationsMatchTheirDefinitionsAcrossTheRange) {
  using namespace kplug::bert::kernels;
  const kplug_test::isa_guard restore;
  kplug::thread_pool pool(1);
  const index_t n = 4001;
  matrix<float> x(n, 1), one(1, 1, 1.0f), y(n, 1);
  for (index_t i = 0; i < n; ++i) x(i, 0) = -10.0f + 20.0f * static_cast<float>(i) / static_cast<float>(n - 1);
  for (const auto level : kplug_test::available_isas()) {
    kplug::cpu::set_active_isa(level);
    gemm_epilogue ep;
    ep.act = epilogue_activation::gelu;
    gemm_packed(pool, x.view(), packed_panels::transposed(one.view()), y.view(), ep);
    for (index_t i = 0; i < n; ++i) {
      const double v = x(i, 0);
      ASSERT_NEAR(y(i, 0), 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))), 4e-7 * (1 + std::abs(v)))
          << kplug::cpu::isa_name(level) << " at x = " << v;
    }
    ep.act = epilogue_activation::gelu_tanh;
    gemm_packed(pool, x.view(), packed_panels::transposed(one.view()), y.view(), ep);
    for (index_t i = 0; i < n; ++i) {
      const double v = x(i, 0);
      ASSERT_NEAR(y(i, 0), 0.5 * v * (1.0 + std::tanh(0.7978845608028654 * (v + 0.044715 * v * v * v))),
                  4e-7 * (1 + std::abs(v)))
          << kplug::cpu::isa_name(level) << " at x = " << v;
    }
    // Gradient mode: A B = 1 (x as a 1 x 1 weight's input would not do: the
    // pre-activation is read from activation_input), so C = act'(input).
    matrix<float> ones(n, 1, 1.0f);
    ep.activation_input = x.view();
    for (const auto act : {epilogue_activation::gelu, epilogue_activation::gelu_tanh}) {
      ep.act = act;
      gemm_packed(pool, ones.view(), packed_panels::transposed(one.view()), y.view(), ep);
      for (index_t i = 0; i < n; ++i) {
        const double v = x(i, 0);
        double want;
        if (act == epilogue_activation::gelu) {
          want = 0.5 * (1.0 + std::erf(v / std::sqrt(2.0))) + v * std::exp(-0.5 * v * v) / std::sqrt(2.0 * M_PI);
        } else {
          const double c = 0.7978845608028654, t = std::tanh(c * (v + 0.044715 * v * v * v));
          want = 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * c * (1.0 + 3.0 * 0.044715 * v * v);
        }
        ASSERT_NEAR(y(i, 0), want, 2e-6) << kplug::cpu::isa_name(level) << " gradient " << static_cast<int>(act)
                                          << " at x = " << v;
      }
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
