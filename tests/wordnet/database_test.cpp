#include <kplug/wordnet/database.hpp>
#include <kplug/wordnet/lexicographer_files.hpp>

#include <gtest/gtest.h>

#include <string>

#include "wordnet/wordnet_test_support.hpp"

namespace wn = kplug::wordnet;

namespace {

constexpr const char* license =
    "  1 This software and database is being provided to you, the LICENSEE, by  \n"
    "  2 Princeton University under the following license.  \n";

// Two words, four pointers (semantic, lexical, cross-pos), a definition and
// two examples.
constexpr const char* dog_line =
    "02084071 05 n 02 dog 0 domestic_dog 1 004 @ 02083346 n 0000 #m 02083863 n 0000 "
    "+ 01234567 v 0201 ! 09999999 n 0102 | a member of the genus Canis; \"the dog barked all night\"; "
    "\"two dogs\"  ";

}  // namespace

TEST(LexicographerFiles, NumbersNamesAndParts) {
  EXPECT_EQ(wn::lexicographer_files_table.size(), 45u);
  for (int k = 0; k < 45; ++k) EXPECT_EQ(wn::lexicographer_file_at(k).number, k);
  EXPECT_EQ(wn::lexicographer_file_at(0).name, "adj.all");
  EXPECT_EQ(wn::lexicographer_file_at(3).name, "noun.Tops");
  EXPECT_EQ(wn::lexicographer_file_at(5).name, "noun.animal");
  EXPECT_EQ(wn::lexicographer_file_at(28).name, "noun.time");
  EXPECT_EQ(wn::lexicographer_file_at(29).name, "verb.body");
  EXPECT_EQ(wn::lexicographer_file_at(38).name, "verb.motion");
  EXPECT_EQ(wn::lexicographer_file_at(44).name, "adj.ppl");
  EXPECT_EQ(wn::lexicographer_file_at(44).pos, wn::part_of_speech::adjective);
  // 26 noun files (3..28), 15 verb files (29..43).
  EXPECT_EQ(wn::lexicographer_names(wn::part_of_speech::noun).size(), 26u);
  EXPECT_EQ(wn::lexicographer_names(wn::part_of_speech::verb).size(), 15u);
  EXPECT_EQ(wn::lexicographer_names(wn::part_of_speech::verb).front(), "verb.body");
  EXPECT_THROW(wn::lexicographer_file_at(45), kplug::error);
  EXPECT_THROW(wn::lexicographer_file_at(-1), kplug::error);
}

TEST(Database, ParsesEveryFieldOfANounLine) {
  const wn::synset s = wn::parse_data_line(dog_line, wn::part_of_speech::noun, "data.noun", 30);
  EXPECT_EQ(s.id, "n02084071");
  EXPECT_EQ(s.pos, wn::part_of_speech::noun);
  EXPECT_FALSE(s.satellite);
  EXPECT_EQ(s.lex_filenum, 5);
  ASSERT_EQ(s.words.size(), 2u);
  EXPECT_EQ(s.words[0].lemma, "dog");
  EXPECT_EQ(s.words[0].lex_id, 0);
  EXPECT_EQ(s.words[1].lemma, "domestic dog");
  EXPECT_EQ(s.words[1].lex_id, 1);
  ASSERT_EQ(s.pointers.size(), 4u);
  EXPECT_EQ(s.pointers[0].symbol, "@");
  EXPECT_EQ(s.pointers[0].target, "n02083346");
  EXPECT_EQ(s.pointers[0].source_word, 0);
  EXPECT_EQ(s.pointers[0].target_word, 0);
  EXPECT_EQ(s.pointers[1].symbol, "#m");
  EXPECT_EQ(s.pointers[1].target, "n02083863");
  EXPECT_EQ(s.pointers[2].symbol, "+");
  EXPECT_EQ(s.pointers[2].target, "v01234567");
  EXPECT_EQ(s.pointers[2].source_word, 2);
  EXPECT_EQ(s.pointers[2].target_word, 1);
  EXPECT_EQ(s.pointers[3].symbol, "!");
  EXPECT_EQ(s.pointers[3].source_word, 1);
  EXPECT_EQ(s.pointers[3].target_word, 2);
  EXPECT_EQ(s.definition, "a member of the genus Canis");
  ASSERT_EQ(s.examples.size(), 2u);
  EXPECT_EQ(s.examples[0], "the dog barked all night");
  EXPECT_EQ(s.examples[1], "two dogs");
}

TEST(Database, VerbFramesAndAdjectiveSatellitesAndMarkers) {
  const wn::synset v = wn::parse_data_line(
      "00001740 29 v 01 breathe 0 001 $ 00002325 v 0000 02 + 02 00 + 08 01 | draw air; \"I breathe\"  ",
      wn::part_of_speech::verb, "data.verb", 1);
  EXPECT_EQ(v.id, "v00001740");
  EXPECT_EQ(v.definition, "draw air");
  ASSERT_EQ(v.examples.size(), 1u);
  EXPECT_EQ(v.examples[0], "I breathe");

  // A satellite ('s') with a marker, pointing at a satellite head ('s' -> 'a').
  const wn::synset a = wn::parse_data_line(
      "00004296 00 s 02 galore(ip) 0 in_abundance(a) 0 001 & 00004141 s 0000 | in great numbers  ",
      wn::part_of_speech::adjective, "data.adj", 2);
  EXPECT_EQ(a.id, "a00004296");
  EXPECT_TRUE(a.satellite);
  EXPECT_EQ(a.words[0].lemma, "galore");
  EXPECT_EQ(a.words[1].lemma, "in abundance");
  EXPECT_EQ(a.pointers[0].target, "a00004141");
  EXPECT_TRUE(a.examples.empty());
  EXPECT_EQ(a.definition, "in great numbers");
}

