#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <numeric>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "kplug/link/alias_table.hpp"
#include "link_test_support.hpp"

namespace {

using kplug::link::alias_table;
using kplug::link::candidate_list;
using kplug::link::read_alias_table;
using link_test::error_of;
using link_test::numbered;
using link_test::write_file;

using pairs = std::vector<std::pair<std::string, std::uint64_t>>;

pairs as_pairs(const candidate_list& c) {
  pairs out;
  for (std::size_t i = 0; i < c.size(); ++i) out.emplace_back(std::string(c[i].entity), c[i].count);
  return out;
}

TEST(AliasTable, MultiWordAliasesAreOneKeyAcrossCaseAndSpacing) {
  alias_table t;
  t.add("New York", "Q60", 10);
  t.add("new  york", "Q60", 5);
  t.add("NEW\tYORK", "Q1384", 2);
  t.add("new york city", "Q60", 7);
  EXPECT_EQ(t.alias_count(), 2u);
  EXPECT_EQ(t.entity_count(), 2u);
  EXPECT_EQ(t.word_count(), 3u);
  EXPECT_EQ(t.max_alias_words(), 3u);
  EXPECT_EQ(as_pairs(t.candidates("new york")), (pairs{{"Q60", 15}, {"Q1384", 2}}));
  EXPECT_EQ(t.candidates(" New York ").total_count(), 17u);
  EXPECT_EQ(as_pairs(t.candidates("New York City")), (pairs{{"Q60", 7}}));
  EXPECT_TRUE(t.candidates("new").empty());       // a prefix, not an alias
  EXPECT_TRUE(t.candidates("york").empty());
  EXPECT_TRUE(t.candidates("").empty());
  EXPECT_TRUE(t.candidates("new york city hall").empty());
}

TEST(AliasTable, PunctuationSplitsLikeText) {
  alias_table t;
  t.add("U.S.", "Q30", 3);
  EXPECT_EQ(t.max_alias_words(), 4u);
  EXPECT_EQ(as_pairs(t.candidates("u . s .")), (pairs{{"Q30", 3}}));
  EXPECT_TRUE(t.candidates("us").empty());
}

TEST(AliasTable, NonAsciiAliasesAreFolded) {
  alias_table t;
  t.add("École normale", "Q1", 1);
  t.add("МОСКВА", "Q649", 4);
  t.add("ΟΔΟΣ", "Q2", 1);
  EXPECT_EQ(as_pairs(t.candidates("ÉCOLE NORMALE")), (pairs{{"Q1", 1}}));
  EXPECT_EQ(as_pairs(t.candidates("école normale")), (pairs{{"Q1", 1}}));
  EXPECT_EQ(as_pairs(t.candidates("Москва")), (pairs{{"Q649", 4}}));
  EXPECT_EQ(as_pairs(t.candidates("οδος")), (pairs{{"Q2", 1}}));  // final sigma
}

TEST(AliasTable, CandidatesSortedByCountThenEntityId) {
  alias_table t;
  t.add("mercury", "planet", 5);
  t.add("mercury", "element", 9);
  t.add("mercury", "god", 5);
  t.add("mercury", "band", 5);
  t.add("mercury", "car", 12);
  EXPECT_EQ(as_pairs(t.candidates("mercury")),
            (pairs{{"car", 12}, {"element", 9}, {"band", 5}, {"god", 5}, {"planet", 5}}));
  EXPECT_EQ(t.candidates("mercury").total_count(), 36u);
  EXPECT_FLOAT_EQ(t.candidates("mercury").score(0), 12.0f / 36.0f);
}

TEST(AliasTable, DuplicateRowsSumAndReorder) {
  alias_table t;
  t.add("paris", "Q90", 3);
  t.add("paris", "Q167646", 4);
  EXPECT_EQ(as_pairs(t.candidates("paris")), (pairs{{"Q167646", 4}, {"Q90", 3}}));
  t.add("Paris", "Q90", 3);  // now 6: moves to the front
  EXPECT_EQ(as_pairs(t.candidates("paris")), (pairs{{"Q90", 6}, {"Q167646", 4}}));
  t.add("PARIS", "Q90", 0);
  EXPECT_EQ(as_pairs(t.candidates("paris")), (pairs{{"Q90", 6}, {"Q167646", 4}}));
  EXPECT_EQ(t.alias_count(), 1u);
  EXPECT_EQ(t.entity_count(), 2u);
}

TEST(AliasTable, OrderDoesNotDependOnInsertionOrder) {
  std::vector<std::tuple<std::string, std::string, std::uint64_t>> rows;
  for (int a = 0; a < 20; ++a)
    for (int e = 0; e < 6; ++e) rows.emplace_back(numbered("alias ", a), numbered("E", (a * 7 + e * 3) % 11), static_cast<std::uint64_t>((a + e) % 3));
  std::mt19937 rng(3);
  std::vector<pairs> first;
  for (int round = 0; round < 4; ++round) {
    std::shuffle(rows.begin(), rows.end(), rng);
    alias_table t;
    for (const auto& [a, e, c] : rows) t.add(a, e, c);
    std::vector<pairs> lists;
    for (int a = 0; a < 20; ++a) lists.push_back(as_pairs(t.candidates(numbered("alias ", a))));
    if (round == 0)
      first = lists;
    else
      EXPECT_EQ(lists, first);
  }
}

TEST(AliasTable, AddRejectsBadArguments) {
  alias_table t;
  EXPECT_NE(error_of([&] { t.add("", "Q1", 1); }).find("alias (field 1) is empty"), std::string::npos);
  EXPECT_NE(error_of([&] { t.add("x", "", 1); }).find("entity (field 2) is empty"), std::string::npos);
  EXPECT_NE(error_of([&] { t.add(" \t ", "Q1", 1); }).find("has no words"), std::string::npos);
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t.entity_count(), 0u);
}

