#include <kplug/wordnet/supersense_dataset.hpp>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <set>
#include <string>
#include <vector>

#include "wordnet/wordnet_test_support.hpp"

namespace wn = kplug::wordnet;

namespace {

// UTF-8 of a UTF-32 string, written out independently of kplug's encoder.
std::string utf8(std::u32string_view s) {
  std::string out;
  for (const char32_t c : s) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (c < 0x800) {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
      out += static_cast<char>(0xE0 | (c >> 12));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

const std::u32string cafe_example = U"\u00DCber die Stra\u00DFe: two CAF\u00C9S opened";

struct small_wordnet {
  wn::database db;
  wn::morphology morph;
  std::vector<wn::sense_entry> senses;
};

small_wordnet make_small() {
  kplug_test::temp_dir dir;
  dir.write("data.noun",
            "00000100 06 n 01 caf\xc3\xa9 0 000 | a coffee shop; \"" + utf8(cafe_example) +
                "\"; \"supercaf\xc3\xa9s only\"\n"
                "00000200 13 n 02 hot 0 hot_dog 0 000 | a sausage; \"a hot dog stand\"; \"dogs and hot dogs\"\n"
                "00000300 05 n 01 dog 0 000 | an animal; \"DOGS bark\"\n");
  dir.write("data.verb", "00000400 38 v 01 take_off 0 000 01 + 02 00 | leave; \"the plane took off\"\n");
  dir.write("noun.exc", "");
  dir.write("verb.exc", "took take\n");
  small_wordnet w{wn::load_database(dir.str()), wn::morphology::load(dir.str()), {}};
  w.senses = wn::parse_sense_index(
      "caf\xc3\xa9%1:06:00:: 00000100 1 7\nhot_dog%1:13:00:: 00000200 1 4\ndog%1:05:00:: 00000300 1 0\n",
      "index.sense");
  return w;
}

wn::typing_instance fake(const std::string& entity, std::uint32_t tag_count, const std::string& matched) {
  wn::typing_instance i;
  i.text = "x " + matched;
  i.mention = {2, 2 + matched.size(), entity};
  i.label = "noun.animal";
  i.lemma = matched;
  i.matched = matched;
  i.tag_count = tag_count;
  return i;
}

}  // namespace

TEST(SupersenseDataset, OffsetsAreCodePoints) {
  const small_wordnet w = make_small();
  const wn::typing_instances built =
      wn::build_typing_instances(w.db, w.morph, w.senses, wn::part_of_speech::noun);
  EXPECT_EQ(built.examples, 5u);
  EXPECT_EQ(built.dropped, 1u);  // "supercafés": no word boundary
  ASSERT_EQ(built.instances.size(), 4u);
  const wn::typing_instance& cafe = built.instances[0];
  EXPECT_EQ(cafe.text, utf8(cafe_example));
  const std::size_t start = cafe_example.find(U"CAF\u00C9S");
  EXPECT_EQ(cafe.mention.start, start);
  EXPECT_EQ(cafe.mention.end, start + 5);
  EXPECT_LT(cafe.mention.start, cafe.text.find("CAF"));  // bytes differ from code points here
  EXPECT_EQ(wn::substr_code_points(cafe.text, cafe.mention.start, cafe.mention.end), utf8(U"CAF\u00C9S"));
  EXPECT_EQ(cafe.mention.entity, "n00000100");
  EXPECT_EQ(cafe.label, "noun.artifact");
  EXPECT_EQ(cafe.tag_count, 7u);
  // The JSON line a Python consumer slices by code points.
  const nlohmann::json j = nlohmann::json::parse(wn::to_jsonl(cafe));
  EXPECT_EQ(j["mentions"][0]["start"].get<std::size_t>(), start);
  EXPECT_EQ(wn::to_jsonl(cafe).substr(0, 9), "{\"text\":\"");
  EXPECT_LT(wn::to_jsonl(cafe).find("\"mentions\""), wn::to_jsonl(cafe).find("\"label\""));
}

TEST(SupersenseDataset, LongestFormAtTheFirstStart) {
  const small_wordnet w = make_small();
  const auto built = wn::build_typing_instances(w.db, w.morph, w.senses, wn::part_of_speech::noun);
  ASSERT_EQ(built.instances.size(), 4u);
  // "a hot dog stand": "hot dog" (longest) rather than "hot", both at 2.
  EXPECT_EQ(built.instances[1].mention.start, 2u);
  EXPECT_EQ(built.instances[1].mention.end, 9u);
  EXPECT_EQ(built.instances[1].lemma, "hot dog");
  EXPECT_EQ(built.instances[1].tag_count, 4u);
  // "dogs and hot dogs": the first start wins, here "hot dogs" at 9.
  EXPECT_EQ(built.instances[2].mention.start, 9u);
  EXPECT_EQ(built.instances[2].matched, "hot dogs");
  // Case-insensitive, plural.
  EXPECT_EQ(built.instances[3].matched, "DOGS");
  EXPECT_EQ(built.instances[3].label, "noun.animal");
  EXPECT_EQ(built.instances[3].tag_count, 0u);
  // Verbs: irregular past of a multi-word verb.
  const auto verbs = wn::build_typing_instances(w.db, w.morph, w.senses, wn::part_of_speech::verb);
  ASSERT_EQ(verbs.instances.size(), 1u);
  EXPECT_EQ(verbs.instances[0].matched, "took off");
  EXPECT_EQ(verbs.instances[0].label, "verb.motion");
}

TEST(SupersenseDataset, EntityDisjointDeterministicSplits) {
  std::vector<wn::typing_instance> instances;
  for (int s = 0; s < 50; ++s) {
    std::string id = std::to_string(1000 + s);
    id.insert(id.begin(), 'n');  // not "n" + ...: GCC 12 warns falsely (-Wrestrict) on that
    for (int k = 0; k < 3; ++k) instances.push_back(fake(id, 5, "word"));
  }
  const wn::piece_counter none = [](std::string_view) { return std::size_t{1}; };
  const auto a = wn::split_by_entity(instances, 1, none);
  EXPECT_EQ(a.train_synsets, 40u);
  EXPECT_EQ(a.dev_synsets, 5u);
  EXPECT_EQ(a.test_synsets, 5u);
  EXPECT_EQ(a.train.size() + a.dev.size() + a.test.size(), instances.size());
  const auto ids = [](const std::vector<wn::typing_instance>& v) {
    std::set<std::string> s;
    for (const auto& i : v) s.insert(i.mention.entity);
    return s;
  };
  const auto train = ids(a.train), dev = ids(a.dev), test = ids(a.test);
  EXPECT_EQ(train.size(), 40u);
  for (const auto& id : dev) EXPECT_EQ(train.count(id), 0u);
  for (const auto& id : test) EXPECT_EQ(train.count(id) + dev.count(id), 0u);
  EXPECT_EQ(a.test.size(), 15u);  // all 3 instances of each test synset
  const auto again = wn::split_by_entity(instances, 1, none);
  EXPECT_EQ(ids(again.train), train);
  EXPECT_EQ(ids(again.test), test);
  const auto other = wn::split_by_entity(instances, 2, none);
  EXPECT_NE(ids(other.test), test);
  EXPECT_THROW(wn::split_by_entity(instances, 1, none, 0.9, 0.2), kplug::error);
}

TEST(SupersenseDataset, RareSubset) {
  std::vector<wn::typing_instance> instances = {fake("n1", 0, "a"), fake("n2", 1, "b"), fake("n3", 2, "c"),
                                                fake("n4", 9, "longword"), fake("n5", 9, "d")};
  // One piece per 3 characters, rounded up: "longword" has 3.
  const wn::piece_counter pieces = [](std::string_view s) { return (s.size() + 2) / 3; };
  const auto split = wn::split_by_entity(instances, 7, pieces, 0.0, 0.0);  // everything in test
  ASSERT_EQ(split.test.size(), 5u);
  std::set<std::string> rare;
  for (const auto& i : split.test_rare) rare.insert(i.mention.entity);
  EXPECT_EQ(rare, (std::set<std::string>{"n1", "n2", "n4"}));
}

TEST(SupersenseDataset, WritesJsonlAndLabels) {
  kplug_test::temp_dir dir;
  wn::write_jsonl(dir.file("a.jsonl"), {fake("n02084071", 3, "dog")});
  EXPECT_EQ(kplug_test::read_file(dir.file("a.jsonl")),
            "{\"text\":\"x dog\",\"mentions\":[{\"start\":2,\"end\":5,\"entity\":\"n02084071\"}],"
            "\"label\":\"noun.animal\"}\n");
  wn::write_labels(dir.file("labels.txt"), wn::part_of_speech::verb);
  const std::string labels = kplug_test::read_file(dir.file("labels.txt"));
  EXPECT_EQ(labels.substr(0, labels.find('\n')), "verb.body");
  EXPECT_EQ(std::count(labels.begin(), labels.end(), '\n'), 15);
  EXPECT_EQ(labels.find("noun."), std::string::npos);
}

TEST(RealWordNet, NounDatasetLabelsDog) {
  KPLUG_REQUIRE_REAL_WORDNET();
  const std::string dir = kplug_test::real_wordnet_dir();
  const wn::database db = wn::load_database(dir);
  const auto morph = wn::morphology::load(dir);
  const auto senses = wn::load_sense_index(dir);
  const auto built = wn::build_typing_instances(db, morph, senses, wn::part_of_speech::noun);
  bool dog = false;
  for (const auto& i : built.instances) {
    EXPECT_EQ(i.label.rfind("noun.", 0), 0u);
    if (i.mention.entity == "n02084071") {
      dog = true;
      EXPECT_EQ(i.label, "noun.animal");
      EXPECT_EQ(i.text, "the dog barked all night");
      EXPECT_EQ(i.mention.start, 4u);
      EXPECT_EQ(i.mention.end, 7u);
    }
  }
  EXPECT_TRUE(dog);
  EXPECT_GT(built.instances.size(), 10000u);
}
