// The CPU encoder's kernels: threaded GEMMs for the linear layers, layer
// norm, activations, each with the backward pass for the INPUT only (the
// encoder is frozen; weight gradients are never formed).
//
// Conventions: activations are row-major tokens x features; weights are
// PyTorch's out x in. Every kernel takes the pool it may use. Elementwise
// maths goes through Eigen arrays so it vectorises (Eigen's erf, tanh and exp
// are SIMD for float).
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <span>
#include <unsupported/Eigen/SpecialFunctions>

#include "kplug/bert/config.hpp"
#include "kplug/bert/gemm.hpp"
#include "kplug/bert/weights.hpp"
#include "kplug/core/eigen.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/core/thread_pool.hpp"

namespace kplug::bert::kernels {

using row_vector_map = Eigen::Map<const Eigen::Matrix<float, 1, Eigen::Dynamic>>;

namespace detail {
// The Eigen path cuts the output into blocks of a fixed size, never into one
// piece per thread: every element is then computed by a GEMM of the same
// shape whatever the pool's size, so results do not depend on the thread
// count (the packed path is per-element deterministic by construction).
// Many rows: blocks of rows across the whole width; few: blocks of columns,
// so that a single short sequence still uses every core.
inline constexpr index_t eigen_block = 64;

inline epilogue_activation epilogue_of(activation a) noexcept {
  switch (a) {
    case activation::gelu: return epilogue_activation::gelu;
    case activation::gelu_tanh: return epilogue_activation::gelu_tanh;
    case activation::relu: return epilogue_activation::relu;
  }
  return epilogue_activation::none;
}

template <class Body>
void for_output_blocks(thread_pool& pool, index_t m, index_t n, const Body& body) {
  const bool by_rows = m >= 4 * eigen_block;
  const index_t extent = by_rows ? m : n;
  const index_t blocks = (extent + eigen_block - 1) / eigen_block;
  pool.parallel_for(blocks, [&](index_t b0, index_t b1) {
    for (index_t b = b0; b < b1; ++b) {
      const index_t first = b * eigen_block, last = std::min(extent, first + eigen_block);
      if (by_rows)
        body(first, last, index_t{0}, n);
      else
        body(index_t{0}, m, first, last);
    }
  });
}
}  // namespace detail

// y = x W^T + b.  x: m x k, W: n x k, y: m x n (y must not alias x).
inline void linear(thread_pool& pool, matrix_view<const float> x, const linear_weights& w, matrix_view<float> y) {
  if (w.packed && packed_gemm_preferred()) {
    gemm_packed(pool, x, *w.packed, w.bias, y, false);
    return;
  }
  detail::for_output_blocks(pool, x.rows(), w.weight.rows(), [&](index_t r0, index_t r1, index_t c0, index_t c1) {
    auto out = as_eigen(y.middle_rows(r0, r1 - r0)).middleCols(c0, c1 - c0);
    const auto in = as_eigen(x.middle_rows(r0, r1 - r0));
    const auto weight = as_eigen(w.weight.middle_rows(c0, c1 - c0));
    out.noalias() = in * weight.transpose();
    if (!w.bias.empty()) out.rowwise() += row_vector_map(w.bias.data() + c0, c1 - c0);
  });
}

// dx = dy W (or dx += dy W).  dy: m x n, W: n x k, dx: m x k.
inline void linear_backward_input(thread_pool& pool, matrix_view<const float> dy, const linear_weights& lw,
                                  matrix_view<float> dx, bool accumulate) {
  if (lw.packed_input_grad && packed_gemm_preferred()) {
    gemm_packed(pool, dy, *lw.packed_input_grad, {}, dx, accumulate);
    return;
  }
  const weight_matrix w = lw.weight;
  detail::for_output_blocks(pool, dy.rows(), w.cols(), [&](index_t r0, index_t r1, index_t c0, index_t c1) {
    auto out = as_eigen(dx.middle_rows(r0, r1 - r0)).middleCols(c0, c1 - c0);
    const auto g = as_eigen(dy.middle_rows(r0, r1 - r0));
    const auto weight = as_eigen(w).middleCols(c0, c1 - c0);
    if (accumulate)
      out.noalias() += g * weight;
    else
      out.noalias() = g * weight;
  });
}

// ---------------------------------------------------------------- activations

// In place over a contiguous block of `count` floats.
inline void activate(activation a, float* data, index_t count) {
  Eigen::Map<Eigen::ArrayXf> x(data, count);
  switch (a) {
    case activation::gelu:
      x = 0.5f * x * (1.0f + (x * float(M_SQRT1_2)).erf());
      break;
    case activation::gelu_tanh: {
      constexpr float c = 0.7978845608028654f;  // sqrt(2 / pi)
      x = 0.5f * x * (1.0f + (c * (x + 0.044715f * x.cube())).tanh());
      break;
    }
    case activation::relu:
      x = x.max(0.0f);
      break;
  }
}

// grad *= act'(pre), elementwise over `count` floats.
inline void activation_backward(activation a, const float* pre, float* grad, index_t count) {
  Eigen::Map<const Eigen::ArrayXf> x(pre, count);
  Eigen::Map<Eigen::ArrayXf> g(grad, count);
  switch (a) {
    case activation::gelu: {
      // d/dx [x Phi(x)] = Phi(x) + x phi(x)
      constexpr float inv_sqrt_2pi = 0.3989422804014327f;
      g *= 0.5f * (1.0f + (x * float(M_SQRT1_2)).erf()) + x * inv_sqrt_2pi * (-0.5f * x.square()).exp();
      break;
    }
    case activation::gelu_tanh: {
      constexpr float c = 0.7978845608028654f;
      const Eigen::ArrayXf t = (c * (x + 0.044715f * x.cube())).tanh();
      g *= 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t.square()) * c * (1.0f + 3.0f * 0.044715f * x.square());
      break;
    }
    case activation::relu:
      g = (x > 0.0f).select(g, 0.0f);
      break;
  }
}

