// Mention-masked LM examples: which tokens are masked, which targets exist.
#include <gtest/gtest.h>

#include <kplug/train/example.hpp>

namespace {

constexpr kplug::token_id mask = 103;

// [CLS] marie cu ##rie met pierre [SEP]; words: marie(0) curie(1) met(2) pierre(3)
kplug::token_sequence sentence() {
  return {{101, 10, 11, 12, 13, 14, 102}, {-1, 0, 1, 1, 2, 3, -1}, {}};
}

TEST(Mmlm, OneMentionMasksAllItsPiecesAndKeepsTheEntity) {
  const std::vector<kplug::mention> m{{{0, 2}, "Q7186"}};
  const std::vector<kplug::row_index> rows{5};
  const auto ex = kplug::train::mmlm_examples(sentence(), m, rows, mask);
  ASSERT_EQ(ex.size(), 1u);
  EXPECT_EQ(ex[0].tokens.ids, (std::vector<kplug::token_id>{101, mask, mask, mask, 13, 14, 102}));
  ASSERT_EQ(ex[0].targets.size(), 3u);
  EXPECT_EQ(ex[0].targets[0].token, 1);
  EXPECT_EQ(ex[0].targets[0].label, 10);
  EXPECT_EQ(ex[0].targets[2].token, 3);
  EXPECT_EQ(ex[0].targets[2].label, 12);
  EXPECT_EQ(ex[0].mentions, m);
  EXPECT_EQ(ex[0].rows, rows);
}

TEST(Mmlm, TwoMentionsGiveThePapersThreeVariants) {
  const std::vector<kplug::mention> m{{{0, 2}, "Q7186"}, {{3, 4}, "Q37463"}};
  const std::vector<kplug::row_index> rows{5, 9};
  const auto ex = kplug::train::mmlm_examples(sentence(), m, rows, mask);
  ASSERT_EQ(ex.size(), 3u);
  EXPECT_EQ(ex[0].targets.size(), 4u);  // both masked
  EXPECT_EQ(ex[0].tokens.ids, (std::vector<kplug::token_id>{101, mask, mask, mask, 13, mask, 102}));
  EXPECT_EQ(ex[1].tokens.ids, (std::vector<kplug::token_id>{101, mask, mask, mask, 13, 14, 102}));
  EXPECT_EQ(ex[2].tokens.ids, (std::vector<kplug::token_id>{101, 10, 11, 12, 13, mask, 102}));
  EXPECT_EQ(ex[2].targets.size(), 1u);
  EXPECT_EQ(ex[2].targets[0].label, 14);
}

TEST(Mmlm, NoMentionsNoExamples) {
  EXPECT_TRUE(kplug::train::mmlm_examples(sentence(), {}, {}, mask).empty());
}

TEST(Mmlm, BadInputIsAnError) {
  const std::vector<kplug::mention> m{{{7, 8}, "Q1"}};
  const std::vector<kplug::row_index> one{0}, none;
  EXPECT_THROW(kplug::train::mmlm_examples(sentence(), m, one, mask), kplug::error);   // no such word
  EXPECT_THROW(kplug::train::mmlm_examples(sentence(), m, none, mask), kplug::error);  // rows mismatch
  const std::vector<kplug::mention> ok{{{0, 1}, "Q1"}};
  EXPECT_THROW(kplug::train::mmlm_examples(sentence(), ok, one, -1), kplug::error);
}

}  // namespace
