// A packed batch in the form an engine that runs "from word-embedding rows
// on the host" takes: the rows themselves (tokens x hidden, entity rows
// already written into their slots) beside the per-token integers. kplug's
// backends receive a model_input instead (core/model_input.hpp); this form
// exists for engines plugged in through backend::rows_adapter, which builds
// it for them. Sequence s is rows [offsets[s], offsets[s+1]).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "kplug/core/error.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/core/types.hpp"

namespace kplug {

struct encoder_input {
  matrix_view<const float> embeddings;           // tokens x hidden
  std::span<const std::int32_t> offsets;         // sequences + 1
  std::span<const std::int32_t> position_ids;    // tokens
  std::span<const std::int32_t> segment_ids;     // tokens
  std::span<const std::uint8_t> attention_mask;  // tokens; 1 = may be attended to

  index_t tokens() const noexcept { return embeddings.rows(); }
  index_t sequences() const noexcept { return offsets.empty() ? 0 : index_t(offsets.size()) - 1; }
};

// Checks that the parts of an encoder_input agree with each other and with an
// engine's hidden size and maximum position; engines call it on entry.
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

}  // namespace kplug