TEST(Database, LoadsADirectorySkippingTheLicenseAndDecodingLatin1) {
  kplug_test::temp_dir dir;
  // "caf\xe9" is Latin-1 for café: decoded to UTF-8 "caf\xc3\xa9".
  dir.write("data.noun", std::string(license) + dog_line + "\n" +
                             "02083346 05 n 01 canine 0 000 | a caf\xe9 animal; \"the caf\xe9 canine\"  \n");
  dir.write("data.verb", "00001740 29 v 01 breathe 0 000 01 + 02 00 | draw air  \n");
  const wn::database db = wn::load_database(dir.str());
  EXPECT_EQ(db.size(), 3u);
  EXPECT_EQ(db.count(wn::part_of_speech::noun), 2u);
  EXPECT_EQ(db.count(wn::part_of_speech::verb), 1u);
  ASSERT_NE(db.find("n02083346"), nullptr);
  EXPECT_EQ(db.find("n02083346")->definition, "a caf\xc3\xa9 animal");
  EXPECT_EQ(db.find("n02083346")->examples.at(0), "the caf\xc3\xa9 canine");
  EXPECT_EQ(db.find("n99999999"), nullptr);
  EXPECT_TRUE(db.has(wn::part_of_speech::verb));
  EXPECT_FALSE(db.has(wn::part_of_speech::adjective));
}

TEST(Database, MissingDirectoryOrFileNamesTheDebianPackage) {
  try {
    wn::load_database("/nonexistent/kplug-wordnet");
    FAIL() << "expected kplug::error";
  } catch (const kplug::error& e) {
    EXPECT_NE(std::string(e.what()).find("wordnet-base"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("/nonexistent/kplug-wordnet"), std::string::npos) << e.what();
  }
  kplug_test::temp_dir dir;
  dir.write("data.noun", dog_line);
  try {
    wn::load_database(dir.str());  // data.verb is missing
    FAIL() << "expected kplug::error";
  } catch (const kplug::error& e) {
    EXPECT_NE(std::string(e.what()).find("data.verb"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("wordnet-base"), std::string::npos) << e.what();
  }
}

TEST(Database, MalformedLinesNameFileAndLine) {
  const auto message = [](const std::string& line) {
    kplug_test::temp_dir dir;
    dir.write("data.noun", std::string(license) + line + "\n");
    dir.write("data.verb", "");
    try {
      wn::load_database(dir.str());
    } catch (const kplug::error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string at = "data.noun, line 3";
  // Truncated before the pointers.
  EXPECT_NE(message("02084071 05 n 01 dog 0").find(at), std::string::npos);
  // Non-hex word count.
  EXPECT_NE(message("02084071 05 n 0g dog 0 000 | x").find("w_cnt"), std::string::npos);
  // Unknown pointer symbol.
  const std::string unknown = message("02084071 05 n 01 dog 0 001 ~x 02083346 n 0000 | x");
  EXPECT_NE(unknown.find(at), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("'~x'"), std::string::npos) << unknown;
  // Verb ss_type in the noun file.
  EXPECT_NE(message("02084071 05 v 01 dog 0 000 | x").find("ss_type"), std::string::npos);
  // Missing gloss separator.
  EXPECT_NE(message("02084071 05 n 01 dog 0 000 x").find("'|'"), std::string::npos);
  // Lexicographer file 45 does not exist.
  EXPECT_NE(message("02084071 45 n 01 dog 0 000 | x").find("lex_filenum"), std::string::npos);
}

TEST(RealWordNet, DogAndSynsetCounts) {
  KPLUG_REQUIRE_REAL_WORDNET();
  const wn::database db = wn::load_database(kplug_test::real_wordnet_dir());
  EXPECT_EQ(db.count(wn::part_of_speech::noun), 82115u);
  EXPECT_EQ(db.count(wn::part_of_speech::verb), 13767u);
  const wn::synset* dog = db.find("n02084071");
  ASSERT_NE(dog, nullptr);
  EXPECT_EQ(dog->words.at(0).lemma, "dog");
  EXPECT_EQ(wn::lexicographer_file_at(dog->lex_filenum).name, "noun.animal");
  bool canine = false;
  for (const wn::synset_pointer& p : dog->pointers) canine |= p.symbol == "@" && p.target == "n02083346";
  EXPECT_TRUE(canine);
  ASSERT_NE(db.find("n02083346"), nullptr);
  EXPECT_EQ(db.find("n02083346")->words.at(0).lemma, "canine");
}
