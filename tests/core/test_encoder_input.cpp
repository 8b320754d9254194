// The rows form of a packed batch, as engines behind the rows adapter take it.
#include <gtest/gtest.h>

#include <kplug/core/encoder_input.hpp>
#include <string>
#include <vector>

namespace {

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
