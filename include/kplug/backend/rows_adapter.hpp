// The ready adapter for an engine that can only run "from word-embedding
// rows on the host" (an ONNX graph taking inputs_embeds, a libtorch module, a
// hand-written encoder): write a small rows_engine for it, and
// rows_adapter<Engine> executes the splice plan on the host and makes it a
// kplug::model_backend (a trainable_backend when the engine has backward).
//
//   rows_engine           - the engine, run from embedding rows
//     * e.hidden_size(), e.vocab_size(), e.embed_tokens(ids, out)   (token_embedder)
//     * e.output_size()  -> index_t
//     * e.forward(in, positions, out)   in: encoder_input (core/encoder_input.hpp),
//                                       rows = word embeddings with the entity
//                                       rows written in; out: positions.size() x
//                                       output_size at packed rows `positions`
//   differentiable_rows_engine adds
//     * e.backward(in, positions, grad_out, grad_in)
//                                       grad_in: in.tokens() x hidden, overwritten
//                                       with dL/d(in.embeddings)
//
// Per call the adapter embeds every token (engine.embed_tokens), writes the
// mapped entity rows into their slots, hands the rows to the engine, and in
// backward sums the engine's row gradients of each entity's slots. The
// engine checks positions and segments against its model (kplug::validate
// on the encoder_input); the adapter checks everything else first.
#pragma once

#include <concepts>
#include <cstdint>
#include <span>
#include <utility>

#include "kplug/backend/concepts.hpp"
#include "kplug/core/encoder_input.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/core/model_input.hpp"
#include "kplug/splice/assemble.hpp"

namespace kplug::backend {

template <class E>
concept rows_engine = token_embedder<E> &&
    requires(E& e, const E& ce, const encoder_input& in, std::span<const std::int32_t> positions,
             matrix_view<float> out) {
  { ce.output_size() } -> std::convertible_to<index_t>;
  e.forward(in, positions, out);
};

template <class E>
concept differentiable_rows_engine = rows_engine<E> &&
    requires(E& e, const encoder_input& in, std::span<const std::int32_t> positions,
             matrix_view<const float> grad_out, matrix_view<float> grad_in) {
  e.backward(in, positions, grad_out, grad_in);
};

template <rows_engine Engine>
class rows_adapter {
 public:
  explicit rows_adapter(Engine engine) : engine_(std::move(engine)) {}
  template <class... Args>
  explicit rows_adapter(std::in_place_t, Args&&... args) : engine_(std::forward<Args>(args)...) {}

  Engine& engine() noexcept { return engine_; }
  const Engine& engine() const noexcept { return engine_; }

  index_t hidden_size() const { return static_cast<index_t>(engine_.hidden_size()); }
  index_t vocab_size() const { return static_cast<index_t>(engine_.vocab_size()); }
  index_t output_size() const { return static_cast<index_t>(engine_.output_size()); }
  void embed_tokens(std::span<const token_id> ids, matrix_view<float> out) const {
    engine_.embed_tokens(ids, out);
  }

  void forward(const model_input& in, matrix_view<const float> entities,
               std::span<const std::int32_t> positions, matrix_view<float> out) {
    engine_.forward(assemble(in, entities), positions, out);
  }

  void backward(const model_input& in, matrix_view<const float> entities,
                std::span<const std::int32_t> positions, matrix_view<const float> grad_out,
                matrix_view<float> grad_entities) requires differentiable_rows_engine<Engine> {
    require_shape(grad_entities, entities.rows(), hidden_size(), "rows_adapter::backward", "grad_entities");
    const encoder_input rows = assemble(in, entities);
    grad_rows_.resize(in.tokens(), hidden_size());
    engine_.backward(rows, positions, grad_out, grad_rows_.view());
    splice::gather_entity_gradients(in, grad_rows_.view(), grad_entities);
  }

 private:
  encoder_input assemble(const model_input& in, matrix_view<const float> entities) {
    rows_.resize(in.tokens(), hidden_size());
    splice::assemble_rows(engine_, in, entities, rows_.view());
    return {rows_.view(), in.offsets, in.position_ids, in.segment_ids, in.attention_mask};
  }

  Engine engine_;
  matrix<float> rows_, grad_rows_;  // tokens x hidden, reused across calls
};

}  // namespace kplug::backend
