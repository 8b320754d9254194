// Data-parallel map-tuning over MPI, run as `mpirun -np 2 test_mpi`: both
// ranks train together, and each also trains alone on the whole data in the
// same process, so every test compares the two-rank result with the
// one-process result on the same global batches. Every test calls the
// collectives in the same order on every rank (EXPECT, not ASSERT, around
// them), so a failure cannot leave one rank waiting.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <kplug/distributed/mpi.hpp>
#include <string>
#include <vector>

#include "mpi/failing_rank.hpp"
#include "support/small_tuning.hpp"

namespace {

using namespace kplug_test::small_tuning;
namespace distributed = kplug::distributed;

const distributed::mpi_context* mpi = nullptr;

double max_abs_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = a.size() == b.size() ? 0.0 : INFINITY;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i)
    worst = std::max(worst, std::abs(double(a[i]) - double(b[i])));
  return worst;
}

// Rank 0's values, on every rank.
std::vector<float> rank0s(std::vector<float> v) {
  MPI_Bcast(v.data(), static_cast<int>(v.size()), MPI_FLOAT, 0, mpi->comm());
  return v;
}

TEST(DataParallel, RunsOnTwoRanks) { EXPECT_EQ(mpi->size(), 2) << "run this program with mpirun -np 2"; }

TEST(DataParallel, FitGivesTheOneProcessParameters) {
  // Shuffled, evaluated every 3 steps with the best parameters restored at
  // the end, and a last global batch of one example (rank 1's share empty).
  const auto kb = make_kb(5);
  const auto train_set = make_examples(45, 21), dev_set = make_examples(13, 22);

  auto alone_model = make_model();
  auto alone = make_mapper();
  const std::vector<float> initial = flat(alone);
  train::map_tuner single(alone_model, kb, alone, make_planner(), options(), train::squared_error{});
  const train::tuning_result expected = single.fit(train_set, dev_set);

  auto model = make_model();
  auto mapper = make_mapper();
  train::map_tuner tuner(model, kb, mapper, make_planner(), options(), train::squared_error{});
  tuner.on_reduce(distributed::allreduce_gradients(*mpi));
  const train::tuning_result got = tuner.fit(train_set, dev_set);

  // The stated tolerance, on parameters that moved far more than it.
  EXPECT_GT(max_abs_difference(flat(alone), initial), 1e-2);
  EXPECT_LT(max_abs_difference(flat(mapper), flat(alone)), 1e-5);
  // Every rank took the same steps: the same parameters, bit for bit.
  EXPECT_EQ(flat(mapper), rank0s(flat(mapper)));
  EXPECT_EQ(got.steps, expected.steps);
  ASSERT_EQ(got.dev_history.size(), expected.dev_history.size());
  for (std::size_t i = 0; i < got.dev_history.size(); ++i) {
    EXPECT_NEAR(got.dev_history[i].loss, expected.dev_history[i].loss, 1e-6 * expected.dev_history[i].loss);
    EXPECT_EQ(got.dev_history[i].targets, expected.dev_history[i].targets);
  }
  EXPECT_NEAR(got.last_train_loss, expected.last_train_loss, 1e-6 * expected.last_train_loss);
  // Batches of 11, 11, 11, 11 and 1 examples, three epochs: rank 0 runs a
  // share of each (6, 6, 6, 6, 1), rank 1 of the first four (5, 5, 5, 5).
  EXPECT_EQ(alone_model.calls().backward, 15u);
  EXPECT_EQ(model.calls().backward, mpi->rank() == 0 ? 15u : 12u);
  EXPECT_GT(tuner.timing().reduce_seconds, 0.0);
}

TEST(DataParallel, AStepUsesTheGradientOfTheGlobalMeanLoss) {
  // Ranks hold different target counts; the gradient and the loss of a step
  // must be those of the mean over ALL targets, as one process computes.
  const auto kb = make_kb(5);
  const auto data = make_examples(7, 31);
  std::vector<const train::example*> batch;
  for (const auto& e : data) batch.push_back(&e);
  auto o = options();
  o.optimizer.lr = 0.0;  // the step leaves the gradient in place and changes nothing else

  auto alone_model = make_model();
  auto alone = make_mapper();
  train::map_tuner single(alone_model, kb, alone, make_planner(), o, train::squared_error{});
  const double expected = single.step(batch);

  auto model = make_model();
  auto mapper = make_mapper();
  train::map_tuner tuner(model, kb, mapper, make_planner(), o, train::squared_error{});
  tuner.on_reduce(distributed::allreduce_gradients(*mpi));
  const double got = tuner.step(batch);

  EXPECT_NEAR(got, expected, 1e-6 * expected);
  const std::vector<float> g = flat_grads(mapper), want = flat_grads(alone);
  double scale = 0.0;
  for (float v : want) scale = std::max(scale, double(std::abs(v)));
  EXPECT_GT(scale, 1e-3);
  EXPECT_LT(max_abs_difference(g, want), 1e-6 * scale);
  EXPECT_EQ(model.calls().backward, 1u);  // both ranks ran a share (4 and 3 examples)
}

