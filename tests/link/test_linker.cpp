#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "kplug/core/types.hpp"
#include "kplug/link/linker.hpp"
#include "kplug/text/words.hpp"
#include "link_test_support.hpp"

namespace {

using kplug::mention;
using kplug::word_span;
using kplug::link::alias_table;
using kplug::link::candidate_list;
using kplug::link::linker;
using kplug::link::linker_options;
using kplug::link::validate_mentions;
using link_test::error_of;

// Words of a space-separated sentence (the storage lives in `storage`).
std::vector<std::string_view> words_of(const std::string& sentence, std::vector<std::string>& storage) {
  storage.clear();
  for (const auto& w : kplug::text::split_words(sentence)) storage.emplace_back(w.text);
  return {storage.begin(), storage.end()};
}

struct simple_mention {
  int begin, end;
  std::string entity;
  friend bool operator==(const simple_mention&, const simple_mention&) = default;
  friend std::ostream& operator<<(std::ostream& os, const simple_mention& m) {
    return os << "[" << m.begin << "," << m.end << ")=" << m.entity;
  }
};
using simple = std::vector<simple_mention>;

simple simplify(const std::vector<mention>& ms) {
  simple out;
  for (const auto& m : ms) out.push_back({m.words.begin, m.words.end, m.entity});
  return out;
}

simple link(linker& l, const std::string& sentence) {
  std::vector<std::string> storage;
  return simplify(l.link_words(words_of(sentence, storage)));
}

TEST(Linker, LongestMultiWordAliasWins) {
  alias_table t;
  t.add("new york", "Q1384", 5);
  t.add("new york city", "Q60", 9);
  t.add("york", "Q42462", 3);
  t.add("paris", "Q90", 1);
  linker l(t);
  EXPECT_EQ(link(l, "I flew from New York City to Paris ."),
            (simple{{3, 6, "Q60"}, {7, 8, "Q90"}}));
  EXPECT_EQ(link(l, "new york state"), (simple{{0, 2, "Q1384"}}));
  EXPECT_EQ(link(l, "NEW YORK , YORK"), (simple{{0, 2, "Q1384"}, {3, 4, "Q42462"}}));
}

TEST(Linker, LongestThenLeftmostIsNotGreedyLeftToRight) {
  alias_table t;
  t.add("a b", "AB", 1);
  t.add("b c d", "BCD", 1);
  t.add("d e", "DE", 1);
  t.add("e", "E", 1);
  linker l(t);
  // Greedy left-to-right longest match would give [0,2) "a b" and [3,5) "d e".
  EXPECT_EQ(link(l, "a b c d e"), (simple{{1, 4, "BCD"}, {4, 5, "E"}}));
  EXPECT_EQ(link(l, "a b c"), (simple{{0, 2, "AB"}}));
}

TEST(Linker, EqualLengthsResolveLeftmost) {
  alias_table t;
  t.add("x y", "XY", 1);
  t.add("y z", "YZ", 1);
  t.add("z", "Z", 1);
  linker l(t);
  EXPECT_EQ(link(l, "x y z"), (simple{{0, 2, "XY"}, {2, 3, "Z"}}));
  EXPECT_EQ(link(l, "w y z"), (simple{{1, 3, "YZ"}}));
}

TEST(Linker, CaseFoldingIncludingNonAscii) {
  alias_table t;
  t.add("école normale supérieure", "Q273523", 4);
  t.add("Москва", "Q649", 2);
  t.add("ΟΔΟΣ", "Q3", 1);
  linker l(t);
  EXPECT_EQ(link(l, "ÉCOLE NORMALE SUPÉRIEURE à МОСКВА et οδος"),
            (simple{{0, 3, "Q273523"}, {4, 5, "Q649"}, {6, 7, "Q3"}}));
}

TEST(Linker, DefaultPicksHighestPriorWithScore) {
  alias_table t;
  t.add("jaguar", "animal", 30);
  t.add("jaguar", "car", 10);
  t.add("tie", "zeta", 2);
  t.add("tie", "alpha", 2);
  linker l(t);
  std::vector<std::string> storage;
  const auto ms = l.link_words(words_of("the jaguar and the tie", storage));
  ASSERT_EQ(ms.size(), 2u);
  EXPECT_EQ(ms[0].entity, "animal");
  EXPECT_FLOAT_EQ(ms[0].score, 0.75f);
  EXPECT_EQ(ms[0].source, 0);
  EXPECT_EQ(ms[1].entity, "alpha");  // tie: entity id string order
  EXPECT_FLOAT_EQ(ms[1].score, 0.5f);
}

TEST(Linker, ZeroCountsGiveScoreZero) {
  alias_table t;
  t.add("nil", "N", 0);
  linker l(t);
  std::vector<std::string> storage;
  const auto ms = l.link_words(words_of("nil", storage));
  ASSERT_EQ(ms.size(), 1u);
  EXPECT_EQ(ms[0].score, 0.0f);
}

TEST(Linker, ContextHookChoosesAndScoresTheChosenCandidate) {
  alias_table t;
  t.add("jaguar", "animal", 30);
  t.add("jaguar", "car", 10);
  int calls = 0;
  linker l(t, {}, [&](const candidate_list& c, word_span span, std::span<const std::string_view> words) -> std::optional<std::size_t> {
    ++calls;
    EXPECT_EQ(span.size(), 1);
    EXPECT_EQ(words[static_cast<std::size_t>(span.begin)], "Jaguar");
    const bool driving = std::find(words.begin(), words.end(), "drove") != words.end();
    for (std::size_t i = 0; i < c.size(); ++i)
      if (c[i].entity == (driving ? "car" : "animal")) return i;
    return std::nullopt;
  });
  std::vector<std::string> storage;
  auto ms = l.link_words(words_of("she drove her Jaguar", storage));
  ASSERT_EQ(ms.size(), 1u);
  EXPECT_EQ(ms[0].entity, "car");
  EXPECT_FLOAT_EQ(ms[0].score, 0.25f);
  ms = l.link_words(words_of("a Jaguar ran", storage));
  ASSERT_EQ(ms.size(), 1u);
  EXPECT_EQ(ms[0].entity, "animal");
  EXPECT_EQ(calls, 2);
}

TEST(Linker, HookDeclineFreesWordsForShorterMatches) {
  alias_table t;
  t.add("new york city", "Q60", 9);
  t.add("new york", "Q1384", 5);
  t.add("city", "Q515", 1);
  linker l(t, {}, [](const candidate_list& c, word_span span, std::span<const std::string_view>) -> std::optional<std::size_t> {
    if (span.size() == 3) return std::nullopt;
    return c.empty() ? std::nullopt : std::optional<std::size_t>(0);
  });
  EXPECT_EQ(link(l, "new york city"), (simple{{0, 2, "Q1384"}, {2, 3, "Q515"}}));
}

TEST(Linker, HookReturningABadIndexIsAnError) {
  alias_table t;
  t.add("x", "X", 1);
  linker l(t, {}, [](const candidate_list&, word_span, std::span<const std::string_view>) -> std::optional<std::size_t> { return 1; });
  std::vector<std::string> storage;
  const std::string msg = error_of([&] { (void)l.link_words(words_of("x", storage)); });
  EXPECT_NE(msg.find("returned candidate 1 for an alias with 1 candidates"), std::string::npos) << msg;
}

TEST(Linker, ThresholdsDropMentionsAndFreeTheirWords) {
  alias_table t;
  t.add("bank", "river_bank", 1);
  t.add("bank", "money_bank", 2);
  t.add("west bank", "region", 1);
  t.add("west bank", "other", 2);
  t.add("west", "direction", 4);
  linker_options o;
  o.min_score = 0.7f;
  linker strict(t, o);
  // "west bank" (score 2/3) is dropped; "west" (score 1) then takes its word.
  EXPECT_EQ(link(strict, "the west bank"), (simple{{1, 2, "direction"}}));
  linker loose(t);
  EXPECT_EQ(link(loose, "the west bank"), (simple{{1, 3, "other"}}));

  linker_options c;
  c.min_count = 3;
  linker by_count(t, c);
  EXPECT_EQ(link(by_count, "west bank bank"), (simple{{0, 1, "direction"}}));
  linker_options nan;
  nan.min_score = std::numeric_limits<float>::quiet_NaN();
  EXPECT_NE(error_of([&] { linker bad(t, nan); }).find("NaN"), std::string::npos);
}

TEST(Linker, MaxAliasWordsAndSourceOptions) {
  alias_table t;
  t.add("new york city", "Q60", 9);
  t.add("new york", "Q1384", 5);
  linker_options o;
  o.max_alias_words = 2;
  o.source = 7;
  linker l(t, o);
  std::vector<std::string> storage;
  const auto ms = l.link_words(words_of("new york city", storage));
  ASSERT_EQ(ms.size(), 1u);
  EXPECT_EQ(ms[0].words, (word_span{0, 2}));
  EXPECT_EQ(ms[0].source, 7);
}

TEST(Linker, EmptyInputAndEmptyTable) {
  alias_table t;
  linker empty_table(t);
  EXPECT_TRUE(link(empty_table, "nothing to find here").empty());
  t.add("x", "X", 1);
  linker l(t);
  EXPECT_TRUE(l.link_words(std::span<const std::string_view>{}).empty());
  EXPECT_TRUE(l.link_words(kplug::text::split_words("   ")).empty());
  // An empty table read from an empty file links too.
  const alias_table from_file = kplug::link::read_alias_table(link_test::write_file("linker_empty.tsv", ""));
  linker lf(from_file);
  EXPECT_TRUE(link(lf, "x y z").empty());
}

TEST(Linker, SplitWordsInputAndOutputBufferReuse) {
  alias_table t;
  t.add("U.S.", "Q30", 3);
  t.add("army", "Q9212", 1);
  linker l(t);
  const std::string text = "The U.S. Army, again.";
  const auto words = kplug::text::split_words(text);
  std::vector<mention> out(5);  // stale content must go
  l.link_words(words, out);
  ASSERT_EQ(simplify(out), (simple{{1, 5, "Q30"}, {5, 6, "Q9212"}}));
  EXPECT_EQ(text.substr(words[1].begin, words[4].end - words[1].begin), "U.S.");
  l.link_words(kplug::text::split_words("no match"), out);
  EXPECT_TRUE(out.empty());
}

TEST(Linker, UsesTheTableFolding) {
  alias_table t([](std::string_view w, std::string& out) { out.assign(w); });
  t.add("Apple", "company", 1);
  t.add("apple", "fruit", 1);
  linker l(t);
  EXPECT_EQ(link(l, "Apple apple APPLE"), (simple{{0, 1, "company"}, {1, 2, "fruit"}}));
}

// --- validate_mentions

mention make(int b, int e, std::string entity) {
  mention m;
  m.words = {b, e};
  m.entity = std::move(entity);
  return m;
}

TEST(ValidateMentions, AcceptsValidUnsortedMentions) {
  const std::vector<mention> ms{make(3, 5, "Q1"), make(0, 1, "Q2"), make(1, 3, "Q3"), make(5, 6, "Q4")};
  EXPECT_NO_THROW(validate_mentions(ms, 6));
  EXPECT_NO_THROW(validate_mentions({}, 0));
}

TEST(ValidateMentions, RejectsEachBadSpanNamingTheIndex) {
  const auto msg = [](std::vector<mention> ms, std::size_t n) {
    return error_of([&] { validate_mentions(ms, n); });
  };
  std::string m = msg({make(0, 1, "Q1"), make(2, 2, "Q2")}, 5);
  EXPECT_NE(m.find("mentions[1]"), std::string::npos) << m;
  EXPECT_NE(m.find("[2, 2) is empty"), std::string::npos) << m;
  m = msg({make(3, 1, "Q1")}, 5);
  EXPECT_NE(m.find("mentions[0]"), std::string::npos) << m;
  EXPECT_NE(m.find("is empty"), std::string::npos) << m;
  m = msg({make(0, 1, "Q1"), make(4, 6, "Q2")}, 5);
  EXPECT_NE(m.find("mentions[1]"), std::string::npos) << m;
  EXPECT_NE(m.find("[4, 6) is outside the 5 words"), std::string::npos) << m;
  m = msg({make(-1, 1, "Q1")}, 5);
  EXPECT_NE(m.find("[-1, 1) is outside"), std::string::npos) << m;
  m = msg({make(0, 1, "Q1")}, 0);
  EXPECT_NE(m.find("outside the 0 words"), std::string::npos) << m;
  m = msg({make(0, 1, "Q1"), make(1, 2, "")}, 5);
  EXPECT_NE(m.find("mentions[1]"), std::string::npos) << m;
  EXPECT_NE(m.find("entity id is empty"), std::string::npos) << m;
}

TEST(ValidateMentions, RejectsOverlapsNamingBothIndices) {
  std::string m = error_of([] {
    validate_mentions(std::vector<mention>{make(5, 8, "A"), make(0, 2, "B"), make(2, 6, "C")}, 10);
  });
  EXPECT_NE(m.find("mentions[2]"), std::string::npos) << m;
  EXPECT_NE(m.find("overlaps mentions[0] [5, 8)"), std::string::npos) << m;
  // Nested span, far apart in the list.
  m = error_of([] {
    validate_mentions(std::vector<mention>{make(0, 10, "A"), make(12, 13, "B"), make(4, 5, "C")}, 20);
  });
  EXPECT_NE(m.find("(mentions[2])"), std::string::npos) << m;  // the later index, naming the earlier
  EXPECT_NE(m.find("word span [4, 5) overlaps mentions[0] [0, 10)"), std::string::npos) << m;
  // Identical duplicates overlap.
  m = error_of([] { validate_mentions(std::vector<mention>{make(1, 2, "A"), make(1, 2, "A")}, 3); });
  EXPECT_NE(m.find("overlaps"), std::string::npos) << m;
  // A short span inside a long one that started earlier but is not adjacent in start order.
  m = error_of([] {
    validate_mentions(std::vector<mention>{make(0, 9, "A"), make(2, 3, "B"), make(5, 6, "C")}, 9);
  });
  EXPECT_NE(m.find("overlaps mentions[0]"), std::string::npos) << m;
}

// --- Independent check: a brute-force reference linker.
//
// The reference never folds text: every generated word knows the canonical
// vocabulary entry it is a surface variant of, and aliases are sequences of
// canonical entries. It compares every span of the sentence with every alias
// (O(n^2 * aliases)), then applies longest-then-leftmost greedily.

struct vocab_entry {
  std::vector<std::string> variants;  // surface forms that must fold together
};

std::vector<vocab_entry> make_vocab() {
  std::vector<vocab_entry> v;
  const char* ascii[] = {"alpha", "beta", "gamma", "delta", "omega", "river", "bank", "new", "york",
                         "city", "state", "north", "south", "lake", "red", "sea", "blue", "nile"};
  for (const char* w : ascii) {
    std::string upper = w, title = w;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    title[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(title[0])));
    v.push_back({{w, upper, title}});
  }
  v.push_back({{"école", "École", "ÉCOLE"}});
  v.push_back({{"москва", "Москва", "МОСКВА"}});
  v.push_back({{"οδος", "ΟΔΟΣ", "Οδος", "οδοσ"}});
  v.push_back({{"łódź", "ŁÓDŹ", "Łódź"}});
  v.push_back({{"."}});
  v.push_back({{"-"}});
  return v;
}

