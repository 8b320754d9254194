// The BERT encoder stack on the GPU, mirroring bert/encoder.hpp step by step:
// the embedding step executes the splice plan (each row is its token's word
// embedding or its slot's mapped entity row), then post-LN layers over the
// packed batch; backward() turns dL/d(last hidden) into dL/d(entity rows),
// through the embedding layer norm at the slot rows only.
//
// device_plan is a model_input in device memory, with the index lists the
// kernels need built on the host: per token its slot's entity (or -1), and
// per entity its slots. An encoder holds scratch buffers: one call at a time.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "kplug/backend/cuda/kernels.cuh"
#include "kplug/backend/cuda/memory.cuh"
#include "kplug/backend/cuda/weights.cuh"
#include "kplug/bert/config.hpp"
#include "kplug/core/model_input.hpp"

namespace kplug::cuda {

struct device_plan {
  index_t tokens = 0, sequences = 0, max_length = 0, entities = 0;
  device_buffer<std::int32_t> offsets, token_ids, position_ids, segment_ids;
  device_buffer<std::uint8_t> mask;
  device_buffer<std::int32_t> entity_of;      // per token: its slot's entity row, or -1
  device_buffer<std::int32_t> entity_first;   // entities + 1: entity e's slots are
  device_buffer<std::int32_t> entity_slots;   // entity_slots[entity_first[e] .. entity_first[e+1]) (their rows)

  // `in` must have passed kplug::validate for `entity_rows` entity rows.
  void upload(const model_input& in, index_t entity_rows, cudaStream_t s);

 private:
  std::vector<std::int32_t> host_entity_of_, host_first_, host_slots_;
};

struct device_activations {
  struct layer {
    device_matrix qkv, xhat1, rstd1, pre_act, xhat2, rstd2;
  };
  device_matrix xhat0, rstd0;
  std::vector<layer> layers;
  index_t tokens = 0;
};

class device_encoder {
 public:
  device_encoder(const device_bert_weights& weights, const bert::bert_config& config, cudaStream_t s,
                 cublasHandle_t blas)
      : w_(&weights), config_(config), stream_(s), blas_(blas) {}

  // entities: plan.entities x hidden; hidden: plan.tokens x hidden, written.
  void forward(const device_plan& plan, const float* entities, float* hidden, device_activations* cache);
  // grad_hidden: tokens x hidden; grad_entities: plan.entities x hidden, written.
  void backward(const device_plan& plan, const device_activations& cache, const float* grad_hidden,
                float* grad_entities);