TEST(DataParallel, EvaluateSumsTheSharesOfEveryRank) {
  const auto kb = make_kb(5);
  const auto data = make_examples(23, 41);
  auto alone_model = make_model(), model = make_model();
  auto alone = make_mapper(), mapper = make_mapper();
  train::map_tuner single(alone_model, kb, alone, make_planner(), options());
  train::map_tuner tuner(model, kb, mapper, make_planner(), options());
  tuner.on_reduce(distributed::allreduce_gradients(*mpi));
  const train::evaluation expected = single.evaluate(data), got = tuner.evaluate(data);
  EXPECT_NEAR(got.loss, expected.loss, 1e-6 * expected.loss);
  EXPECT_EQ(got.targets, expected.targets);
  EXPECT_EQ(got.examples, expected.examples);
  ASSERT_TRUE(got.accuracy && expected.accuracy);
  EXPECT_DOUBLE_EQ(*got.accuracy, *expected.accuracy);
}

TEST(DataParallel, OnlyRankZeroReportsProgressAndWritesCheckpoints) {
  const auto kb = make_kb(5);
  const auto train_set = make_examples(45, 21), dev_set = make_examples(13, 22);
  auto model = make_model();
  auto mapper = make_mapper();
  train::map_tuner tuner(model, kb, mapper, make_planner(), options(), train::squared_error{});
  tuner.on_reduce(distributed::allreduce_gradients(*mpi));
  int progress = 0, checkpoints = 0;
  tuner.on_checkpoint([&](kplug::map::any_mapper&, const train::evaluation&) { ++checkpoints; });
  tuner.fit(train_set, dev_set, [&](const train::progress&) { ++progress; });
  if (mpi->is_root()) {
    EXPECT_GT(progress, 0);
    EXPECT_GT(checkpoints, 0);
  } else {
    EXPECT_EQ(progress, 0);
    EXPECT_EQ(checkpoints, 0);
  }
}

// fit on every rank, rank 1 set up differently by `differ`; returns the
// error every rank must throw.
template <class Differ>
kplug::error disagreement(Differ differ) {
  auto kb = make_kb(5);
  auto train_set = make_examples(45, 21);
  auto mapper = make_mapper();
  if (mpi->rank() == 1) differ(kb, train_set, mapper);
  auto model = make_model();
  train::map_tuner tuner(model, kb, mapper, make_planner(), options(), train::squared_error{});
  tuner.on_reduce(distributed::allreduce_gradients(*mpi));
  try {
    tuner.fit(train_set);
  } catch (const kplug::error& e) {
    return e;
  }
  ADD_FAILURE() << "rank " << mpi->rank() << " trained although the ranks disagree";
  return kplug::error("", "", "");
}

TEST(DataParallel, RanksThatDisagreeOnTheKnowledgeBaseAreNamed) {
  const kplug::error e = disagreement([](auto& kb, auto&, auto&) { kb = make_kb(6); });
  EXPECT_EQ(e.where(), "rank 1 of 2") << e.what();
  EXPECT_NE(e.why().find("disagrees with rank 0 on the knowledge base"), std::string::npos) << e.what();
}

TEST(DataParallel, RanksThatDisagreeOnTheMapperAreNamed) {
  const kplug::error e = disagreement([](auto&, auto&, auto& mapper) { mapper = make_mapper(1, "mlp"); });
  EXPECT_EQ(e.where(), "rank 1 of 2") << e.what();
  EXPECT_NE(e.why().find("on the mapper: rank 0 has 'mapper: affine 5 -> 8"), std::string::npos) << e.what();
  EXPECT_NE(e.why().find("rank 1 has 'mapper: mlp 5 -> 8"), std::string::npos) << e.what();
}

TEST(DataParallel, RanksThatStartFromOtherParametersOrDataAreNamed) {
  kplug::error e = disagreement([](auto&, auto&, auto& mapper) { mapper = make_mapper(2); });
  EXPECT_NE(e.why().find("on the mapper parameter values"), std::string::npos) << e.what();
  e = disagreement([](auto&, auto& data, auto&) { data.pop_back(); });
  EXPECT_NE(e.why().find("on the training examples"), std::string::npos) << e.what();
  e = disagreement([](auto&, auto& data, auto&) { data[3].targets[0].label += 1; });
  EXPECT_NE(e.why().find("on the training examples"), std::string::npos) << e.what();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && kplug_test::is_failing_rank_mode(argv[1])) return kplug_test::failing_rank_main(argc, argv);
  distributed::mpi_context context(argc, argv);
  mpi = &context;
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
