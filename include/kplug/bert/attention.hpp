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

// One work item: a sequence's rows [row, row + len) and its attention mask,
// and one head: its columns [col, col + d) within each hidden-wide block, so
// in qkv its queries at col, keys at key_col and values at value_col (and the
// same in the gradients), and the scale 1/sqrt(d) of its scores.
struct head_item {
  index_t row, len, d, col, key_col, value_col;
  float scale;
  std::span<const std::uint8_t> mask;

  // This item's rows and `first`'s d columns of m, as a view or an Eigen block.
  template <class T>
  matrix_view<T> view(matrix_view<T> m, index_t first) const {
    return head_view(m, row, len, first, d);
  }
  template <class T>
  auto block(matrix_view<T> m, index_t first) const {
    return head_block(m, row, len, first, d);
  }
};

// Calls body(item) for every (sequence, head) pair of a packed batch whose
// activations are `hidden` wide, handed out dynamically; empty sequences
// are skipped.
template <class Body>
void for_each_head(thread_pool& pool, std::span<const std::int32_t> offsets, std::span<const std::uint8_t> mask,
                   index_t heads, index_t hidden, Body&& body) {
  const index_t d = hidden / heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  const index_t sequences = static_cast<index_t>(offsets.size()) - 1;
  pool.for_each_dynamic(sequences * heads, [&](index_t item) {
    const auto s = static_cast<std::size_t>(item / heads);
    const index_t row = offsets[s];
    const index_t len = offsets[s + 1] - row;
    if (len == 0) return;
    const index_t col = (item % heads) * d;
    body(head_item{row, len, d, col, hidden + col, 2 * hidden + col, scale,
                   mask.subspan(static_cast<std::size_t>(row), static_cast<std::size_t>(len))});
  });
}

}  // namespace detail

// qkv: tokens x 3*hidden (queries | keys | values, head-major within each);
// ctx: tokens x hidden, overwritten.
inline void attention_forward(thread_pool& pool, matrix_view<const float> qkv, std::span<const std::int32_t> offsets,
                              std::span<const std::uint8_t> mask, index_t heads, matrix_view<float> ctx) {
  const cpu::isa level = cpu::active_isa();
  detail::for_each_head(pool, offsets, mask, heads, ctx.cols(), [&](const detail::head_item& h) {
    thread_local detail::scores_matrix p;
    thread_local packed_panels packed;
    if (level != cpu::isa::portable) {
      // The encoder's register-blocked kernel on per-head packed K^T and V.
      p.resize(h.len, h.len);
      const matrix_view<float> scores{p.data(), h.len, h.len};
      packed.assign_transposed(h.view(qkv, h.key_col));
      gemm_packed_serial(level, h.view(qkv, h.col), packed, scores);
      masked_softmax(level, scores, h.mask, h.scale);
      packed.assign_plain(h.view(qkv, h.value_col));
      gemm_packed_serial(level, matrix_view<const float>(scores), packed, h.view(ctx, h.col));
    } else {
      detail::attention_probabilities(h.block(qkv, h.col), h.block(qkv, h.key_col), h.mask, h.scale, p);
      h.block(ctx, h.col).noalias() = p * h.block(qkv, h.value_col);
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
  const cpu::isa level = cpu::active_isa();
  detail::for_each_head(pool, offsets, mask, heads, dctx.cols(), [&](const detail::head_item& h) {
    thread_local detail::scores_matrix p, dp, t;
    thread_local packed_panels packed;
    const index_t len = h.len;
    if (level == cpu::isa::portable) {
      const auto q = h.block(qkv, h.col), k = h.block(qkv, h.key_col), v = h.block(qkv, h.value_col);
      const auto g = h.block(dctx, h.col);
      detail::attention_probabilities(q, k, h.mask, h.scale, p);
      h.block(dqkv, h.value_col).noalias() = p.transpose() * g;
      dp.resize(len, len);
      dp.noalias() = g * v.transpose();
      detail::softmax_backward(p, h.scale, dp);
      h.block(dqkv, h.col).noalias() = dp * k;
      h.block(dqkv, h.key_col).noalias() = dp.transpose() * q;
      return;
    }
    const auto q = h.view(qkv, h.col), k = h.view(qkv, h.key_col), v = h.view(qkv, h.value_col);
    const auto g = h.view(dctx, h.col);
    p.resize(len, len);
    dp.resize(len, len);
    const matrix_view<float> pv{p.data(), len, len}, dpv{dp.data(), len, len};
    packed.assign_transposed(k);  // P = softmax(Q K^T)
    gemm_packed_serial(level, q, packed, pv);
    masked_softmax(level, pv, h.mask, h.scale);
    t = p.transpose();  // dV = P^T G
    packed.assign_plain(g);
    gemm_packed_serial(level, matrix_view<const float>{t.data(), len, len}, packed, h.view(dqkv, h.value_col));
    packed.assign_transposed(v);  // dP = G V^T
    gemm_packed_serial(level, g, packed, dpv);
    detail::softmax_backward(p, h.scale, dp);
    packed.assign_plain(k);  // dQ = dS K
    gemm_packed_serial(level, matrix_view<const float>(dpv), packed, h.view(dqkv, h.col));
    t = dp.transpose();  // dK = dS^T Q
    packed.assign_plain(q);
    gemm_packed_serial(level, matrix_view<const float>{t.data(), len, len}, packed, h.view(dqkv, h.key_col));
  });
}

}  // namespace kplug::bert::kernels
