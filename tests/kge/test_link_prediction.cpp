// kge/link_prediction.hpp: filtered ranks on a five-entity, one-dimensional
// example worked out by hand (ties, filtering, both directions), and the
// metrics of a list of ranks.
#include <gtest/gtest.h>

#include <vector>

#include "kplug/kge/link_prediction.hpp"
#include "support/temp_dir.hpp"

namespace {

using kplug::kge::distance_norm;
using kplug::kge::triple;

// Entities on a line: e0 = 0, e1 = 1, e2 = 2, e3 = 3, e4 = 1 (ties with e1);
// one relation r = +1.
kplug::kge::transe_model line_model(distance_norm norm) {
  kplug::kge::transe_model m;
  m.norm = norm;
  m.entities.resize(5, 1);
  const float x[] = {0.0f, 1.0f, 2.0f, 3.0f, 1.0f};
  for (int i = 0; i < 5; ++i) m.entities(i, 0) = x[i];
  m.relations.resize(1, 1);
  m.relations(0, 0) = 1.0f;
  return m;
}

// Test triples (e0, r, e2) and (e3, r, e1); known besides them: (e0, r, e1).
//
// (e0, r, ?): q = 0 + 1 = 1, distances e0..e4 = 1 0 1 2 0, answer e2 at 1.
//   closer: e1, e4; tied: e0. Filtered: e1 is known -> closer e4 only.
//   rank = 1 + 1 + 1/2 = 2.5 (unfiltered 1 + 2 + 1/2 = 3.5).
// (?, r, e2): q = 2 - 1 = 1, same distances, answer e0 at 1.
//   closer: e1, e4; tied: e2. No other known head of (r, e2).
//   rank = 1 + 2 + 1/2 = 3.5.
// (e3, r, ?): q = 4, distances 4 3 2 1 3, answer e1 at 3.
//   closer: e2, e3; tied: e4. rank = 1 + 2 + 1/2 = 3.5.
// (?, r, e1): q = 0, distances 0 1 2 3 1, answer e3 at 3.
//   closer: e0, e1, e2, e4; filtered: (e0, r, e1) known -> e1, e2, e4.
//   rank = 1 + 3 = 4 (unfiltered 5).
TEST(LinkPrediction, FilteredRanksByHand) {
  const std::vector<triple> test{{0, 0, 2}, {3, 0, 1}};
  std::vector<triple> all = test;
  all.push_back({0, 0, 1});
  const kplug::kge::triple_filter known(all);
  kplug::thread_pool pool(2);
  for (const auto norm : {distance_norm::l1, distance_norm::l2}) {  // equal in one dimension
    const auto r = kplug::kge::evaluate_link_prediction(line_model(norm), test, known, pool);
    EXPECT_EQ(r.tail_ranks, (std::vector<double>{2.5, 3.5}));
    EXPECT_EQ(r.head_ranks, (std::vector<double>{3.5, 4.0}));
    EXPECT_EQ(r.both.count, 4u);
    EXPECT_NEAR(r.both.mrr, (1 / 2.5 + 1 / 3.5 + 1 / 3.5 + 1 / 4.0) / 4, 1e-12);
    EXPECT_NEAR(r.both.mean_rank, (2.5 + 3.5 + 3.5 + 4.0) / 4, 1e-12);
    EXPECT_EQ(r.both.hits_at_1, 0.0);
    EXPECT_EQ(r.both.hits_at_3, 0.25);
    EXPECT_EQ(r.both.hits_at_10, 1.0);
    EXPECT_EQ(r.tails.count, 2u);
    EXPECT_NEAR(r.tails.mrr, (1 / 2.5 + 1 / 3.5) / 2, 1e-12);
    EXPECT_NEAR(r.heads.mean_rank, (3.5 + 4.0) / 2, 1e-12);
  }
  // Filtering only the test triples themselves: the raw ranks.
  const kplug::kge::triple_filter only_test(test);
  const auto raw = kplug::kge::evaluate_link_prediction(line_model(distance_norm::l1), test, only_test, pool);
  EXPECT_EQ(raw.tail_ranks, (std::vector<double>{3.5, 3.5}));
  EXPECT_EQ(raw.head_ranks, (std::vector<double>{3.5, 5.0}));
}

TEST(LinkPrediction, ExactAnswerRanksFirst) {
  // (e1, r, e2): q = 2, e2 is the only entity at distance 0.
  const std::vector<triple> test{{1, 0, 2}};
  kplug::thread_pool pool(1);
  const auto r = kplug::kge::evaluate_link_prediction(line_model(distance_norm::l1), test,
                                                      kplug::kge::triple_filter(test), pool);
  EXPECT_EQ(r.tail_ranks[0], 1.0);
  // (?, r, e2): q = 1: e1 and e4 both at 0: rank 1.5.
  EXPECT_EQ(r.head_ranks[0], 1.5);
}

TEST(LinkPrediction, SummarizesRanks) {
  const std::vector<double> ranks{1, 2, 4, 10, 11};
  const auto m = kplug::kge::summarize_ranks(ranks);
  EXPECT_EQ(m.count, 5u);
  EXPECT_NEAR(m.mrr, (1 + 0.5 + 0.25 + 0.1 + 1 / 11.0) / 5, 1e-12);
  EXPECT_NEAR(m.mean_rank, 28.0 / 5, 1e-12);
  EXPECT_NEAR(m.hits_at_1, 0.2, 1e-12);
  EXPECT_NEAR(m.hits_at_3, 0.4, 1e-12);
  EXPECT_NEAR(m.hits_at_10, 0.8, 1e-12);
  EXPECT_EQ(kplug::kge::summarize_ranks({}).count, 0u);
}

TEST(LinkPrediction, RejectsIdsOutsideTheModel) {
  const std::vector<triple> test{{0, 0, 7}};
  kplug::thread_pool pool(1);
  KPLUG_EXPECT_ERROR(kplug::kge::evaluate_link_prediction(line_model(distance_norm::l1), test,
                                                          kplug::kge::triple_filter(test), pool),
                     "outside the model");
}

}  // namespace
