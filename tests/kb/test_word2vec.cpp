// word2vec / Wikipedia2Vec text: names with slashes and spaces, trailing
// blanks, every malformed input, lying headers.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/temp_dir.hpp"
#include "kplug/kb/word2vec.hpp"
#include "support/bad_text.hpp"

namespace {

using kplug::index_t;
using kplug::matrix;
using kplug::row_index;
using kplug_test::temp_dir;

TEST(Word2Vec, ReadsWikipedia2VecNamesWithSpacesAndTrailingBlanks) {
  temp_dir dir;
  const auto path = dir.write("w.txt",
                              "4 3\n"
                              "the 0.5 -1 2e-3\n"
                              "ENTITY/Barack_Obama 1 2 3 \n"   // word2vec.c's trailing space
                              "ENTITY/New York City\t-0.25\t1e2\t7\r\n"
                              "Route 66 4  5  6");
  const auto w = kplug::kb::read_word2vec_text(path);
  EXPECT_EQ(w.index.size(), 4u);
  EXPECT_EQ(w.table.rows(), 4);
  EXPECT_EQ(w.table.dim(), 3);
  EXPECT_EQ(w.index.find("the"), 0);
  EXPECT_EQ(w.index.find("ENTITY/Barack_Obama"), 1);
  EXPECT_EQ(w.index.find("ENTITY/New York City"), 2);
  EXPECT_EQ(w.index.find("Route 66"), 3);
  const auto m = w.table.float32_view();
  EXPECT_EQ(m(0, 0), 0.5f);
  EXPECT_EQ(m(0, 1), -1.0f);
  EXPECT_EQ(m(0, 2), 2e-3f);
  EXPECT_EQ(m(1, 2), 3.0f);
  EXPECT_EQ(m(2, 0), -0.25f);
  EXPECT_EQ(m(2, 1), 100.0f);
  EXPECT_EQ(m(3, 0), 4.0f);
  EXPECT_EQ(m(3, 2), 6.0f);
  matrix<float> out(1, 3);
  w.table.gather(std::vector<row_index>{2}, out.view());
  EXPECT_EQ(out(0, 2), 7.0f);
}

TEST(Word2Vec, EmptyTableWithHeaderOnly) {
  temp_dir dir;
  const auto w = kplug::kb::read_word2vec_text(dir.write("w.txt", "0 50\n"));
  EXPECT_EQ(w.index.size(), 0u);
  EXPECT_EQ(w.table.rows(), 0);
  EXPECT_EQ(w.table.dim(), 50);
}

using kplug_test::bad_text;
class Word2VecBadInput : public ::testing::TestWithParam<bad_text> {};
TEST_P(Word2VecBadInput, IsAnErrorNamingFileAndLine) {
  temp_dir dir;
  const auto path = dir.write("w.txt", GetParam().text);
  try {
    (void)kplug::kb::read_word2vec_text(path);
    ADD_FAILURE() << "no error";
  } catch (const kplug::error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    for (const char* part : GetParam().parts) EXPECT_NE(msg.find(part), std::string::npos) << msg << "\n  lacks: " << part;
  }
}
INSTANTIATE_TEST_SUITE_P(
    All, Word2VecBadInput,
    ::testing::Values(
        bad_text{"empty_file", "", {"empty file"}},
        bad_text{"header_one_number", "3\na 1\n", {"line 1", "'<count> <dim>'"}},
        bad_text{"header_three_numbers", "1 2 3\na 1 2\n", {"line 1", "'<count> <dim>'"}},
        bad_text{"header_not_numbers", "a b\n", {"line 1", "not an integer"}},
        bad_text{"header_zero_dim", "1 0\na\n", {"line 1", "dim > 0"}},
        bad_text{"header_negative_count", "-1 2\n", {"line 1", "count must be >= 0"}},
        bad_text{"header_lying_huge", "1000000000 1000000000\na 1\n", {"line 1", "more than the"}},
        bad_text{"too_few_values", "2 3\na 1 2 3\nb 1 2\n", {"line 3", "expected a name and 3 values, found 3 fields"}},
        bad_text{"only_values", "1 2\n1 2\n", {"line 2", "expected a name and 2 values, found 2 fields"}},
        bad_text{"blank_name", "1 2\n  1 2\n", {"line 2", "2 values but no name"}},
        bad_text{"header_lying_count_dim_overflow", "4611686018427387904 4\na 1 2 3 4\n", {"line 1", "more than the"}},
        bad_text{"non_numeric_value", "1 3\na 1 x 3\n", {"line 2", "value 2 'x' is not a number"}},
        bad_text{"partly_numeric_value", "1 2\na 1 2.5.1\n", {"line 2", "'2.5.1' is not a number"}},
        bad_text{"nan_value", "1 2\na nan 1\n", {"line 2", "'nan' is not a finite float"}},
        bad_text{"overflowing_value", "1 2\na 1e60 1\n", {"line 2", "'1e60' is not a finite float"}},
        bad_text{"count_too_large", "3 2\na 1 2\nb 3 4\n", {"says 3 vectors but the file has 2"}},
        bad_text{"count_too_small", "1 2\na 1 2\nb 3 4\n", {"line 3", "more vectors than the count 1"}},
        bad_text{"duplicate_name", "2 2\na 1 2\na 3 4\n", {"line 3", "duplicate name 'a'", "first on line 2"}},
        bad_text{"empty_line", "2 2\na 1 2\n\nb 3 4\n", {"line 3", "empty line"}}),
    [](const auto& p) { return std::string(p.param.name); });

}  // namespace
