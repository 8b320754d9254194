// The BERT encoder stack on the CPU over a packed batch: it executes the
// splice plan in its embedding step (each row is the word embedding of its
// token, or the mapped entity row of its slot, so spliced entity vectors
// enter exactly like words), then runs post-LN transformer layers.
//
//   rows = W[token] or entities[slot entity];  x0 = LN(rows + P[position] + T[segment])
//   per layer:  a = Attn(x) Wo + bo;  h = LN1(a + x)
//               f = act(h W1 + b1) W2 + b2;  x' = LN2(f + h)
//
// forward() optionally fills an encoder_activations with what the input
// gradient needs (per layer: q|k|v, both normalised residuals with their
// reciprocal std, the FFN pre-activation); backward() turns dL/d(last hidden)
// into dL/d(entities), through the embedding layer norm at the slot rows
// only. No weight gradient is formed.
//
// An encoder object holds scratch buffers and is not safe to call from two
// threads at once; its kernels use the pool it is given.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "kplug/bert/attention.hpp"
#include "kplug/bert/config.hpp"
#include "kplug/bert/kernels.hpp"
#include "kplug/bert/weights.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/core/model_input.hpp"
#include "kplug/core/thread_pool.hpp"

namespace kplug::bert {

struct encoder_activations {
  struct layer {
    matrix<float> qkv;      // tokens x 3*hidden
    matrix<float> xhat1;    // attention residual, normalised
    std::vector<float> rstd1;
    matrix<float> pre_act;  // tokens x intermediate
    matrix<float> xhat2;
    std::vector<float> rstd2;
  };
  matrix<float> xhat0;  // embeddings, normalised
  std::vector<float> rstd0;
  std::vector<layer> layers;
  index_t tokens = 0;
};

class bert_encoder {
 public:
  bert_encoder(const bert_weights& weights, thread_pool& pool) : w_(&weights), pool_(&pool) {}

  const bert_config& config() const noexcept { return w_->config(); }
  model_limits limits() const noexcept;

  // Checks `in` and the entity rows against the model (kplug::validate).
  void validate(const model_input& in, matrix_view<const float> entities, const char* what) const;

  // entities: E x hidden_size, the mapped rows the slots point at. hidden:
  // in.tokens() x hidden_size, overwritten with the last hidden states.
  // `cache`, when given, is filled for backward().
  void forward(const model_input& in, matrix_view<const float> entities, matrix_view<float> hidden,
               encoder_activations* cache = nullptr);

  // grad_hidden: dL/d(last hidden), tokens x hidden. grad_entities (E x
  // hidden): overwritten with dL/d(entities), summed over each entity's
  // slots. `cache` is what forward() filled for `in`.
  void backward(const model_input& in, const encoder_activations& cache, matrix_view<const float> grad_hidden,
                matrix_view<float> grad_entities);

 private:
  void embed(const model_input& in, matrix_view<const float> entities, matrix_view<float> sum);

