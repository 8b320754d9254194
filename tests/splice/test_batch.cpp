// Packing plans into one ragged batch: offsets, global slot rows, and the
// per-source deduplication of knowledge rows.
#include <gtest/gtest.h>

#include <array>
#include <map>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "batch_fixture.hpp"
#include "kplug/splice/batch.hpp"
#include "splice_fixtures.hpp"

namespace kplug::splice::test {
namespace {

TEST(SpliceBatch, PacksOffsetsRowsAndGlobalSlots) {
  const auto plans = three_plans();
  ASSERT_EQ(plans[0].length(), 8);
  ASSERT_EQ(plans[1].length(), 11);
  ASSERT_EQ(plans[2].length(), 5);
  const packed_plan p = pack(plans);
  EXPECT_EQ(p.layout.offsets, (std::vector<std::int32_t>{0, 8, 19, 24}));
  EXPECT_EQ(p.tokens(), 24);
  EXPECT_EQ(p.sequences(), 3u);
  std::vector<token_id> ids;
  std::vector<std::int32_t> positions;
  for (const auto& pl : plans) {
    ids.insert(ids.end(), pl.input_ids.begin(), pl.input_ids.end());
    positions.insert(positions.end(), pl.position_ids.begin(), pl.position_ids.end());
  }
  EXPECT_EQ(p.input_ids, ids);
  EXPECT_EQ(p.position_ids, positions);  // positions restart per sequence
  EXPECT_EQ(p.attention_mask, std::vector<std::uint8_t>(24, 1));
  EXPECT_EQ(p.segment_ids, std::vector<std::int32_t>(24, 0));
  ASSERT_EQ(p.slots.size(), 5u);
  EXPECT_EQ(p.slot_rows, (std::vector<std::int32_t>{2, 10, 15, 20, 21}));
  EXPECT_EQ(p.slots[0], (packed_slot{0, 0, 0, 42}));
  EXPECT_EQ(p.slots[1], (packed_slot{1, 0, 0, 42}));
  EXPECT_EQ(p.slots[2], (packed_slot{1, 1, 1, 42}));
  EXPECT_EQ(p.slots[3], (packed_slot{2, 0, 0, no_row}));
  EXPECT_EQ(p.slots[4], (packed_slot{2, 1, 0, 5}));
  std::vector<std::int32_t> slot_of(24, -1);
  slot_of[2] = 0;
  slot_of[10] = 1;
  slot_of[15] = 2;
  slot_of[20] = 3;
  slot_of[21] = 4;
  EXPECT_EQ(p.entity_slot_of, slot_of);
}

TEST(SpliceBatch, DeduplicatesRowsPerSource) {
  const packed_plan p = pack(three_plans());
  ASSERT_EQ(p.sources(), 2u);
  // Row 42 of source 0 is used twice and mapped once; row 42 of source 1 is
  // another entity; no_row is one distinct (zero) row like any other.
  EXPECT_EQ(p.distinct_rows[0], (std::vector<row_index>{42, no_row, 5}));
  EXPECT_EQ(p.distinct_rows[1], (std::vector<row_index>{42}));
  // Stacked: source 0's three mapped rows, then source 1's one.
  EXPECT_EQ(p.entity_offsets, (std::vector<std::int32_t>{0, 3, 4}));
  EXPECT_EQ(p.entities(), 4);
  EXPECT_EQ(p.slot_entities, (std::vector<std::int32_t>{0, 0, 3, 1, 2}));
  EXPECT_NO_THROW(validate_packed_plan(p, "test"));
}

TEST(SpliceBatch, InputIsTheBatchAsABackendReceivesIt) {
  const packed_plan p = pack(three_plans());
  const model_input in = p.input();
  EXPECT_EQ(in.tokens(), 24);
  EXPECT_EQ(in.sequences(), 3);
  EXPECT_EQ(in.slots(), 5);
  EXPECT_EQ(in.offsets.data(), p.layout.offsets.data());
  EXPECT_EQ(in.token_ids.data(), p.input_ids.data());
  EXPECT_EQ(in.position_ids.data(), p.position_ids.data());
  EXPECT_EQ(in.segment_ids.data(), p.segment_ids.data());
  EXPECT_EQ(in.attention_mask.data(), p.attention_mask.data());
  EXPECT_EQ(in.slot_rows.data(), p.slot_rows.data());
  EXPECT_EQ(in.slot_entities.data(), p.slot_entities.data());
  EXPECT_NO_THROW(validate(in, model_limits{4, 3000, 512, 2}, p.entities(), "test"));
}

TEST(SpliceBatch, DedupMatchesAMapOnManySlots) {
  // Random slots over sparse sources; the packer's distinct lists must equal
  // first-appearance order computed with std::map, and every slot must point
  // at its own row.
  std::mt19937 rng(7);
  std::vector<splice_plan> plans(20);
  std::map<std::pair<int, row_index>, int> first_seen;
  std::map<int, std::vector<row_index>> expected;
  for (auto& pl : plans) {
    const int len = 30;
    pl.input_ids.assign(len, 5);
    pl.position_ids.assign(len, 0);
    pl.segment_ids.assign(len, 0);
    pl.attention_mask.assign(len, 1);
    pl.entity_slot_of.assign(len, -1);
    for (int r = 0; r < len; r += 2) {
      const auto src = static_cast<source_id>(std::array<int, 3>{0, 2, 9}[rng() % 3]);
      const row_index row = static_cast<row_index>(rng() % 40) - 1;  // includes no_row
      pl.entity_slot_of[r] = static_cast<std::int32_t>(pl.slots.size());
      pl.slots.push_back({r, 0, src, row});
      if (first_seen.emplace(std::pair{int{src}, row}, 0).second) expected[src].push_back(row);
    }
  }
  const packed_plan p = pack(plans);
  ASSERT_EQ(p.sources(), 10u);
  for (int s = 0; s < 10; ++s) EXPECT_EQ(p.distinct_rows[s], expected[s]) << "source " << s;
  for (std::size_t i = 0; i < p.slots.size(); ++i) {
    const auto src = p.slots[i].source;
    EXPECT_EQ(p.distinct_rows[src][p.slot_entities[i] - p.entity_offsets[src]], p.slots[i].row);
  }
  EXPECT_EQ(p.slots.size(), 20u * 15u);
}

TEST(SpliceBatch, PackIntoReusesBuffers) {
  const auto plans = three_plans();
  packed_plan p;
  pack_into(plans, p);
  const auto* ids = p.input_ids.data();
  const auto* slots = p.slots.data();
  const auto* rows0 = p.distinct_rows[0].data();
  pack_into(std::span<const splice_plan>(plans).first(2), p);
  EXPECT_EQ(p.input_ids.data(), ids);
  EXPECT_EQ(p.slots.data(), slots);
  EXPECT_EQ(p.distinct_rows[0].data(), rows0);
  EXPECT_EQ(p.layout.offsets, (std::vector<std::int32_t>{0, 8, 19}));
  EXPECT_EQ(p.distinct_rows[0], (std::vector<row_index>{42}));
  EXPECT_EQ(p.slot_entities, (std::vector<std::int32_t>{0, 0, 1}));
  EXPECT_EQ(p.entity_offsets, (std::vector<std::int32_t>{0, 1, 2}));
}

TEST(SpliceBatch, EmptyBatch) {
  const packed_plan p = pack({});
  EXPECT_EQ(p.tokens(), 0);
  EXPECT_EQ(p.sequences(), 0u);
  EXPECT_EQ(p.sources(), 0u);
  EXPECT_EQ(p.entities(), 0);
  EXPECT_NO_THROW(validate_packed_plan(p, "test"));
}

TEST(SpliceBatchErrors, InconsistentPlans) {
  {
    auto plans = three_plans();
    plans[1].position_ids.pop_back();
    expect_error([&] { (void)pack(plans); },
                 {"pack splice plans", "plans[1].position_ids", "10 entries for 11"});
  }
  {
    auto plans = three_plans();
    plans[0].slots[0].position = 99;
    expect_error([&] { (void)pack(plans); }, {"plans[0].slots[0]", "position 99"});
  }
  {
    auto plans = three_plans();
    plans[2].entity_slot_of[0] = 7;
    expect_error([&] { (void)pack(plans); }, {"plans[2].entity_slot_of[0]", "slot 7"});
  }
  {
    auto plans = three_plans();
    plans[2].entity_slot_of[4] = 1;  // a second row claims slot 1
    expect_error([&] { (void)pack(plans); }, {"plans[2].entity_slot_of", "marks 3 rows for 2 slots"});
  }
}

TEST(SpliceBatchErrors, ValidateCatchesHandEditedPackedPlans) {
  const packed_plan good = pack(three_plans());
  {
    auto p = good;
    p.slot_entities[4] = 3;  // source 1's row for a slot of source 0
    expect_error([&] { validate_packed_plan(p, "run"); },
                 {"packed_plan.slot_entities[4]", "not a mapped row of the slot's source 0"});
  }
  {
    auto p = good;
    p.slot_entities[4] = 4;
    expect_error([&] { validate_packed_plan(p, "run"); }, {"model_input.slot_entities[4]", "outside the 4"});
  }
  {
    auto p = good;
    p.slots[2].source = 4;
    expect_error([&] { validate_packed_plan(p, "run"); }, {"packed_plan.slot_entities[2]", "source 4"});
  }
  {
    auto p = good;
    p.slot_rows[0] = 24;
    expect_error([&] { validate_packed_plan(p, "run"); }, {"model_input.slot_rows[0]", "row 24"});
  }
  {
    auto p = good;
    p.attention_mask.pop_back();
    expect_error([&] { validate_packed_plan(p, "run"); }, {"model_input.attention_mask"});
  }
  {
    auto p = good;
    p.layout.offsets[1] = 30;
    expect_error([&] { validate_packed_plan(p, "run"); }, {"offsets"});
  }
  {
    auto p = good;
    p.slot_entities.pop_back();
    expect_error([&] { validate_packed_plan(p, "run"); }, {"model_input.slot_entities", "4 entries for 5"});
  }
  {
    auto p = good;
    p.entity_offsets[1] = 2;
    expect_error([&] { validate_packed_plan(p, "run"); }, {"packed_plan.entity_offsets[1]", "3 distinct rows"});
  }
}

}  // namespace
}  // namespace kplug::splice::test
