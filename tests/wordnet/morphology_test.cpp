#include <kplug/wordnet/morphology.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "wordnet/wordnet_test_support.hpp"

namespace wn = kplug::wordnet;
using strings = std::vector<std::string>;

namespace {
bool has(const strings& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }
}  // namespace

TEST(Morphology, RegularNounPlurals) {
  const auto n = wn::part_of_speech::noun;
  EXPECT_EQ(wn::regular_inflections("dog", n), strings{"dogs"});
  EXPECT_EQ(wn::regular_inflections("box", n), strings{"boxes"});
  EXPECT_EQ(wn::regular_inflections("church", n), strings{"churches"});
  EXPECT_EQ(wn::regular_inflections("dish", n), strings{"dishes"});
  EXPECT_EQ(wn::regular_inflections("bus", n), strings{"buses"});
  EXPECT_EQ(wn::regular_inflections("quiz", n), strings{"quizes"});  // doubled z comes from noun.exc
  EXPECT_EQ(wn::regular_inflections("city", n), strings{"cities"});
  EXPECT_EQ(wn::regular_inflections("day", n), strings{"days"});     // vowel + y
  EXPECT_EQ(wn::regular_inflections("potato", n), (strings{"potatos", "potatoes"}));
  EXPECT_EQ(wn::regular_inflections("radio", n), strings{"radios"});  // vowel + o
  EXPECT_EQ(wn::regular_inflections("policeman", n), (strings{"policemans", "policemen"}));
  EXPECT_TRUE(wn::regular_inflections("U.S.", n).empty());          // not ending in a letter
  EXPECT_EQ(wn::regular_inflections("caf\xc3\xa9", n), strings{"caf\xc3\xa9s"});  // non-ASCII final letter
}

TEST(Morphology, RegularVerbForms) {
  const auto v = wn::part_of_speech::verb;
  EXPECT_EQ(wn::regular_inflections("walk", v), (strings{"walks", "walked", "walking"}));
  EXPECT_EQ(wn::regular_inflections("bake", v), (strings{"bakes", "baked", "baking"}));
  EXPECT_EQ(wn::regular_inflections("try", v), (strings{"tries", "tried", "trying"}));
  EXPECT_EQ(wn::regular_inflections("play", v), (strings{"plays", "played", "playing"}));
  EXPECT_EQ(wn::regular_inflections("wash", v), (strings{"washes", "washed", "washing"}));
  EXPECT_EQ(wn::regular_inflections("agree", v), (strings{"agrees", "agreed", "agreeing"}));
  EXPECT_EQ(wn::regular_inflections("dye", v), (strings{"dyes", "dyed", "dyeing"}));
  EXPECT_EQ(wn::regular_inflections("hoe", v), (strings{"hoes", "hoed", "hoeing"}));
  EXPECT_EQ(wn::regular_inflections("veto", v), (strings{"vetos", "vetoes", "vetoed", "vetoing"}));
}

TEST(Morphology, ExceptionsAreInvertedAndKeptWithRules) {
  wn::morphology m;
  m.add_exception_file(wn::part_of_speech::noun, "mice mouse\nattorneys_general attorney_general\n", "noun.exc");
  m.add_exception_file(wn::part_of_speech::verb, "took take\ntaken take\nstopped stop\n", "verb.exc");
  EXPECT_EQ(m.inflections("mouse", wn::part_of_speech::noun), (strings{"mice", "mouses"}));
  const strings stop = m.inflections("stop", wn::part_of_speech::verb);
  EXPECT_TRUE(has(stop, "stopped"));
  EXPECT_TRUE(has(stop, "stops"));
  EXPECT_TRUE(has(stop, "stoping"));  // doubled consonants only come from verb.exc
  // Exceptions of one part of speech do not leak into another.
  EXPECT_FALSE(has(m.inflections("mouse", wn::part_of_speech::verb), "mice"));
  // Whole multi-word lemma exception, plus the head-word rule.
  const strings ag = m.inflections("attorney general", wn::part_of_speech::noun);
  EXPECT_TRUE(has(ag, "attorneys general"));
  EXPECT_TRUE(has(ag, "attorney generals"));
  // forms() puts the lemma first.
  EXPECT_EQ(m.forms("mouse", wn::part_of_speech::noun).front(), "mouse");
  EXPECT_THROW(m.add_exception_file(wn::part_of_speech::noun, "lonely\n", "noun.exc"), kplug::error);
}

TEST(Morphology, MultiWordLemmasInflectTheHeadWord) {
  wn::morphology m;
  m.add_exception_file(wn::part_of_speech::verb, "took take\ntaken take\n", "verb.exc");
  m.add_exception_file(wn::part_of_speech::noun, "mice mouse\n", "noun.exc");
  // Nouns: the last word.
  EXPECT_EQ(m.inflections("hot dog", wn::part_of_speech::noun), strings{"hot dogs"});
  EXPECT_EQ(m.inflections("field mouse", wn::part_of_speech::noun), (strings{"field mice", "field mouses"}));
  // Verbs: the first word, with its exceptions.
  const strings take_off = m.inflections("take off", wn::part_of_speech::verb);
  for (const char* f : {"takes off", "took off", "taken off", "taking off"}) EXPECT_TRUE(has(take_off, f)) << f;
  EXPECT_FALSE(has(take_off, "take offs"));
  EXPECT_FALSE(has(take_off, "take off"));
}

TEST(Morphology, MissingExceptionFileNamesThePackage) {
  kplug_test::temp_dir dir;
  try {
    wn::morphology::load(dir.str());
    FAIL();
  } catch (const kplug::error& e) {
    EXPECT_NE(std::string(e.what()).find("wordnet-base"), std::string::npos) << e.what();
  }
}

TEST(RealWordNet, IrregularForms) {
  KPLUG_REQUIRE_REAL_WORDNET();
  const wn::morphology m = wn::morphology::load(kplug_test::real_wordnet_dir());
  EXPECT_TRUE(has(m.inflections("mouse", wn::part_of_speech::noun), "mice"));
  EXPECT_TRUE(has(m.inflections("go", wn::part_of_speech::verb), "went"));
  EXPECT_TRUE(has(m.inflections("go", wn::part_of_speech::verb), "goes"));
  EXPECT_TRUE(has(m.inflections("run", wn::part_of_speech::verb), "running"));
}
