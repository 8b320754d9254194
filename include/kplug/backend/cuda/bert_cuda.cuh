// kplug's reference CUDA backend: the BERT-family encoder of bert_cpu (plus
// the head its checkpoint carries) on an NVIDIA GPU, modelling
// kplug::trainable_backend with its matrices in device memory
// (memory_space = cuda::device_memory). Include this header, compiled by
// nvcc, and link kplug::cuda; kplug.hpp never includes it.
//
//   kplug::backend::bert_cuda gpu(kplug::bert::load_checkpoint(dir));
//   kplug::mirrored_matrix<kplug::backend::bert_cuda> mapped, out;   // backend/memory.hpp
//   ... fill mapped.host(); mapped.upload(gpu);
//   gpu.forward(batch.input(), mapped.device(), positions, out.device());
//   out.download(gpu);
//
// The host keeps the plan: each call copies the model_input's integers (a
// few KB) to the device, the mapped entity rows and the outputs stay there.
// Weights are uploaded once, float32; GEMMs are cuBLAS SGEMM without TF32,
// so that results match the CPU backend's within float rounding.
//
// Training: as bert_cpu, forward() keeps what backward() needs and backward()
// checks by a hash of its arguments (the entity rows are read back for it:
// kilobytes) that the kept activations are for them, else runs the forward.
//
// One object runs one call at a time on its own stream and cuBLAS handle.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "kplug/backend/concepts.hpp"
#include "kplug/backend/cuda/encoder.cuh"
#include "kplug/backend/cuda/error.cuh"
#include "kplug/backend/cuda/heads.cuh"
#include "kplug/backend/cuda/memory.cuh"
#include "kplug/backend/cuda/weights.cuh"
#include "kplug/bert/checkpoint.hpp"
#include "kplug/bert/output_head.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/core/model_input.hpp"
#include "kplug/core/xxh64.hpp"

namespace kplug::backend {

struct bert_cuda_options {
  int device = 0;                 // CUDA device ordinal
  bool keep_activations = true;   // cache in forward() for backward()
};

class bert_cuda {
 public:
  using memory_space = cuda::device_memory;
  template <class T>
  using view = cuda::device_view<T>;

  // Throws kplug::error when no CUDA device is usable or memory runs out.
  explicit bert_cuda(bert::bert_weights weights, bert_cuda_options options = {});
  bert_cuda(const bert_cuda&) = delete;
  bert_cuda& operator=(const bert_cuda&) = delete;
  bert_cuda(bert_cuda&&) = delete;
  bert_cuda& operator=(bert_cuda&&) = delete;

  // token_embedder: host rows, from the checkpoint's host copy.
  index_t hidden_size() const noexcept { return config().hidden_size; }
  index_t vocab_size() const noexcept { return config().vocab_size; }
  void embed_tokens(std::span<const token_id> ids, matrix_view<float> out) const;

  // batch_encoder / entity_differentiable, in device memory.
  index_t output_size() const noexcept;
  void forward(const model_input& in, view<const float> entities, std::span<const std::int32_t> positions,
               view<float> out);
  void backward(const model_input& in, view<const float> entities, std::span<const std::int32_t> positions,
                view<const float> grad_out, view<float> grad_entities);
  // The last hidden state of every token (no head): in.tokens() x hidden.
  void encode(const model_input& in, view<const float> entities, view<float> hidden);

  // device_memory_owner
  cuda::device_matrix allocate(index_t rows, index_t cols);
  void upload(matrix_view<const float> host, view<float> device);
  void download(view<const float> device, matrix_view<float> host);

  index_t max_positions() const noexcept { return config().max_positions; }
  const bert::bert_config& config() const noexcept { return host_.config(); }
  std::string_view output_kind() const noexcept;
  int device() const noexcept { return device_; }
  // Waits until the work queued on the backend's stream is done (for timing).
  void synchronize() const {
    use_device();
    stream_.synchronize();
  }
  // Bytes of weights in device memory.
  std::size_t weight_bytes() const noexcept { return weights_.bytes(); }

