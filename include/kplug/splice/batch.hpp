// Packing the splice plans of many sequences into one ragged batch: per-row
// arrays concatenated without padding (sequence s is rows
// [layout.offsets[s], layout.offsets[s + 1])), entity slots renumbered to
// packed rows, and the knowledge rows deduplicated so that each distinct
// (source, row) pair of the batch is mapped through its plugin once. The
// mapped rows of all sources are stacked into one matrix, source by source:
//
//   for each source s:  rows [entity_offsets[s], entity_offsets[s+1]) of the
//                       mapped matrix = plugin_s(gather(kb_s, distinct_rows[s]))
//   slot i is packed row slot_rows[i] and takes mapped row slot_entities[i]
//
// input() is the batch as a backend receives it (core/model_input.hpp).
// no_row is deduplicated like any other row; the caller's gather turns it
// into the zero vector its policy asks for.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "kplug/core/error.hpp"
#include "kplug/core/model_input.hpp"
#include "kplug/core/types.hpp"
#include "kplug/splice/plan.hpp"

namespace kplug::splice {

// Where an entity slot came from (its packed row is packed_plan::slot_rows).
struct packed_slot {
  std::int32_t sequence = 0;  // which plan it came from
  std::int32_t mention = 0;   // mention index in that sequence's list
  source_id source = 0;
  row_index row = no_row;
  friend bool operator==(const packed_slot&, const packed_slot&) = default;
};

namespace detail {
// Scratch of pack_into: an open-addressing table (source, row) -> distinct index.
struct pack_workspace {
  struct entry {
    row_index row = 0;
    std::int32_t source = -1;  // -1: empty
    std::int32_t index = 0;
  };
  std::vector<entry> table;
};
}  // namespace detail

struct packed_plan {
  packed_layout layout;
  // Per packed row.
  std::vector<token_id> input_ids;
  std::vector<std::int32_t> position_ids;
  std::vector<std::int32_t> segment_ids;
  std::vector<std::uint8_t> attention_mask;
  std::vector<std::int32_t> entity_slot_of;  // -1, or index into slots
  // Per entity slot, in packed-row order.
  std::vector<std::int32_t> slot_rows;      // its packed row
  std::vector<std::int32_t> slot_entities;  // its row of the stacked mapped-entity matrix
  std::vector<packed_slot> slots;           // where it came from
  // Per source id 0 .. (largest source in the batch): its distinct rows, in
  // order of first appearance. Empty for a source the batch does not use.
  std::vector<std::vector<row_index>> distinct_rows;
  // sources + 1: source s's mapped rows are rows [entity_offsets[s],
  // entity_offsets[s + 1]) of the stacked matrix.
  std::vector<std::int32_t> entity_offsets{0};

  detail::pack_workspace workspace;  // scratch for pack_into

  std::int32_t tokens() const noexcept { return layout.total(); }
  std::size_t sequences() const noexcept { return layout.sequences(); }
  std::size_t sources() const noexcept { return distinct_rows.size(); }
  // Rows of the stacked mapped-entity matrix: distinct entities of all sources.
  std::int32_t entities() const noexcept { return entity_offsets.back(); }

