// Every splice format on hand-built inputs: exact output rows, position ids,
// slots, groups and the old -> new index map (expected values worked out by
// hand from the format definitions in DESIGN.md, not copied from output).
#include <gtest/gtest.h>

#include "kplug/splice/format.hpp"
#include "kplug/splice/planner.hpp"
#include "splice_fixtures.hpp"

namespace kplug::splice::test {
namespace {

splice_plan plan_basic(splice_format fmt) {
  // [CLS] w0 w1a ##w1b w2 [SEP], mention on word 1 (two pieces), source 2, row 42.
  planner p({.format = std::move(fmt), .placeholder_id = placeholder});
  const mention m = make_mention(1, 2, 2);
  const row_index row = 42;
  return p.build(basic_sequence(), {&m, 1}, {&row, 1});
}

TEST(SpliceFormat, EntitySlashMentionIsThePapersFormat) {
  const auto p = plan_basic(splice_format::entity_slash_mention(slash));
  //             [CLS] w0  E            /      w1a  ##w1b w2  [SEP]
  expect_rows(p, {cls, w0, placeholder, slash, w1a, w1b, w2, sep}, {0, 1, 2, 3, 4, 5, 6, 7},
              {-1, -1, 0, -1, -1, -1, -1, -1}, {0, 1, 4, 5, 6, 7});
  ASSERT_EQ(p.slots.size(), 1u);
  EXPECT_EQ(p.slots[0], (entity_slot{2, 0, 2, 42}));
  ASSERT_EQ(p.groups.size(), 1u);
  EXPECT_EQ(p.groups[0], (group_range{2, 6, 4, 0}));
  EXPECT_EQ(p.segment_ids, std::vector<std::int32_t>(8, 0));
  EXPECT_EQ(p.length(), 8);
}

TEST(SpliceFormat, MentionSlashEntityIsEBert) {
  const auto p = plan_basic(splice_format::mention_slash_entity(slash));
  expect_rows(p, {cls, w0, w1a, w1b, slash, placeholder, w2, sep}, {0, 1, 2, 3, 4, 5, 6, 7},
              {-1, -1, -1, -1, -1, 0, -1, -1}, {0, 1, 2, 3, 6, 7});
  EXPECT_EQ(p.slots[0], (entity_slot{5, 0, 2, 42}));
  EXPECT_EQ(p.groups[0], (group_range{2, 6, 2, 0}));
}

TEST(SpliceFormat, ReplaceMentionDropsThePieces) {
  const auto fmt = splice_format::replace_mention();
  EXPECT_FALSE(fmt.keeps_mention());
  EXPECT_EQ(fmt, splice_format());  // the default format
  const auto p = plan_basic(fmt);
  expect_rows(p, {cls, w0, placeholder, w2, sep}, {0, 1, 2, 3, 4}, {-1, -1, 0, -1, -1}, {0, 1, -1, -1, 3, 4});
  EXPECT_EQ(p.slots[0], (entity_slot{2, 0, 2, 42}));
  EXPECT_EQ(p.groups[0], (group_range{2, 3, -1, 0}));
}

TEST(SpliceFormat, PeltSharesThePositionOfTheParenthesis) {
  const auto p = plan_basic(splice_format::mention_paren_entity(lparen, rparen, true));
  //             [CLS] w0  w1a  ##w1b (       E            )       w2  [SEP]
  expect_rows(p, {cls, w0, w1a, w1b, lparen, placeholder, rparen, w2, sep}, {0, 1, 2, 3, 4, 4, 5, 6, 7},
              {-1, -1, -1, -1, -1, 0, -1, -1, -1}, {0, 1, 2, 3, 7, 8});
  EXPECT_EQ(p.slots[0].position, 5);
  EXPECT_EQ(p.groups[0], (group_range{2, 7, 2, 0}));
}

TEST(SpliceFormat, PeltWithoutSharingAdvancesPositions) {
  const auto p = plan_basic(splice_format::mention_paren_entity(lparen, rparen, false));
  expect_rows(p, {cls, w0, w1a, w1b, lparen, placeholder, rparen, w2, sep}, {0, 1, 2, 3, 4, 5, 6, 7, 8},
              {-1, -1, -1, -1, -1, 0, -1, -1, -1}, {0, 1, 2, 3, 7, 8});
}

TEST(SpliceFormat, MarkerWrappedRelationInput) {
  // [CLS] w0 w1a ##w1b w2 w3 [SEP]; head = word 1 (marker 0: # #), tail = word 3 (marker 1: $ $).
  const auto fmt =
      splice_format::entity_slash_mention(slash).with_markers({{{hash}, {hash}}, {{dollar}, {dollar}}});
  planner pl({.format = fmt, .placeholder_id = placeholder});
  const auto seq = make_sequence({cls, w0, w1a, w1b, w2, w3, sep}, {-1, 0, 1, 1, 2, 3, -1});
  const std::vector<mention> ms{make_mention(1, 2, 0, 0), make_mention(3, 4, 1, 1)};
  const std::vector<row_index> rows{7, 9};
  const auto p = pl.build(seq, ms, rows);
  // rows: 0 [CLS] 1 w0 2 # 3 E 4 / 5 w1a 6 ##w1b 7 # 8 w2 9 $ 10 E 11 / 12 w3 13 $ 14 [SEP]
  expect_rows(
      p, {cls, w0, hash, placeholder, slash, w1a, w1b, hash, w2, dollar, placeholder, slash, w3, dollar, sep},
      {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14},
      {-1, -1, -1, 0, -1, -1, -1, -1, -1, -1, 1, -1, -1, -1, -1}, {0, 1, 5, 6, 8, 12, 14});
  ASSERT_EQ(p.slots.size(), 2u);
  EXPECT_EQ(p.slots[0], (entity_slot{3, 0, 0, 7}));
  EXPECT_EQ(p.slots[1], (entity_slot{10, 1, 1, 9}));
  EXPECT_EQ(p.groups[0], (group_range{2, 8, 5, 0}));  // a head finds "#" at groups[0].begin
  EXPECT_EQ(p.groups[1], (group_range{9, 14, 12, 1}));
}

TEST(SpliceFormat, MultiTokenAndOneSidedMarkers) {
  const auto fmt = splice_format::replace_mention().with_markers({{{5, 6}, {}}, {{}, {8}}});
  planner pl({.format = fmt, .placeholder_id = placeholder});
  const auto seq = make_sequence({cls, w0, w1a, w1b, w2, w3, sep}, {-1, 0, 1, 1, 2, 3, -1});
  const std::vector<mention> ms{make_mention(0, 1, 0, 1), make_mention(1, 2, 0, 0), make_mention(3, 4)};
  const std::vector<row_index> rows{1, 2, 3};
  const auto p = pl.build(seq, ms, rows);
  // [CLS] E 8 | 5 6 E | w2 | E | [SEP]
  expect_rows(p, {cls, placeholder, 8, 5, 6, placeholder, w2, placeholder, sep}, {0, 1, 2, 3, 4, 5, 6, 7, 8},
              {-1, 0, -1, -1, -1, 1, -1, 2, -1}, {0, -1, -1, -1, 6, -1, 8});
  EXPECT_EQ(p.groups[0], (group_range{1, 3, -1, 0}));
  EXPECT_EQ(p.groups[1], (group_range{3, 6, -1, 1}));
  EXPECT_EQ(p.groups[2], (group_range{7, 8, -1, 2}));
}

TEST(SpliceFormat, CustomGroupWithLiteralsAroundTheEntity) {
  const splice_format fmt({group_element::literal(7), group_element::entity(), group_element::literal(8),
                           group_element::mention(), group_element::literal(9)});
  EXPECT_EQ(fmt.entity_element_index(), 1u);
  EXPECT_EQ(fmt.literal_count(), 3);
  EXPECT_EQ(fmt.group_size(2, no_marker), 6);
  const auto p = plan_basic(fmt);
  expect_rows(p, {cls, w0, 7, placeholder, 8, w1a, w1b, 9, w2, sep}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
              {-1, -1, -1, 0, -1, -1, -1, -1, -1, -1}, {0, 1, 5, 6, 8, 9});
  EXPECT_EQ(p.groups[0], (group_range{2, 8, 5, 0}));
}

TEST(SpliceFormat, SharedPositionMayFollowAnyElement) {
  // "m E" sharing the position of the mention's last piece.
  const splice_format fmt({group_element::mention(), group_element::entity()}, true);
  const auto p = plan_basic(fmt);
  expect_rows(p, {cls, w0, w1a, w1b, placeholder, w2, sep}, {0, 1, 2, 3, 3, 4, 5},
              {-1, -1, -1, -1, 0, -1, -1}, {0, 1, 2, 3, 5, 6});
}

TEST(SpliceFormat, GroupSizeCountsMarkers) {
  const auto fmt = splice_format::entity_slash_mention(slash).with_markers({{{1, 2}, {3}}});
  EXPECT_EQ(fmt.group_size(3, no_marker), 5);
  EXPECT_EQ(fmt.group_size(3, 0), 8);
  EXPECT_TRUE(fmt.keeps_mention());
  EXPECT_EQ(fmt.markers().size(), 1u);
}

TEST(SpliceFormat, RejectsGroupsWithoutExactlyOneEntity) {
  expect_error([] { splice_format f(std::vector<group_element>{}); },
               {"define splice format", "exactly one entity element", "has 0"});
  expect_error(
      [] {
        splice_format f({group_element::mention(), group_element::literal(3)});
      },
      {"exactly one entity element", "has 0"});
  expect_error(
      [] {
        splice_format f({group_element::entity(), group_element::entity()});
      },
      {"exactly one entity element", "has 2"});
}

TEST(SpliceFormat, RejectsTheMentionTwice) {
  expect_error(
      [] {
        splice_format f({group_element::mention(), group_element::entity(), group_element::mention()});
      },
      {"at most once", "has 2"});
}

TEST(SpliceFormat, RejectsNegativeIdsAndUnknownKinds) {
  expect_error(
      [] {
        splice_format f({group_element::entity(), group_element::literal(-5)});
      },
      {"elements[1]", "-5", "negative"});
  expect_error([] { (void)splice_format::entity_slash_mention(-1); }, {"elements[1]", "negative"});
  expect_error(
      [] {
        (void)splice_format::replace_mention().with_markers({{{1}, {2}}, {{3}, {-4}}});
      },
      {"markers[1].close[0]", "-4"});
  expect_error(
      [] {
        splice_format f({group_element::entity(), {static_cast<element_kind>(7), 0}});
      },
      {"elements[1]", "unknown element kind"});
}

TEST(SpliceFormat, RejectsSharingWithNothingBefore) {
  expect_error(
      [] {
        splice_format f({group_element::entity(), group_element::mention()}, true);
      },
      {"share_entity_position", "first element"});
}

}  // namespace
}  // namespace kplug::splice::test
