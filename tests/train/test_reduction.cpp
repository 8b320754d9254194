// The map tuner's gradient-reduction hook without MPI: rank shares, checks
// on a reduction, and the tuner's side of the contract in a one-process
// "group" whose collectives are local (tests/mpi/ runs real ranks).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <kplug/train/reduction.hpp>
#include <numeric>
#include <string>
#include <vector>

#include "support/small_tuning.hpp"

namespace {

// Qualified, not a using-directive: in the unity build another file's
// helpers of the same names would hide these.
namespace st = kplug_test::small_tuning;
namespace train = kplug::train;

TEST(RankShare, SharesPartitionTheItemsInStridedOrder) {
  for (int n = 0; n <= 7; ++n)
    for (int ranks = 1; ranks <= 3; ++ranks) {
      std::vector<int> items(static_cast<std::size_t>(n));
      std::iota(items.begin(), items.end(), 0);
      std::vector<int> seen;
      std::size_t smallest = items.size(), largest = 0;
      for (int r = 0; r < ranks; ++r) {
        const std::vector<int> share = train::rank_share(items, r, ranks);
        for (std::size_t k = 0; k < share.size(); ++k) EXPECT_EQ(share[k], r + static_cast<int>(k) * ranks);
        seen.insert(seen.end(), share.begin(), share.end());
        smallest = std::min(smallest, share.size());
        largest = std::max(largest, share.size());
      }
      std::sort(seen.begin(), seen.end());
      EXPECT_EQ(seen, items) << n << " items, " << ranks << " ranks";
      EXPECT_LE(largest - std::min(smallest, largest), 1u);
    }
  const std::vector<int> items{1, 2};
  EXPECT_THROW(train::rank_share(items, 2, 2), kplug::error);
  EXPECT_THROW(train::rank_share(items, 0, 0), kplug::error);
}

// A group of one whose collectives do nothing (the sum over one rank), with
// the descriptions it was asked to check.
struct local_group {
  std::vector<std::string> setups;
  train::gradient_reduction reduction(int rank = 0, int ranks = 1) {
    train::gradient_reduction r;
    r.rank = rank;
    r.ranks = ranks;
    r.sum_gradients = [](std::span<float>) {};
    r.sum_totals = [](std::span<double>) {};
    r.check_same_setup = [this](const std::string& s) { setups.push_back(s); };
    return r;
  }
};

TEST(GradientReduction, IncompleteOrOutOfRangeIsAnError) {
  local_group g;
  auto model = st::make_model();
  const auto kb = st::make_kb(5);
  auto mapper = st::make_mapper();
  train::map_tuner tuner(model, kb, mapper, st::make_planner(), st::options(), train::squared_error{});
  auto r = g.reduction();
  r.sum_gradients = nullptr;
  EXPECT_THROW(tuner.on_reduce(r), kplug::error);
  r = g.reduction();
  r.check_same_setup = nullptr;
  EXPECT_THROW(tuner.on_reduce(r), kplug::error);
  EXPECT_THROW(tuner.on_reduce(g.reduction(2, 2)), kplug::error);
  EXPECT_THROW(tuner.on_reduce(g.reduction(0, 0)), kplug::error);
}

TEST(GradientReduction, AGroupOfOneTrainsLikeOneProcess) {
  const auto kb = st::make_kb(5);
  const auto train_set = st::make_examples(45, 21), dev_set = st::make_examples(13, 22);
  auto alone_model = st::make_model(), model = st::make_model();
  auto alone = st::make_mapper(), mapper = st::make_mapper();
  train::map_tuner single(alone_model, kb, alone, st::make_planner(), st::options(), train::squared_error{});
  train::map_tuner tuner(model, kb, mapper, st::make_planner(), st::options(), train::squared_error{});
  local_group g;
  tuner.on_reduce(g.reduction());
  const auto expected = single.fit(train_set, dev_set), got = tuner.fit(train_set, dev_set);
  const std::vector<float> a = st::flat(mapper), b = st::flat(alone);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-6f) << i;
  EXPECT_EQ(got.steps, expected.steps);
  EXPECT_NEAR(got.last_train_loss, expected.last_train_loss, 1e-6 * expected.last_train_loss);
  // fit checked the setup once, describing the mapper, knowledge base, options and data.
  ASSERT_EQ(g.setups.size(), 1u);
  for (const char* fact : {"mapper: affine 5 -> 8 (weight 8x5, bias 1x8)\n", "mapper parameter values: 0x",
                           "knowledge base: 'test-kb', 20 entities, d_kb 5, fingerprint 0x",
                           "options: epochs 3, batch_size 11, seed 7,", "optimizer: lr 0.01,",
                           "training examples: 45, fingerprint 0x", "dev examples: 13, fingerprint 0x"})
    EXPECT_NE(g.setups[0].find(fact), std::string::npos) << fact << " in\n" << g.setups[0];
}

TEST(GradientReduction, OnlyRankZeroReportsAndCheckpoints) {
  // Rank 1 of a pretend group of two whose other rank contributes nothing.
  const auto kb = st::make_kb(5);
  const auto train_set = st::make_examples(45, 21), dev_set = st::make_examples(13, 22);
  auto model = st::make_model();
  auto mapper = st::make_mapper();
  train::map_tuner tuner(model, kb, mapper, st::make_planner(), st::options(), train::squared_error{});
  local_group g;
  tuner.on_reduce(g.reduction(1, 2));
  int calls = 0;
  tuner.on_checkpoint([&](kplug::map::any_mapper&, const train::evaluation&) { ++calls; });
  const auto r = tuner.fit(train_set, dev_set, [&](const train::progress&) { ++calls; });
  EXPECT_EQ(calls, 0);
  EXPECT_FALSE(r.dev_history.empty());
  // Its share of each batch of 11, 11, 11, 11, 1: positions 1, 3, 5, 7, 9 of the first four.
  EXPECT_EQ(model.calls().backward, 4u * 3u);
}

}  // namespace
