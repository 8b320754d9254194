// The splice plan of one sequence: plain integer data saying, for every
// output position, which token id (or which entity slot) goes there, with
// its position id, segment id and mask, plus the map from input tokens to
// output rows that task heads need to find [CLS], markers and mention starts.
// It is computed once on the host (splice::planner) and executed by a backend
// (splice::assemble_inputs on CPU, a gather kernel on GPU).
#pragma once

#include <cstdint>
#include <vector>

#include "kplug/core/types.hpp"

namespace kplug::splice {

// One entity slot: the output row that receives a mapped knowledge vector.
struct entity_slot {
  std::int32_t position = 0;  // output row in the plan
  std::int32_t mention = 0;   // index in the caller's mention list
  source_id source = 0;       // which knowledge source / plugin maps it
  row_index row = no_row;     // knowledge-base row (no_row: zero vector, still a slot)
  friend bool operator==(const entity_slot&, const entity_slot&) = default;
};

// Where one mention's group landed in the output. All -1 when truncation
// dropped the group.
struct group_range {
  std::int32_t begin = -1;          // first output row of the group, open marker included
  std::int32_t end = -1;            // one past its last row, close marker included
  std::int32_t mention_begin = -1;  // first output row of the mention's own pieces; -1 if replaced
  std::int32_t slot = -1;           // index into splice_plan::slots
  constexpr bool kept() const noexcept { return begin >= 0; }
  friend bool operator==(const group_range&, const group_range&) = default;
};

namespace detail {
// Scratch of planner::build_into, kept in the plan so that rebuilding a plan
// of the same shape allocates nothing. Not part of the result.
struct plan_workspace {
  struct span_info {
    std::int32_t mention;      // caller's index
    std::int32_t first_token;  // input tokens [first_token, end_token)
    std::int32_t end_token;
    std::int32_t size;  // output rows of the whole group
  };
  struct unit {
    std::int32_t first_token;  // content unit: a plain token or a whole group
    std::int32_t size;         // output rows
    std::int32_t segment;      // index into segments
    std::int32_t prev;         // previous unit of the same segment, -1 if none
  };
  struct segment {
    std::int32_t id;           // segment id value
    std::int64_t content = 0;  // kept content rows
    std::int32_t cut = 0;      // content units starting at token >= cut are dropped
    std::int32_t last = -1;    // last kept unit (index into units), walking back
  };
  std::vector<span_info> spans;  // mentions sorted by input position
  std::vector<unit> units;       // only filled when truncating
  std::vector<segment> segments;
};
}  // namespace detail

struct splice_plan {
  // Per output row.
  std::vector<token_id> input_ids;           // token id; the placeholder id at entity slots
  std::vector<std::int32_t> entity_slot_of;  // -1, or index into slots
  std::vector<std::int32_t> position_ids;    // 0-based; PELT shared positions repeat
  std::vector<std::int32_t> segment_ids;
  std::vector<std::uint8_t> attention_mask;  // 1, except padding rows (0)

  // Per input token: its output row, or -1 when dropped (replaced mention,
  // truncation). An output row, not a position id.
  std::vector<std::int32_t> old_to_new;

  std::vector<entity_slot> slots;   // in output order
  std::vector<group_range> groups;  // per mention, in the caller's order

  detail::plan_workspace workspace;  // scratch for planner::build_into

  std::int32_t length() const noexcept { return static_cast<std::int32_t>(input_ids.size()); }

  // Empties the result (capacity is kept).
  void clear() noexcept {
    input_ids.clear();
    entity_slot_of.clear();
    position_ids.clear();
    segment_ids.clear();
    attention_mask.clear();
    old_to_new.clear();
    slots.clear();
    groups.clear();
  }

  // Compares the result only, never the workspace.
  friend bool operator==(const splice_plan& a, const splice_plan& b) {
    return a.input_ids == b.input_ids && a.entity_slot_of == b.entity_slot_of &&
           a.position_ids == b.position_ids && a.segment_ids == b.segment_ids &&
           a.attention_mask == b.attention_mask && a.old_to_new == b.old_to_new && a.slots == b.slots &&
           a.groups == b.groups;
  }
};

}  // namespace kplug::splice
