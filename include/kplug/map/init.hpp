// Initialising mapping networks.
//
// - Xavier/Glorot uniform and normal for weights (nn.Linear layout:
//   fan_in = cols, fan_out = rows), zeros for biases. Random numbers come from
//   kplug's own xoshiro256** with explicit conversions (core/random.hpp),
//   so a seed gives the same weights with any standard library.
// - The closed-form least-squares alignment (E-BERT's trick, a warm start for
//   map-tuning): given n knowledge vectors X (n x d_kb) and target rows T
//   (n x d_model, e.g. the mean word-piece embedding of each entity's name),
//
//       W, b = argmin ||X W^T + 1 b - T||^2 + ridge ||W||^2     (b not penalised)
//
//   Method: X and T are centred (so b drops out: b = mean(T) - mean(X) W^T),
//   then the d_kb x d_kb normal equations
//       (Xc^T Xc + ridge I) W^T = Xc^T Tc
//   are accumulated in double over blocks of 1,024 rows (memory stays
//   O(d_kb * (d_kb + d_model)) however many entities there are) and solved:
//     ridge > 0:  LDLT (the matrix is symmetric positive definite);
//     ridge == 0: Eigen's CompleteOrthogonalDecomposition, rank-revealing,
//                 giving the minimum-norm W when X is rank deficient
//                 (n <= d_kb, duplicate or constant columns). pinv(Xc^T Xc)
//                 Xc^T = pinv(Xc), so this is the minimum-norm least-squares
//                 solution. Forming Xc^T Xc squares Xc's condition number;
//                 directions with singular values below ~1e-7 of the largest
//                 are treated as null, which is the resolution float32 inputs
//                 carry anyway.
#pragma once

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <Eigen/QR>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kplug/core/eigen.hpp"
#include "kplug/core/enum_names.hpp"
#include "kplug/core/error.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/map/affine.hpp"
#include "kplug/map/detail/checks.hpp"
#include "kplug/core/random.hpp"
#include "kplug/map/parameter.hpp"

