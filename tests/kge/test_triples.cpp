// kge/triples.hpp: reading head<TAB>relation<TAB>tail files (interning,
// blank lines, duplicates, errors naming file and line), the seeded
// held-out split, and the filter of known triples (against brute force).
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "kplug/kge/triples.hpp"
#include "support/temp_dir.hpp"

namespace {

using kplug::kge::triple;
using kplug::kge::triple_filter;
using kplug::kge::triple_set;
using kplug_test::temp_dir;

TEST(Triples, InternsNamesInOrderOfFirstAppearance) {
  temp_dir dir;
  const std::string path = dir.write("t.tsv",
                                     "n02084071\thypernym\tn02083346\r\n"
                                     "\n"
                                     "n02083346\thyponym\tn02084071\n"
                                     "   \n"
                                     "n01317541\thypernym\tn02084071\n"
                                     "n02084071\thypernym\tn02083346\n"  // repeated: kept once
                                     "a b\tpart of\tc");                  // spaces inside names, no final newline
  const triple_set g = kplug::kge::read_triples(path);
  ASSERT_EQ(g.entities.size(), 5);
  EXPECT_EQ(g.entities.name(0), "n02084071");
  EXPECT_EQ(g.entities.name(1), "n02083346");
  EXPECT_EQ(g.entities.name(2), "n01317541");
  EXPECT_EQ(g.entities.name(3), "a b");
  EXPECT_EQ(g.entities.find("c"), 4);
  EXPECT_EQ(g.entities.find("dog"), -1);
  ASSERT_EQ(g.relations.size(), 3);
  EXPECT_EQ(g.relations.name(1), "hyponym");
  EXPECT_EQ(g.relations.name(2), "part of");
  const std::vector<triple> expected{{0, 0, 1}, {1, 1, 0}, {2, 0, 0}, {3, 2, 4}};
  EXPECT_EQ(g.triples, expected);
  EXPECT_EQ(g.duplicates, 1u);
}

TEST(Triples, MalformedLinesNameFileAndLine) {
  temp_dir dir;
  const std::string two = dir.write("two.tsv", "a\tr\tb\n\na\tr\n");
  KPLUG_EXPECT_ERROR(kplug::kge::read_triples(two), "two.tsv, line 3", "found 2 tab-separated fields");
  const std::string four = dir.write("four.tsv", "a\tr\tb\tc\n");
  KPLUG_EXPECT_ERROR(kplug::kge::read_triples(four), "four.tsv, line 1", "found 4");
  const std::string spaces = dir.write("spaces.tsv", "a r b\n");
  KPLUG_EXPECT_ERROR(kplug::kge::read_triples(spaces), "spaces.tsv, line 1", "found 1 tab-separated field");
  const std::string empty_rel = dir.write("empty_rel.tsv", "a\tr\tb\nx\t\ty\n");
  KPLUG_EXPECT_ERROR(kplug::kge::read_triples(empty_rel), "empty_rel.tsv, line 2", "empty relation");
  const std::string empty_tail = dir.write("empty_tail.tsv", "a\tr\t\n");
  KPLUG_EXPECT_ERROR(kplug::kge::read_triples(empty_tail), "line 1", "empty tail");
  const std::string blank = dir.write("blank.tsv", "\n \n");
  KPLUG_EXPECT_ERROR(kplug::kge::read_triples(blank), "blank.tsv", "no triples");
  KPLUG_EXPECT_ERROR(kplug::kge::read_triples(dir.file("missing.tsv")), "missing.tsv");
}

// A graph where some entities and relations occur once only.
std::vector<triple> sample_graph() {
  std::vector<triple> g;
  for (int i = 0; i < 60; ++i) g.push_back({i % 20, i % 3, (i * 7 + 1) % 20});
  g.push_back({20, 3, 0});  // entity 20 and relation 3 occur only here
  g.push_back({1, 0, 21});  // entity 21 only here
  g.push_back({22, 0, 22}); // a self-loop: entity 22 only here
  // dedupe (the generator repeats a few)
  std::set<std::tuple<int, int, int>> seen;
  std::vector<triple> out;
  for (const triple& t : g)
    if (seen.insert({t.head, t.relation, t.tail}).second) out.push_back(t);
  return out;
}

TEST(Triples, HeldOutPartsStillOccurInTraining) {
  const std::vector<triple> g = sample_graph();
  for (const std::uint64_t seed : {1u, 2u, 3u, 99u}) {
    const auto split = kplug::kge::split_held_out(g, 15, seed);
    ASSERT_EQ(split.held_out.size(), 15u);
    ASSERT_EQ(split.train.size() + 15, g.size());
    std::set<int> train_entities, train_relations;
    for (const triple& t : split.train) {
      train_entities.insert(t.head);
      train_entities.insert(t.tail);
      train_relations.insert(t.relation);
    }
    for (const triple& t : split.held_out) {
      EXPECT_TRUE(train_entities.count(t.head)) << "seed " << seed;
      EXPECT_TRUE(train_entities.count(t.tail)) << "seed " << seed;
      EXPECT_TRUE(train_relations.count(t.relation)) << "seed " << seed;
      EXPECT_FALSE(std::find(split.train.begin(), split.train.end(), t) != split.train.end());
    }
    // The two parts are the input, each in input order.
    std::vector<triple> merged = split.train;
    merged.insert(merged.end(), split.held_out.begin(), split.held_out.end());
    EXPECT_TRUE(std::is_permutation(merged.begin(), merged.end(), g.begin()));
    for (const auto* part : {&split.train, &split.held_out}) {
      std::size_t last = 0;
      for (const triple& t : *part) {
        const auto at = static_cast<std::size_t>(std::find(g.begin(), g.end(), t) - g.begin());
        EXPECT_GE(at, last);
        last = at;
      }
    }
  }
}

TEST(Triples, SameSeedSameSplit) {
  const std::vector<triple> g = sample_graph();
  const auto a = kplug::kge::split_held_out(g, 10, 7);
  const auto b = kplug::kge::split_held_out(g, 10, 7);
  EXPECT_EQ(a.held_out, b.held_out);
  EXPECT_EQ(a.train, b.train);
  const auto c = kplug::kge::split_held_out(g, 10, 8);
  EXPECT_NE(a.held_out, c.held_out);
}

TEST(Triples, TooManyHeldOutIsAnError) {
  // A star: every leaf occurs once, so nothing can be held out.
  const std::vector<triple> star{{0, 0, 1}, {0, 0, 2}, {0, 0, 3}};
  KPLUG_EXPECT_ERROR(kplug::kge::split_held_out(star, 1, 1), "asked for 1", "only 0 of 3");
  EXPECT_TRUE(kplug::kge::split_held_out(star, 0, 1).held_out.empty());
}

TEST(Triples, FilterAgreesWithBruteForce) {
  const std::vector<triple> g = sample_graph();
  const auto split = kplug::kge::split_held_out(g, 10, 5);
  triple_filter f(split.train);
  f.add(split.held_out);
  EXPECT_EQ(f.size(), g.size());
  for (int h = 0; h < 23; ++h)
    for (int r = 0; r < 4; ++r)
      for (int t = 0; t < 23; ++t) {
        const triple q{h, r, t};
        const bool truth = std::find(g.begin(), g.end(), q) != g.end();
        EXPECT_EQ(f.contains(q), truth);
      }
  for (int h = 0; h < 23; ++h)
    for (int r = 0; r < 4; ++r) {
      std::vector<int> tails, heads;
      for (const triple& t : g) {
        if (t.head == h && t.relation == r) tails.push_back(t.tail);
        if (t.tail == h && t.relation == r) heads.push_back(t.head);
      }
      std::sort(tails.begin(), tails.end());
      std::sort(heads.begin(), heads.end());
      const auto ft = f.tails(h, r);
      const auto fh = f.heads(r, h);
      EXPECT_EQ(std::vector<int>(ft.begin(), ft.end()), tails);
      EXPECT_EQ(std::vector<int>(fh.begin(), fh.end()), heads);
    }
}

}  // namespace
