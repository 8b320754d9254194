// The backend concepts: what an encoder must offer for kplug to inject
// knowledge into it. Three small parts, each a named concept:
//
//   token_embedder     - embed token ids into word-embedding rows
//     * b.hidden_size()  -> index_t   width of a word-embedding row (d_model)
//     * b.vocab_size()   -> index_t   number of token ids it accepts
//     * b.embed_tokens(ids, out)      out: ids.size() x hidden_size, overwritten
//
//   input_encoder      - run the model (encoder + its head, if any) from rows
//     * b.output_size()  -> index_t   width of one output row: hidden_size for
//                                     a bare encoder, vocab for an MLM head,
//                                     labels for a classifier
//     * b.forward(in, positions, out) out: positions.size() x output_size; row i
//                                     is the model's output at packed row
//                                     positions[i] (heads are evaluated only there)
//
//   input_differentiable - the gradient with respect to the input rows
//     * b.backward(in, positions, grad_out, grad_in)
//                                     grad_out: positions.size() x output_size,
//                                     dL/d(outputs of forward(in, positions));
//                                     grad_in: in.tokens() x hidden_size,
//                                     overwritten with dL/d(in.embeddings).
//                                     Weight gradients are never asked for.
//
// model_backend = token_embedder && input_encoder; trainable_backend adds
// input_differentiable. A backend may cache activations of the last forward
// to serve backward; the signature stays stateless so that it need not.
#pragma once

#include <concepts>
#include <cstdint>
#include <span>
#include <string>

#include "kplug/core/error.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/core/types.hpp"

namespace kplug {

// One packed batch as the encoder sees it. Rows of `embeddings` are word
// embeddings (entity rows already spliced in); the encoder adds position and
// segment embeddings itself. Sequence s is rows [offsets[s], offsets[s+1]).
struct encoder_input {
  matrix_view<const float> embeddings;           // tokens x hidden
  std::span<const std::int32_t> offsets;         // sequences + 1
  std::span<const std::int32_t> position_ids;    // tokens
  std::span<const std::int32_t> segment_ids;     // tokens
  std::span<const std::uint8_t> attention_mask;  // tokens; 1 = may be attended to

  index_t tokens() const noexcept { return embeddings.rows(); }
  index_t sequences() const noexcept { return offsets.empty() ? 0 : index_t(offsets.size()) - 1; }
};

// Checks that the parts of an encoder_input agree with each other and with a
// backend's hidden size and maximum position; backends call it on entry.
inline void validate(const encoder_input& in, index_t hidden, index_t max_positions, const char* what) {
  if (in.embeddings.cols() != hidden)
    throw error(what, "encoder_input.embeddings",
                "rows are " + std::to_string(in.embeddings.cols()) + " wide, the model's hidden size is " +
                    std::to_string(hidden));
  validate_offsets(in.offsets, in.tokens(), what);
  const auto n = static_cast<std::size_t>(in.tokens());
  auto same = [&](std::size_t got, const char* name) {
    if (got != n)
      throw error(what, name, "has " + std::to_string(got) + " entries for " + std::to_string(n) + " tokens");
  };
  same(in.position_ids.size(), "encoder_input.position_ids");
  same(in.segment_ids.size(), "encoder_input.segment_ids");
  same(in.attention_mask.size(), "encoder_input.attention_mask");
  for (std::size_t i = 0; i < n; ++i)
    if (in.position_ids[i] < 0 || in.position_ids[i] >= max_positions)
      throw error(what, "encoder_input.position_ids[" + std::to_string(i) + "]",
                  "position " + std::to_string(in.position_ids[i]) + " is outside [0, " +
                      std::to_string(max_positions) + ")");
}

template <class B>
concept token_embedder = requires(const B& b, std::span<const token_id> ids, matrix_view<float> out) {
  { b.hidden_size() } -> std::convertible_to<index_t>;
  { b.vocab_size() } -> std::convertible_to<index_t>;
  b.embed_tokens(ids, out);
};

template <class B>
concept input_encoder = requires(B& b, const B& cb, const encoder_input& in,
                                 std::span<const std::int32_t> positions, matrix_view<float> out) {
  { cb.output_size() } -> std::convertible_to<index_t>;
  b.forward(in, positions, out);
};

template <class B>
concept input_differentiable = requires(B& b, const encoder_input& in, std::span<const std::int32_t> positions,
                                        matrix_view<const float> grad_out, matrix_view<float> grad_in) {
  b.backward(in, positions, grad_out, grad_in);
};

template <class B>
concept model_backend = token_embedder<B> && input_encoder<B>;

template <class B>
concept trainable_backend = model_backend<B> && input_differentiable<B>;

}  // namespace kplug