 private:
  const device_bert_weights* w_;
  bert::bert_config config_;
  cudaStream_t stream_;
  cublasHandle_t blas_;
  device_matrix x_, qkv_, ctx_, tmp_, inter_, stats_, dx_, dr_;
};

// ---------------------------------------------------------------------------
// Implementation

inline void device_plan::upload(const model_input& in, index_t entity_rows, cudaStream_t s) {
  tokens = in.tokens();
  sequences = in.sequences();
  entities = entity_rows;
  max_length = 0;
  for (index_t q = 0; q < sequences; ++q)
    max_length = std::max<index_t>(max_length, in.offsets[std::size_t(q) + 1] - in.offsets[std::size_t(q)]);
  // Shared position ids (PELT) let a sequence outgrow max_positions.
  if (max_length > kernels::max_attention_length)
    throw error("bert_cuda", "offsets", "a sequence of " + std::to_string(max_length) + " rows exceeds the " +
                                            std::to_string(kernels::max_attention_length) +
                                            " rows the attention kernels hold in shared memory");
  host_entity_of_.assign(static_cast<std::size_t>(tokens), -1);
  host_first_.assign(static_cast<std::size_t>(entity_rows) + 1, 0);
  for (index_t i = 0; i < in.slots(); ++i) {
    host_entity_of_[std::size_t(in.slot_rows[std::size_t(i)])] = in.slot_entities[std::size_t(i)];
    ++host_first_[std::size_t(in.slot_entities[std::size_t(i)]) + 1];
  }
  for (std::size_t e = 0; e < std::size_t(entity_rows); ++e) host_first_[e + 1] += host_first_[e];
  host_slots_.resize(std::size_t(in.slots()));
  std::vector<std::int32_t> next(host_first_.begin(), host_first_.end() - 1);
  for (index_t i = 0; i < in.slots(); ++i)  // slots of one entity in their order in the plan
    host_slots_[std::size_t(next[std::size_t(in.slot_entities[std::size_t(i)])]++)] = in.slot_rows[std::size_t(i)];
  upload_array(in.offsets.data(), in.offsets.size(), offsets, s);
  upload_array(in.token_ids.data(), in.token_ids.size(), token_ids, s);
  upload_array(in.position_ids.data(), in.position_ids.size(), position_ids, s);
  upload_array(in.segment_ids.data(), in.segment_ids.size(), segment_ids, s);
  upload_array(in.attention_mask.data(), in.attention_mask.size(), mask, s);
  upload_array(host_entity_of_.data(), host_entity_of_.size(), entity_of, s);
  upload_array(host_first_.data(), host_first_.size(), entity_first, s);
  upload_array(host_slots_.data(), host_slots_.size(), entity_slots, s);
}

inline void device_encoder::forward(const device_plan& plan, const float* entities, float* hidden,
                                    device_activations* cache) {
  const index_t t = plan.tokens, h = config_.hidden_size, inter = config_.intermediate_size;
  const float eps = config_.layer_norm_eps;
  const auto& emb = w_->embeddings();
  x_.resize(t, h);
  tmp_.resize(t, h);
  ctx_.resize(t, h);
  qkv_.resize(t, 3 * h);
  inter_.resize(t, inter);
  if (cache) {
    cache->tokens = t;
    cache->xhat0.resize(t, h);
    cache->rstd0.resize(t, 1);
    cache->layers.resize(w_->layers().size());
  }
  kernels::embed_rows(stream_, t, plan.token_ids.data(), plan.position_ids.data(), plan.segment_ids.data(),
                      plan.entity_of.data(), emb.word, emb.position, emb.token_type, entities, h, tmp_.data());
  kernels::layer_norm(stream_, t, h, tmp_.data(), nullptr, emb.norm.gamma, emb.norm.beta, eps, x_.data(),
                      cache ? cache->xhat0.data() : nullptr, cache ? cache->rstd0.data() : nullptr);

  const auto layers = w_->layers();
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const device_layer& lw = layers[l];
    device_activations::layer* lc = cache ? &cache->layers[l] : nullptr;
    if (lc) {
      lc->qkv.resize(t, 3 * h);
      lc->xhat1.resize(t, h);
      lc->rstd1.resize(t, 1);
      lc->pre_act.resize(t, inter);
      lc->xhat2.resize(t, h);
      lc->rstd2.resize(t, 1);
    }
    float* qkv = lc ? lc->qkv.data() : qkv_.data();
    kernels::linear(blas_, x_.data(), t, h, lw.qkv.weight, 3 * h, qkv);
    kernels::bias_activation(stream_, qkv, lw.qkv.bias, t, 3 * h, false, config_.hidden_act, false, nullptr);
    kernels::attention_forward(stream_, qkv, plan.offsets.data(), plan.sequences, plan.mask.data(), t, h,
                               config_.num_heads, plan.max_length, ctx_.data());
    kernels::linear(blas_, ctx_.data(), t, h, lw.attention_output.weight, h, tmp_.data());
    kernels::bias_activation(stream_, tmp_.data(), lw.attention_output.bias, t, h, false, config_.hidden_act, false,
                             nullptr);
    kernels::layer_norm(stream_, t, h, tmp_.data(), x_.data(), lw.attention_norm.gamma, lw.attention_norm.beta, eps,
                        x_.data(), lc ? lc->xhat1.data() : nullptr, lc ? lc->rstd1.data() : nullptr);
    kernels::linear(blas_, x_.data(), t, h, lw.intermediate.weight, inter, inter_.data());
    kernels::bias_activation(stream_, inter_.data(), lw.intermediate.bias, t, inter, true, config_.hidden_act, false,
                             lc ? lc->pre_act.data() : nullptr);
    kernels::linear(blas_, inter_.data(), t, inter, lw.output.weight, h, tmp_.data());
    kernels::bias_activation(stream_, tmp_.data(), lw.output.bias, t, h, false, config_.hidden_act, false, nullptr);
    float* out = l + 1 == layers.size() ? hidden : x_.data();
    kernels::layer_norm(stream_, t, h, tmp_.data(), x_.data(), lw.output_norm.gamma, lw.output_norm.beta, eps, out,
                        lc ? lc->xhat2.data() : nullptr, lc ? lc->rstd2.data() : nullptr);
  }
  if (layers.empty() && t > 0)
    KPLUG_CUDA_CHECK(cudaMemcpyAsync(hidden, x_.data(), sizeof(float) * std::size_t(t * h), cudaMemcpyDeviceToDevice,
                                     stream_));
}

