// A BERT checkpoint's weights in device memory, uploaded once from the host
// copy that bert::load_checkpoint reads (bert/weights.hpp), mirroring its
// layout: PyTorch's out x in matrices, float32. A decoder tied to the word
// embeddings stays one device copy.
#pragma once

#include <deque>
#include <optional>
#include <span>
#include <vector>

#include "kplug/backend/cuda/memory.cuh"
#include "kplug/bert/weights.hpp"

namespace kplug::cuda {

struct device_linear {
  const float* weight = nullptr;  // out x in
  const float* bias = nullptr;    // out, or null
  index_t out = 0, in = 0;
};

struct device_norm {
  const float* gamma = nullptr;
  const float* beta = nullptr;
};

struct device_layer {
  device_linear qkv, attention_output, intermediate, output;
  device_norm attention_norm, output_norm;
};

struct device_embeddings {
  const float* word = nullptr;        // vocab x hidden
  const float* position = nullptr;    // max_positions x hidden
  const float* token_type = nullptr;  // type_vocab x hidden
  device_norm norm;
};

struct device_masked_lm {
  device_linear transform;
  device_norm transform_norm;
  device_linear decoder;  // vocab x hidden, with the output bias
};

class device_bert_weights {
 public:
  device_bert_weights(const bert::bert_weights& host, cudaStream_t s);
  device_bert_weights(const device_bert_weights&) = delete;
  device_bert_weights& operator=(const device_bert_weights&) = delete;

  const device_embeddings& embeddings() const noexcept { return embeddings_; }
  std::span<const device_layer> layers() const noexcept { return layers_; }
  const std::optional<device_linear>& pooler() const noexcept { return pooler_; }
  const std::optional<device_masked_lm>& masked_lm() const noexcept { return masked_lm_; }
  const std::optional<device_linear>& classifier() const noexcept { return classifier_; }
  std::size_t bytes() const noexcept { return bytes_; }

 private:
  const float* upload(const float* data, std::size_t count);
  const float* upload(bert::weight_matrix m);
  const float* upload(bert::weight_vector v) { return v.empty() ? nullptr : upload(v.data(), v.size()); }
  device_linear upload(const bert::linear_weights& w);
  device_norm upload(const bert::layer_norm_weights& n) { return {upload(n.gamma), upload(n.beta)}; }

  cudaStream_t stream_;
  std::deque<device_buffer<float>> store_;
  std::size_t bytes_ = 0;
  device_embeddings embeddings_;
  std::vector<device_layer> layers_;
  std::optional<device_linear> pooler_;
  std::optional<device_masked_lm> masked_lm_;
  std::optional<device_linear> classifier_;
};

// ---------------------------------------------------------------------------
// Implementation

inline const float* device_bert_weights::upload(const float* data, std::size_t count) {
  device_buffer<float>& b = store_.emplace_back(count);
  if (count > 0) KPLUG_CUDA_CHECK(cudaMemcpyAsync(b.data(), data, count * sizeof(float), cudaMemcpyHostToDevice, stream_));
  bytes_ += count * sizeof(float);
  return b.data();
}

inline const float* device_bert_weights::upload(bert::weight_matrix m) {
  if (!m.contiguous()) throw error("upload weights to the device", "weight matrix", "rows are not contiguous");
  return upload(m.data(), static_cast<std::size_t>(m.rows() * m.cols()));
}

inline device_linear device_bert_weights::upload(const bert::linear_weights& w) {
  return {upload(w.weight), upload(w.bias), w.weight.rows(), w.weight.cols()};
}

inline device_bert_weights::device_bert_weights(const bert::bert_weights& host, cudaStream_t s) : stream_(s) {
  const auto& e = host.embeddings();
  embeddings_ = {upload(e.word), upload(e.position), upload(e.token_type), upload(e.norm)};
  for (const bert::encoder_layer_weights& l : host.layers())
    layers_.push_back({upload(l.qkv), upload(l.attention_output), upload(l.intermediate), upload(l.output),
                       upload(l.attention_norm), upload(l.output_norm)});
  if (host.pooler()) pooler_ = upload(*host.pooler());
  if (host.classifier()) classifier_ = upload(*host.classifier());
  if (const auto& m = host.masked_lm()) {
    device_masked_lm d;
    d.transform = upload(m->transform);
    d.transform_norm = upload(m->transform_norm);
    const bool tied = m->decoder.data() == e.word.data();
    d.decoder = {tied ? embeddings_.word : upload(m->decoder), upload(m->bias), m->decoder.rows(), m->decoder.cols()};
    masked_lm_ = d;
  }
  // The host tensors may be unmapped once the constructor returns.
  KPLUG_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

}  // namespace kplug::cuda
