#include <gtest/gtest.h>

#include <kplug/core/types.hpp>
#include <vector>

namespace {

TEST(WordSpan, SizeEmptyOverlap) {
  const kplug::word_span a{2, 5}, b{4, 6}, c{5, 7}, e{3, 3};
  EXPECT_EQ(a.size(), 3);
  EXPECT_TRUE(e.empty());
  EXPECT_TRUE(a.overlaps(b));
  EXPECT_FALSE(a.overlaps(c));  // half-open: [2,5) and [5,7) touch only
  EXPECT_FALSE(e.overlaps(a));
}

TEST(PackedLayout, AppendsSequences) {
  kplug::packed_layout l;
  l.append(5);
  l.append(0);
  l.append(3);
  EXPECT_EQ(l.sequences(), 3u);
  EXPECT_EQ(l.total(), 8);
  EXPECT_EQ(l.begin(2), 5);
  EXPECT_EQ(l.length(1), 0);
}

TEST(PackedLayout, ValidateOffsetsRejectsBadLayouts) {
  const std::vector<std::int32_t> good{0, 3, 3, 7};
  EXPECT_NO_THROW(kplug::validate_offsets(good, 7, "t"));
  EXPECT_THROW(kplug::validate_offsets(std::vector<std::int32_t>{}, 0, "t"), kplug::error);
  EXPECT_THROW(kplug::validate_offsets(std::vector<std::int32_t>{1, 3}, 3, "t"), kplug::error);
  EXPECT_THROW(kplug::validate_offsets(std::vector<std::int32_t>{0, 4, 3}, 3, "t"), kplug::error);
  EXPECT_THROW(kplug::validate_offsets(good, 8, "t"), kplug::error);
}

}  // namespace
