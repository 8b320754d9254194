// Executing a batch's splice plan on the host, for backends that build word-
// embedding rows in host memory (the rows adapter, the mock): embed every
// token through the backend, then overwrite each entity slot's row with its
// mapped entity row. The training direction, gather_entity_gradients, sums
// the row gradients of each entity's slots into its mapped row.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>

#include "kplug/backend/concepts.hpp"
#include "kplug/core/error.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/core/model_input.hpp"
#include "kplug/core/types.hpp"

namespace kplug::splice {

// rows: in.tokens() x b.hidden_size(), overwritten with the word embedding of
// every token, then entities.row(slot_entities[i]) at row slot_rows[i].
// Checks `in` (kplug::validate, without position and segment limits, which
// the model checks) before writing anything.
template <token_embedder Backend>
void assemble_rows(const Backend& b, const model_input& in, matrix_view<const float> entities,
                   matrix_view<float> rows);

// grad_rows: in.tokens() x hidden, dL/d(rows). grad_entities (entities x
// hidden) is overwritten with dL/d(entities): for each entity, the sum of the
// rows of its slots (zero for an entity no slot uses). `in` must have passed
// kplug::validate against `grad_entities.rows()` entity rows.
void gather_entity_gradients(const model_input& in, matrix_view<const float> grad_rows,
                             matrix_view<float> grad_entities);

// ---------------------------------------------------------------- implementation

template <token_embedder Backend>
void assemble_rows(const Backend& b, const model_input& in, matrix_view<const float> entities,
                   matrix_view<float> rows) {
  const char* what = "assemble embedding rows";
  const auto hidden = static_cast<index_t>(b.hidden_size());
  validate(in, model_limits{.hidden_size = hidden, .vocab_size = static_cast<index_t>(b.vocab_size())}, entities,
           what);
  require_shape(rows, in.tokens(), hidden, what, "rows");
  b.embed_tokens(in.token_ids, rows);
  for (index_t i = 0; i < in.slots(); ++i) {
    const auto slot = static_cast<std::size_t>(i);
    const auto src = entities.row(in.slot_entities[slot]);
    std::copy(src.begin(), src.end(), rows.row(in.slot_rows[slot]).begin());
  }
}

inline void gather_entity_gradients(const model_input& in, matrix_view<const float> grad_rows,
                                    matrix_view<float> grad_entities) {
  const char* what = "gather entity-row gradients";
  const index_t hidden = grad_entities.cols();
  require_shape(grad_rows, in.tokens(), hidden, what, "grad_rows");
  for (index_t e = 0; e < grad_entities.rows(); ++e) std::ranges::fill(grad_entities.row(e), 0.0f);
  for (index_t i = 0; i < in.slots(); ++i) {
    const auto slot = static_cast<std::size_t>(i);
    const auto src = grad_rows.row(in.slot_rows[slot]);
    const auto dst = grad_entities.row(in.slot_entities[slot]);
    for (std::size_t c = 0; c < dst.size(); ++c) dst[c] += src[c];
  }
}

}  // namespace kplug::splice
