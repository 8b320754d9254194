#include <gtest/gtest.h>

#include <kplug/core/error.hpp>

namespace {

TEST(Error, CarriesWhatWhereWhyAndComposesMessage) {
  const kplug::error e("open .npy table", kplug::at_offset("/data/e.npy", 10), "shape is larger than the file");
  EXPECT_EQ(e.what_failed(), "open .npy table");
  EXPECT_EQ(e.where(), "/data/e.npy, byte 10");
  EXPECT_EQ(e.why(), "shape is larger than the file");
  EXPECT_STREQ(e.what(), "kplug: open .npy table (/data/e.npy, byte 10): shape is larger than the file");
}

TEST(Error, OmitsEmptyWhere) {
  const kplug::error e("link mentions", "", "no words");
  EXPECT_STREQ(e.what(), "kplug: link mentions: no words");
}

TEST(Error, LineBuilderNamesFileAndLine) {
  EXPECT_EQ(kplug::at_line("aliases.tsv", 42), "aliases.tsv, line 42");
  EXPECT_EQ(kplug::at_file("x.txt"), "x.txt");
}

TEST(Error, IsARuntimeError) {
  EXPECT_THROW(throw kplug::error("a", "b", "c"), std::runtime_error);
}

}  // namespace
