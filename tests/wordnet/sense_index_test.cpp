#include <kplug/wordnet/sense_index.hpp>

#include <gtest/gtest.h>

#include <string>

#include "wordnet/wordnet_test_support.hpp"

namespace wn = kplug::wordnet;

TEST(SenseKey, NounKey) {
  const wn::sense_key k = wn::parse_sense_key("domestic_dog%1:05:00::");
  EXPECT_EQ(k.lemma, "domestic dog");
  EXPECT_EQ(k.ss_type, 1);
  EXPECT_EQ(k.pos, wn::part_of_speech::noun);
  EXPECT_FALSE(k.satellite);
  EXPECT_EQ(k.lex_filenum, 5);
  EXPECT_EQ(k.lex_id, 0);
  EXPECT_TRUE(k.head_word.empty());
  EXPECT_EQ(k.head_id, -1);
}

TEST(SenseKey, SatelliteKeyHasHead) {
  const wn::sense_key k = wn::parse_sense_key("galore%5:00:00:abundant:00");
  EXPECT_EQ(k.lemma, "galore");
  EXPECT_EQ(k.ss_type, 5);
  EXPECT_EQ(k.pos, wn::part_of_speech::adjective);
  EXPECT_TRUE(k.satellite);
  EXPECT_EQ(k.head_word, "abundant");
  EXPECT_EQ(k.head_id, 0);
}

TEST(SenseKey, MalformedKeys) {
  EXPECT_THROW(wn::parse_sense_key("dog"), kplug::error);              // no %
  EXPECT_THROW(wn::parse_sense_key("dog%1:05:00"), kplug::error);      // 3 fields
  EXPECT_THROW(wn::parse_sense_key("dog%6:05:00::"), kplug::error);    // ss_type 6
  EXPECT_THROW(wn::parse_sense_key("dog%1:45:00::"), kplug::error);    // lex file 45
  EXPECT_THROW(wn::parse_sense_key("dog%5:00:00::"), kplug::error);    // satellite without head
  EXPECT_THROW(wn::parse_sense_key("dog%1:05:00:x:00"), kplug::error); // head on a noun
}

TEST(SenseIndex, ParsesLinesIncludingSatellites) {
  const std::string text =
      "dog%1:05:00:: 02084071 1 42\n"
      "galore%5:00:00:abundant:00 00004296 1 0\n"
      "take_off%2:38:00:: 01972298 2 3\n"
      "quickly%4:02:00:: 00085811 1 7\n";
  const auto senses = wn::parse_sense_index(text, "index.sense");
  ASSERT_EQ(senses.size(), 4u);
  EXPECT_EQ(senses[0].lemma, "dog");
  EXPECT_EQ(senses[0].synset, "n02084071");
  EXPECT_EQ(senses[0].sense_number, 1);
  EXPECT_EQ(senses[0].tag_count, 42u);
  EXPECT_EQ(senses[0].lex_filenum, 5);
  EXPECT_EQ(senses[1].synset, "a00004296");  // satellite: prefix 'a'
  EXPECT_TRUE(senses[1].satellite);
  EXPECT_EQ(senses[2].lemma, "take off");
  EXPECT_EQ(senses[2].synset, "v01972298");
  EXPECT_EQ(senses[2].sense_number, 2);
  EXPECT_EQ(senses[2].tag_count, 3u);
  EXPECT_EQ(senses[3].synset, "r00085811");
}

TEST(SenseIndex, ErrorsNameFileAndLine) {
  try {
    wn::parse_sense_index("dog%1:05:00:: 02084071 1 42\ncat%1:05:00:: 0208 1 1\n", "/x/index.sense");
    FAIL();
  } catch (const kplug::error& e) {
    EXPECT_NE(std::string(e.what()).find("/x/index.sense, line 2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(wn::parse_sense_index("dog%1:05:00:: 02084071 1\n", "i"), kplug::error);
  EXPECT_THROW(wn::parse_sense_index("dog%1:05:00:: 02084071 1 -3\n", "i"), kplug::error);
}

TEST(SenseIndex, MissingFileNamesThePackage) {
  kplug_test::temp_dir dir;
  try {
    wn::load_sense_index(dir.str());
    FAIL();
  } catch (const kplug::error& e) {
    EXPECT_NE(std::string(e.what()).find("wordnet-sense-index"), std::string::npos) << e.what();
  }
}

TEST(RealWordNet, SenseIndexDog) {
  KPLUG_REQUIRE_REAL_WORDNET();
  const auto senses = wn::load_sense_index(kplug_test::real_wordnet_dir());
  bool found = false;
  for (const auto& s : senses)
    if (s.key == "dog%1:05:00::") {
      found = true;
      EXPECT_EQ(s.synset, "n02084071");
      EXPECT_EQ(s.sense_number, 1);
    }
  EXPECT_TRUE(found);
}
