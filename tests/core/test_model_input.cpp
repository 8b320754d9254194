// kplug::validate on a model_input: what each check names, limits of 0 left
// unchecked, and that a consistent batch passes.
#include <gtest/gtest.h>

#include <kplug/core/model_input.hpp>
#include <string>
#include <vector>

namespace {

using kplug::index_t;
using kplug::matrix;

// Two sequences (2 and 3 rows); entity 0 fills rows 1 and 3, entity 1 row 4.
struct plan_fixture {
  std::vector<std::int32_t> offsets{0, 2, 5};
  std::vector<kplug::token_id> ids{101, 0, 101, 0, 0};
  std::vector<std::int32_t> positions{0, 1, 0, 1, 1};
  std::vector<std::int32_t> segments{0, 0, 0, 1, 1};
  std::vector<std::uint8_t> mask{1, 1, 1, 0, 1};
  std::vector<std::int32_t> slot_rows{1, 3, 4}, slot_entities{0, 0, 1};
  matrix<float> entities{2, 4};
  kplug::model_limits limits{4, 200, 3, 2};

  kplug::model_input input() const {
    return {offsets, ids, positions, segments, mask, slot_rows, slot_entities};
  }
};

// Expects validate to throw naming `where` with `why` in its reason.
void expect_where(const plan_fixture& f, const std::string& where, const std::string& why = "") {
  try {
    kplug::validate(f.input(), f.limits, f.entities.view(), "run");
    ADD_FAILURE() << "accepted; expected an error at " << where;
  } catch (const kplug::error& e) {
    EXPECT_EQ(e.where(), where) << e.what();
    EXPECT_EQ(e.what_failed(), "run");
    EXPECT_NE(e.why().find(why), std::string::npos) << e.what();
  }
}

TEST(ModelInput, ConsistentBatchPasses) {
  const plan_fixture f;
  const auto in = f.input();
  EXPECT_EQ(in.tokens(), 5);
  EXPECT_EQ(in.sequences(), 2);
  EXPECT_EQ(in.slots(), 3);
  EXPECT_NO_THROW(kplug::validate(in, f.limits, f.entities.view(), "run"));
  const kplug::model_input empty;
  EXPECT_EQ(empty.sequences(), 0);
  EXPECT_THROW(kplug::validate(empty, f.limits, matrix<float>(0, 4).view(), "run"), kplug::error)
      << "offsets must hold at least the leading 0";
}

TEST(ModelInput, EntityRows) {
  plan_fixture f;
  f.entities = matrix<float>(2, 5);
  expect_where(f, "entities", "5 wide, the model's hidden size is 4");
  f.entities = matrix<float>(1, 4);
  expect_where(f, "model_input.slot_entities[2]", "entity row 1 is outside the 1 mapped entity rows");
  f = plan_fixture{};
  f.slot_entities[0] = -1;
  expect_where(f, "model_input.slot_entities[0]", "entity row -1");
  // No rows at all is fine at any width when no slot needs one.
  f = plan_fixture{};
  f.slot_rows.clear();
  f.slot_entities.clear();
  f.entities = matrix<float>(0, 7);
  EXPECT_NO_THROW(kplug::validate(f.input(), f.limits, f.entities.view(), "run"));
}

TEST(ModelInput, ArraysThatDisagreeInLength) {
  plan_fixture f;
  f.positions.pop_back();
  expect_where(f, "model_input.position_ids", "4 entries for 5 token_ids");
  f = plan_fixture{};
  f.segments.push_back(0);
  expect_where(f, "model_input.segment_ids");
  f = plan_fixture{};
  f.mask.pop_back();
  expect_where(f, "model_input.attention_mask");
  f = plan_fixture{};
  f.slot_entities.pop_back();
  expect_where(f, "model_input.slot_entities", "2 entries for 3 slot_rows");
  f = plan_fixture{};
  f.offsets.back() = 4;
  expect_where(f, "offsets");
}

TEST(ModelInput, IdsOutsideTheModel) {
  plan_fixture f;
  f.ids[2] = 200;
  expect_where(f, "model_input.token_ids[2]", "token id 200 is outside [0, 200) (vocab_size)");
  f = plan_fixture{};
  f.positions[4] = 3;
  expect_where(f, "model_input.position_ids[4]", "(max_positions)");
  f = plan_fixture{};
  f.segments[0] = -1;
  expect_where(f, "model_input.segment_ids[0]");
  f = plan_fixture{};
  f.mask[1] = 255;
  expect_where(f, "model_input.attention_mask[1]", "neither 0 nor 1");
}

TEST(ModelInput, SlotsInsideTheBatchAndOnePerRow) {
  plan_fixture f;
  f.slot_rows[2] = 5;
  expect_where(f, "model_input.slot_rows[2]", "row 5 is outside the batch's 5 rows");
  f = plan_fixture{};
  f.slot_rows[1] = 1;
  expect_where(f, "model_input.slot_rows[1]", "filled by an earlier slot");
}

TEST(ModelInput, ALimitOfZeroIsLeftToTheEngine) {
  plan_fixture f;
  f.positions[4] = 90;
  f.segments[0] = 7;
  f.limits.max_positions = 0;
  f.limits.segment_types = 0;
  EXPECT_NO_THROW(kplug::validate(f.input(), f.limits, f.entities.view(), "run"));
}

TEST(ModelInput, RequestedPositions) {
  const std::vector<std::int32_t> good{0, 4, 4}, bad{0, 5};
  EXPECT_NO_THROW(kplug::validate_positions(good, 5, "run"));
  try {
    kplug::validate_positions(bad, 5, "run");
    ADD_FAILURE();
  } catch (const kplug::error& e) {
    EXPECT_EQ(e.where(), "positions[1]");
  }
}

}  // namespace