  const bert_weights* w_;
  thread_pool* pool_;
  matrix<float> x_, qkv_, ctx_, tmp_, inter_;
  std::vector<std::int32_t> entity_of_;  // per token: its slot's entity row, or -1
  matrix<float> slot_grad_, slot_xhat_;  // slots x hidden
  std::vector<float> slot_rstd_;
};

// ---------------------------------------------------------------------------
// Implementation

inline model_limits bert_encoder::limits() const noexcept {
  const bert_config& c = config();
  return {c.hidden_size, c.vocab_size, c.max_positions, c.type_vocab_size};
}

inline void bert_encoder::validate(const model_input& in, matrix_view<const float> entities,
                                   const char* what) const {
  kplug::validate(in, limits(), entities, what);
}

// sum = W[token] (or the slot's entity row) + P[position] + T[segment], per row.
inline void bert_encoder::embed(const model_input& in, matrix_view<const float> entities, matrix_view<float> sum) {
  const auto& emb = w_->embeddings();
  entity_of_.assign(static_cast<std::size_t>(in.tokens()), -1);
  for (index_t i = 0; i < in.slots(); ++i)
    entity_of_[static_cast<std::size_t>(in.slot_rows[static_cast<std::size_t>(i)])] =
        in.slot_entities[static_cast<std::size_t>(i)];
  pool_->parallel_for(in.tokens(), [&](index_t r0, index_t r1) {
    for (index_t r = r0; r < r1; ++r) {
      const auto i = static_cast<std::size_t>(r);
      const std::int32_t e = entity_of_[i];
      const matrix_view<const float> row =
          e >= 0 ? entities.middle_rows(e, 1) : emb.word.middle_rows(in.token_ids[i], 1);
      as_eigen(sum.middle_rows(r, 1)) = as_eigen(row) + as_eigen(emb.position.middle_rows(in.position_ids[i], 1)) +
                                        as_eigen(emb.token_type.middle_rows(in.segment_ids[i], 1));
    }
  }, 16);
}

inline void bert_encoder::forward(const model_input& in, matrix_view<const float> entities, matrix_view<float> hidden,
                                  encoder_activations* cache) {
  const bert_config& c = config();
  const index_t t = in.tokens();
  const index_t h = c.hidden_size;
  require_shape(hidden, t, h, "bert_encoder::forward", "hidden");
  thread_pool& pool = *pool_;
  const auto& emb = w_->embeddings();

  x_.resize(t, h);
  tmp_.resize(t, h);
  ctx_.resize(t, h);
  if (!cache) {
    qkv_.resize(t, 3 * h);
  } else {
    cache->tokens = t;
    cache->xhat0.resize(t, h);
    cache->rstd0.resize(static_cast<std::size_t>(t));
    cache->layers.resize(static_cast<std::size_t>(c.num_layers));
  }

  // Embeddings: the plan's rows plus position and segment embeddings, normalised.
  embed(in, entities, tmp_.view());
  kernels::layer_norm(pool, tmp_.view(), emb.norm, c.layer_norm_eps, x_.view(),
                      cache ? cache->xhat0.view() : matrix_view<float>{}, cache ? std::span<float>(cache->rstd0) : std::span<float>{});

  const auto layers = w_->layers();
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const encoder_layer_weights& lw = layers[l];
    encoder_activations::layer* lc = cache ? &cache->layers[l] : nullptr;
    if (lc) {
      lc->qkv.resize(t, 3 * h);
      lc->xhat1.resize(t, h);
      lc->rstd1.resize(static_cast<std::size_t>(t));
      lc->pre_act.resize(t, c.intermediate_size);
      lc->xhat2.resize(t, h);
      lc->rstd2.resize(static_cast<std::size_t>(t));
    }
    matrix<float>& qkv = lc ? lc->qkv : qkv_;

    kernels::linear(pool, x_.view(), lw.qkv, qkv.view());
    kernels::attention_forward(pool, qkv.view(), in.offsets, in.attention_mask, c.num_heads, ctx_.view());
    kernels::linear(pool, ctx_.view(), lw.attention_output, tmp_.view());
    kernels::layer_norm(pool, tmp_.view(), lw.attention_norm, c.layer_norm_eps, x_.view(),
                        lc ? lc->xhat1.view() : matrix_view<float>{}, lc ? std::span<float>(lc->rstd1) : std::span<float>{},
                        x_.view());

    inter_.resize(t, c.intermediate_size);
    kernels::linear_activate(pool, x_.view(), lw.intermediate, c.hidden_act, inter_.view(),
                             lc ? lc->pre_act.view() : matrix_view<float>{});
    kernels::linear(pool, inter_.view(), lw.output, tmp_.view());
    matrix_view<float> out = (l + 1 == layers.size()) ? hidden : x_.view();
    kernels::layer_norm(pool, tmp_.view(), lw.output_norm, c.layer_norm_eps, out,
                        lc ? lc->xhat2.view() : matrix_view<float>{}, lc ? std::span<float>(lc->rstd2) : std::span<float>{},
                        x_.view());
  }
  if (layers.empty()) as_eigen(hidden) = as_eigen(x_.view());
}