  // The batch as a backend receives it; views this plan, so keep it alive.
  model_input input() const noexcept {
    return {layout.offsets, input_ids, position_ids, segment_ids, attention_mask, slot_rows, slot_entities};
  }
};

// Packs `plans` in order. Throws kplug::error when a plan's arrays disagree
// in length or its slots do not match its entity_slot_of.
packed_plan pack(std::span<const splice_plan> plans);
// Same, into `out`, reusing its buffers.
void pack_into(std::span<const splice_plan> plans, packed_plan& out);

// Checks that a packed plan (perhaps built or edited by hand) is consistent,
// so that executing it cannot read or write out of bounds: input() passes
// kplug::validate, and the slots, sources and entity offsets agree.
void validate_packed_plan(const packed_plan& p, const char* what);

// ---------------------------------------------------------------- implementation

namespace detail {
inline std::string plan_name(std::size_t s) { return std::string("plans[") + std::to_string(s) + "]"; }

inline std::uint64_t hash_slot_key(source_id source, row_index row) noexcept {
  std::uint64_t x = static_cast<std::uint64_t>(row) * 0x9E3779B97F4A7C15ull ^ (std::uint64_t{source} << 48);
  x ^= x >> 29;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 32;
  return x;
}

inline void validate_plan_for_packing(const splice_plan& p, std::size_t s, const char* what) {
  const std::size_t len = p.input_ids.size();
  auto same = [&](std::size_t got, const char* name) {
    if (got != len)
      throw error(
          what, plan_name(s) + "." + name,
          std::string("has ") + std::to_string(got) + " entries for " + std::to_string(len) + " input_ids");
  };
  same(p.entity_slot_of.size(), "entity_slot_of");
  same(p.position_ids.size(), "position_ids");
  same(p.segment_ids.size(), "segment_ids");
  same(p.attention_mask.size(), "attention_mask");
  for (std::size_t i = 0; i < p.slots.size(); ++i) {
    const auto pos = p.slots[i].position;
    if (pos < 0 || static_cast<std::size_t>(pos) >= len ||
        p.entity_slot_of[static_cast<std::size_t>(pos)] != std::int32_t(i))
      throw error(what, plan_name(s) + ".slots[" + std::to_string(i) + "]",
                  std::string("position ") + std::to_string(pos) + " is not a row whose entity_slot_of is " +
                      std::to_string(i));
  }
  std::size_t marked = 0;
  for (std::size_t r = 0; r < len; ++r) {
    const auto v = p.entity_slot_of[r];
    if (v >= 0) ++marked;
    if (v < -1 || (v >= 0 && static_cast<std::size_t>(v) >= p.slots.size()))
      throw error(what, plan_name(s) + ".entity_slot_of[" + std::to_string(r) + "]",
                  std::string("slot ") + std::to_string(v) + " is not -1 nor one of the " +
                      std::to_string(p.slots.size()) + " slots");
  }
  if (marked != p.slots.size())
    throw error(what, plan_name(s) + ".entity_slot_of",
                std::string("marks ") + std::to_string(marked) + " rows for " +
                    std::to_string(p.slots.size()) + " slots");
}
}  // namespace detail

inline packed_plan pack(std::span<const splice_plan> plans) {
  packed_plan p;
  pack_into(plans, p);
  return p;
}

inline void pack_into(std::span<const splice_plan> plans, packed_plan& out) {
  const char* what = "pack splice plans";
  std::int64_t total = 0;
  std::size_t n_slots = 0;
  for (std::size_t s = 0; s < plans.size(); ++s) {
    detail::validate_plan_for_packing(plans[s], s, what);
    total += static_cast<std::int64_t>(plans[s].input_ids.size());
    n_slots += plans[s].slots.size();
  }
  if (total > std::numeric_limits<std::int32_t>::max() ||
      plans.size() > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()))
    throw error(what, "plans", "the batch holds more than 2^31 - 1 rows");

  const auto rows = static_cast<std::size_t>(total);
  out.layout.offsets.resize(plans.size() + 1);
  out.input_ids.resize(rows);
  out.position_ids.resize(rows);
  out.segment_ids.resize(rows);
  out.attention_mask.resize(rows);
  out.entity_slot_of.resize(rows);
  out.slot_rows.resize(n_slots);
  out.slot_entities.resize(n_slots);
  out.slots.resize(n_slots);

  // Dedup table: power of two, at most half full.
  std::size_t capacity = 16;
  while (capacity < 2 * n_slots) capacity *= 2;
  auto& table = out.workspace.table;
  table.assign(capacity, detail::pack_workspace::entry{});
  const std::size_t mask = capacity - 1;
  for (auto& d : out.distinct_rows) d.clear();
  std::size_t n_sources = 0;

