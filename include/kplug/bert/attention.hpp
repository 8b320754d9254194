// Multi-head self-attention over a packed (ragged) batch: each sequence
// attends only within its own rows, so no work or memory goes to padding.
// Work items are (sequence, head) pairs handed out dynamically, as their
// costs differ with sequence length.
//
// Masking follows Hugging Face BERT: a token with attention_mask 0 is hidden
// as a key (its column gets the lowest float before the softmax); its own row
// is still computed. A sequence whose every token is masked therefore attends
// uniformly, as in the reference, instead of producing NaN.
//
// The backward pass recomputes the attention probabilities from the cached
// queries and keys instead of storing sequences x heads x L x L floats: one
// small GEMM per item, against memory that grows with L^2.
#pragma once

#include <Eigen/Core>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>

#include "kplug/bert/gemm.hpp"
#include "kplug/core/eigen.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/core/thread_pool.hpp"

namespace kplug::bert::kernels {

namespace detail {

using scores_matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using strided_block = Eigen::Map<const scores_matrix, Eigen::Unaligned, Eigen::OuterStride<>>;
using strided_block_mut = Eigen::Map<scores_matrix, Eigen::Unaligned, Eigen::OuterStride<>>;

// One head's slice of a packed activation: rows [row, row + len), columns
// [col, col + d), with the full row stride.
template <class T>
auto head_block(matrix_view<T> m, index_t row, index_t len, index_t col, index_t d) {
  using map = std::conditional_t<std::is_const_v<T>, strided_block, strided_block_mut>;
  return map(m.data() + row * m.row_stride() + col, len, d, Eigen::OuterStride<>(m.row_stride()));
}

// Masked, scaled row-wise softmax of p in place.
inline void masked_softmax(std::span<const std::uint8_t> mask, float scale, scores_matrix& p) {
  const index_t len = p.rows();
  p *= scale;
  for (index_t j = 0; j < len; ++j)
    if (mask[static_cast<std::size_t>(j)] == 0) p.col(j).setConstant(std::numeric_limits<float>::lowest());
  for (index_t i = 0; i < len; ++i) {
    auto row = p.row(i).array();
    row = (row - row.maxCoeff()).exp();
    row /= row.sum();
  }
}

// P = softmax(scale * Q K^T + mask), row-wise, into p (len x len).
inline void attention_probabilities(const strided_block& q, const strided_block& k,
                                    std::span<const std::uint8_t> mask, float scale, scores_matrix& p) {
  const index_t len = q.rows();
  p.resize(len, len);
  p.noalias() = q * k.transpose();
  masked_softmax(mask, scale, p);
}

template <class T>
matrix_view<T> head_view(matrix_view<T> m, index_t row, index_t len, index_t col, index_t d) {
  return {m.data() + row * m.row_stride() + col, len, d, m.row_stride()};
}

}  // namespace detail

// qkv: tokens x 3*hidden (queries | keys | values, head-major within each);
// ctx: tokens x hidden, overwritten.
inline void attention_forward(thread_pool& pool, matrix_view<const float> qkv, std::span<const std::int32_t> offsets,
                              std::span<const std::uint8_t> mask, index_t heads, matrix_view<float> ctx) {
  const index_t hidden = ctx.cols();
  const index_t d = hidden / heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  const index_t sequences = static_cast<index_t>(offsets.size()) - 1;
  const cpu::isa level = cpu::active_isa();
  const bool packed_path = level != cpu::isa::portable;
  pool.for_each_dynamic(sequences * heads, [&](index_t item) {
    thread_local detail::scores_matrix p;
    thread_local packed_panels packed;
    const index_t s = item / heads;
    const index_t h = item % heads;
    const index_t row = offsets[static_cast<std::size_t>(s)];
    const index_t len = offsets[static_cast<std::size_t>(s) + 1] - row;
    if (len == 0) return;
    const auto seq_mask = mask.subspan(static_cast<std::size_t>(row), static_cast<std::size_t>(len));
    if (packed_path) {
      // The encoder's register-blocked kernel on per-head packed K^T and V.
      p.resize(len, len);
      const matrix_view<float> scores{p.data(), len, len};
      packed.assign_transposed(detail::head_view(qkv, row, len, hidden + h * d, d));
      gemm_packed_serial(level, detail::head_view(qkv, row, len, h * d, d), packed, scores);
      masked_softmax(level, scores, seq_mask, scale);
      packed.assign_plain(detail::head_view(qkv, row, len, 2 * hidden + h * d, d));
      gemm_packed_serial(level, matrix_view<const float>(scores), packed, detail::head_view(ctx, row, len, h * d, d));
    } else {
      const auto q = detail::head_block(qkv, row, len, h * d, d);
      const auto k = detail::head_block(qkv, row, len, hidden + h * d, d);
      const auto v = detail::head_block(qkv, row, len, 2 * hidden + h * d, d);
      detail::attention_probabilities(q, k, seq_mask, scale, p);
      detail::head_block(ctx, row, len, h * d, d).noalias() = p * v;
    }
  });
}

// Softmax backward in place: dp becomes P . (dP - rowsum(P . dP)) * scale,
// the gradient of the scores before the 1/sqrt(d) scaling.
namespace detail {
inline void softmax_backward(const scores_matrix& p, float scale, scores_matrix& dp) {
  for (index_t i = 0; i < p.rows(); ++i) {
    const float dot = p.row(i).dot(dp.row(i));
    dp.row(i) = (p.row(i).array() * (dp.row(i).array() - dot) * scale).matrix();
  }
}
}  // namespace detail

// Given dctx (tokens x hidden), writes dqkv (tokens x 3*hidden): the
// gradients with respect to the queries, keys and values. Per item, with G
// the head's dctx: P recomputed, dV = P^T G, dP = G V^T, dS = softmax'(dP),
// dQ = dS K, dK = dS^T Q; on the packed kernels where the level has them.
inline void attention_backward(thread_pool& pool, matrix_view<const float> qkv, std::span<const std::int32_t> offsets,
                               std::span<const std::uint8_t> mask, index_t heads, matrix_view<const float> dctx,
                               matrix_view<float> dqkv) {
  const index_t hidden = dctx.cols();
  const index_t d = hidden / heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  const index_t sequences = static_cast<index_t>(offsets.size()) - 1;
  const cpu::isa level = cpu::active_isa();
  const bool packed_path = level != cpu::isa::portable;
  pool.for_each_dynamic(sequences * heads, [&](index_t item) {
    thread_local detail::scores_matrix p, dp, t;
    thread_local packed_panels packed;
    const index_t s = item / heads;
    const index_t h = item % heads;
    const index_t row = offsets[static_cast<std::size_t>(s)];
    const index_t len = offsets[static_cast<std::size_t>(s) + 1] - row;
    if (len == 0) return;
    const auto seq_mask = mask.subspan(static_cast<std::size_t>(row), static_cast<std::size_t>(len));
    const auto q = detail::head_view(qkv, row, len, h * d, d);
    const auto k = detail::head_view(qkv, row, len, hidden + h * d, d);
    const auto v = detail::head_view(qkv, row, len, 2 * hidden + h * d, d);
    const auto g = detail::head_view(dctx, row, len, h * d, d);
    const auto dq = detail::head_view(dqkv, row, len, h * d, d);
    const auto dk = detail::head_view(dqkv, row, len, hidden + h * d, d);
    const auto dv = detail::head_view(dqkv, row, len, 2 * hidden + h * d, d);
    if (!packed_path) {
      const auto qb = detail::head_block(qkv, row, len, h * d, d);
      const auto kb = detail::head_block(qkv, row, len, hidden + h * d, d);
      const auto vb = detail::head_block(qkv, row, len, 2 * hidden + h * d, d);
      const auto gb = detail::head_block(dctx, row, len, h * d, d);
      detail::attention_probabilities(qb, kb, seq_mask, scale, p);
      detail::head_block(dqkv, row, len, 2 * hidden + h * d, d).noalias() = p.transpose() * gb;
      dp.resize(len, len);
      dp.noalias() = gb * vb.transpose();
      detail::softmax_backward(p, scale, dp);
      detail::head_block(dqkv, row, len, h * d, d).noalias() = dp * kb;
      detail::head_block(dqkv, row, len, hidden + h * d, d).noalias() = dp.transpose() * qb;
      return;
    }
    p.resize(len, len);
    dp.resize(len, len);
    const matrix_view<float> pv{p.data(), len, len}, dpv{dp.data(), len, len};
    packed.assign_transposed(k);  // P = softmax(Q K^T)
    gemm_packed_serial(level, q, packed, pv);
    masked_softmax(level, pv, seq_mask, scale);
    t = p.transpose();  // dV = P^T G
    packed.assign_plain(g);
    gemm_packed_serial(level, matrix_view<const float>{t.data(), len, len}, packed, dv);
    packed.assign_transposed(v);  // dP = G V^T
    gemm_packed_serial(level, g, packed, dpv);
    detail::softmax_backward(p, scale, dp);
    packed.assign_plain(k);  // dQ = dS K
    gemm_packed_serial(level, matrix_view<const float>(dpv), packed, dq);
    t = dp.transpose();  // dK = dS^T Q
    packed.assign_plain(q);
    gemm_packed_serial(level, matrix_view<const float>{t.data(), len, len}, packed, dk);
  });
}

}  // namespace kplug::bert::kernels
