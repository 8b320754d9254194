#include <kplug/wordnet/definition_corpus.hpp>

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "wordnet/wordnet_test_support.hpp"

namespace wn = kplug::wordnet;

namespace {

wn::database small_database() {
  kplug_test::temp_dir dir;
  dir.write("data.noun",
            "00000100 13 n 01 caf\xc3\xa9_au_lait 0 000 | coffee with milk; \"a caf\xc3\xa9 au lait, please\"\n"
            "00000200 05 n 02 dog 0 domestic_dog 0 000 | a member of the genus Canis ;  \n"
            "00000300 05 n 01 thing 0 000 | ; \"no definition, only an example\"\n");
  dir.write("data.verb", "00000400 38 v 01 take_off 0 000 | leave the ground; \"the plane took off\"\n");
  return wn::load_database(dir.str());
}

TEST(DefinitionCorpus, OneSentencePerSynsetWithItsFirstLemmaMarked) {
  const wn::definition_corpus c = wn::build_definition_corpus(small_database(), 0);
  ASSERT_EQ(c.train.size(), 3u);
  EXPECT_TRUE(c.held_out.empty());
  EXPECT_EQ(c.skipped, 1u);  // "thing": examples but no definition

  EXPECT_EQ(c.train[0].text, "caf\xc3\xa9 au lait is coffee with milk");
  // Code points, not bytes: the mention is "café au lait", 12 characters.
  EXPECT_EQ(c.train[0].mention.start, 0u);
  EXPECT_EQ(c.train[0].mention.end, 12u);
  EXPECT_EQ(c.train[0].mention.entity, "n00000100");
  EXPECT_EQ(c.train[0].label, "noun.food");

  EXPECT_EQ(c.train[1].text, "dog is a member of the genus Canis");
  EXPECT_EQ(c.train[1].mention.end, 3u);

  EXPECT_EQ(c.train[2].text, "to take off is to leave the ground");
  EXPECT_EQ(c.train[2].mention.start, 3u);
  EXPECT_EQ(c.train[2].mention.end, 11u);
  EXPECT_EQ(c.train[2].label, "verb.motion");
}

TEST(DefinitionCorpus, NeverHoldsAGlossExample) {
  const wn::definition_corpus c = wn::build_definition_corpus(small_database(), 0);
  for (const auto& s : c.train) {
    EXPECT_EQ(s.text.find("please"), std::string::npos) << s.text;
    EXPECT_EQ(s.text.find("plane"), std::string::npos) << s.text;
  }
}

TEST(DefinitionCorpus, TheHeldOutPartIsFixedBySynsetAndDisjoint) {
  KPLUG_REQUIRE_REAL_WORDNET();
  const wn::database db = wn::load_database(kplug_test::real_wordnet_dir());
  const wn::definition_corpus c = wn::build_definition_corpus(db, 20);
  const std::size_t all = c.train.size() + c.held_out.size();
  EXPECT_GT(all, 90000u);  // WordNet 3.0: 82,115 noun and 13,767 verb synsets
  // About 1 in 20, by the id's hash.
  EXPECT_NEAR(static_cast<double>(c.held_out.size()) / static_cast<double>(all), 0.05, 0.005);
  std::set<std::string> train_ids;
  for (const auto& s : c.train) train_ids.insert(s.mention.entity);
  for (const auto& s : c.held_out) EXPECT_EQ(train_ids.count(s.mention.entity), 0u) << s.mention.entity;
  // A second build puts every synset on the same side.
  const wn::definition_corpus again = wn::build_definition_corpus(db, 20);
  ASSERT_EQ(again.held_out.size(), c.held_out.size());
  for (std::size_t i = 0; i < c.held_out.size(); ++i) EXPECT_EQ(again.held_out[i].text, c.held_out[i].text);
}

}  // namespace
