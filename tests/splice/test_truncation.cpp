// Truncation to max_length: groups are dropped whole, specials are kept,
// pairs are cut longest-first, and impossible requests are named errors.
#include <gtest/gtest.h>

#include <vector>

#include "kplug/splice/planner.hpp"
#include "splice_fixtures.hpp"

namespace kplug::splice::test {
namespace {

planner paper(std::int32_t max_length, truncation t = truncation::longest_first) {
  return planner({.format = splice_format::entity_slash_mention(slash),
                  .max_length = max_length,
                  .placeholder_id = placeholder,
                  .truncate = t});
}

splice_plan basic_with_mention(const planner& p) {
  const mention m = make_mention(1, 2);
  const row_index r = 4;
  return p.build(basic_sequence(), {&m, 1}, {&r, 1});
}

TEST(SpliceTruncation, NoCutWhenItFits) {
  const auto p = basic_with_mention(paper(8));
  EXPECT_EQ(p.length(), 8);
  EXPECT_EQ(p.slots.size(), 1u);
}

TEST(SpliceTruncation, DropsPlainTokensFromTheEnd) {
  // [CLS] w0 [E / w1a ##w1b] w2 [SEP] is 8 rows; 7 drops w2 only.
  const auto p = basic_with_mention(paper(7));
  expect_rows(p, {cls, w0, placeholder, slash, w1a, w1b, sep}, {0, 1, 2, 3, 4, 5, 6},
              {-1, -1, 0, -1, -1, -1, -1}, {0, 1, 4, 5, -1, 6});
  EXPECT_EQ(p.groups[0], (group_range{2, 6, 4, 0}));
}

TEST(SpliceTruncation, NeverSplitsAGroupAndKeepsSpecials) {
  // 6 rows: after w2 one more row must go, and the next unit is the 4-row group.
  const auto p = basic_with_mention(paper(6));
  expect_rows(p, {cls, w0, sep}, {0, 1, 2}, {-1, -1, -1}, {0, 1, -1, -1, -1, 2});
  EXPECT_FALSE(p.groups[0].kept());
  EXPECT_EQ(p.groups[0], group_range{});
  EXPECT_TRUE(p.slots.empty());
}

TEST(SpliceTruncation, GroupAtTheEndGoesWholeEvenIfOneRowWouldDo) {
  const auto seq = make_sequence({cls, w0, w1a, w2, w3, sep}, {-1, 0, 1, 2, 3, -1});
  const mention m = make_mention(2, 4);  // E / w2 w3: 4 rows, total 8
  const row_index r = 0;
  const auto p = paper(7).build(seq, {&m, 1}, {&r, 1});
  expect_rows(p, {cls, w0, w1a, sep}, {0, 1, 2, 3}, {-1, -1, -1, -1}, {0, 1, 2, -1, -1, 3});
  EXPECT_FALSE(p.groups[0].kept());
}

TEST(SpliceTruncation, MarkersGoWithTheirGroup) {
  const auto fmt =
      splice_format::entity_slash_mention(slash).with_markers({{{hash}, {hash}}, {{dollar}, {dollar}}});
  planner pl({.format = fmt, .max_length = 10, .placeholder_id = placeholder});
  const auto seq = make_sequence({cls, w0, w1a, w1b, w2, w3, sep}, {-1, 0, 1, 1, 2, 3, -1});
  const std::vector<mention> ms{make_mention(1, 2, 0, 0), make_mention(3, 4, 0, 1)};
  const std::vector<row_index> rows{7, 9};
  const auto p = pl.build(seq, ms, rows);  // 15 rows untruncated; the tail group (5) goes
  expect_rows(p, {cls, w0, hash, placeholder, slash, w1a, w1b, hash, w2, sep}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
              {-1, -1, -1, 0, -1, -1, -1, -1, -1, -1}, {0, 1, 5, 6, 8, -1, 9});
  EXPECT_TRUE(p.groups[0].kept());
  EXPECT_FALSE(p.groups[1].kept());
  ASSERT_EQ(p.slots.size(), 1u);
  EXPECT_EQ(p.slots[0].mention, 0);
}

// [CLS] a0 a1 a2 a3 [SEP] b0 b1 [SEP]
token_sequence pair_4_2() {
  return make_sequence({cls, w0, w1a, w2, w3, sep, w4, w5, sep}, {-1, 0, 1, 2, 3, -1, 4, 5, -1},
                       {0, 0, 0, 0, 0, 0, 1, 1, 1});
}

TEST(SpliceTruncation, PairLongestFirst) {
  {
    const auto p = paper(7).build(pair_4_2(), {}, {});  // A 4 > B 2: two from A
    EXPECT_EQ(p.input_ids, (std::vector<token_id>{cls, w0, w1a, sep, w4, w5, sep}));
    EXPECT_EQ(p.segment_ids, (std::vector<std::int32_t>{0, 0, 0, 0, 1, 1, 1}));
    EXPECT_EQ(p.old_to_new, (std::vector<std::int32_t>{0, 1, 2, -1, -1, 3, 4, 5, 6}));
  }
  {
    // A 4 B 2 -> A 3 -> A 2 -> tie, the second loses -> B 1 -> A 1 (as Hugging Face).
    const auto p = paper(5).build(pair_4_2(), {}, {});
    EXPECT_EQ(p.input_ids, (std::vector<token_id>{cls, w0, sep, w4, sep}));
    EXPECT_EQ(p.position_ids, (std::vector<std::int32_t>{0, 1, 2, 3, 4}));
    EXPECT_EQ(p.segment_ids, (std::vector<std::int32_t>{0, 0, 0, 1, 1}));
  }
  {
    // A 4 B 2 -> A 3 -> A 2 -> tie: the second text loses (Hugging Face), not the first.
    const auto p = paper(6).build(pair_4_2(), {}, {});
    EXPECT_EQ(p.input_ids, (std::vector<token_id>{cls, w0, w1a, sep, w4, sep}));
  }
  {
    const auto p = paper(3).build(pair_4_2(), {}, {});  // only the specials remain
    EXPECT_EQ(p.input_ids, (std::vector<token_id>{cls, sep, sep}));
    EXPECT_EQ(p.old_to_new, (std::vector<std::int32_t>{0, -1, -1, -1, -1, 1, -1, -1, 2}));
  }
}

TEST(SpliceTruncation, PairLongestFirstCountsGroupRows) {
  // [CLS] a0 a1 a2 [SEP] b0 [E / b1a ##b1b] [SEP]: A has 3 rows, B 1 + 4 = 5.
  const auto seq = make_sequence({cls, w0, w1a, w2, sep, w3, w4, w5, sep}, {-1, 0, 1, 2, -1, 3, 4, 4, -1},
                                 {0, 0, 0, 0, 0, 1, 1, 1, 1});
  const mention m = make_mention(4, 5, 0);
  const row_index r = 0;
  const auto p = paper(8).build(seq, {&m, 1}, {&r, 1});  // 11 rows: B (5) loses its group first
  EXPECT_EQ(p.input_ids, (std::vector<token_id>{cls, w0, w1a, w2, sep, w3, sep}));
  EXPECT_EQ(p.segment_ids, (std::vector<std::int32_t>{0, 0, 0, 0, 0, 1, 1}));
  EXPECT_FALSE(p.groups[0].kept());
}

TEST(SpliceTruncation, OnlyFirstAndOnlySecond) {
  {
    const auto p = paper(7, truncation::only_second).build(pair_4_2(), {}, {});
    EXPECT_EQ(p.input_ids, (std::vector<token_id>{cls, w0, w1a, w2, w3, sep, sep}));
  }
  {
    const auto p = paper(5, truncation::only_first).build(pair_4_2(), {}, {});
    EXPECT_EQ(p.input_ids, (std::vector<token_id>{cls, sep, w4, w5, sep}));
  }
  expect_error([] { (void)paper(6, truncation::only_second).build(pair_4_2(), {}, {}); },
               {"truncate", "needs 9 rows, max_length is 6", "second segment has no content left"});
  expect_error([] { (void)paper(4, truncation::only_first).build(pair_4_2(), {}, {}); },
               {"first segment has no content left"});
  expect_error([] { (void)paper(4, truncation::only_second).build(basic_sequence(), {}, {}); },
               {"second segment does not exist"});
}

TEST(SpliceTruncation, ErrorStrategyRefusesToCut) {
  EXPECT_EQ(basic_with_mention(paper(8, truncation::error)).length(), 8);
  expect_error([] { (void)basic_with_mention(paper(7, truncation::error)); },
               {"max_length", "needs 8 rows, max_length is 7", "truncation is set to error"});
}

TEST(SpliceTruncation, MentionLongerThanTheMaximumLength) {
  // The group E / w1a ##w1b is 4 rows; with [CLS] and [SEP] it needs 6.
  expect_error([] { (void)basic_with_mention(paper(5)); },
               {"mentions[0]", "a mention longer than the maximum length", "needs 4 rows (2 word pieces)",
                "6 rows", "max_length is 5"});
  // Marker rows count too: "# E #" is 3 rows, 5 with the specials.
  const auto fmt = splice_format::replace_mention().with_markers({{{hash}, {hash}}});
  const mention m = make_mention(1, 2, 0, 0);
  const row_index r = 0;
  const auto p = planner({.format = fmt, .max_length = 5}).build(basic_sequence(), {&m, 1}, {&r, 1});
  EXPECT_EQ(p.input_ids, (std::vector<token_id>{cls, w0, sep}));  // 7 rows: w2, then the group, go
  expect_error(
      [&] {
        (void)planner({.format = fmt, .max_length = 4}).build(basic_sequence(), {&m, 1}, {&r, 1});
      },
      {"mentions[0]", "needs 3 rows (2 word pieces)", "5 rows", "max_length is 4"});
  // Even when the long group would not need to be cut, it is reported.
  const std::vector<mention> two{make_mention(0, 1), make_mention(1, 2, 0, 0)};
  const std::vector<row_index> rows{0, 0};
  expect_error([&] { (void)planner({.format = fmt, .max_length = 4}).build(basic_sequence(), two, rows); },
               {"mentions[1]", "a mention longer than the maximum length"});
}

TEST(SpliceTruncation, PaddingToMaxLength) {
  planner pl({.format = splice_format::entity_slash_mention(slash),
              .max_length = 10,
              .placeholder_id = placeholder,
              .pad_to_max_length = true,
              .pad_id = pad});
  const auto p = basic_with_mention(pl);
  EXPECT_EQ(p.input_ids, (std::vector<token_id>{cls, w0, placeholder, slash, w1a, w1b, w2, sep, pad, pad}));
  EXPECT_EQ(p.attention_mask, (std::vector<std::uint8_t>{1, 1, 1, 1, 1, 1, 1, 1, 0, 0}));
  EXPECT_EQ(p.position_ids, (std::vector<std::int32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(p.entity_slot_of, (std::vector<std::int32_t>{-1, -1, 0, -1, -1, -1, -1, -1, -1, -1}));
  EXPECT_EQ(p.segment_ids, std::vector<std::int32_t>(10, 0));
  EXPECT_EQ(p.old_to_new, (std::vector<std::int32_t>{0, 1, 4, 5, 6, 7}));
}

TEST(SpliceTruncation, SpecialsExactlyFillTheMaximum) {
  const auto p = paper(2).build(basic_sequence(), {}, {});
  expect_rows(p, {cls, sep}, {0, 1}, {-1, -1}, {0, -1, -1, -1, -1, 1});
}

}  // namespace
}  // namespace kplug::splice::test
