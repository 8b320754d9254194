// kplug's reference CPU backend: a BERT-family encoder (plus the head its
// checkpoint carries) that models kplug::trainable_backend.
//
//   auto backend = kplug::backend::bert_cpu(kplug::bert::load_checkpoint(dir));
//
// Output: with a masked-LM checkpoint, vocabulary logits; with a
// classification checkpoint, label logits (pooler + classifier, applied at
// whichever packed rows `positions` names: [CLS] or a marker); with a bare
// BertModel, the last hidden states. set_classifier() swaps in a head the
// caller owns (a probe trained elsewhere); use_hidden_output() drops the head.
//
// Input: a model_input (the splice plan's integers) and the mapped entity
// rows, in host memory; the embedding step writes each entity row into its
// slots (bert/encoder.hpp). Gradients come back for the entity rows only.
//
// Training: forward() keeps the activations backward() needs (option
// keep_activations, on by default); backward() checks, by hashing its
// arguments (the plan, the entity rows, the positions: kilobytes), that they
// are those of the last forward, and otherwise runs the forward again
// itself, so a stale cache can never give a wrong gradient.
//
// Not safe for concurrent calls on one object (it owns scratch buffers);
// several objects may share one thread_pool, whose runs are serialised.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "kplug/backend/concepts.hpp"
#include "kplug/bert/checkpoint.hpp"
#include "kplug/bert/output_head.hpp"
#include "kplug/bert/encoder.hpp"
#include "kplug/bert/heads.hpp"
#include "kplug/bert/weights.hpp"
#include "kplug/core/error.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/core/model_input.hpp"
#include "kplug/core/thread_pool.hpp"
#include "kplug/core/xxh64.hpp"

namespace kplug::backend {

struct bert_cpu_options {
  int threads = 0;                     // <= 0: one per hardware thread
  std::shared_ptr<thread_pool> pool{}; // share a pool between backends (overrides threads)
  bool keep_activations = true;        // cache in forward() for backward()
};

class bert_cpu {
 public:
  explicit bert_cpu(bert::bert_weights weights, bert_cpu_options options = {});
  bert_cpu(const bert_cpu&) = delete;
  bert_cpu& operator=(const bert_cpu&) = delete;
  bert_cpu(bert_cpu&&) = delete;  // the encoder and heads point into the weights
  bert_cpu& operator=(bert_cpu&&) = delete;

  // token_embedder
  index_t hidden_size() const noexcept { return config().hidden_size; }
  index_t vocab_size() const noexcept { return config().vocab_size; }
  void embed_tokens(std::span<const token_id> ids, matrix_view<float> out) const;

  // batch_encoder / entity_differentiable
  index_t output_size() const noexcept;
  void forward(const model_input& in, matrix_view<const float> entities, std::span<const std::int32_t> positions,
               matrix_view<float> out);
  void backward(const model_input& in, matrix_view<const float> entities, std::span<const std::int32_t> positions,
                matrix_view<const float> grad_out, matrix_view<float> grad_entities);

  // The last hidden state of every token (no head): in.tokens() x hidden.
  void encode(const model_input& in, matrix_view<const float> entities, matrix_view<float> hidden);

  index_t max_positions() const noexcept { return config().max_positions; }
  const bert::bert_config& config() const noexcept { return weights_.config(); }
  const bert::bert_weights& weights() const noexcept { return weights_; }
  thread_pool& pool() noexcept { return *pool_; }

  // Which output forward() gives: "hidden", "masked_lm" or "classifier".
  std::string_view output_kind() const noexcept;
  void use_hidden_output() { head_ = std::monostate{}; }
  // A head whose weights the caller owns and keeps alive.
  void set_classifier(bert::classification_head head);

 private:
  static std::uint64_t key_of(const model_input& in, matrix_view<const float> entities,
                              std::span<const std::int32_t> positions);
  void run_forward(const model_input& in, matrix_view<const float> entities, std::span<const std::int32_t> positions,
                   matrix_view<float> out, bool cache);

  bert::bert_weights weights_;
  std::shared_ptr<thread_pool> pool_;
  bool keep_activations_;
  bert::bert_encoder encoder_;
  bert::output_head<bert::masked_lm_head, bert::classification_head> head_;

