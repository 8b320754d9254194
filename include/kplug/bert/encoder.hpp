// The BERT encoder stack on the CPU: embeddings (from word-embedding ROWS, so
// spliced entity vectors enter exactly like words), then post-LN transformer
// layers, over a packed batch.
//
//   x0 = LN(rows + P[position] + T[segment])
//   per layer:  a = Attn(x) Wo + bo;  h = LN1(a + x)
//               f = act(h W1 + b1) W2 + b2;  x' = LN2(f + h)
//
// forward() optionally fills an encoder_activations with what the input
// gradient needs (per layer: q|k|v, both normalised residuals with their
// reciprocal std, the FFN pre-activation); backward() turns dL/d(last hidden)
// into dL/d(rows). No weight gradient is formed.
//
// An encoder object holds scratch buffers and is not safe to call from two
// threads at once; its kernels use the pool it is given.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "kplug/backend/concepts.hpp"
#include "kplug/bert/attention.hpp"
#include "kplug/bert/config.hpp"
#include "kplug/bert/kernels.hpp"
#include "kplug/bert/weights.hpp"
#include "kplug/core/matrix_view.hpp"
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

  // Checks `in` against the model (hidden size, positions, segments).
  void validate(const encoder_input& in, const char* what) const;

  // hidden: in.tokens() x hidden_size, overwritten with the last hidden
  // states. `cache`, when given, is filled for backward().
  void forward(const encoder_input& in, matrix_view<float> hidden, encoder_activations* cache = nullptr);

  // grad_hidden: dL/d(last hidden), tokens x hidden. grad_in: overwritten
  // with dL/d(in.embeddings). `cache` is what forward() filled for `in`.
  void backward(const encoder_input& in, const encoder_activations& cache, matrix_view<const float> grad_hidden,
                matrix_view<float> grad_in);

 private:
  const bert_weights* w_;
  thread_pool* pool_;
  matrix<float> x_, qkv_, ctx_, tmp_, inter_;
};

// ---------------------------------------------------------------------------
// Implementation

inline void bert_encoder::validate(const encoder_input& in, const char* what) const {
  const bert_config& c = config();
  kplug::validate(in, c.hidden_size, c.max_positions, what);
  for (std::size_t i = 0; i < in.segment_ids.size(); ++i)
    if (in.segment_ids[i] < 0 || in.segment_ids[i] >= c.type_vocab_size)
      throw error(what, "encoder_input.segment_ids[" + std::to_string(i) + "]",
                  "segment " + std::to_string(in.segment_ids[i]) + " is outside [0, " +
                      std::to_string(c.type_vocab_size) + ") (type_vocab_size)");
}

inline void bert_encoder::forward(const encoder_input& in, matrix_view<float> hidden, encoder_activations* cache) {
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
    inter_.resize(t, c.intermediate_size);
  } else {
    cache->tokens = t;
    cache->xhat0.resize(t, h);
    cache->rstd0.resize(static_cast<std::size_t>(t));
    cache->layers.resize(static_cast<std::size_t>(c.num_layers));
  }

  // Embeddings: the rows plus position and segment embeddings, normalised.
  pool.parallel_for(t, [&](index_t r0, index_t r1) {
    for (index_t r = r0; r < r1; ++r) {
      const auto i = static_cast<std::size_t>(r);
      as_eigen(tmp_.view().middle_rows(r, 1)) = as_eigen(in.embeddings.middle_rows(r, 1)) +
                                                 as_eigen(emb.position.middle_rows(in.position_ids[i], 1)) +
                                                 as_eigen(emb.token_type.middle_rows(in.segment_ids[i], 1));
    }
  }, 16);
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

    if (lc) {
      kernels::linear(pool, x_.view(), lw.intermediate, lc->pre_act.view());
      inter_.resize(t, c.intermediate_size);
      std::copy_n(lc->pre_act.view().data(), t * c.intermediate_size, inter_.view().data());
    } else {
      kernels::linear(pool, x_.view(), lw.intermediate, inter_.view());
    }
    kernels::activate(pool, c.hidden_act, inter_.view());
    kernels::linear(pool, inter_.view(), lw.output, tmp_.view());
    matrix_view<float> out = (l + 1 == layers.size()) ? hidden : x_.view();
    kernels::layer_norm(pool, tmp_.view(), lw.output_norm, c.layer_norm_eps, out,
                        lc ? lc->xhat2.view() : matrix_view<float>{}, lc ? std::span<float>(lc->rstd2) : std::span<float>{},
                        x_.view());
  }
  if (layers.empty()) as_eigen(hidden) = as_eigen(x_.view());
}

inline void bert_encoder::backward(const encoder_input& in, const encoder_activations& cache,
                                   matrix_view<const float> grad_hidden, matrix_view<float> grad_in) {
  const bert_config& c = config();
  const index_t t = in.tokens();
  const index_t h = c.hidden_size;
  require_shape(grad_hidden, t, h, "bert_encoder::backward", "grad_hidden");
  require_shape(grad_in, t, h, "bert_encoder::backward", "grad_in");
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
    kernels::linear_backward_input(pool, dr, lw.output, inter_.view(), false);
    kernels::activation_backward(pool, c.hidden_act, lc.pre_act.view(), inter_.view());
    kernels::linear_backward_input(pool, inter_.view(), lw.intermediate, dr, true);  // dr = dh
    // h = LN1(a + x)
    kernels::layer_norm_backward(pool, dr, lc.xhat1.view(), lc.rstd1, lw.attention_norm, dr);
    kernels::linear_backward_input(pool, dr, lw.attention_output, ctx_.view(), false);
    kernels::attention_backward(pool, lc.qkv.view(), in.offsets, in.attention_mask, c.num_heads, ctx_.view(),
                                qkv_.view());
    kernels::linear_backward_input(pool, qkv_.view(), lw.qkv, dr, true);  // dr = dx of this layer's input
    std::swap(dx, dr);
  }
  kernels::layer_norm_backward(pool, dx, cache.xhat0.view(), cache.rstd0, w_->embeddings().norm, grad_in);
}

}  // namespace kplug::bert