inline void bert_encoder::backward(const model_input& in, const encoder_activations& cache,
                                   matrix_view<const float> grad_hidden, matrix_view<float> grad_entities) {
  const bert_config& c = config();
  const index_t t = in.tokens();
  const index_t h = c.hidden_size;
  require_shape(grad_hidden, t, h, "bert_encoder::backward", "grad_hidden");
  if (grad_entities.cols() != h)
    throw error("bert_encoder::backward", "grad_entities", "rows must be " + std::to_string(h) + " wide");
  for (const std::int32_t e : in.slot_entities)
    if (e < 0 || e >= grad_entities.rows())
      throw error("bert_encoder::backward", "grad_entities",
                  "has " + std::to_string(grad_entities.rows()) + " rows; a slot fills entity " + std::to_string(e));
  if (cache.tokens != t || cache.layers.size() != static_cast<std::size_t>(c.num_layers))
    throw error("bert_encoder::backward", "cache", "was not filled by a forward pass over this input");
  thread_pool& pool = *pool_;

  // dx: gradient w.r.t. the current layer's output; dr: scratch of the same shape.
  x_.resize(t, h);
  tmp_.resize(t, h);
  ctx_.resize(t, h);
  qkv_.resize(t, 3 * h);
  inter_.resize(t, c.intermediate_size);
  matrix_view<float> dx = x_.view();
  matrix_view<float> dr = tmp_.view();
  as_eigen(dx) = as_eigen(grad_hidden);

  const auto layers = w_->layers();
  for (std::size_t l = layers.size(); l-- > 0;) {
    const encoder_layer_weights& lw = layers[l];
    const encoder_activations::layer& lc = cache.layers[l];
    // x' = LN2(f + h)
    kernels::layer_norm_backward(pool, dx, lc.xhat2.view(), lc.rstd2, lw.output_norm, dr);
    kernels::linear_backward_input_activation(pool, dr, lw.output, c.hidden_act, lc.pre_act.view(), inter_.view());
    kernels::linear_backward_input(pool, inter_.view(), lw.intermediate, dr, true);  // dr = dh
    // h = LN1(a + x)
    kernels::layer_norm_backward(pool, dr, lc.xhat1.view(), lc.rstd1, lw.attention_norm, dr);
    kernels::linear_backward_input(pool, dr, lw.attention_output, ctx_.view(), false);
    kernels::attention_backward(pool, lc.qkv.view(), in.offsets, in.attention_mask, c.num_heads, ctx_.view(),
                                qkv_.view());
    kernels::linear_backward_input(pool, qkv_.view(), lw.qkv, dr, true);  // dr = dx of this layer's input
    std::swap(dx, dr);
  }
  // Only the slot rows lead back to an entity: the embedding layer norm's
  // backward runs on them alone, then each entity sums its slots.
  const index_t n = in.slots();
  slot_grad_.resize(n, h);
  slot_xhat_.resize(n, h);
  slot_rstd_.resize(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) {
    const std::int32_t row = in.slot_rows[static_cast<std::size_t>(i)];
    as_eigen(slot_grad_.view().middle_rows(i, 1)) = as_eigen(matrix_view<const float>(dx).middle_rows(row, 1));
    as_eigen(slot_xhat_.view().middle_rows(i, 1)) = as_eigen(cache.xhat0.view().middle_rows(row, 1));
    slot_rstd_[static_cast<std::size_t>(i)] = cache.rstd0[static_cast<std::size_t>(row)];
  }
  kernels::layer_norm_backward(pool, slot_grad_.view(), slot_xhat_.view(), slot_rstd_, w_->embeddings().norm,
                               slot_grad_.view());
  as_eigen(grad_entities).setZero();
  for (index_t i = 0; i < n; ++i)
    as_eigen(grad_entities.middle_rows(in.slot_entities[static_cast<std::size_t>(i)], 1)) +=
        as_eigen(slot_grad_.view().middle_rows(i, 1));
}

}  // namespace kplug::bert
