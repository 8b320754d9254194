// The closed-form least-squares alignment of init.hpp, checked against an
// independent solver written here: Gauss-Jordan elimination with partial
// pivoting on the UNcentred normal equations of the augmented design [X 1]
// (a different formulation from kplug's centred one), in double.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "kplug/map/affine.hpp"
#include "kplug/map/init.hpp"
#include "map/map_test_support.hpp"

namespace {

using kplug::index_t;
using kplug::matrix;
using namespace kplug_test;
namespace km = kplug::map;

// Returns (d_kb + 1) x d_model coefficients: rows 0..d_kb-1 are W^T, the last
// row is b. `ridge` is added to the first d_kb diagonal entries only (the
// bias is not penalised).
std::vector<std::vector<double>> reference_solve(const matrix<float>& x, const matrix<float>& t, double ridge) {
  const index_t n = x.rows(), p = x.cols() + 1, q = t.cols();
  auto z = [&](index_t i, index_t j) { return j < x.cols() ? static_cast<double>(x(i, j)) : 1.0; };
  std::vector<std::vector<double>> a(static_cast<std::size_t>(p), std::vector<double>(static_cast<std::size_t>(p + q), 0.0));
  for (index_t r = 0; r < p; ++r) {
    for (index_t c = 0; c < p; ++c) {
      double s = 0.0;
      for (index_t i = 0; i < n; ++i) s += z(i, r) * z(i, c);
      a[r][c] = s + (r == c && r < x.cols() ? ridge : 0.0);
    }
    for (index_t c = 0; c < q; ++c) {
      double s = 0.0;
      for (index_t i = 0; i < n; ++i) s += z(i, r) * static_cast<double>(t(i, c));
      a[r][p + c] = s;
    }
  }
  for (index_t col = 0; col < p; ++col) {
    index_t piv = col;
    for (index_t r = col + 1; r < p; ++r)
      if (std::abs(a[r][col]) > std::abs(a[piv][col])) piv = r;
    std::swap(a[col], a[piv]);
    for (index_t r = 0; r < p; ++r) {
      if (r == col) continue;
      const double f = a[r][col] / a[col][col];
      for (index_t c = col; c < p + q; ++c) a[r][c] -= f * a[col][c];
    }
  }
  std::vector<std::vector<double>> coef(static_cast<std::size_t>(p), std::vector<double>(static_cast<std::size_t>(q)));
  for (index_t r = 0; r < p; ++r)
    for (index_t c = 0; c < q; ++c) coef[r][c] = a[r][p + c] / a[r][r];
  return coef;
}

// T = X W^T + b (+ noise), computed in double then rounded.
matrix<float> make_targets(const matrix<float>& x, const matrix<float>& w, const matrix<float>& b, double noise,
                           std::uint64_t seed) {
  matrix<float> t(x.rows(), w.rows());
  test_rng rng(seed);
  for (index_t i = 0; i < x.rows(); ++i)
    for (index_t o = 0; o < w.rows(); ++o) {
      double s = b(0, o);
      for (index_t k = 0; k < x.cols(); ++k) s += static_cast<double>(x(i, k)) * w(o, k);
      t(i, o) = static_cast<float>(s + noise * rng.uniform());
    }
  return t;
}

double frobenius(const matrix<float>& m) {
  double s = 0.0;
  for (index_t r = 0; r < m.rows(); ++r)
    for (float v : m.row(r)) s += static_cast<double>(v) * v;
  return std::sqrt(s);
}

TEST(LeastSquares, RecoversAnExactAffineMapFromNoiselessData) {
  const index_t n = 200, dk = 16, dm = 24;
  const matrix<float> x = random_matrix(n, dk, 1), w = random_matrix(dm, dk, 2), b = random_matrix(1, dm, 3);
  const matrix<float> t = make_targets(x, w, b, 0.0, 4);
  const km::least_squares_fit fit = km::fit_least_squares(x, t);
  EXPECT_EQ(fit.rank, dk);
  ASSERT_EQ(fit.weight.rows(), dm);
  ASSERT_EQ(fit.weight.cols(), dk);
  for (index_t o = 0; o < dm; ++o) {
    for (index_t k = 0; k < dk; ++k) EXPECT_NEAR(fit.weight(o, k), w(o, k), 1e-4);
    EXPECT_NEAR(fit.bias(0, o), b(0, o), 1e-4);
  }
  EXPECT_LT(fit.rms_residual, 1e-6);
}

TEST(LeastSquares, MatchesIndependentNormalEquationsOnNoisyData) {
  const index_t n = 300, dk = 8, dm = 5;
  const matrix<float> x = random_matrix(n, dk, 11, -2.0f, 3.0f);  // not centred: exercises the intercept
  const matrix<float> t = make_targets(x, random_matrix(dm, dk, 12), random_matrix(1, dm, 13), 0.5, 14);
  const km::least_squares_fit fit = km::fit_least_squares(x, t);
  const auto ref = reference_solve(x, t, 0.0);
  for (index_t o = 0; o < dm; ++o) {
    for (index_t k = 0; k < dk; ++k) EXPECT_NEAR(fit.weight(o, k), ref[k][o], 1e-5) << o << "," << k;
    EXPECT_NEAR(fit.bias(0, o), ref[dk][o], 1e-5) << o;
  }
  // The residual is that of the optimum: uniform noise in +-0.5 (sd 0.289)
  // less what the 9 fitted coefficients absorb, ~0.284.
  EXPECT_GT(fit.rms_residual, 0.25);
  EXPECT_LT(fit.rms_residual, 0.32);
}

TEST(LeastSquares, RidgeShrinksWeightsAndLeavesTheBiasUnpenalised) {
  const index_t n = 120, dk = 6, dm = 4;
  const matrix<float> x = random_matrix(n, dk, 21);
  const matrix<float> t = make_targets(x, random_matrix(dm, dk, 22), random_matrix(1, dm, 23), 0.3, 24);
  double previous = std::numeric_limits<double>::infinity();
  for (double ridge : {0.0, 1.0, 10.0, 100.0}) {
    const km::least_squares_fit fit = km::fit_least_squares(x, t, ridge);
    const double norm = frobenius(fit.weight);
    EXPECT_LT(norm, previous) << "ridge " << ridge;
    previous = norm;
  }
  const km::least_squares_fit fit = km::fit_least_squares(x, t, 10.0);
  const auto ref = reference_solve(x, t, 10.0);
  for (index_t o = 0; o < dm; ++o) {
    for (index_t k = 0; k < dk; ++k) EXPECT_NEAR(fit.weight(o, k), ref[k][o], 1e-5);
    EXPECT_NEAR(fit.bias(0, o), ref[dk][o], 1e-5);
  }
  // With an enormous ridge W -> 0 while b -> mean(T), not 0.
  const km::least_squares_fit flat = km::fit_least_squares(x, t, 1e12);
  EXPECT_LT(frobenius(flat.weight), 1e-8);
  for (index_t o = 0; o < dm; ++o) {
    double mean = 0.0;
    for (index_t i = 0; i < n; ++i) mean += t(i, o);
    EXPECT_NEAR(flat.bias(0, o), mean / n, 1e-5);
  }
}

TEST(LeastSquares, DuplicateColumnGivesTheMinimumNormSolution) {
  const index_t n = 50;
  matrix<float> x = random_matrix(n, 3, 31);
  for (index_t i = 0; i < n; ++i) x(i, 1) = x(i, 0);  // column 1 duplicates column 0: rank 2
  matrix<float> w(2, 3), b(1, 2, 0.25f);
  w(0, 0) = 1.0f, w(0, 1) = 0.0f, w(0, 2) = -1.0f;
  w(1, 0) = 0.5f, w(1, 1) = 1.5f, w(1, 2) = 2.0f;
  const matrix<float> t = make_targets(x, w, b, 0.0, 32);
  const km::least_squares_fit fit = km::fit_least_squares(x, t);
  EXPECT_EQ(fit.rank, 2);
  // Only w0 + w1 is identifiable; the minimum-norm split is half each.
  EXPECT_NEAR(fit.weight(0, 0), 0.5, 1e-4);
  EXPECT_NEAR(fit.weight(0, 1), 0.5, 1e-4);
  EXPECT_NEAR(fit.weight(1, 0), 1.0, 1e-4);
  EXPECT_NEAR(fit.weight(1, 1), 1.0, 1e-4);
  EXPECT_NEAR(fit.weight(1, 2), 2.0, 1e-4);
  EXPECT_NEAR(fit.bias(0, 1), 0.25, 1e-4);
  EXPECT_LT(fit.rms_residual, 1e-5);
}

TEST(LeastSquares, FewerEntitiesThanDimensionsInterpolates) {
  const matrix<float> x = random_matrix(3, 5, 41), t = random_matrix(3, 2, 42);
  const km::least_squares_fit fit = km::fit_least_squares(x, t);
  EXPECT_EQ(fit.rank, 2);  // three centred points span a plane
  EXPECT_LT(fit.rms_residual, 1e-5);
}

TEST(LeastSquares, SingleEntityMapsToItsTargetThroughTheBias) {
  const matrix<float> x = random_matrix(1, 4, 51), t = random_matrix(1, 3, 52);
  const km::least_squares_fit fit = km::fit_least_squares(x, t);
  EXPECT_EQ(fit.rank, 0);
  EXPECT_LT(frobenius(fit.weight), 1e-12);
  for (index_t o = 0; o < 3; ++o) EXPECT_FLOAT_EQ(fit.bias(0, o), t(0, o));
}

TEST(LeastSquares, InitLeastSquaresWritesTheMapper) {
  const index_t n = 64, dk = 4, dm = 6;
  const matrix<float> x = random_matrix(n, dk, 61);
  const matrix<float> t = make_targets(x, random_matrix(dm, dk, 62), random_matrix(1, dm, 63), 0.0, 64);
  km::affine_mapper m(dk, dm);
  km::init_least_squares(m, x, t);
  matrix<float> y(n, dm);
  m.forward(x, y);
  for (index_t i = 0; i < n; ++i)
    for (index_t o = 0; o < dm; ++o) EXPECT_NEAR(y(i, o), t(i, o), 1e-4);
}

// --- bad input ----------------------------------------------------------------

TEST(LeastSquares, RejectsZeroEntities) {
  KPLUG_EXPECT_ERROR(km::fit_least_squares(matrix<float>(0, 4), matrix<float>(0, 3)), "x", "no rows");
}

TEST(LeastSquares, RejectsRowCountMismatch) {
  KPLUG_EXPECT_ERROR(km::fit_least_squares(matrix<float>(5, 4), matrix<float>(4, 3)), "targets",
                     "4 rows for 5");
}

TEST(LeastSquares, RejectsNegativeOrNonFiniteRidge) {
  const matrix<float> x = random_matrix(5, 2, 1), t = random_matrix(5, 2, 2);
  KPLUG_EXPECT_ERROR(km::fit_least_squares(x, t, -1.0), "ridge");
  KPLUG_EXPECT_ERROR(km::fit_least_squares(x, t, std::numeric_limits<double>::quiet_NaN()), "ridge");
}

TEST(LeastSquares, RejectsNonFiniteEntriesNamingTheirPlace) {
  matrix<float> x = random_matrix(5, 2, 1), t = random_matrix(5, 2, 2);
  x(3, 1) = std::numeric_limits<float>::infinity();
  KPLUG_EXPECT_ERROR(km::fit_least_squares(x, t), "x row 3, column 1", "NaN or infinite");
  x(3, 1) = 0.0f;
  t(4, 0) = std::numeric_limits<float>::quiet_NaN();
  KPLUG_EXPECT_ERROR(km::fit_least_squares(x, t), "targets row 4, column 0");
}

TEST(LeastSquares, InitLeastSquaresRejectsMapperDimMismatch) {
  km::affine_mapper m(4, 6);
  const matrix<float> x5(10, 5), x4(10, 4), t6(10, 6), t7(10, 7);
  KPLUG_EXPECT_ERROR(km::init_least_squares(m, x5, t6), "x", "d_kb is 4");
  KPLUG_EXPECT_ERROR(km::init_least_squares(m, x4, t7), "targets", "d_model is 6");
}

}  // namespace