  matrix<float> hidden_;    // tokens x hidden
  matrix<float> gathered_;  // positions x hidden
  matrix<float> grad_hidden_;
  matrix<float> head_out_;
  bert::encoder_activations cache_;
  bert::head_activations head_cache_;
  std::uint64_t cache_key_ = 0;
  bool cache_valid_ = false;
};

// ---------------------------------------------------------------------------
// Implementation

inline bert_cpu::bert_cpu(bert::bert_weights weights, bert_cpu_options options)
    : weights_(std::move(weights)),
      pool_(options.pool ? std::move(options.pool) : std::make_shared<thread_pool>(options.threads)),
      keep_activations_(options.keep_activations),
      encoder_(weights_, *pool_) {
  head_ = bert::make_output_head<bert::masked_lm_head, bert::classification_head>(weights_.config(), weights_);
}

inline index_t bert_cpu::output_size() const noexcept { return bert::output_size(head_, hidden_size()); }

inline std::string_view bert_cpu::output_kind() const noexcept { return bert::output_kind(head_); }

inline void bert_cpu::set_classifier(bert::classification_head head) {
  if (head.input_size() != hidden_size())
    throw error("bert_cpu::set_classifier", "head",
                "reads rows of " + std::to_string(head.input_size()) + ", the encoder's hidden size is " +
                    std::to_string(hidden_size()));
  head_ = std::move(head);
  cache_valid_ = false;
}

inline void bert_cpu::embed_tokens(std::span<const token_id> ids, matrix_view<float> out) const {
  bert::copy_word_embeddings(weights_, ids, out, "bert_cpu::embed_tokens");
}

inline std::uint64_t bert_cpu::key_of(const model_input& in, matrix_view<const float> entities,
                                      std::span<const std::int32_t> positions) {
  xxh64_stream h;
  for (const auto part : {std::as_bytes(in.offsets), std::as_bytes(in.token_ids), std::as_bytes(in.position_ids),
                          std::as_bytes(in.segment_ids), std::as_bytes(in.attention_mask), std::as_bytes(in.slot_rows),
                          std::as_bytes(in.slot_entities), std::as_bytes(positions)}) {
    h.update_u64(part.size());  // so that bytes cannot move from one array to the next unseen
    h.update(part);
  }
  h.update_u64(static_cast<std::uint64_t>(entities.rows()));
  for (index_t r = 0; r < entities.rows(); ++r) h.update(std::as_bytes(entities.row(r)));
  return h.digest();
}

inline void bert_cpu::encode(const model_input& in, matrix_view<const float> entities, matrix_view<float> hidden) {
  encoder_.validate(in, entities, "bert_cpu::encode");
  encoder_.forward(in, entities, hidden, nullptr);
}

inline void bert_cpu::run_forward(const model_input& in, matrix_view<const float> entities,
                                  std::span<const std::int32_t> positions, matrix_view<float> out, bool cache) {
  const index_t h = hidden_size();
  hidden_.resize(in.tokens(), h);
  encoder_.forward(in, entities, hidden_.view(), cache ? &cache_ : nullptr);
  gathered_.resize(static_cast<index_t>(positions.size()), h);
  for (std::size_t i = 0; i < positions.size(); ++i)
    std::copy_n(hidden_.view().row(positions[i]).data(), h, gathered_.view().row(static_cast<index_t>(i)).data());
  std::visit(
      [&](auto& head) {
        using H = std::decay_t<decltype(head)>;
        if constexpr (std::is_same_v<H, std::monostate>)
          as_eigen(out) = as_eigen(gathered_.view());
        else
          head.forward(*pool_, gathered_.view(), out, cache ? &head_cache_ : nullptr);
      },
      head_);
}

inline void bert_cpu::forward(const model_input& in, matrix_view<const float> entities,
                              std::span<const std::int32_t> positions, matrix_view<float> out) {
  constexpr const char* what = "bert_cpu::forward";
  encoder_.validate(in, entities, what);
  validate_positions(positions, in.tokens(), what);
  require_shape(out, static_cast<index_t>(positions.size()), output_size(), what, "out");
  cache_valid_ = false;
  run_forward(in, entities, positions, out, keep_activations_);
  if (keep_activations_) {
    cache_key_ = key_of(in, entities, positions);
    cache_valid_ = true;
  }
}

inline void bert_cpu::backward(const model_input& in, matrix_view<const float> entities,
                               std::span<const std::int32_t> positions, matrix_view<const float> grad_out,
                               matrix_view<float> grad_entities) {
  constexpr const char* what = "bert_cpu::backward";
  encoder_.validate(in, entities, what);
  validate_positions(positions, in.tokens(), what);
  const index_t p = static_cast<index_t>(positions.size());
  const index_t h = hidden_size();
  require_shape(grad_out, p, output_size(), what, "grad_out");
  require_shape(grad_entities, entities.rows(), h, what, "grad_entities");

  if (const std::uint64_t key = key_of(in, entities, positions); !cache_valid_ || cache_key_ != key) {
    cache_valid_ = false;  // a forward that throws half-way leaves no valid-looking cache
    head_out_.resize(p, output_size());
    run_forward(in, entities, positions, head_out_.view(), true);
    cache_key_ = key;
    cache_valid_ = true;
  }

  // dL/d(gathered rows), then scattered (summed for repeated positions).
  matrix<float>& dgathered = gathered_;  // the gathered rows are not needed after the head's forward
  dgathered.resize(p, h);
  std::visit(
      [&](auto& head) {
        using H = std::decay_t<decltype(head)>;
        if constexpr (std::is_same_v<H, std::monostate>)
          as_eigen(dgathered.view()) = as_eigen(grad_out);
        else
          head.backward(*pool_, head_cache_, grad_out, dgathered.view());
      },
      head_);
  grad_hidden_.resize(in.tokens(), h);
  as_eigen(grad_hidden_.view()).setZero();
  for (index_t i = 0; i < p; ++i)
    as_eigen(grad_hidden_.view().middle_rows(positions[static_cast<std::size_t>(i)], 1)) +=
        as_eigen(dgathered.view().middle_rows(i, 1));
  encoder_.backward(in, cache_, grad_hidden_.view(), grad_entities);
}

static_assert(trainable_backend<bert_cpu>);

}  // namespace kplug::backend