TEST(AliasTable, CountLimitsAreErrorsAndLeaveTheTableUnchanged) {
  constexpr std::uint64_t max32 = 4294967295u;
  alias_table t;
  t.add("big", "A", max32 - 1);
  std::string msg = error_of([&] { t.add("big", "A", 2); });
  EXPECT_NE(msg.find("for entity 'A' sum to more than 2^32 - 1"), std::string::npos) << msg;
  EXPECT_EQ(as_pairs(t.candidates("big")), (pairs{{"A", max32 - 1}}));
  msg = error_of([&] { t.add("big", "C", max32 + 1); });
  EXPECT_NE(msg.find("count 4294967296 is larger than 2^32 - 1"), std::string::npos) << msg;
  EXPECT_EQ(t.entity_count(), 1u);
  t.add("big", "A", 1);
  t.add("big", "B", max32);  // per pair, not per alias: the 64-bit total holds both
  EXPECT_EQ(as_pairs(t.candidates("big")), (pairs{{"A", max32}, {"B", max32}}));
  EXPECT_EQ(t.candidates("big").total_count(), 2 * max32);
  EXPECT_FLOAT_EQ(t.candidates("big").score(1), 0.5f);
}

TEST(AliasTable, AccessorsCheckIndices) {
  alias_table t;
  t.add("x", "Q1", 1);
  EXPECT_EQ(t.entity_name(0), "Q1");
  EXPECT_NE(error_of([&] { (void)t.entity_name(1); }).find("index 1"), std::string::npos);
  EXPECT_NE(error_of([&] { (void)t.candidates("x").at(1); }).find("only 1 candidates"), std::string::npos);
  EXPECT_EQ(t.find_entity("Q1"), 0u);
  EXPECT_EQ(t.find_entity("Q2"), kplug::link::no_index);
}

TEST(AliasTable, CustomFoldingIsUsed) {
  // Case-sensitive table: identity folding.
  alias_table t([](std::string_view w, std::string& out) { out.assign(w); });
  t.add("Apple", "company", 1);
  t.add("apple", "fruit", 1);
  EXPECT_EQ(t.alias_count(), 2u);
  EXPECT_EQ(as_pairs(t.candidates("Apple")), (pairs{{"company", 1}}));
  EXPECT_TRUE(t.candidates("APPLE").empty());
  EXPECT_NE(error_of([] { alias_table bad{kplug::link::fold_function{}}; }).find("folding function is empty"),
            std::string::npos);
}

