#include <kplug/wordnet/relations.hpp>

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "wordnet/wordnet_test_support.hpp"

namespace wn = kplug::wordnet;

namespace {

// n1 -> n2 hypernym; two lexical derivation pointers from n1 to v1 (word 1 ->
// word 1 and word 2 -> word 1: one synset-level triple); n1 -> a1 pertainym-ish
// cross-pos pointer; v1 -> n1 derivation back; n2 -> n1 hyponym twice.
wn::database small_db(bool with_adjectives) {
  kplug_test::temp_dir dir;
  dir.write("data.noun",
            "00000001 03 n 02 thing 0 object 0 004 @ 00000002 n 0000 + 00000010 v 0101 + 00000010 v 0201 "
            "\\ 00000020 a 0101 | a thing\n"
            "00000002 03 n 01 entity 0 002 ~ 00000001 n 0000 ~ 00000001 n 0000 | an entity\n");
  dir.write("data.verb", "00000010 29 v 01 objectify 0 001 + 00000001 n 0101 00 | make a thing\n");
  dir.write("data.adj", "00000020 00 a 01 thingy 0 000 | thing-like\n");
  std::vector<wn::part_of_speech> parts{wn::part_of_speech::noun, wn::part_of_speech::verb};
  if (with_adjectives) parts.push_back(wn::part_of_speech::adjective);
  return wn::load_database(dir.str(), parts);
}

}  // namespace

TEST(Relations, SymbolNames) {
  EXPECT_EQ(wn::relation_name("@"), "hypernym");
  EXPECT_EQ(wn::relation_name("@i"), "instance_hypernym");
  EXPECT_EQ(wn::relation_name("~i"), "instance_hyponym");
  EXPECT_EQ(wn::relation_name("#p"), "part_holonym");
  EXPECT_EQ(wn::relation_name("%s"), "substance_meronym");
  EXPECT_EQ(wn::relation_name(";r"), "domain_region");
  EXPECT_EQ(wn::relation_name("-u"), "member_of_domain_usage");
  EXPECT_EQ(wn::relation_name("*"), "entailment");
  EXPECT_EQ(wn::relation_name("$"), "verb_group");
  EXPECT_EQ(wn::relation_name("\\"), "pertainym");
  EXPECT_FALSE(wn::relation_name("?").has_value());
}

TEST(Relations, LexicalPointersBecomeOneSynsetTriple) {
  const wn::database db = small_db(false);
  const std::vector<wn::triple> t = wn::build_triples(db);
  const std::vector<wn::triple> expected = {
      {"n00000001", "hypernym", "n00000002"},
      {"n00000001", "derivationally_related_form", "v00000010"},
      {"n00000002", "hyponym", "n00000001"},
      {"v00000010", "derivationally_related_form", "n00000001"},
  };
  EXPECT_EQ(t, expected);  // the adjective pointer is dropped: adjectives not loaded
  const auto counts = wn::count_relations(t);
  ASSERT_EQ(counts.size(), 3u);
  EXPECT_EQ(counts[0], (std::pair<std::string, std::size_t>{"hypernym", 1}));
  EXPECT_EQ(counts[2], (std::pair<std::string, std::size_t>{"derivationally_related_form", 2}));
}

TEST(Relations, PartOfSpeechRestriction) {
  const wn::database db = small_db(true);
  const std::array nouns{wn::part_of_speech::noun};
  const std::vector<wn::triple> only_nouns = wn::build_triples(db, nouns);
  const std::vector<wn::triple> expected = {{"n00000001", "hypernym", "n00000002"},
                                            {"n00000002", "hyponym", "n00000001"}};
  EXPECT_EQ(only_nouns, expected);
  const std::array noun_adj{wn::part_of_speech::noun, wn::part_of_speech::adjective};
  const std::vector<wn::triple> with_adj = wn::build_triples(db, noun_adj);
  EXPECT_EQ(with_adj.size(), 3u);
  EXPECT_EQ(with_adj[1], (wn::triple{"n00000001", "pertainym", "a00000020"}));
  // Asking for a part of speech that is not loaded is an error.
  const wn::database nv = small_db(false);
  EXPECT_THROW(wn::build_triples(nv, noun_adj), kplug::error);
}

TEST(Relations, DanglingPointerIsAnError) {
  kplug_test::temp_dir dir;
  dir.write("data.noun", "00000001 03 n 01 thing 0 001 @ 00000099 n 0000 | a thing\n");
  dir.write("data.verb", "");
  const wn::database db = wn::load_database(dir.str());
  EXPECT_THROW(wn::build_triples(db), kplug::error);
}

TEST(Relations, WritesTsv) {
  kplug_test::temp_dir dir;
  wn::write_triples(dir.file("t.tsv"), {{"n1", "hypernym", "n2"}, {"n2", "hyponym", "n1"}});
  EXPECT_EQ(kplug_test::read_file(dir.file("t.tsv")), "n1\thypernym\tn2\nn2\thyponym\tn1\n");
}

TEST(RealWordNet, DogHypernymTriple) {
  KPLUG_REQUIRE_REAL_WORDNET();
  const wn::database db = wn::load_database(kplug_test::real_wordnet_dir());
  const std::vector<wn::triple> t = wn::build_triples(db);
  bool found = false;
  for (const wn::triple& x : t) found |= x == wn::triple{"n02084071", "hypernym", "n02083346"};
  EXPECT_TRUE(found);
  // Every hypernym has its inverse hyponym in WordNet.
  std::size_t hyper = 0, hypo = 0;
  for (const wn::triple& x : t) {
    hyper += x.relation == "hypernym";
    hypo += x.relation == "hyponym";
  }
  EXPECT_EQ(hyper, hypo);
  EXPECT_GT(hyper, 80000u);
}
