// entity_index: OpenKE entity2id.txt and entity<TAB>row tables, every
// malformed input, heterogeneous lookup without allocation, copies.

// This file replaces the global operator new/delete with malloc/free to count
// allocations; GCC then sees "free of a new'ed pointer" through inlining.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <cstdlib>
#include <new>
#include <string>
#include <string_view>

#include "support/temp_dir.hpp"
#include "kplug/kb/entity_index.hpp"
#include "support/bad_text.hpp"

// Counts global allocations while `counting` is set (replaceable operator new).
namespace {
std::atomic<bool> counting{false};
std::atomic<long> allocations{0};
}  // namespace

// noinline: valgrind intercepts operator new/delete by symbol; inlined copies would
// look like mismatched malloc/delete to it.
[[gnu::noinline]] void* operator new(std::size_t n) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

using kplug::kb::entity_index;
using kplug_test::temp_dir;

TEST(EntityIndex, ReadsOpenKeWithTabsSpacesAndCrlf) {
  temp_dir dir;
  const auto path = dir.write("entity2id.txt", "4\n/m/027rn\t0\nNew York\t3\r\nQ42 1\n06845599\t2");
  const entity_index idx = kplug::kb::read_openke_entity2id(path);
  EXPECT_EQ(idx.size(), 4u);
  EXPECT_EQ(idx.rows_needed(), 4);
  EXPECT_EQ(idx.source(), path);
  EXPECT_EQ(idx.find("/m/027rn"), 0);
  EXPECT_EQ(idx.find("New York"), 3);  // spaces allowed in a tab-separated name
  EXPECT_EQ(idx.find("Q42"), 1);
  EXPECT_EQ(idx.find("06845599"), 2);
  EXPECT_EQ(idx.find("Q43"), std::nullopt);
  EXPECT_EQ(idx.find("New"), std::nullopt);
  EXPECT_EQ(idx.at("Q42"), 1);
  KPLUG_EXPECT_ERROR((void)idx.at("Q43"), "unknown entity 'Q43'", path.c_str());
  EXPECT_EQ(idx.name_of(3), "New York");
  EXPECT_EQ(idx.name_of(0), "/m/027rn");
  EXPECT_EQ(idx.name_of(4), std::nullopt);
  EXPECT_EQ(idx.name_of(-1), std::nullopt);
}

TEST(EntityIndex, LookupTakesAStringViewAndAllocatesNothing) {
  entity_index idx;
  for (int i = 0; i < 1000; ++i) idx.add("entity_with_a_long_name_" + std::to_string(i), i);
  const std::string text = "xx entity_with_a_long_name_517 yy";
  const std::string_view key = std::string_view(text).substr(3, 27);  // not NUL-terminated
  allocations = 0;
  counting = true;
  const std::string probe(100, 'x');  // must be counted, or the check below proves nothing
  counting = false;
  if (allocations.load() == 0) GTEST_SKIP() << "operator new is not ours here (valgrind replaces it)";
  allocations = 0;
  counting = true;
  const auto row = idx.find(key);
  const auto missing = idx.find(std::string_view(text).substr(0, 30));
  const auto name = idx.name_of(999);
  counting = false;
  EXPECT_EQ(row, 517);
  EXPECT_EQ(missing, std::nullopt);
  EXPECT_EQ(name, "entity_with_a_long_name_999");
  EXPECT_EQ(allocations.load(), 0);
}

TEST(EntityIndex, CopiesAreIndependent) {
  auto original = std::make_unique<entity_index>("src");
  original->add("a", 0);
  original->add("b", 7);
  entity_index copy = *original;
  entity_index assigned;
  assigned = *original;
  original.reset();  // the copies must not point into the original
  EXPECT_EQ(copy.name_of(7), "b");
  EXPECT_EQ(assigned.name_of(0), "a");
  EXPECT_EQ(copy.rows_needed(), 8);
  entity_index moved = std::move(copy);
  EXPECT_EQ(moved.name_of(7), "b");
  EXPECT_EQ(moved.find("a"), 0);
}

