#include <kplug/link/alias_table.hpp>
#include <kplug/wordnet/alias_builder.hpp>

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "wordnet/wordnet_test_support.hpp"

namespace wn = kplug::wordnet;

namespace {

const std::string senses_text =
    "dog%1:05:00:: 02084071 1 42\n"
    "dog%1:18:01:: 10114209 3 0\n"
    "hot_dog%1:13:01:: 07697537 1 2\n"
    "rock_'n'_roll%1:10:00:: 07064715 1 0\n"
    "walk%2:38:00:: 01904930 1 5\n"
    "quick%5:00:00:fast:01 00977090 1 9\n";

// Splits at spaces and around every apostrophe, like BERT's punctuation split.
std::vector<std::string> split_apostrophes(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  for (const char c : s) {
    if (c == ' ' || c == '\'') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
      if (c == '\'') out.emplace_back("'");
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

}  // namespace

TEST(AliasBuilder, CountsAreTagCountPlusOneForEveryForm) {
  const auto senses = wn::parse_sense_index(senses_text, "index.sense");
  wn::morphology morph;
  const auto aliases = wn::build_aliases(senses, morph, split_apostrophes);
  const auto count_of = [&](const std::string& alias, const std::string& entity) -> long {
    for (const auto& a : aliases)
      if (a.alias == alias && a.entity == entity) return static_cast<long>(a.count);
    return -1;
  };
  EXPECT_EQ(count_of("dog", "n02084071"), 43);
  EXPECT_EQ(count_of("dogs", "n02084071"), 43);
  EXPECT_EQ(count_of("dog", "n10114209"), 1);  // tag_cnt 0 -> 1: still a candidate
  EXPECT_EQ(count_of("hot dogs", "n07697537"), 3);
  EXPECT_EQ(count_of("rock ' n ' roll", "n07064715"), 1);
  EXPECT_EQ(count_of("rock ' n ' rolls", "n07064715"), 1);
  EXPECT_EQ(count_of("walking", "v01904930"), 6);
  EXPECT_EQ(count_of("quick", "a00977090"), -1);  // adjectives not asked for
  const std::array adj{wn::part_of_speech::adjective};
  const auto adj_aliases = wn::build_aliases(senses, morph, split_apostrophes, adj);
  ASSERT_FALSE(adj_aliases.empty());
  EXPECT_EQ(adj_aliases[0].alias, "quick");
  EXPECT_EQ(adj_aliases[0].entity, "a00977090");
  EXPECT_EQ(adj_aliases[0].count, 10u);
  // No pair twice.
  for (std::size_t i = 0; i < aliases.size(); ++i)
    for (std::size_t j = i + 1; j < aliases.size(); ++j)
      EXPECT_FALSE(aliases[i].alias == aliases[j].alias && aliases[i].entity == aliases[j].entity);
}

TEST(AliasBuilder, FileReadsBackAsAnAliasTable) {
  const auto senses = wn::parse_sense_index(senses_text, "index.sense");
  wn::morphology morph;
  const auto aliases = wn::build_aliases(senses, morph, wn::split_words_splitter());
  kplug_test::temp_dir dir;
  wn::write_aliases(dir.file("aliases.tsv"), aliases);
  const std::string text = kplug_test::read_file(dir.file("aliases.tsv"));
  EXPECT_EQ(text.substr(0, text.find('\n')), "dog\tn02084071\t43");
  const kplug::link::alias_table table = kplug::link::read_alias_table(dir.file("aliases.tsv"));
  const auto dogs = table.candidates("Dogs");
  ASSERT_EQ(dogs.size(), 2u);
  EXPECT_EQ(dogs[0].entity, "n02084071");
  EXPECT_EQ(dogs[0].count, 43u);
  EXPECT_EQ(dogs[1].entity, "n10114209");
  EXPECT_EQ(dogs[1].count, 1u);
}
