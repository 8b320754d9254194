// Helpers for the mapping-network tests: deterministic test data, naive
// reference implementations written with plain loops in double (independent
// of the Eigen code under test), and a finite-difference gradient checker.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include "kplug/core/error.hpp"
#include "kplug/core/matrix_view.hpp"

namespace kplug_test {

using kplug::index_t;
using kplug::matrix;
using kplug::matrix_view;

// A tiny LCG for test data, deliberately unrelated to kplug's generator.
class test_rng {
 public:
  explicit test_rng(std::uint64_t seed) : s_(seed * 2862933555777941757ull + 3037000493ull) {}
  // Uniform in [lo, hi).
  float uniform(float lo = -1.0f, float hi = 1.0f) {
    s_ = s_ * 6364136223846793005ull + 1442695040888963407ull;
    const double u = static_cast<double>(s_ >> 11) / 9007199254740992.0;
    return static_cast<float>(lo + (hi - lo) * u);
  }

 private:
  std::uint64_t s_;
};

inline matrix<float> random_matrix(index_t rows, index_t cols, std::uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  matrix<float> m(rows, cols);
  test_rng rng(seed);
  for (index_t r = 0; r < rows; ++r)
    for (index_t c = 0; c < cols; ++c) m(r, c) = rng.uniform(lo, hi);
  return m;
}

inline void copy_into(matrix_view<float> dst, const matrix<float>& src) {
  for (index_t r = 0; r < src.rows(); ++r)
    for (index_t c = 0; c < src.cols(); ++c) dst(r, c) = src(r, c);
}

// y = x W^T + b with loops in double: the reference every forward is checked against.
inline std::vector<double> naive_linear(const matrix_view<const float>& x, const matrix_view<const float>& w,
                                        const matrix_view<const float>& b) {
  std::vector<double> y(static_cast<std::size_t>(x.rows() * w.rows()));
  for (index_t i = 0; i < x.rows(); ++i)
    for (index_t o = 0; o < w.rows(); ++o) {
      double s = b(0, o);
      for (index_t k = 0; k < x.cols(); ++k) s += static_cast<double>(x(i, k)) * static_cast<double>(w(o, k));
      y[static_cast<std::size_t>(i * w.rows() + o)] = s;
    }
  return y;
}

// L(theta) = sum_ij weights_ij * y_ij(theta): its gradient with respect to y
// is `weights`, so backward(x, weights, ...) must give dL/dtheta.
inline double weighted_sum(const matrix<float>& y, const matrix<float>& weights) {
  double s = 0.0;
  for (index_t r = 0; r < y.rows(); ++r)
    for (index_t c = 0; c < y.cols(); ++c) s += static_cast<double>(y(r, c)) * static_cast<double>(weights(r, c));
  return s;
}

// Central finite differences of `loss` with respect to every entry of
// `target` (perturbed in place and restored), compared with `analytic`.
// Tolerance: |fd - analytic| <= abs_tol + rel_tol * |analytic|.
inline void expect_gradient_matches(matrix_view<float> target, const matrix_view<const float>& analytic,
                                    const std::function<double()>& loss, float h, double abs_tol, double rel_tol,
                                    const std::string& label) {
  ASSERT_EQ(target.rows(), analytic.rows()) << label;
  ASSERT_EQ(target.cols(), analytic.cols()) << label;
  int failures = 0;
  for (index_t r = 0; r < target.rows(); ++r)
    for (index_t c = 0; c < target.cols(); ++c) {
      const float saved = target(r, c);
      target(r, c) = saved + h;
      const double up = loss();
      target(r, c) = saved - h;
      const double down = loss();
      target(r, c) = saved;
      // The step actually taken in float, not the nominal h.
      const double step = static_cast<double>(saved + h) - static_cast<double>(saved - h);
      const double fd = (up - down) / step;
      const double an = analytic(r, c);
      if (std::abs(fd - an) > abs_tol + rel_tol * std::abs(an) && failures++ < 10)
        ADD_FAILURE() << label << " (" << r << ", " << c << "): finite difference " << fd << ", analytic " << an;
    }
}

}  // namespace kplug_test

// Expects `statement` to throw kplug::error whose message contains each of
// the given substrings.
#define KPLUG_EXPECT_ERROR(statement, ...)                                                   \
  do {                                                                                        \
    bool kplug_thrown_ = false;                                                               \
    try {                                                                                     \
      statement;                                                                              \
    } catch (const kplug::error& kplug_e_) {                                                  \
      kplug_thrown_ = true;                                                                   \
      const std::string kplug_msg_ = kplug_e_.what();                                         \
      for (const char* kplug_part_ : std::initializer_list<const char*>{__VA_ARGS__})          \
        EXPECT_NE(kplug_msg_.find(kplug_part_), std::string::npos)                            \
            << "message \"" << kplug_msg_ << "\" lacks \"" << kplug_part_ << "\"";             \
    }                                                                                         \
    EXPECT_TRUE(kplug_thrown_) << "expected kplug::error from " #statement;                   \
  } while (0)