// Over the rows of a matrix (contiguous rows), threaded.
inline void activate(thread_pool& pool, activation a, matrix_view<float> x) {
  pool.parallel_for(x.rows(), [&](index_t r0, index_t r1) {
    for (index_t r = r0; r < r1; ++r) activate(a, x.row(r).data(), x.cols());
  }, 16);
}

inline void activation_backward(thread_pool& pool, activation a, matrix_view<const float> pre,
                                matrix_view<float> grad) {
  pool.parallel_for(grad.rows(), [&](index_t r0, index_t r1) {
    for (index_t r = r0; r < r1; ++r) activation_backward(a, pre.row(r).data(), grad.row(r).data(), grad.cols());
  }, 16);
}

// y = act(x W^T + b), and pre = x W^T + b if `pre` is set (the backward
// needs it). On the packed path the activation runs in the GEMM's epilogue,
// while each tile is in registers, saving a pass over the m x n output.
inline void linear_activate(thread_pool& pool, matrix_view<const float> x, const linear_weights& w, activation a,
                            matrix_view<float> y, matrix_view<float> pre = {}) {
  if (w.packed && packed_gemm_preferred()) {
    gemm_epilogue ep;
    ep.bias = w.bias.empty() ? nullptr : w.bias.data();
    ep.act = detail::epilogue_of(a);
    ep.pre = pre;
    gemm_packed(pool, x, *w.packed, y, ep);
    return;
  }
  linear(pool, x, w, y);
  if (pre.data() != nullptr) as_eigen(pre) = as_eigen(matrix_view<const float>(y));
  activate(pool, a, y);
}

// dx = (dy W) . act'(pre): the input gradient of linear_activate's
// activation and the next layer together (W is that next layer's weight).
// On the packed path act' runs in the GEMM's epilogue.
inline void linear_backward_input_activation(thread_pool& pool, matrix_view<const float> dy, const linear_weights& lw,
                                             activation a, matrix_view<const float> pre, matrix_view<float> dx) {
  if (lw.packed_input_grad && packed_gemm_preferred()) {
    gemm_epilogue ep;
    ep.act = detail::epilogue_of(a);
    ep.activation_input = pre;
    gemm_packed(pool, dy, *lw.packed_input_grad, dx, ep);
    return;
  }
  linear_backward_input(pool, dy, lw, dx, false);
  activation_backward(pool, a, pre, dx);
}

// ---------------------------------------------------------------- layer norm

// y = (z - mean) / sqrt(var + eps) * gamma + beta per row, where z = x, or
// z = x + residual (the post-LN sublayer's skip connection, fused to save a
// pass over the activations). y may be x or residual.
// xhat / rstd (optional, for backward) receive the normalised rows and
// 1 / sqrt(var + eps).
inline void layer_norm(thread_pool& pool, matrix_view<const float> x, const layer_norm_weights& w, float eps,
                       matrix_view<float> y, matrix_view<float> xhat = {}, std::span<float> rstd = {},
                       matrix_view<const float> residual = {}) {
  const index_t h = x.cols();
  const row_vector_map gamma(w.gamma.data(), h);
  const row_vector_map beta(w.beta.data(), h);
  pool.parallel_for(x.rows(), [&](index_t r0, index_t r1) {
    Eigen::Matrix<float, 1, Eigen::Dynamic> z(h);
    for (index_t r = r0; r < r1; ++r) {
      if (residual.data() != nullptr)
        z = as_eigen(x.middle_rows(r, 1)) + as_eigen(residual.middle_rows(r, 1));
      else
        z = as_eigen(x.middle_rows(r, 1));
      const float mean = z.mean();
      // Two passes over an L1-resident row: no cancellation from E[z^2]-E[z]^2.
      z.array() -= mean;
      const float inv = 1.0f / std::sqrt(z.squaredNorm() / static_cast<float>(h) + eps);
      z *= inv;
      if (xhat.data() != nullptr) as_eigen(xhat.middle_rows(r, 1)) = z;
      as_eigen(y.middle_rows(r, 1)) = z.cwiseProduct(gamma) + beta;
      if (!rstd.empty()) rstd[static_cast<std::size_t>(r)] = inv;
    }
  }, 8);
}

// dx = rstd * (g - mean(g) - xhat * mean(g . xhat)),  g = dy . gamma.
// dx may be dy.
inline void layer_norm_backward(thread_pool& pool, matrix_view<const float> dy, matrix_view<const float> xhat,
                                std::span<const float> rstd, const layer_norm_weights& w, matrix_view<float> dx) {
  const index_t h = dy.cols();
  const row_vector_map gamma(w.gamma.data(), h);
  pool.parallel_for(dy.rows(), [&](index_t r0, index_t r1) {
    Eigen::Matrix<float, 1, Eigen::Dynamic> g(h);
    for (index_t r = r0; r < r1; ++r) {
      g = as_eigen(dy.middle_rows(r, 1)).cwiseProduct(gamma);
      const auto n = as_eigen(xhat.middle_rows(r, 1));
      const float mean_g = g.mean();
      const float mean_gn = g.cwiseProduct(n).mean();
      as_eigen(dx.middle_rows(r, 1)) =
          rstd[static_cast<std::size_t>(r)] * (g.array() - mean_g - n.array() * mean_gn).matrix();
    }
  }, 8);
}

}  // namespace kplug::bert::kernels