TEST(EntityIndex, AddRejectsBadEntries) {
  entity_index idx("mine");
  idx.add("a", 0);
  KPLUG_EXPECT_ERROR(idx.add("a", 1), "duplicate entity 'a'", "mine");
  KPLUG_EXPECT_ERROR(idx.add("b", 0), "row 0", "already belongs to 'a'");
  KPLUG_EXPECT_ERROR(idx.add("", 2), "empty entity name");
  KPLUG_EXPECT_ERROR(idx.add("c", -1), "negative row -1");
  EXPECT_EQ(idx.size(), 1u);
  EXPECT_EQ(idx.find("b"), std::nullopt);
}

TEST(EntityIndex, CheckAgainstTable) {
  entity_index idx("e2id.txt");
  idx.add("a", 0);
  idx.add("far", 9);
  EXPECT_NO_THROW(idx.check_against(10, "table.npy"));
  KPLUG_EXPECT_ERROR(idx.check_against(9, "table.npy"), "e2id.txt", "table.npy", "'far' has row 9",
                     "only 9 rows");
  EXPECT_NO_THROW(entity_index().check_against(0, "empty.npy"));
}

TEST(EntityIndex, ReadsEntityRowsTsv) {
  temp_dir dir;
  const auto path = dir.write("rows.tsv", "Q1\t5\nBarack Obama\t0\nQ3\t100\n");
  const entity_index idx = kplug::kb::read_entity_rows_tsv(path);
  EXPECT_EQ(idx.size(), 3u);
  EXPECT_EQ(idx.find("Barack Obama"), 0);
  EXPECT_EQ(idx.find("Q1"), 5);
  EXPECT_EQ(idx.rows_needed(), 101);
  EXPECT_EQ(idx.name_of(1), std::nullopt);  // rows need not be dense
}

TEST(EntityIndex, DetectsOpenKeByALoneIntegerFirstLine) {
  EXPECT_TRUE(kplug::kb::looks_like_openke("3\na\t0\n"));
  EXPECT_TRUE(kplug::kb::looks_like_openke("12\r\n"));
  EXPECT_FALSE(kplug::kb::looks_like_openke("12\t0\n"));
  EXPECT_FALSE(kplug::kb::looks_like_openke("Q1\t0\n"));
  EXPECT_FALSE(kplug::kb::looks_like_openke(""));
  EXPECT_FALSE(kplug::kb::looks_like_openke("-3\n"));
}

using kplug_test::bad_text;

class OpenKeBadInput : public ::testing::TestWithParam<bad_text> {};
TEST_P(OpenKeBadInput, IsAnErrorNamingFileAndLine) {
  temp_dir dir;
  const auto path = dir.write("entity2id.txt", GetParam().text);
  try {
    (void)kplug::kb::read_openke_entity2id(path);
    ADD_FAILURE() << "no error";
  } catch (const kplug::error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    for (const char* part : GetParam().parts) EXPECT_NE(msg.find(part), std::string::npos) << msg << "\n  lacks: " << part;
  }
}
INSTANTIATE_TEST_SUITE_P(
    All, OpenKeBadInput,
    ::testing::Values(
        bad_text{"empty_file", "", {"empty file"}},
        bad_text{"count_not_a_number", "three\na\t0\n", {"line 1", "not an integer"}},
        bad_text{"count_line_missing", "a\t0\nb\t1\n", {"line 1", "count alone"}},
        bad_text{"count_empty_line", "\na\t0\n", {"line 1", "empty line"}},
        bad_text{"count_negative", "-1\n", {"line 1", "negative entity count"}},
        bad_text{"count_too_large", "3\na\t0\nb\t1\n", {"says 3 entities but the file has 2"}},
        bad_text{"count_too_small", "1\na\t0\nb\t1\n", {"line 3", "more entries than the count 1"}},
        bad_text{"duplicate_name", "2\na\t0\na\t1\n", {"line 3", "duplicate entity 'a'"}},
        bad_text{"duplicate_id", "2\na\t1\nb\t1\n", {"line 3", "duplicate id 1", "'b' and 'a'"}},
        bad_text{"id_equal_to_count", "2\na\t0\nb\t2\n", {"line 3", "outside [0, 2)"}},
        bad_text{"id_negative", "2\na\t-1\nb\t0\n", {"line 2", "outside [0, 2)"}},
        bad_text{"id_not_a_number", "1\na\tone\n", {"line 2", "'one' is not an integer"}},
        bad_text{"id_with_trailing_blank", "1\na\t0 \n", {"line 2", "not an integer"}},
        bad_text{"missing_separator", "1\nalone\n", {"line 2", "no tab or space"}},
        bad_text{"empty_name", "1\n\t0\n", {"line 2", "empty entity name"}},
        bad_text{"missing_id", "1\na\t\n", {"line 2", "missing row"}},
        bad_text{"trailing_fields", "1\na\t0\textra\n", {"line 2", "trailing fields"}},
        bad_text{"space_name_without_tab", "1\nNew York 0\n", {"line 2", "needs a tab"}},
        bad_text{"empty_line_inside", "2\na\t0\n\nb\t1\n", {"line 3", "empty line"}},
        bad_text{"id_out_of_int64", "1\na\t99999999999999999999\n", {"line 2", "out of range"}}),
    [](const auto& p) { return std::string(p.param.name); });