struct ref_mention {
  int begin, end;
  std::string entity;
  float score;
};

TEST(LinkerReference, RandomSentencesMatchBruteForce) {
  std::mt19937 rng(2024);
  const auto vocab = make_vocab();
  const int V = static_cast<int>(vocab.size());
  std::uniform_int_distribution<int> word_pick(0, V - 1), alias_len(1, 4), count_pick(0, 20), entity_pick(0, 60);

  std::map<std::vector<int>, std::map<std::string, std::uint64_t>> ref_aliases;
  alias_table table;
  for (int row = 0; row < 400; ++row) {
    std::vector<int> seq(static_cast<std::size_t>(alias_len(rng)));
    for (int& w : seq) w = word_pick(rng);
    // Skew towards reusing earlier aliases (duplicate rows, several candidates).
    if (!ref_aliases.empty() && row % 3 == 0) {
      auto it = ref_aliases.begin();
      std::advance(it, static_cast<long>(rng() % ref_aliases.size()));
      seq = it->first;
    }
    std::string text;
    for (std::size_t k = 0; k < seq.size(); ++k) {
      const auto& vars = vocab[static_cast<std::size_t>(seq[k])].variants;
      if (k) text += (rng() % 2) ? " " : "  ";
      text += vars[rng() % vars.size()];
    }
    const std::string entity = link_test::numbered("E", entity_pick(rng));
    const auto count = static_cast<std::uint64_t>(count_pick(rng));
    ref_aliases[seq][entity] += count;
    table.add(text, entity, count);
  }
  ASSERT_EQ(table.alias_count(), ref_aliases.size());

  const auto reference_link = [&](const std::vector<int>& canon, float min_score) {
    const int n = static_cast<int>(canon.size());
    struct m_t {
      int begin, len;
      const std::map<std::string, std::uint64_t>* cands;
    };
    std::vector<m_t> all;
    for (int i = 0; i < n; ++i)
      for (int j = i + 1; j <= n; ++j)
        for (const auto& [seq, cands] : ref_aliases) {
          if (static_cast<int>(seq.size()) != j - i) continue;
          bool eq = true;
          for (int k = 0; k < j - i && eq; ++k) eq = canon[static_cast<std::size_t>(i + k)] == seq[static_cast<std::size_t>(k)];
          if (eq) all.push_back({i, j - i, &cands});
        }
    std::stable_sort(all.begin(), all.end(), [](const m_t& a, const m_t& b) {
      return a.len != b.len ? a.len > b.len : a.begin < b.begin;
    });
    std::vector<bool> taken(static_cast<std::size_t>(n), false);
    std::vector<ref_mention> out;
    for (const m_t& m : all) {
      bool free = true;
      for (int k = m.begin; k < m.begin + m.len; ++k) free = free && !taken[static_cast<std::size_t>(k)];
      if (!free) continue;
      std::uint64_t total = 0, best = 0;
      std::string best_entity;
      for (const auto& [e, c] : *m.cands) {  // std::map: entity string order
        total += c;
        if (best_entity.empty() || c > best) {
          best = c;
          best_entity = e;
        }
      }
      const float score = total == 0 ? 0.0f : static_cast<float>(static_cast<double>(best) / static_cast<double>(total));
      if (score < min_score) continue;
      for (int k = m.begin; k < m.begin + m.len; ++k) taken[static_cast<std::size_t>(k)] = true;
      out.push_back({m.begin, m.begin + m.len, best_entity, score});
    }
    std::sort(out.begin(), out.end(), [](const ref_mention& a, const ref_mention& b) { return a.begin < b.begin; });
    return out;
  };

  linker plain(table);
  linker_options strict_options;
  strict_options.min_score = 0.5f;
  linker strict(table, strict_options);
  std::uniform_int_distribution<int> sentence_len(0, 30), junk(0, 99);
  std::size_t total_mentions = 0;
  std::vector<mention> got;
  for (int trial = 0; trial < 3000; ++trial) {
    const int n = sentence_len(rng);
    std::vector<int> canon;
    std::vector<std::string> storage;
    for (int i = 0; i < n; ++i) {
      if (junk(rng) < 25) {
        canon.push_back(-1);
        storage.push_back(link_test::numbered("zz", junk(rng)));  // never an alias word
      } else {
        const int w = word_pick(rng);
        canon.push_back(w);
        const auto& vars = vocab[static_cast<std::size_t>(w)].variants;
        storage.push_back(vars[rng() % vars.size()]);
      }
    }
    const std::vector<std::string_view> words(storage.begin(), storage.end());
    const bool use_strict = trial % 2 == 1;
    const auto expected = reference_link(canon, use_strict ? 0.5f : 0.0f);
    (use_strict ? strict : plain).link_words(words, got);
    ASSERT_EQ(got.size(), expected.size()) << "trial " << trial;
    for (std::size_t k = 0; k < got.size(); ++k) {
      ASSERT_EQ(got[k].words.begin, expected[k].begin) << "trial " << trial;
      ASSERT_EQ(got[k].words.end, expected[k].end) << "trial " << trial;
      ASSERT_EQ(got[k].entity, expected[k].entity) << "trial " << trial;
      ASSERT_EQ(got[k].score, expected[k].score) << "trial " << trial;
    }
    total_mentions += got.size();
  }
  EXPECT_GT(total_mentions, 3000u);  // the comparison exercised real matches
}

}  // namespace