namespace kplug::map {

// U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)).
void xavier_uniform(matrix_view<float> w, std::uint64_t seed, float gain = 1.0f);
// N(0, s^2), s = gain * sqrt(2 / (fan_in + fan_out)).
void xavier_normal(matrix_view<float> w, std::uint64_t seed, float gain = 1.0f);
void fill_zeros(matrix_view<float> w) noexcept;

enum class init_scheme { zeros, xavier_uniform, xavier_normal };
std::string_view init_scheme_name(init_scheme s) noexcept;  // "zeros", "xavier_uniform", "xavier_normal"
init_scheme parse_init_scheme(std::string_view name);

// Every parameter of a mapper: names ending in "bias" get zeros, every other
// matrix the scheme, parameter i drawing from its own stream derived from
// (seed, i) so that adding a parameter does not shift the others' numbers.
template <class Mapper>
  requires requires(Mapper& m) { m.parameters(); }
void initialize(Mapper& mapper, init_scheme scheme, std::uint64_t seed, float gain = 1.0f);

struct least_squares_fit {
  matrix<float> weight;         // d_model x d_kb (nn.Linear layout)
  matrix<float> bias;           // 1 x d_model
  index_t rank = 0;             // numerical rank of the centred X (d_kb when ridge > 0)
  double rms_residual = 0.0;    // sqrt(||X W^T + b - T||^2 / (n d_model)), in double
};

// The closed-form fit described above. x: n x d_kb, targets: n x d_model,
// n >= 1, every entry finite, ridge finite and >= 0; otherwise throws.
least_squares_fit fit_least_squares(matrix_view<const float> x, matrix_view<const float> targets,
                                    double ridge = 0.0);

// Fits and writes W, b into `mapper` (dims must agree); returns the fit.
least_squares_fit init_least_squares(affine_mapper& mapper, matrix_view<const float> x,
                                     matrix_view<const float> targets, double ridge = 0.0);

// ---------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------

namespace detail {

inline void require_gain(float gain, const char* what) {
  if (!(std::isfinite(gain) && gain > 0.0f))
    throw error(what, "gain", "must be finite and > 0, got " + std::to_string(gain));
}

inline void require_init_target(const matrix_view<float>& w, const char* what) {
  require_storage(w, what, "w");
  if (w.empty()) throw error(what, "w", "is empty (" + shape_string(w.rows(), w.cols()) + ")");
}

// Checks w and gain, then sets every entry of w to scale * draw(rng), in row
// order from the stream `seed`, where scale = gain * sqrt(k / (fan_in + fan_out)).
template <class Draw>
void fill_xavier(matrix_view<float> w, std::uint64_t seed, float gain, double k, const char* what, Draw draw) {
  require_init_target(w, what);
  require_gain(gain, what);
  const double scale = static_cast<double>(gain) * std::sqrt(k / static_cast<double>(w.rows() + w.cols()));
  xoshiro256 rng(seed);
  for (index_t r = 0; r < w.rows(); ++r)
    for (float& v : w.row(r)) v = static_cast<float>(scale * draw(rng));
}

}  // namespace detail

inline void xavier_uniform(matrix_view<float> w, std::uint64_t seed, float gain) {
  detail::fill_xavier(w, seed, gain, 6.0, "Xavier uniform initialisation",
                      [](xoshiro256& rng) { return 2.0 * rng.uniform() - 1.0; });
}

inline void xavier_normal(matrix_view<float> w, std::uint64_t seed, float gain) {
  detail::fill_xavier(w, seed, gain, 2.0, "Xavier normal initialisation",
                      [](xoshiro256& rng) { return rng.normal(); });
}

inline void fill_zeros(matrix_view<float> w) noexcept {
  for (index_t r = 0; r < w.rows(); ++r)
    for (float& v : w.row(r)) v = 0.0f;
}

namespace detail {
inline constexpr enum_names<init_scheme, 3> init_scheme_names{{{{init_scheme::zeros, "zeros"},
                                                                {init_scheme::xavier_uniform, "xavier_uniform"},
                                                                {init_scheme::xavier_normal, "xavier_normal"}}}};
}  // namespace detail

inline std::string_view init_scheme_name(init_scheme s) noexcept { return detail::init_scheme_names.name(s); }

inline init_scheme parse_init_scheme(std::string_view name) {
  return detail::init_scheme_names.parse(name, "parse initialisation scheme", "scheme");
}

template <class Mapper>
  requires requires(Mapper& m) { m.parameters(); }
void initialize(Mapper& mapper, init_scheme scheme, std::uint64_t seed, float gain) {
  detail::require_gain(gain, "initialise mapper");
  if (!detail::init_scheme_names.contains(scheme))
    throw error("initialise mapper", "scheme", "value " + std::to_string(static_cast<int>(scheme)) +
                                                   " is not an initialisation scheme");
  const auto params = mapper.parameters();
  for (std::size_t i = 0; i < params.size(); ++i) {
    const parameter& p = params[i];
    const bool is_bias = p.name.size() >= 4 && std::string_view(p.name).substr(p.name.size() - 4) == "bias";
    std::uint64_t mix = seed ^ (0xD1B54A32D192ED03ull * (static_cast<std::uint64_t>(i) + 1));
    const std::uint64_t stream = splitmix64(mix);
    if (is_bias || scheme == init_scheme::zeros || p.value.empty())
      fill_zeros(p.value);
    else if (scheme == init_scheme::xavier_uniform)
      xavier_uniform(p.value, stream, gain);
    else
      xavier_normal(p.value, stream, gain);
  }
}

inline least_squares_fit fit_least_squares(matrix_view<const float> x, matrix_view<const float> targets,
                                           double ridge) {
  constexpr const char* what = "least-squares alignment";
  detail::require_storage(x, what, "x");
  detail::require_storage(targets, what, "targets");
  if (x.rows() != targets.rows())
    throw error(what, "targets",
                "has " + std::to_string(targets.rows()) + " rows for " + std::to_string(x.rows()) +
                    " knowledge vectors (x)");
  if (x.rows() == 0) throw error(what, "x", "no rows: at least one (vector, target) pair is needed");
  if (x.cols() == 0) throw error(what, "x", "rows are 0 wide");
  if (targets.cols() == 0) throw error(what, "targets", "rows are 0 wide");
  if (!(std::isfinite(ridge) && ridge >= 0.0))
    throw error(what, "ridge", "must be finite and >= 0, got " + std::to_string(ridge));
  detail::require_all_finite(x, what, "x");
  detail::require_all_finite(targets, what, "targets");

  using mat = Eigen::MatrixXd;
  using row_vec = Eigen::RowVectorXd;
  const index_t n = x.rows(), dk = x.cols(), dm = targets.cols();
  const auto ex = as_eigen(x);
  const auto et = as_eigen(targets);
  constexpr index_t block = 1024;

  // Pass 1: means, in double.
  row_vec mean_x = row_vec::Zero(dk), mean_t = row_vec::Zero(dm);
  for (index_t r0 = 0; r0 < n; r0 += block) {
    const index_t m = std::min(block, n - r0);
    mean_x += ex.middleRows(r0, m).cast<double>().colwise().sum();
    mean_t += et.middleRows(r0, m).cast<double>().colwise().sum();
  }
  mean_x /= static_cast<double>(n);
  mean_t /= static_cast<double>(n);

  // Pass 2: the centred normal equations.
  mat gram = mat::Zero(dk, dk), rhs = mat::Zero(dk, dm);
  mat xb, tb;
  for (index_t r0 = 0; r0 < n; r0 += block) {
    const index_t m = std::min(block, n - r0);
    xb = ex.middleRows(r0, m).cast<double>().rowwise() - mean_x;
    tb = et.middleRows(r0, m).cast<double>().rowwise() - mean_t;
    gram.noalias() += xb.transpose() * xb;
    rhs.noalias() += xb.transpose() * tb;
  }

  mat wt(dk, dm);  // W^T
  least_squares_fit fit;
  if (ridge > 0.0) {
    gram.diagonal().array() += ridge;
    Eigen::LDLT<mat> ldlt(gram);
    if (ldlt.info() != Eigen::Success)
      throw error(what, "ridge " + std::to_string(ridge), "the regularised normal equations could not be factored");
    wt = ldlt.solve(rhs);
    fit.rank = dk;
  } else {
    Eigen::CompleteOrthogonalDecomposition<mat> cod(gram);
    wt = cod.solve(rhs);
    fit.rank = cod.rank();
  }
  const row_vec b = mean_t - mean_x * wt;
  if (!wt.allFinite() || !b.allFinite())
    throw error(what, "solution", "is not finite (the inputs are too badly scaled for double precision)");

  fit.weight = matrix<float>(dm, dk);
  fit.bias = matrix<float>(1, dm);
  as_eigen(fit.weight.view()) = wt.transpose().cast<float>();
  as_eigen(fit.bias.view()) = b.cast<float>();

  // Pass 3: residual of the solution as it will be used (float W, b).
  const mat wf = as_eigen(fit.weight.view()).cast<double>().transpose();
  const row_vec bf = as_eigen(fit.bias.view()).cast<double>();
  double sq = 0.0;
  for (index_t r0 = 0; r0 < n; r0 += block) {
    const index_t m = std::min(block, n - r0);
    tb = (ex.middleRows(r0, m).cast<double>() * wf).rowwise() + bf;
    tb -= et.middleRows(r0, m).cast<double>();
    sq += tb.squaredNorm();
  }
  fit.rms_residual = std::sqrt(sq / (static_cast<double>(n) * static_cast<double>(dm)));
  return fit;
}

inline least_squares_fit init_least_squares(affine_mapper& mapper, matrix_view<const float> x,
                                            matrix_view<const float> targets, double ridge) {
  constexpr const char* what = "least-squares initialisation of an affine mapper";
  if (x.cols() != mapper.input_dim())
    throw error(what, "x", "rows are " + std::to_string(x.cols()) + " wide, the mapper's d_kb is " +
                               std::to_string(mapper.input_dim()));
  if (targets.cols() != mapper.output_dim())
    throw error(what, "targets", "rows are " + std::to_string(targets.cols()) +
                                     " wide, the mapper's d_model is " + std::to_string(mapper.output_dim()));
  least_squares_fit fit = fit_least_squares(x, targets, ridge);
  as_eigen(mapper.weight()) = as_eigen(fit.weight.view());
  as_eigen(mapper.bias()) = as_eigen(fit.bias.view());
  return fit;
}

}  // namespace kplug::map
