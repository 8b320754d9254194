// The linear probe of `kplug train-head`: softmax regression with the
// library's cross-entropy and Adam over fixed features.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kplug/core/random.hpp"
#include "kplug/tasks/linear_probe.hpp"
#include "support/temp_dir.hpp"

namespace {

using kplug::index_t;
namespace tasks = kplug::tasks;

// Class c's points lie around 3 * e_c in 4 dimensions: linearly separable.
tasks::labelled_features clusters(std::uint64_t seed, index_t per_class) {
  kplug::xoshiro256 rng(seed);
  tasks::labelled_features f{kplug::matrix<float>(3 * per_class, 4), {}};
  for (index_t i = 0; i < f.x.rows(); ++i) {
    const auto c = static_cast<std::int32_t>(i % 3);
    for (index_t j = 0; j < 4; ++j)
      f.x(i, j) = static_cast<float>((j == c ? 3.0 : 0.0) + (rng.uniform() - 0.5));
    f.y.push_back(c);
  }
  return f;
}

TEST(LinearProbe, LearnsSeparableClassesAndKeepsTheBestEpoch) {
  const auto train = clusters(1, 20), dev = clusters(2, 10);
  tasks::linear_probe_options o;
  o.epochs = 40;
  o.batch_size = 8;
  o.lr = 5e-2;
  std::vector<tasks::probe_epoch> seen;
  const tasks::probe_result r =
      tasks::train_linear_probe(train, dev, 3, o, [&](const tasks::probe_epoch& e) { seen.push_back(e); });
  ASSERT_EQ(seen.size(), 40u);
  EXPECT_LT(seen.back().loss, seen.front().loss * 0.5);
  EXPECT_DOUBLE_EQ(r.dev_accuracy, 1.0);
  EXPECT_DOUBLE_EQ(tasks::probe_accuracy(r.head, dev), r.dev_accuracy);
  // The first epoch that reached the best accuracy is the one kept.
  int first_best = 0;
  for (const auto& e : seen)
    if (first_best == 0 && e.dev_accuracy == 1.0) first_best = e.epoch;
  EXPECT_EQ(r.epoch, first_best);
  EXPECT_EQ(seen.back().best_epoch, first_best);
  // The head's arg-max, computed here, gives the accuracy probe_accuracy reports.
  std::size_t right = 0;
  for (index_t i = 0; i < dev.x.rows(); ++i) {
    int best = 0;
    double best_logit = -1e30;
    for (index_t c = 0; c < 3; ++c) {
      double z = r.head.bias(0, c);
      for (index_t j = 0; j < 4; ++j) z += static_cast<double>(r.head.weight(c, j)) * dev.x(i, j);
      if (z > best_logit) best_logit = z, best = static_cast<int>(c);
    }
    right += best == dev.y[static_cast<std::size_t>(i)];
  }
  EXPECT_EQ(right, dev.y.size());
}

TEST(LinearProbe, TheSeedDecidesTheResult) {
  const auto train = clusters(1, 5), dev = clusters(2, 3);
  tasks::linear_probe_options o;
  o.epochs = 3;
  const auto a = tasks::train_linear_probe(train, dev, 3, o), b = tasks::train_linear_probe(train, dev, 3, o);
  o.seed = 2;
  const auto c = tasks::train_linear_probe(train, dev, 3, o);
  EXPECT_EQ(a.head.weight(0, 0), b.head.weight(0, 0));
  EXPECT_NE(a.head.weight(0, 0), c.head.weight(0, 0));
}

TEST(LinearProbe, MismatchedFeaturesAreRefused) {
  auto train = clusters(1, 5);
  const auto dev = clusters(2, 3);
  train.y.pop_back();
  KPLUG_EXPECT_ERROR(tasks::train_linear_probe(train, dev, 3, {}), "features", "disagree");
}

}  // namespace
