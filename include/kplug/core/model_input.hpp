// One packed batch as a backend receives it: the splice plan's plain
// integers, never activations. The backend embeds `token_ids` itself, writes
// row slot_entities[i] of the mapped-entity matrix (distinct entities x
// hidden, passed beside this struct) into packed row slot_rows[i], adds
// position and segment embeddings, and runs the model. Sequence s is rows
// [offsets[s], offsets[s+1]); there is no padding.
//
//   offsets         sequences + 1     0 = offsets[0] <= ... <= offsets.back() = tokens
//   token_ids       tokens            word-piece ids; at an entity slot a placeholder
//                                     id (in the vocabulary, then overwritten)
//   position_ids    tokens            given, never implied: splicing shifts them and
//                                     PELT's format gives two rows the same one
//   segment_ids     tokens
//   attention_mask  tokens            1 = may be attended to, 0 = may not (nothing else)
//   slot_rows       entity slots      the packed row each slot fills; no row twice
//   slot_entities   entity slots      which row of the mapped-entity matrix fills it
//
// validate() checks all of it against a model's limits before a backend
// reads anything, so that no engine ever indexes out of bounds with it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "kplug/core/error.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/core/types.hpp"

namespace kplug {

struct model_input {
  std::span<const std::int32_t> offsets;
  std::span<const token_id> token_ids;
  std::span<const std::int32_t> position_ids;
  std::span<const std::int32_t> segment_ids;
  std::span<const std::uint8_t> attention_mask;
  std::span<const std::int32_t> slot_rows;
  std::span<const std::int32_t> slot_entities;

  index_t tokens() const noexcept { return static_cast<index_t>(token_ids.size()); }
  index_t sequences() const noexcept {
    return offsets.empty() ? 0 : static_cast<index_t>(offsets.size()) - 1;
  }
  index_t slots() const noexcept { return static_cast<index_t>(slot_rows.size()); }
};

// What a model accepts. A limit of 0 is not checked here (an engine behind
// the rows adapter checks positions and segments itself).
struct model_limits {
  index_t hidden_size = 0;    // width of a mapped-entity row
  index_t vocab_size = 0;     // token ids in [0, vocab_size)
  index_t max_positions = 0;  // position ids in [0, max_positions)
  index_t segment_types = 0;  // segment ids in [0, segment_types)
};

// Checks `in` and the shape of the mapped-entity matrix that goes with it:
// array lengths, offsets, ids within `limits`, mask values, slots inside the
// batch (one per row at most) and pointing at an existing entity row, and
// entity rows `limits.hidden_size` wide. Throws kplug::error naming the
// array and index ("model_input.slot_entities[3]").
template <class T, class Space>
void validate(const model_input& in, const model_limits& limits, const matrix_view<T, Space>& entities,
              const char* what);
// The same for a mapped-entity matrix of `entity_rows` rows, whose shape is checked elsewhere.
void validate(const model_input& in, const model_limits& limits, index_t entity_rows, const char* what);

// Requested output rows must lie in [0, tokens).
void validate_positions(std::span<const std::int32_t> positions, index_t tokens, const char* what);

// ---------------------------------------------------------------------------
// Implementation

namespace detail {

inline std::string model_input_at(const char* array, std::size_t i) {
  return std::string("model_input.") + array + "[" + std::to_string(i) + "]";
}

template <class V>
void require_range(std::span<const V> values, index_t limit, const char* array, const char* kind,
                   const char* limit_name, const char* what) {
  if (limit <= 0) return;
  for (std::size_t i = 0; i < values.size(); ++i)
    if (values[i] < 0 || static_cast<index_t>(values[i]) >= limit)
      throw error(what, model_input_at(array, i),
                  std::string(kind) + " " + std::to_string(values[i]) + " is outside [0, " +
                      std::to_string(limit) + ") (" + limit_name + ")");
}

inline void validate_slots(const model_input& in, index_t entity_rows, const char* what) {
  if (in.slot_entities.size() != in.slot_rows.size())
    throw error(what, "model_input.slot_entities",
                "has " + std::to_string(in.slot_entities.size()) + " entries for " +
                    std::to_string(in.slot_rows.size()) + " slot_rows");
  std::vector<std::uint8_t> taken(static_cast<std::size_t>(in.tokens()), 0);
  for (std::size_t i = 0; i < in.slot_rows.size(); ++i) {
    const std::int32_t row = in.slot_rows[i];
    if (row < 0 || row >= in.tokens())
      throw error(
          what, model_input_at("slot_rows", i),
          "row " + std::to_string(row) + " is outside the batch's " + std::to_string(in.tokens()) + " rows");
    if (taken[static_cast<std::size_t>(row)]++)
      throw error(what, model_input_at("slot_rows", i),
                  "row " + std::to_string(row) + " is filled by an earlier slot already");
    const std::int32_t e = in.slot_entities[i];
    if (e < 0 || e >= entity_rows)
      throw error(what, model_input_at("slot_entities", i),
                  "entity row " + std::to_string(e) + " is outside the " + std::to_string(entity_rows) +
                      " mapped entity rows given");
  }
}

}  // namespace detail

template <class T, class Space>
void validate(const model_input& in, const model_limits& limits, const matrix_view<T, Space>& entities,
              const char* what) {
  if (entities.rows() > 0 && entities.cols() != limits.hidden_size)
    throw error(what, "entities",
                "mapped entity rows are " + std::to_string(entities.cols()) +
                    " wide, the model's hidden size is " + std::to_string(limits.hidden_size));
  if (entities.rows() > 0 && entities.data() == nullptr)
    throw error(what, "entities", "has rows but no data");
  validate(in, limits, entities.rows(), what);
}

inline void validate(const model_input& in, const model_limits& limits, index_t entity_rows,
                     const char* what) {
  validate_offsets(in.offsets, in.tokens(), what);
  const auto n = in.token_ids.size();
  auto same = [&](std::size_t got, const char* name) {
    if (got != n)
      throw error(what, std::string("model_input.") + name,
                  "has " + std::to_string(got) + " entries for " + std::to_string(n) + " token_ids");
  };
  same(in.position_ids.size(), "position_ids");
  same(in.segment_ids.size(), "segment_ids");
  same(in.attention_mask.size(), "attention_mask");
  detail::require_range(in.token_ids, limits.vocab_size, "token_ids", "token id", "vocab_size", what);
  detail::require_range(in.position_ids, limits.max_positions, "position_ids", "position", "max_positions",
                        what);
  detail::require_range(in.segment_ids, limits.segment_types, "segment_ids", "segment", "segment types",
                        what);
  for (std::size_t i = 0; i < n; ++i)
    if (in.attention_mask[i] > 1)  // strict: 255 or 2 is a bug in the caller's mask code
      throw error(what, detail::model_input_at("attention_mask", i),
                  "mask value " + std::to_string(in.attention_mask[i]) + " is neither 0 nor 1");
  detail::validate_slots(in, entity_rows, what);
}

inline void validate_positions(std::span<const std::int32_t> positions, index_t tokens, const char* what) {
  for (std::size_t r = 0; r < positions.size(); ++r)
    if (positions[r] < 0 || positions[r] >= tokens)
      throw error(what, "positions[" + std::to_string(r) + "]",
                  "row " + std::to_string(positions[r]) + " is outside the batch's " +
                      std::to_string(tokens) + " rows");
}

}  // namespace kplug
