// Loss functions against finite differences and hand-computed values.
#include <gtest/gtest.h>

#include <cmath>
#include <kplug/train/objective.hpp>
#include <vector>

namespace {

using kplug::matrix;
using kplug::train::target;

std::vector<const target*> pointers(const std::vector<target>& t) {
  std::vector<const target*> p;
  for (const auto& x : t) p.push_back(&x);
  return p;
}

// Central differences of `loss` in double around every logit.
template <class Objective>
void expect_gradient_matches(const Objective& objective, matrix<float> logits, const std::vector<target>& t,
                             double tolerance) {
  const auto ptrs = pointers(t);
  matrix<float> grad(logits.rows(), logits.cols()), scratch(logits.rows(), logits.cols());
  objective(logits.view(), ptrs, grad.view());
  const float h = 1e-2f;
  for (kplug::index_t r = 0; r < logits.rows(); ++r)
    for (kplug::index_t c = 0; c < logits.cols(); ++c) {
      const float keep = logits(r, c);
      logits(r, c) = keep + h;
      const double up = objective(logits.view(), ptrs, scratch.view());
      logits(r, c) = keep - h;
      const double down = objective(logits.view(), ptrs, scratch.view());
      logits(r, c) = keep;
      // float evaluation points are exact here, so the step is exactly 2h
      EXPECT_NEAR(grad(r, c), (up - down) / (2.0 * h), tolerance) << "at " << r << "," << c;
    }
}

TEST(CrossEntropy, MatchesHandComputedValue) {
  matrix<float> logits(1, 3);
  logits(0, 0) = 1.0f;
  logits(0, 1) = 2.0f;
  logits(0, 2) = 3.0f;
  const std::vector<target> t{{0, -1, 2, {}}};
  matrix<float> grad(1, 3);
  const double loss = kplug::train::cross_entropy{}(logits.view(), pointers(t), grad.view());
  const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  EXPECT_NEAR(loss, std::log(z) - 3.0, 1e-6);  // exponentials are taken in float
  EXPECT_NEAR(grad(0, 0), std::exp(1.0) / z, 1e-7);
  EXPECT_NEAR(grad(0, 2), std::exp(3.0) / z - 1.0, 1e-7);
}

TEST(CrossEntropy, GradientMatchesFiniteDifferences) {
  matrix<float> logits(3, 5);
  for (kplug::index_t r = 0; r < 3; ++r)
    for (kplug::index_t c = 0; c < 5; ++c) logits(r, c) = static_cast<float>(std::sin(1.7 * double(r * 5 + c)) * 3.0);
  const std::vector<target> t{{0, -1, 4, {}}, {1, -1, 0, {}}, {2, -1, 2, {}}};
  // Truncation error of central differences with h = 1e-2 on softmax is ~1e-5.
  expect_gradient_matches(kplug::train::cross_entropy{}, logits, t, 5e-5);
}

TEST(CrossEntropy, StableForHugeLogits) {
  matrix<float> logits(1, 2);
  logits(0, 0) = 1e30f;
  logits(0, 1) = -1e30f;
  const std::vector<target> t{{0, -1, 0, {}}};
  matrix<float> grad(1, 2);
  EXPECT_EQ(kplug::train::cross_entropy{}(logits.view(), pointers(t), grad.view()), 0.0);
  EXPECT_TRUE(std::isfinite(grad(0, 1)));
}

TEST(CrossEntropy, RejectsLabelOutsideTheOutputs) {
  matrix<float> logits(1, 3), grad(1, 3);
  const std::vector<target> t{{0, -1, 3, {}}};
  EXPECT_THROW(kplug::train::cross_entropy{}(logits.view(), pointers(t), grad.view()), kplug::error);
  const std::vector<target> two{{0, -1, 0, {}}, {0, -1, 0, {}}};
  EXPECT_THROW(kplug::train::cross_entropy{}(logits.view(), pointers(two), grad.view()), kplug::error);
}

TEST(SquaredError, ValueAndGradient) {
  matrix<float> y(2, 2);
  y(0, 0) = 1.0f, y(0, 1) = 2.0f, y(1, 0) = -1.0f, y(1, 1) = 0.5f;
  const std::vector<target> t{{0, -1, 0, {0.0f, 0.0f}}, {1, -1, 0, {1.0f, 0.5f}}};
  matrix<float> grad(2, 2);
  const double loss = kplug::train::squared_error{}(y.view(), pointers(t), grad.view());
  EXPECT_NEAR(loss, (0.5 * (1 + 4) + 0.5 * 4) / 2.0, 1e-12);
  expect_gradient_matches(kplug::train::squared_error{}, y, t, 1e-5);
  const std::vector<target> short_values{{0, -1, 0, {1.0f}}, {1, -1, 0, {1.0f, 2.0f}}};
  EXPECT_THROW(kplug::train::squared_error{}(y.view(), pointers(short_values), grad.view()), kplug::error);
}

TEST(Accuracy, CountsArgMaxHits) {
  matrix<float> y(2, 3, 0.0f);
  y(0, 2) = 1.0f;
  y(1, 0) = 1.0f;
  const std::vector<target> t{{0, -1, 2, {}}, {1, -1, 1, {}}};
  EXPECT_DOUBLE_EQ(kplug::train::accuracy(y.view(), pointers(t)), 0.5);
}

}  // namespace