class RowsTsvBadInput : public ::testing::TestWithParam<bad_text> {};
TEST_P(RowsTsvBadInput, IsAnErrorNamingFileAndLine) {
  temp_dir dir;
  const auto path = dir.write("rows.tsv", GetParam().text);
  try {
    (void)kplug::kb::read_entity_rows_tsv(path);
    ADD_FAILURE() << "no error";
  } catch (const kplug::error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    for (const char* part : GetParam().parts) EXPECT_NE(msg.find(part), std::string::npos) << msg << "\n  lacks: " << part;
  }
}
INSTANTIATE_TEST_SUITE_P(
    All, RowsTsvBadInput,
    ::testing::Values(bad_text{"empty_file", "", {"empty file"}},
                      bad_text{"negative_row", "a\t0\nb\t-4\n", {"line 2", "row -4 of 'b' is negative"}},
                      bad_text{"duplicate_name", "a\t0\na\t1\n", {"line 2", "duplicate entity 'a'"}},
                      bad_text{"duplicate_row", "a\t3\nb\t3\n", {"line 2", "duplicate row 3"}},
                      bad_text{"space_separator", "a 0\n", {"line 1", "no tab"}},
                      bad_text{"trailing_fields", "a\t0\t1\n", {"line 1", "trailing fields"}},
                      bad_text{"empty_name", "\t0\n", {"line 1", "empty entity name"}},
                      bad_text{"empty_row", "a\t\n", {"line 1", "missing row"}},
                      bad_text{"row_not_a_number", "a\t1.5\n", {"line 1", "not an integer"}},
                      bad_text{"empty_line", "a\t0\n\n", {"line 2", "empty line"}},
                      bad_text{"count_line", "1\na\t0\n", {"line 1", "no tab"}}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(EntityIndex, MissingFileIsAnError) {
  KPLUG_EXPECT_ERROR((void)kplug::kb::read_openke_entity2id("/nonexistent/e2id.txt"), "/nonexistent/e2id.txt");
  KPLUG_EXPECT_ERROR((void)kplug::kb::read_entity_rows_tsv("/nonexistent/rows.tsv"), "/nonexistent/rows.tsv");
}

TEST(EntityIndex, LyingCountDoesNotAllocate) {
  // A count of 2^62 must not reserve 2^62 buckets.
  temp_dir dir;
  const auto path = dir.write("e.txt", "4611686018427387904\na\t0\n");
  KPLUG_EXPECT_ERROR((void)kplug::kb::read_openke_entity2id(path), "says 4611686018427387904 entities");
}

}  // namespace