 private:
  static int select_device(int device);
  void use_device() const { KPLUG_CUDA_CHECK(cudaSetDevice(device_)); }
  void check(const model_input& in, view<const float> entities, std::span<const std::int32_t> positions,
             const char* what) const;
  std::uint64_t key_of(const model_input& in, std::span<const std::int32_t> positions) const;
  bool cached_for(const model_input& in, view<const float> entities, std::span<const std::int32_t> positions);
  void remember(const model_input& in, view<const float> entities, std::span<const std::int32_t> positions);
  void run_forward(const model_input& in, view<const float> entities, std::span<const std::int32_t> positions,
                   float* out, bool cache);

  bert::bert_weights host_;
  int device_;
  bool keep_activations_;
  cuda::stream stream_;
  cuda::blas_handle blas_;
  cuda::device_bert_weights weights_;
  cuda::device_encoder encoder_;
  bert::output_head<cuda::device_masked_lm_head, cuda::device_classification_head> head_;

  cuda::device_plan plan_;
  cuda::device_buffer<std::int32_t> positions_, position_first_, position_list_;
  cuda::device_matrix hidden_, gathered_, head_out_, dgathered_, grad_hidden_;
  cuda::device_activations cache_;
  cuda::device_head_activations head_cache_;
  // What the cache was computed from: the plan's key (host) and a copy of
  // the entity rows (device; compared there, not downloaded and hashed).
  std::uint64_t cache_key_ = 0;
  bool cache_valid_ = false;
  cuda::device_matrix cache_entities_;
  cuda::device_buffer<int> differs_;
  std::vector<std::int32_t> host_first_, host_list_;
};

static_assert(trainable_backend<bert_cuda>);
static_assert(device_memory_owner<bert_cuda>);

// ---------------------------------------------------------------------------
// Implementation

inline int bert_cuda::select_device(int device) {
  cuda::require_device("create bert_cuda");
  const int n = cuda::device_count();
  if (device < 0 || device >= n)
    throw error("create bert_cuda", "options.device",
                "device " + std::to_string(device) + " is not one of the " + std::to_string(n) + " CUDA devices");
  KPLUG_CUDA_CHECK(cudaSetDevice(device));
  return device;
}

inline bert_cuda::bert_cuda(bert::bert_weights weights, bert_cuda_options options)
    : host_(std::move(weights)),
      device_(select_device(options.device)),
      keep_activations_(options.keep_activations),
      stream_(),
      blas_(stream_.get()),
      weights_(host_, stream_.get()),
      encoder_(weights_, host_.config(), stream_.get(), blas_.get()) {
  head_ = bert::make_output_head<cuda::device_masked_lm_head, cuda::device_classification_head>(
      host_.config(), weights_);
}

inline index_t bert_cuda::output_size() const noexcept { return bert::output_size(head_, hidden_size()); }

inline std::string_view bert_cuda::output_kind() const noexcept { return bert::output_kind(head_); }

inline void bert_cuda::embed_tokens(std::span<const token_id> ids, matrix_view<float> out) const {
  bert::copy_word_embeddings(host_, ids, out, "bert_cuda::embed_tokens");
}

inline cuda::device_matrix bert_cuda::allocate(index_t rows, index_t cols) {
  use_device();
  return cuda::device_matrix(rows, cols);
}

inline void bert_cuda::upload(matrix_view<const float> host, view<float> device) {
  use_device();
  cuda::copy_to_device(host, device, stream_.get());
}

inline void bert_cuda::download(view<const float> device, matrix_view<float> host) {
  use_device();
  cuda::copy_to_host(device, host, stream_.get());
}

inline void bert_cuda::check(const model_input& in, view<const float> entities, std::span<const std::int32_t> positions,
                             const char* what) const {
  const bert::bert_config& c = config();
  validate(in, model_limits{c.hidden_size, c.vocab_size, c.max_positions, c.type_vocab_size}, entities, what);
  validate_positions(positions, in.tokens(), what);
  if (!entities.contiguous()) throw error(what, "entities", "device rows must be contiguous");
}

inline std::uint64_t bert_cuda::key_of(const model_input& in, std::span<const std::int32_t> positions) const {
  xxh64_stream h;
  for (const auto part : {std::as_bytes(in.offsets), std::as_bytes(in.token_ids), std::as_bytes(in.position_ids),
                          std::as_bytes(in.segment_ids), std::as_bytes(in.attention_mask),
                          std::as_bytes(in.slot_rows), std::as_bytes(in.slot_entities), std::as_bytes(positions)}) {
    h.update_u64(part.size());
    h.update(part);
  }
  return h.digest();
}

inline void bert_cuda::remember(const model_input& in, view<const float> entities,
                                std::span<const std::int32_t> positions) {
  cache_entities_.resize(entities.rows(), entities.cols());
  if (entities.rows() * entities.cols() > 0)
    KPLUG_CUDA_CHECK(cudaMemcpyAsync(cache_entities_.data(), entities.data(),
                                     sizeof(float) * std::size_t(entities.rows() * entities.cols()),
                                     cudaMemcpyDeviceToDevice, stream_.get()));
  cache_key_ = key_of(in, positions);
  cache_valid_ = true;
}

// Whether the cached activations are those of exactly these inputs (the
// mapper may have changed the entity rows in place since the forward).
inline bool bert_cuda::cached_for(const model_input& in, view<const float> entities,
                                  std::span<const std::int32_t> positions) {
  if (!cache_valid_ || cache_key_ != key_of(in, positions) || cache_entities_.rows() != entities.rows() ||
      cache_entities_.cols() != entities.cols())
    return false;
  const std::size_t n = std::size_t(entities.rows() * entities.cols());
  if (n == 0) return true;
  const cudaStream_t s = stream_.get();
  differs_.resize(1);
  KPLUG_CUDA_CHECK(cudaMemsetAsync(differs_.data(), 0, sizeof(int), s));
  cuda::kernels::rows_differ(s, cache_entities_.data(), entities.data(), n, differs_.data());
  int differs = 0;
  KPLUG_CUDA_CHECK(cudaMemcpyAsync(&differs, differs_.data(), sizeof(int), cudaMemcpyDeviceToHost, s));
  KPLUG_CUDA_CHECK(cudaStreamSynchronize(s));
  return differs == 0;
}

inline void bert_cuda::run_forward(const model_input& in, view<const float> entities,
                                   std::span<const std::int32_t> positions, float* out, bool cache) {
  const index_t h = hidden_size(), p = static_cast<index_t>(positions.size());
  const cudaStream_t s = stream_.get();
  plan_.upload(in, entities.rows(), s);
  cuda::upload_array(positions.data(), positions.size(), positions_, s);
  hidden_.resize(in.tokens(), h);
  encoder_.forward(plan_, entities.data(), hidden_.data(), cache ? &cache_ : nullptr);
  gathered_.resize(p, h);
  cuda::kernels::gather_rows(s, hidden_.data(), positions_.data(), p, h, gathered_.data());
  std::visit(
      [&](auto& head) {
        using H = std::decay_t<decltype(head)>;
        if constexpr (std::is_same_v<H, std::monostate>) {
          if (p > 0)
            KPLUG_CUDA_CHECK(cudaMemcpyAsync(out, gathered_.data(), sizeof(float) * std::size_t(p * h),
                                             cudaMemcpyDeviceToDevice, s));
        } else {
          head.forward(s, blas_.get(), gathered_.data(), p, out, cache ? &head_cache_ : nullptr);
        }
      },
      head_);
}

inline void bert_cuda::forward(const model_input& in, view<const float> entities,
                               std::span<const std::int32_t> positions, view<float> out) {
  constexpr const char* what = "bert_cuda::forward";
  use_device();
  check(in, entities, positions, what);
  require_shape(out, static_cast<index_t>(positions.size()), output_size(), what, "out");
  if (!out.contiguous()) throw error(what, "out", "device rows must be contiguous");
  cache_valid_ = false;
  run_forward(in, entities, positions, out.data(), keep_activations_);
  if (keep_activations_) remember(in, entities, positions);
}

inline void bert_cuda::backward(const model_input& in, view<const float> entities,
                                std::span<const std::int32_t> positions, view<const float> grad_out,
                                view<float> grad_entities) {
  constexpr const char* what = "bert_cuda::backward";
  use_device();
  check(in, entities, positions, what);
  const index_t p = static_cast<index_t>(positions.size()), h = hidden_size();
  require_shape(grad_out, p, output_size(), what, "grad_out");
  require_shape(grad_entities, entities.rows(), h, what, "grad_entities");
  if (!grad_out.contiguous() || !grad_entities.contiguous())
    throw error(what, "grad_out, grad_entities", "device rows must be contiguous");
  const cudaStream_t s = stream_.get();

  if (!cached_for(in, entities, positions)) {
    cache_valid_ = false;  // a forward that throws half-way leaves no valid-looking cache
    head_out_.resize(p, output_size());
    run_forward(in, entities, positions, head_out_.data(), true);
    remember(in, entities, positions);
  }
  // dL/d(gathered rows), then summed into their packed rows (a row asked for
  // twice gets both), in the order of `positions`.
  dgathered_.resize(p, h);
  std::visit(
      [&](auto& head) {
        using H = std::decay_t<decltype(head)>;
        if constexpr (std::is_same_v<H, std::monostate>) {
          if (p > 0)
            KPLUG_CUDA_CHECK(cudaMemcpyAsync(dgathered_.data(), grad_out.data(), sizeof(float) * std::size_t(p * h),
                                             cudaMemcpyDeviceToDevice, s));
        } else {
          head.backward(s, blas_.get(), head_cache_, grad_out.data(), p, dgathered_.data());
        }
      },
      head_);
  const index_t t = in.tokens();
  host_first_.assign(static_cast<std::size_t>(t) + 1, 0);
  for (const std::int32_t r : positions) ++host_first_[std::size_t(r) + 1];
  for (std::size_t r = 0; r < std::size_t(t); ++r) host_first_[r + 1] += host_first_[r];
  host_list_.resize(positions.size());
  std::vector<std::int32_t> next(host_first_.begin(), host_first_.end() - 1);
  for (std::size_t k = 0; k < positions.size(); ++k)
    host_list_[std::size_t(next[std::size_t(positions[k])]++)] = static_cast<std::int32_t>(k);
  cuda::upload_array(host_first_.data(), host_first_.size(), position_first_, s);
  cuda::upload_array(host_list_.data(), host_list_.size(), position_list_, s);
  grad_hidden_.resize(t, h);
  cuda::kernels::sum_listed_rows(s, dgathered_.data(), position_first_.data(), position_list_.data(), t, h,
                                 grad_hidden_.data());
  encoder_.backward(plan_, cache_, grad_hidden_.data(), grad_entities.data());
}

inline void bert_cuda::encode(const model_input& in, view<const float> entities, view<float> hidden) {
  constexpr const char* what = "bert_cuda::encode";
  use_device();
  check(in, entities, {}, what);
  require_shape(hidden, in.tokens(), hidden_size(), what, "hidden");
  if (!hidden.contiguous()) throw error(what, "hidden", "device rows must be contiguous");
  cache_valid_ = false;  // the encoder's scratch is reused
  plan_.upload(in, entities.rows(), stream_.get());
  encoder_.forward(plan_, entities.data(), hidden.data(), nullptr);
}

}  // namespace kplug::backend
