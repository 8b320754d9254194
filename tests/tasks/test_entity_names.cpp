// tasks::entity_names: each entity's most frequent alias as the file writes
// it (case kept: the closed-form fit embeds the name's word pieces), ties to
// the first row; the rows are checked by the alias table's own reader.
#include <gtest/gtest.h>

#include <string>

#include "kplug/tasks/entity_names.hpp"
#include "support/temp_dir.hpp"

namespace {

TEST(EntityNames, MostFrequentAliasAsWrittenTiesToTheFirst) {
  kplug_test::temp_dir dir;
  const std::string path = dir.write("aliases.tsv",
                                     "Paris\tQ90\t5\n"
                                     "City of Light\tQ90\t9\n"
                                     "paris\tQ90\t9\n"
                                     "\n"
                                     "Paris Hilton\tQ47899\t2\n"
                                     "Hilton\tQ47899\t2\n");
  const auto names = kplug::tasks::entity_names(path);
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names.at("Q90"), "City of Light");  // 9 beats 5; the later 9 only ties
  EXPECT_EQ(names.at("Q47899"), "Paris Hilton");
}

TEST(EntityNames, BadRowsAreTheAliasReadersErrors) {
  kplug_test::temp_dir dir;
  const std::string fields = dir.write("fields.tsv", "Paris\tQ90\t5\nParis\tQ90\n");
  KPLUG_EXPECT_ERROR(kplug::tasks::entity_names(fields), fields + ", line 2",
                     "expected 3 tab-separated fields (alias, entity, count), found 2");
  const std::string negative = dir.write("negative.tsv", "Paris\tQ90\t-5\n");
  KPLUG_EXPECT_ERROR(kplug::tasks::entity_names(negative), negative + ", line 1", "count '-5' is negative");
  kplug::input_limits limits;
  limits.max_alias_line_bytes = 8;
  KPLUG_EXPECT_ERROR(kplug::tasks::entity_names(fields, limits), fields + ", line 1", "max_alias_line_bytes");
}

}  // namespace
