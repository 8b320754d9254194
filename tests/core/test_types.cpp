#include <gtest/gtest.h>

#include <kplug/backend/concepts.hpp>
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

struct input_fixture {
  std::vector<float> rows = std::vector<float>(5 * 4, 0.0f);
  std::vector<std::int32_t> offsets{0, 2, 5};
  std::vector<std::int32_t> positions{0, 1, 0, 1, 2};
  std::vector<std::int32_t> segments{0, 0, 0, 0, 1};
  std::vector<std::uint8_t> mask{1, 1, 1, 1, 1};
  kplug::encoder_input input() const {
    return {kplug::matrix_view<const float>(rows.data(), 5, 4), offsets, positions, segments, mask};
  }
};

TEST(EncoderInput, ValidAcceptsConsistentBatch) {
  input_fixture f;
  const auto in = f.input();
  EXPECT_EQ(in.tokens(), 5);
  EXPECT_EQ(in.sequences(), 2);
  EXPECT_NO_THROW(kplug::validate(in, 4, 512, "forward"));
}

TEST(EncoderInput, ValidateNamesTheBadPart) {
  input_fixture f;
  auto expect_where = [](const kplug::encoder_input& in, kplug::index_t hidden, const std::string& where) {
    try {
      kplug::validate(in, hidden, 3, "forward");
      FAIL() << "expected an error at " << where;
    } catch (const kplug::error& e) {
      EXPECT_EQ(e.where(), where);
    }
  };
  expect_where(f.input(), 8, "encoder_input.embeddings");
  f.positions[3] = 3;  // max_positions is 3
  expect_where(f.input(), 4, "encoder_input.position_ids[3]");
  f.positions[3] = 1;
  f.segments.pop_back();
  expect_where(f.input(), 4, "encoder_input.segment_ids");
  f.segments.push_back(0);
  f.mask.push_back(1);
  expect_where(f.input(), 4, "encoder_input.attention_mask");
  f.mask.pop_back();
  f.offsets.back() = 4;
  expect_where(f.input(), 4, "offsets");
}

}  // namespace