inline void device_encoder::backward(const device_plan& plan, const device_activations& cache,
                                     const float* grad_hidden, float* grad_entities) {
  const index_t t = plan.tokens, h = config_.hidden_size, inter = config_.intermediate_size;
  if (cache.tokens != t || cache.layers.size() != w_->layers().size())
    throw error("device_encoder::backward", "cache", "was not filled by a forward pass over this input");
  dx_.resize(t, h);
  dr_.resize(t, h);
  ctx_.resize(t, h);
  qkv_.resize(t, 3 * h);
  inter_.resize(t, inter);
  stats_.resize(t * config_.num_heads, 3);
  if (t > 0)
    KPLUG_CUDA_CHECK(cudaMemcpyAsync(dx_.data(), grad_hidden, sizeof(float) * std::size_t(t * h),
                                     cudaMemcpyDeviceToDevice, stream_));
  float* dx = dx_.data();
  float* dr = dr_.data();
  const auto layers = w_->layers();
  for (std::size_t l = layers.size(); l-- > 0;) {
    const device_layer& lw = layers[l];
    const device_activations::layer& lc = cache.layers[l];
    // x' = LN2(f + h)
    kernels::layer_norm_backward(stream_, t, h, dx, lc.xhat2.data(), lc.rstd2.data(), lw.output_norm.gamma, dr);
    kernels::linear_backward_input(blas_, dr, t, h, lw.output.weight, inter, inter_.data(), false);
    kernels::activation_backward(stream_, lc.pre_act.data(), inter_.data(), std::size_t(t * inter), config_.hidden_act,
                                 false);
    kernels::linear_backward_input(blas_, inter_.data(), t, inter, lw.intermediate.weight, h, dr, true);  // dr = dh
    // h = LN1(a + x)
    kernels::layer_norm_backward(stream_, t, h, dr, lc.xhat1.data(), lc.rstd1.data(), lw.attention_norm.gamma, dr);
    kernels::linear_backward_input(blas_, dr, t, h, lw.attention_output.weight, h, ctx_.data(), false);
    kernels::attention_backward(stream_, lc.qkv.data(), plan.offsets.data(), plan.sequences, plan.mask.data(), t, h,
                                config_.num_heads, plan.max_length, ctx_.data(), stats_.data(), qkv_.data());
    kernels::linear_backward_input(blas_, qkv_.data(), t, 3 * h, lw.qkv.weight, h, dr, true);  // dr = this layer's dx
    std::swap(dx, dr);
  }
  kernels::entity_gradients(stream_, plan.entities, h, dx, cache.xhat0.data(), cache.rstd0.data(),
                            w_->embeddings().norm.gamma, plan.entity_first.data(), plan.entity_slots.data(),
                            grad_entities);
}

}  // namespace kplug::cuda
