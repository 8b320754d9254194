// The planner: mention ordering, sources, segments, buffer reuse, and every
// bad input it must reject with a named error.
#include <gtest/gtest.h>

#include <vector>

#include "kplug/splice/planner.hpp"
#include "splice_fixtures.hpp"

namespace kplug::splice::test {
namespace {

const planner& paper_planner() {
  static const planner p(
      {.format = splice_format::entity_slash_mention(slash), .placeholder_id = placeholder});
  return p;
}

TEST(SplicePlanner, MentionsInAnyOrderKeepTheCallersIndices) {
  const auto fmt =
      splice_format::entity_slash_mention(slash).with_markers({{{hash}, {hash}}, {{dollar}, {dollar}}});
  planner pl({.format = fmt, .placeholder_id = placeholder});
  const auto seq = make_sequence({cls, w0, w1a, w1b, w2, w3, sep}, {-1, 0, 1, 1, 2, 3, -1});
  // Tail first, head second.
  const std::vector<mention> ms{make_mention(3, 4, 1, 1), make_mention(1, 2, 0, 0)};
  const std::vector<row_index> rows{9, 7};
  const auto p = pl.build(seq, ms, rows);
  EXPECT_EQ(p.input_ids, (std::vector<token_id>{cls, w0, hash, placeholder, slash, w1a, w1b, hash, w2, dollar,
                                                placeholder, slash, w3, dollar, sep}));
  ASSERT_EQ(p.slots.size(), 2u);
  EXPECT_EQ(p.slots[0], (entity_slot{3, 1, 0, 7}));   // in output order: the head, caller's mention 1
  EXPECT_EQ(p.slots[1], (entity_slot{10, 0, 1, 9}));  // the tail, caller's mention 0
  EXPECT_EQ(p.groups[0], (group_range{9, 14, 12, 1}));
  EXPECT_EQ(p.groups[1], (group_range{2, 8, 5, 0}));
  EXPECT_EQ(p.entity_slot_of[3], 0);
  EXPECT_EQ(p.entity_slot_of[10], 1);
}

TEST(SplicePlanner, SlotsCarrySourcesAndRowsIncludingNoRow) {
  const auto seq = make_sequence({cls, w0, w1a, w1b, w2, w3, sep}, {-1, 0, 1, 1, 2, 3, -1});
  const std::vector<mention> ms{make_mention(0, 1, 3), make_mention(1, 2, 0), make_mention(3, 4, 1)};
  const std::vector<row_index> rows{100, no_row, 5};
  const auto p = paper_planner().build(seq, ms, rows);
  // [CLS] E / w0 | E / w1a ##w1b | w2 | E / w3 | [SEP]
  EXPECT_EQ(p.input_ids, (std::vector<token_id>{cls, placeholder, slash, w0, placeholder, slash, w1a, w1b, w2,
                                                placeholder, slash, w3, sep}));
  ASSERT_EQ(p.slots.size(), 3u);
  EXPECT_EQ(p.slots[0], (entity_slot{1, 0, 3, 100}));
  EXPECT_EQ(p.slots[1], (entity_slot{4, 1, 0, no_row}));  // unknown entity: still a slot
  EXPECT_EQ(p.slots[2], (entity_slot{9, 2, 1, 5}));
  EXPECT_EQ(p.old_to_new, (std::vector<std::int32_t>{0, 3, 6, 7, 8, 11, 12}));
}

TEST(SplicePlanner, NoMentionsCopiesTheSequence) {
  const auto p = paper_planner().build(basic_sequence(), {}, {});
  expect_rows(p, {cls, w0, w1a, w1b, w2, sep}, {0, 1, 2, 3, 4, 5}, {-1, -1, -1, -1, -1, -1},
              {0, 1, 2, 3, 4, 5});
  EXPECT_TRUE(p.slots.empty());
  EXPECT_TRUE(p.groups.empty());
}

TEST(SplicePlanner, PairInputCarriesSegmentIds) {
  // [CLS] w0 w1a ##w1b [SEP] w2 w3 [SEP], words numbered across both texts.
  const auto seq = make_sequence({cls, w0, w1a, w1b, sep, w2, w3, sep}, {-1, 0, 1, 1, -1, 2, 3, -1},
                                 {0, 0, 0, 0, 0, 1, 1, 1});
  const std::vector<mention> ms{make_mention(1, 2), make_mention(3, 4, 1)};
  const std::vector<row_index> rows{1, 2};
  const auto p = paper_planner().build(seq, ms, rows);
  EXPECT_EQ(p.input_ids, (std::vector<token_id>{cls, w0, placeholder, slash, w1a, w1b, sep, w2, placeholder,
                                                slash, w3, sep}));
  EXPECT_EQ(p.segment_ids, (std::vector<std::int32_t>{0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1}));
  EXPECT_EQ(p.position_ids, (std::vector<std::int32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}));
  EXPECT_EQ(p.old_to_new, (std::vector<std::int32_t>{0, 1, 4, 5, 6, 7, 10, 11}));
}

TEST(SplicePlanner, MentionMaySkipWordsWithoutPieces) {
  // Word 2 produced no pieces (e.g. a control character); span [1, 4) is fine.
  const auto seq = make_sequence({cls, w0, w1a, w3, w4, sep}, {-1, 0, 1, 3, 4, -1});
  const mention m = make_mention(1, 4);
  const row_index r = 0;
  const auto p = paper_planner().build(seq, {&m, 1}, {&r, 1});
  EXPECT_EQ(p.input_ids, (std::vector<token_id>{cls, w0, placeholder, slash, w1a, w3, w4, sep}));
  EXPECT_EQ(p.groups[0], (group_range{2, 6, 4, 0}));
}

TEST(SplicePlanner, BuildIntoReusesBuffersAndMatchesBuild) {
  const auto seq = make_sequence({cls, w0, w1a, w1b, w2, w3, sep}, {-1, 0, 1, 1, 2, 3, -1});
  const std::vector<mention> ms{make_mention(1, 2), make_mention(3, 4)};
  const std::vector<row_index> rows{1, 2};
  splice_plan reused;
  paper_planner().build_into(seq, ms, rows, reused);
  const auto* ids = reused.input_ids.data();
  const auto* map = reused.old_to_new.data();
  const auto* slots = reused.slots.data();
  // A smaller input into the same plan: same buffers, result equal to a fresh build.
  const mention one = make_mention(1, 2);
  const row_index r = 3;
  paper_planner().build_into(basic_sequence(), {&one, 1}, {&r, 1}, reused);
  EXPECT_EQ(reused.input_ids.data(), ids);
  EXPECT_EQ(reused.old_to_new.data(), map);
  EXPECT_EQ(reused.slots.data(), slots);
  EXPECT_EQ(reused, paper_planner().build(basic_sequence(), {&one, 1}, {&r, 1}));
  EXPECT_EQ(reused.length(), 8);
  EXPECT_EQ(reused.slots.size(), 1u);
  EXPECT_EQ(reused.groups.size(), 1u);
}

// ---- bad input

TEST(SplicePlannerErrors, EmptySequence) {
  expect_error([] { (void)paper_planner().build(make_sequence({}, {}), {}, {}); },
               {"build splice plan", "tokens.ids", "empty"});
}

TEST(SplicePlannerErrors, MismatchedArraySizes) {
  expect_error(
      [] {
        (void)paper_planner().build(make_sequence({cls, w0, sep}, {-1, 0}), {}, {});
      },
      {"tokens.word_of", "has 2 entries for 3 ids"});
  expect_error(
      [] {
        (void)paper_planner().build(make_sequence({cls, w0, sep}, {-1, 0, -1}, {0, 0}), {}, {});
      },
      {"tokens.segment_ids", "has 2 entries for 3 ids"});
  const mention m = make_mention(1, 2);
  const std::vector<row_index> rows{1, 2};
  expect_error(
      [&] {
        (void)paper_planner().build(basic_sequence(), {&m, 1}, rows);
      },
      {"rows", "has 2 entries for 1 mentions"});
  expect_error(
      [&] {
        (void)paper_planner().build(basic_sequence(), {&m, 1}, {});
      },
      {"rows", "has 0 entries for 1 mentions"});
}

TEST(SplicePlannerErrors, BadWordAlignment) {
  expect_error(
      [] {
        (void)paper_planner().build(make_sequence({cls, w0, w1a, w2, sep}, {-1, 0, 2, 1, -1}), {}, {});
      },
      {"tokens.word_of[3]", "word index 1 is smaller than word index 2 of token 2", "must not decrease"});
  expect_error(
      [] {
        (void)paper_planner().build(make_sequence({cls, w0, sep}, {-1, -2, -1}), {}, {});
      },
      {"tokens.word_of[1]", "-2"});
  expect_error(
      [] {
        (void)paper_planner().build(make_sequence({cls, w0, sep}, {-1, 0, -1}, {0, 0, -1}), {}, {});
      },
      {"tokens.segment_ids[2]", "negative"});
}

TEST(SplicePlannerErrors, SpanOutOfRangeOrEmpty) {
  auto build_with = [](mention m) {
    const row_index r = 0;
    (void)paper_planner().build(basic_sequence(), {&m, 1}, {&r, 1});
  };
  expect_error([&] { build_with(make_mention(2, 4)); },
               {"mentions[0].words", "[2, 4)", "out of range", "[0, 3)"});
  expect_error([&] { build_with(make_mention(-1, 1)); }, {"mentions[0].words", "out of range"});
  expect_error([&] { build_with(make_mention(1, 1)); }, {"mentions[0].words", "[1, 1)", "empty"});
  expect_error([&] { build_with(make_mention(2, 1)); }, {"mentions[0].words", "empty"});
  // Only specials: no word at all.
  const mention m = make_mention(0, 1);
  const row_index r = 0;
  expect_error(
      [&] {
        (void)paper_planner().build(make_sequence({cls, sep}, {-1, -1}), {&m, 1}, {&r, 1});
      },
      {"out of range", "[0, 0)"});
}

TEST(SplicePlannerErrors, MentionWordsMissingFromTheSequence) {
  const auto seq = make_sequence({cls, w0, w2, w3, sep}, {-1, 0, 2, 3, -1});  // word 1 has no pieces
  const row_index r = 0;
  const mention starts_missing = make_mention(1, 3);
  expect_error(
      [&] {
        (void)paper_planner().build(seq, {&starts_missing, 1}, {&r, 1});
      },
      {"mentions[0].words", "first word 1 has no word piece"});
  const mention ends_missing = make_mention(0, 2);
  expect_error(
      [&] {
        (void)paper_planner().build(seq, {&ends_missing, 1}, {&r, 1});
      },
      {"mentions[0].words", "last word 1 has no word piece"});
}

TEST(SplicePlannerErrors, MentionAcrossASpecialTokenOrSegments) {
  const auto pair = make_sequence({cls, w0, w1a, sep, w2, sep}, {-1, 0, 1, -1, 2, -1}, {0, 0, 0, 0, 1, 1});
  const row_index r = 0;
  const mention across = make_mention(1, 3);
  expect_error(
      [&] {
        (void)paper_planner().build(pair, {&across, 1}, {&r, 1});
      },
      {"mentions[0].words", "[1, 3)", "contains the special token 3"});
  const auto no_sep = make_sequence({cls, w0, w1a, w2, sep}, {-1, 0, 1, 2, -1}, {0, 0, 0, 1, 1});
  expect_error(
      [&] {
        (void)paper_planner().build(no_sep, {&across, 1}, {&r, 1});
      },
      {"mentions[0].words", "crosses from segment 0 into segment 1 at token 3"});
}

TEST(SplicePlannerErrors, OverlappingMentionsNameBoth) {
  const auto seq = make_sequence({cls, w0, w1a, w2, w3, sep}, {-1, 0, 1, 2, 3, -1});
  const std::vector<mention> ms{make_mention(3, 4), make_mention(1, 3), make_mention(0, 2)};
  const std::vector<row_index> rows{0, 0, 0};
  expect_error([&] { (void)paper_planner().build(seq, ms, rows); },
               {"mentions[1] and mentions[2]", "[1, 3)", "[0, 2)", "overlap"});
  const std::vector<mention> same{make_mention(1, 2), make_mention(1, 2)};
  expect_error(
      [&] {
        (void)paper_planner().build(seq, same, {rows.data(), 2});
      },
      {"mentions[0] and mentions[1]", "overlap"});
}

TEST(SplicePlannerErrors, InvalidMarkerIndex) {
  const row_index r = 0;
  const mention m = make_mention(1, 2, 0, 0);
  expect_error(
      [&] {
        (void)paper_planner().build(basic_sequence(), {&m, 1}, {&r, 1});
      },
      {"mentions[0].marker", "marker 0", "0 marker pairs"});
  planner with_one({.format = splice_format::replace_mention().with_markers({{{hash}, {hash}}})});
  const mention two = make_mention(1, 2, 0, 1);
  expect_error(
      [&] {
        (void)with_one.build(basic_sequence(), {&two, 1}, {&r, 1});
      },
      {"mentions[0].marker", "marker 1", "1 marker pairs"});
  const mention minus_two = make_mention(1, 2, 0, -2);
  expect_error(
      [&] {
        (void)with_one.build(basic_sequence(), {&minus_two, 1}, {&r, 1});
      },
      {"mentions[0].marker", "marker -2"});
}

TEST(SplicePlannerErrors, MaxLengthSmallerThanTheSpecials) {
  planner p({.max_length = 1});
  expect_error([&] { (void)p.build(basic_sequence(), {}, {}); },
               {"max_length", "max_length 1 is smaller than the 2 special tokens"});
}

TEST(SplicePlannerErrors, BadConfiguration) {
  expect_error([] { planner p({.max_length = -1}); }, {"configure splice planner", "max_length", "-1"});
  expect_error([] { planner p({.placeholder_id = -3}); }, {"placeholder_id", "-3"});
  expect_error([] { planner p({.max_length = 8, .pad_to_max_length = true, .pad_id = -1}); }, {"pad_id"});
  expect_error([] { planner p({.pad_to_max_length = true}); }, {"pad_to_max_length", "needs a max_length"});
}

TEST(SplicePlannerErrors, FailedBuildIntoLeavesNoStalePlan) {
  splice_plan p;
  paper_planner().build_into(basic_sequence(), {}, {}, p);
  ASSERT_EQ(p.length(), 6);
  const mention bad = make_mention(5, 6);
  const row_index r = 0;
  EXPECT_THROW(paper_planner().build_into(basic_sequence(), {&bad, 1}, {&r, 1}, p), kplug::error);
  EXPECT_EQ(p.length(), 0);
  EXPECT_TRUE(p.old_to_new.empty());
  EXPECT_TRUE(p.position_ids.empty());
}

}  // namespace
}  // namespace kplug::splice::test
