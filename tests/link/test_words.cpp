#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "kplug/text/words.hpp"

namespace {

using kplug::text::split_words;
using kplug::text::word;

std::vector<std::string> texts_of(const std::vector<word>& words) {
  std::vector<std::string> out;
  for (const word& w : words) out.emplace_back(w.text);
  return out;
}

using strings = std::vector<std::string>;

TEST(SplitWords, WhitespaceAndPunctuation) {
  const std::string text = "  Hello,\tworld!\n";
  const auto words = split_words(text);
  EXPECT_EQ(texts_of(words), (strings{"Hello", ",", "world", "!"}));
  ASSERT_EQ(words.size(), 4u);
  EXPECT_EQ(words[0].begin, 2u);
  EXPECT_EQ(words[0].end, 7u);
  EXPECT_EQ(words[1].begin, 7u);
  EXPECT_EQ(words[1].end, 8u);
  EXPECT_EQ(words[2].begin, 9u);
  EXPECT_EQ(words[2].end, 14u);
  EXPECT_EQ(words[3].begin, 14u);
  EXPECT_EQ(words[3].end, 15u);
}

TEST(SplitWords, EachPunctuationCharacterIsAWord) {
  EXPECT_EQ(texts_of(split_words("U.S.-based")), (strings{"U", ".", "S", ".", "-", "based"}));
  EXPECT_EQ(texts_of(split_words("...")), (strings{".", ".", "."}));
  EXPECT_EQ(texts_of(split_words("a_b~c")), (strings{"a", "_", "b", "~", "c"}));
  EXPECT_EQ(texts_of(split_words("don't")), (strings{"don", "'", "t"}));
  const std::string all = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
  EXPECT_EQ(split_words(all).size(), all.size());
}

TEST(SplitWords, EmptyAndBlankTextHaveNoWords) {
  EXPECT_TRUE(split_words("").empty());
  EXPECT_TRUE(split_words(" \t\r\n\v\f ").empty());
  EXPECT_TRUE(split_words("\xC2\xA0\xE3\x80\x80").empty());  // NBSP, ideographic space
}

TEST(SplitWords, UnicodeSpaceSeparatorsSplit) {
  EXPECT_EQ(texts_of(split_words("a\xC2\xA0" "b")), (strings{"a", "b"}));          // U+00A0
  EXPECT_EQ(texts_of(split_words("a\xE2\x80\x89" "b")), (strings{"a", "b"}));      // U+2009 thin space
  EXPECT_EQ(texts_of(split_words("a\xE2\x80\xAF" "b")), (strings{"a", "b"}));      // U+202F
  EXPECT_EQ(texts_of(split_words("a\xE2\x81\x9F" "b")), (strings{"a", "b"}));      // U+205F
  EXPECT_EQ(texts_of(split_words("a\xE1\x9A\x80" "b")), (strings{"a", "b"}));      // U+1680
  EXPECT_EQ(texts_of(split_words("a\xE3\x80\x80" "b")), (strings{"a", "b"}));      // U+3000
  // Not separators: © (U+00A9), zero-width space U+200B, U+2010 hyphen.
  EXPECT_EQ(texts_of(split_words("a\xC2\xA9" "b")), (strings{"a\xC2\xA9" "b"}));
  EXPECT_EQ(texts_of(split_words("a\xE2\x80\x8B" "b")), (strings{"a\xE2\x80\x8B" "b"}));
  EXPECT_EQ(texts_of(split_words("a\xE2\x80\x90" "b")), (strings{"a\xE2\x80\x90" "b"}));
}

TEST(SplitWords, NonAsciiLettersStayInWords) {
  EXPECT_EQ(texts_of(split_words("Ça va, Москва?")), (strings{"Ça", "va", ",", "Москва", "?"}));
}

TEST(SplitWords, TruncatedSequencesAtTheEndStayInTheWord) {
  // A lead byte of a space separator at the very end must not be read past.
  const std::string buffer = "a\xC2\xA0";
  EXPECT_EQ(texts_of(split_words(std::string_view(buffer.data(), 2))), (strings{"a\xC2"}));
  const std::string buffer3 = "a\xE3\x80\x80";
  EXPECT_EQ(texts_of(split_words(std::string_view(buffer3.data(), 3))), (strings{"a\xE3\x80"}));
  EXPECT_EQ(texts_of(split_words("\xFF\xFE x")), (strings{"\xFF\xFE", "x"}));
}

TEST(SplitWords, OutputOverloadClearsAndReuses) {
  std::vector<word> out = split_words("one two three");
  split_words("four", out);
  EXPECT_EQ(texts_of(out), (strings{"four"}));
}

// Property check against an independent, character-class based definition on
// random ASCII text: words are the maximal runs of non-space, non-punctuation
// characters, plus each punctuation character; offsets point at their text.
TEST(SplitWords, RandomAsciiMatchesDefinition) {
  std::mt19937 rng(11);
  const std::string alphabet = "abcXYZ09 \t\n.,-'!";
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1), len(0, 30);
  for (int trial = 0; trial < 5000; ++trial) {
    std::string s;
    const std::size_t n = len(rng);
    for (std::size_t i = 0; i < n; ++i) s.push_back(alphabet[pick(rng)]);
    strings expected;
    std::string current;
    for (char c : s) {
      const bool space = c == ' ' || c == '\t' || c == '\n';
      const bool punct = c == '.' || c == ',' || c == '-' || c == '\'' || c == '!';
      if (space || punct) {
        if (!current.empty()) expected.push_back(current);
        current.clear();
        if (punct) expected.emplace_back(1, c);
      } else {
        current.push_back(c);
      }
    }
    if (!current.empty()) expected.push_back(current);
    const auto words = split_words(s);
    ASSERT_EQ(texts_of(words), expected) << "'" << s << "'";
    std::size_t previous_end = 0;
    for (const word& w : words) {
      ASSERT_EQ(s.substr(w.begin, w.end - w.begin), w.text);
      ASSERT_GE(w.begin, previous_end);
      ASSERT_LT(w.begin, w.end);
      previous_end = w.end;
    }
  }
}

}  // namespace