// Many random rows, added one by one and through the bulk builder: the arena
// relocation, compaction and merge paths against a plain std::map reference.
TEST(AliasTable, ManyRowsMatchMapReference) {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> alias_pick(0, 3000), entity_pick(0, 400), count_pick(0, 50);
  std::map<std::string, std::map<std::string, std::uint64_t>> reference;
  alias_table t;
  kplug::link::alias_table_builder builder;
  for (int row = 0; row < 60000; ++row) {
    const int a = alias_pick(rng);
    std::string alias;
    for (int k = 0, n = 1 + a % 3; k < n; ++k) alias += numbered(k ? " w" : "w", (a * (k + 3)) % 997);
    const std::string entity = numbered("E", entity_pick(rng) % (1 + a % 40));
    const auto count = static_cast<std::uint64_t>(count_pick(rng));
    reference[alias][entity] += count;
    t.add(alias, entity, count);
    builder.add(alias, entity, count);
  }
  EXPECT_EQ(builder.alias_count(), reference.size());
  alias_table bulk = builder.build();
  EXPECT_EQ(builder.alias_count(), 0u);  // the builder is left empty
  const auto check = [&](const alias_table& table) {
    ASSERT_EQ(table.alias_count(), reference.size());
    for (const auto& [alias, entities] : reference) {
      pairs expected(entities.begin(), entities.end());
      std::stable_sort(expected.begin(), expected.end(),
                       [](const auto& x, const auto& y) { return x.second > y.second; });
      ASSERT_EQ(as_pairs(table.candidates(alias)), expected) << alias;
      ASSERT_EQ(table.candidates(alias).total_count(),
                std::accumulate(expected.begin(), expected.end(), std::uint64_t{0},
                                [](std::uint64_t acc, const auto& p) { return acc + p.second; }));
    }
  };
  check(t);
  check(bulk);
  const std::size_t before = t.memory_bytes();
  t.shrink_to_fit();
  EXPECT_LE(t.memory_bytes(), before);
  check(t);
}

TEST(AliasTableBuilder, RejectsBadRowsAndSumOverflowAtBuild) {
  kplug::link::alias_table_builder b;
  EXPECT_NE(error_of([&] { b.add("", "Q1", 1); }).find("alias (field 1) is empty"), std::string::npos);
  EXPECT_NE(error_of([&] { b.add("x", "Q1", 4294967296u); }).find("larger than 2^32 - 1"), std::string::npos);
  b.add("x", "Q1", 4294967295u);
  b.add("X", "Q1", 1);
  const std::string msg = error_of([&] { (void)b.build(); });
  EXPECT_NE(msg.find("alias_table_builder::build"), std::string::npos) << msg;
  EXPECT_NE(msg.find("entity 'Q1'"), std::string::npos) << msg;
}

// --- TSV reading

TEST(ReadAliasTable, ReadsRowsWithCrLfAndBlankLines) {
  const std::string path =
      write_file("good.tsv", "New York\tQ60\t10\r\n\r\nnew york\tQ1384\t3\nParis\tQ90\t7\n\nparis\tQ90\t1");
  const alias_table t = read_alias_table(path);
  EXPECT_EQ(t.alias_count(), 2u);
  EXPECT_EQ(t.entity_count(), 3u);
  EXPECT_EQ(as_pairs(t.candidates("new york")), (pairs{{"Q60", 10}, {"Q1384", 3}}));
  EXPECT_EQ(as_pairs(t.candidates("PARIS")), (pairs{{"Q90", 8}}));
}

TEST(ReadAliasTable, EmptyFileGivesAnEmptyUsableTable) {
  const alias_table t = read_alias_table(write_file("empty.tsv", ""));
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t.alias_count(), 0u);
  EXPECT_EQ(t.max_alias_words(), 0u);
  EXPECT_TRUE(t.candidates("anything").empty());
  const alias_table blank = read_alias_table(write_file("blank.tsv", "\n\r\n\n"));
  EXPECT_TRUE(blank.empty());
}