  std::int32_t offset = 0;
  std::size_t slot_base = 0;
  out.layout.offsets[0] = 0;
  for (std::size_t s = 0; s < plans.size(); ++s) {
    const splice_plan& p = plans[s];
    const std::size_t len = p.input_ids.size();
    std::copy(p.input_ids.begin(), p.input_ids.end(), out.input_ids.begin() + offset);
    std::copy(p.position_ids.begin(), p.position_ids.end(), out.position_ids.begin() + offset);
    std::copy(p.segment_ids.begin(), p.segment_ids.end(), out.segment_ids.begin() + offset);
    std::copy(p.attention_mask.begin(), p.attention_mask.end(), out.attention_mask.begin() + offset);
    std::int32_t* slot_of = out.entity_slot_of.data() + offset;
    const auto base = static_cast<std::int32_t>(slot_base);
    for (std::size_t r = 0; r < len; ++r) {
      const std::int32_t v = p.entity_slot_of[r];
      slot_of[r] = v < 0 ? -1 : v + base;
    }
    for (std::size_t i = 0; i < p.slots.size(); ++i) {
      const entity_slot& e = p.slots[i];
      out.slot_rows[slot_base + i] = e.position + offset;
      out.slots[slot_base + i] = {static_cast<std::int32_t>(s), e.mention, e.source, e.row};
      if (e.source >= n_sources) {
        n_sources = std::size_t{e.source} + 1;
        if (out.distinct_rows.size() < n_sources) out.distinct_rows.resize(n_sources);
      }
      std::size_t h = detail::hash_slot_key(e.source, e.row) & mask;
      for (;;) {
        auto& entry = table[h];
        if (entry.source < 0) {
          auto& list = out.distinct_rows[e.source];
          entry = {e.row, std::int32_t{e.source}, static_cast<std::int32_t>(list.size())};
          list.push_back(e.row);
          break;
        }
        if (entry.source == std::int32_t{e.source} && entry.row == e.row) break;
        h = (h + 1) & mask;
      }
      out.slot_entities[slot_base + i] = table[h].index;  // within its source, until stacked below
    }
    slot_base += p.slots.size();
    offset += static_cast<std::int32_t>(len);
    out.layout.offsets[s + 1] = offset;
  }
  out.distinct_rows.resize(n_sources);  // sources past the largest used one are not listed
  out.entity_offsets.resize(n_sources + 1);
  out.entity_offsets[0] = 0;
  for (std::size_t src = 0; src < n_sources; ++src)
    out.entity_offsets[src + 1] = out.entity_offsets[src] + static_cast<std::int32_t>(out.distinct_rows[src].size());
  for (std::size_t i = 0; i < n_slots; ++i) out.slot_entities[i] += out.entity_offsets[out.slots[i].source];
}

inline void validate_packed_plan(const packed_plan& p, const char* what) {
  const std::size_t rows = p.input_ids.size();
  auto same = [&](std::size_t got, const char* name) {
    if (got != rows)
      throw error(
          what, std::string("packed_plan.") + name,
          std::string("has ") + std::to_string(got) + " entries for " + std::to_string(rows) + " input_ids");
  };
  same(p.entity_slot_of.size(), "entity_slot_of");
  if (p.slots.size() != p.slot_rows.size())
    throw error(what, "packed_plan.slots",
                std::string("has ") + std::to_string(p.slots.size()) + " entries for " +
                    std::to_string(p.slot_rows.size()) + " slot_rows");
  const auto& eo = p.entity_offsets;
  if (eo.size() != p.sources() + 1 || eo.front() != 0)
    throw error(what, "packed_plan.entity_offsets",
                std::string("must hold 0 and one end per source (") + std::to_string(p.sources()) + " sources)");
  for (std::size_t s = 0; s < p.sources(); ++s)
    if (eo[s + 1] - eo[s] != static_cast<std::int64_t>(p.distinct_rows[s].size()))
      throw error(what, "packed_plan.entity_offsets[" + std::to_string(s + 1) + "]",
                  "does not match the " + std::to_string(p.distinct_rows[s].size()) + " distinct rows of source " +
                      std::to_string(s));
  validate(p.input(), model_limits{}, p.entities(), what);
  for (std::size_t i = 0; i < p.slots.size(); ++i) {
    const auto src = p.slots[i].source;
    if (src >= p.sources() || p.slot_entities[i] < eo[src] || p.slot_entities[i] >= eo[src + 1])
      throw error(what, "packed_plan.slot_entities[" + std::to_string(i) + "]",
                  "is not a mapped row of the slot's source " + std::to_string(src));
  }
}

}  // namespace kplug::splice
