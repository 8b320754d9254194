// Executing a packed splice plan on the host: embed every input id through
// the backend, then overwrite each entity slot's row with its mapped
// knowledge vector. The result is the encoder_input the backend's encoder
// runs on. The training direction, gather_slot_gradients, sums the input-row
// gradients of the slots back into the distinct mapped rows.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>

#include "kplug/backend/concepts.hpp"
#include "kplug/core/error.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/core/types.hpp"
#include "kplug/splice/batch.hpp"

namespace kplug::splice {

// mapped_by_source[s]: distinct_rows[s].size() x hidden, the mapped vectors
// of plan.distinct_rows[s] in that order (more views than sources are
// allowed; a view for a source the batch does not use must have 0 rows).
// embeddings_out: plan.tokens() x b.hidden_size(), overwritten.
// The returned encoder_input views `plan` and `embeddings_out`: keep both alive.
template <token_embedder Backend>
encoder_input assemble_inputs(const Backend& b, const packed_plan& plan,
                              std::span<const matrix_view<const float>> mapped_by_source,
                              matrix_view<float> embeddings_out);

// The part of assemble_inputs after embedding, for a caller that embeds the
// tokens itself: writes each slot's mapped row into `embeddings` (tokens x hidden).
void write_entity_rows(const packed_plan& plan, std::span<const matrix_view<const float>> mapped_by_source,
                       matrix_view<float> embeddings);

// grad_embeddings: plan.tokens() x hidden, dL/d(encoder_input.embeddings)
// from the backend. grad_mapped_by_source[s] (distinct_rows[s].size() x hidden)
// is overwritten with dL/d(mapped_by_source[s]): the sum over the slots that
// use each distinct row. Rows of non-slot positions are ignored.
void gather_slot_gradients(const packed_plan& plan, matrix_view<const float> grad_embeddings,
                           std::span<const matrix_view<float>> grad_mapped_by_source);

// ---------------------------------------------------------------- implementation

namespace detail {
template <class T>
void check_per_source(const packed_plan& plan, std::span<const matrix_view<T>> by_source, index_t hidden,
                      const char* what, const char* name) {
  if (by_source.size() < plan.sources())
    throw error(what, name,
                std::string("has ") + std::to_string(by_source.size()) +
                    " views, the batch uses sources 0 .. " + std::to_string(plan.sources() - 1));
  for (std::size_t s = 0; s < by_source.size(); ++s) {
    const auto expected = static_cast<index_t>(s < plan.sources() ? plan.distinct_rows[s].size() : 0);
    const auto& v = by_source[s];
    const std::string where = std::string(name) + "[" + std::to_string(s) + "]";
    if (v.rows() != expected)
      throw error(what, where,
                  std::string("has ") + std::to_string(v.rows()) + " rows, source " + std::to_string(s) +
                      " has " + std::to_string(expected) + " distinct rows in this batch");
    if (expected > 0 && v.cols() != hidden)
      throw error(what, where,
                  std::string("rows are ") + std::to_string(v.cols()) + " wide, the hidden size is " +
                      std::to_string(hidden));
    if (expected > 0 && v.data() == nullptr) throw error(what, where, "has rows but no data");
  }
}
}  // namespace detail

namespace detail {
// Shapes already checked by the caller.
inline void copy_entity_rows(const packed_plan& plan,
                             std::span<const matrix_view<const float>> mapped_by_source,
                             matrix_view<float> embeddings) {
  for (std::size_t i = 0; i < plan.slots.size(); ++i) {
    const auto& e = plan.slots[i];
    const auto src = mapped_by_source[e.source].row(plan.slot_mapped_index[i]);
    const auto dst = embeddings.row(e.position);
    std::copy(src.begin(), src.end(), dst.begin());
  }
}
}  // namespace detail

inline void write_entity_rows(const packed_plan& plan,
                              std::span<const matrix_view<const float>> mapped_by_source,
                              matrix_view<float> embeddings) {
  const char* what = "write entity rows";
  validate_packed_plan(plan, what);
  const index_t hidden = embeddings.cols();
  require_shape(embeddings, plan.tokens(), hidden, what, "embeddings");
  detail::check_per_source(plan, mapped_by_source, hidden, what, "mapped_by_source");
  detail::copy_entity_rows(plan, mapped_by_source, embeddings);
}

template <token_embedder Backend>
encoder_input assemble_inputs(const Backend& b, const packed_plan& plan,
                              std::span<const matrix_view<const float>> mapped_by_source,
                              matrix_view<float> embeddings_out) {
  const char* what = "assemble encoder inputs";
  validate_packed_plan(plan, what);
  const auto hidden = static_cast<index_t>(b.hidden_size());
  const auto vocab = static_cast<index_t>(b.vocab_size());
  require_shape(embeddings_out, plan.tokens(), hidden, what, "embeddings_out");
  detail::check_per_source(plan, mapped_by_source, hidden, what, "mapped_by_source");
  for (std::size_t r = 0; r < plan.input_ids.size(); ++r)
    if (plan.input_ids[r] < 0 || plan.input_ids[r] >= vocab)
      throw error(what, std::string("packed_plan.input_ids[") + std::to_string(r) + "]",
                  std::string("token id ") + std::to_string(plan.input_ids[r]) +
                      " is outside the backend's vocabulary [0, " + std::to_string(vocab) + ")");

  b.embed_tokens(std::span<const token_id>(plan.input_ids), embeddings_out);
  detail::copy_entity_rows(plan, mapped_by_source, embeddings_out);

  encoder_input in;
  in.embeddings = embeddings_out;
  in.offsets = plan.layout.offsets;
  in.position_ids = plan.position_ids;
  in.segment_ids = plan.segment_ids;
  in.attention_mask = plan.attention_mask;
  return in;
}

inline void gather_slot_gradients(const packed_plan& plan, matrix_view<const float> grad_embeddings,
                                  std::span<const matrix_view<float>> grad_mapped_by_source) {
  const char* what = "gather entity-slot gradients";
  validate_packed_plan(plan, what);
  const index_t hidden = grad_embeddings.cols();
  require_shape(grad_embeddings, plan.tokens(), hidden, what, "grad_embeddings");
  detail::check_per_source(plan, grad_mapped_by_source, hidden, what, "grad_mapped_by_source");
  for (const auto& g : grad_mapped_by_source)
    for (index_t r = 0; r < g.rows(); ++r) std::ranges::fill(g.row(r), 0.0f);
  for (std::size_t i = 0; i < plan.slots.size(); ++i) {
    const auto& e = plan.slots[i];
    const auto src = grad_embeddings.row(e.position);
    const auto dst = grad_mapped_by_source[e.source].row(plan.slot_mapped_index[i]);
    for (std::size_t c = 0; c < dst.size(); ++c) dst[c] += src[c];
  }
}

}  // namespace kplug::splice