TEST(ReadAliasTable, LineBeyondTheLimitIsRefusedNamingIt) {
  // A line of megabytes (one alias of 500,000 words) at the default limit.
  std::string huge;
  for (int i = 0; i < 500'000; ++i) huge += "w ";
  const std::string path = write_file("huge_line.tsv", "Paris\tQ90\t7\n" + huge + "\tQ1\t1\n");
  std::string msg = error_of([&] { (void)read_alias_table(path); });
  EXPECT_NE(msg.find(path + ", line 2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("a line of 1000005 bytes exceeds the limit of 65536 (input_limits::max_alias_line_bytes)"),
            std::string::npos)
      << msg;
  // Lowered, it refuses a short line; the line at the limit is read.
  const std::string small = write_file("small_line.tsv", "Paris\tQ90\t7\n");
  kplug::input_limits limits;
  limits.max_alias_line_bytes = 10;
  msg = error_of([&] { (void)read_alias_table(small, kplug::link::default_fold(), limits); });
  EXPECT_NE(msg.find("a line of 11 bytes exceeds the limit of 10"), std::string::npos) << msg;
  limits.max_alias_line_bytes = 11;
  EXPECT_EQ(read_alias_table(small, kplug::link::default_fold(), limits).alias_count(), 1u);
}

TEST(ReadAliasTable, MissingFileNamesThePath) {
  const std::string path = link_test::temp_dir() + "/does_not_exist.tsv";
  EXPECT_NE(error_of([&] { (void)read_alias_table(path); }).find(path), std::string::npos);
}

TEST(ReadAliasTable, PairSumOverflowNamesFileAndEntity) {
  const std::string path = write_file("sum_overflow.tsv", "b\tQ2\t2\na\tQ1\t1\nB\tQ2\t4294967295\n");
  const std::string msg = error_of([&] { (void)read_alias_table(path); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("entity 'Q2'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("sum to more than 2^32 - 1"), std::string::npos) << msg;
}

struct bad_line {
  const char* name;
  const char* line;
  const char* reason;
};

class ReadAliasTableBadLine : public ::testing::TestWithParam<bad_line> {};

TEST_P(ReadAliasTableBadLine, NamesFileLineAndReason) {
  const bad_line& p = GetParam();
  // Two good lines first, so the bad one is line 3.
  const std::string path =
      write_file(std::string("bad_") + p.name + ".tsv", std::string("a\tQ1\t1\nb\tQ2\t2\n") + p.line + "\nc\tQ3\t3\n");
  const std::string msg = error_of([&] { (void)read_alias_table(path); });
  EXPECT_NE(msg.find(path + ", line 3"), std::string::npos) << msg;
  EXPECT_NE(msg.find(p.reason), std::string::npos) << msg;
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, ReadAliasTableBadLine,
    ::testing::Values(bad_line{"two_fields", "alias\tQ1", "expected 3 tab-separated fields"},
                      bad_line{"four_fields", "alias\tQ1\t1\textra", "found 4"},
                      bad_line{"one_field", "just text", "found 1"},
                      bad_line{"empty_alias", "\tQ1\t1", "alias (field 1) is empty"},
                      bad_line{"empty_entity", "alias\t\t1", "entity (field 2) is empty"},
                      bad_line{"blank_alias", "  \tQ1\t1", "has no words"},
                      bad_line{"non_integer", "alias\tQ1\tmany", "count 'many' is not an integer"},
                      bad_line{"fraction", "alias\tQ1\t1.5", "count '1.5' is not an integer"},
                      bad_line{"empty_count", "alias\tQ1\t", "count '' is not an integer"},
                      bad_line{"plus_sign", "alias\tQ1\t+4", "is not an integer"},
                      bad_line{"trailing_space", "alias\tQ1\t4 ", "is not an integer"},
                      bad_line{"negative", "alias\tQ1\t-3", "count '-3' is negative"},
                      bad_line{"lone_minus", "alias\tQ1\t-", "count '-' is not an integer"},
                      bad_line{"too_large", "alias\tQ1\t99999999999999999999999", "is out of range"},
                      bad_line{"above_32_bits", "alias\tQ1\t4294967296", "is larger than 2^32 - 1"}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

}  // namespace
