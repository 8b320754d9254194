// Training objectives over a frozen model's outputs at the target rows.
//
// objective<O>: o(outputs, targets, grad) -> double
//   outputs: n x output_size (the backend's forward at the target rows),
//   targets: n entries, grad: n x output_size, overwritten with
//   d(loss)/d(outputs). The loss is the mean over the n targets, so the
//   learning rate does not depend on how many targets a batch has.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <concepts>
#include <optional>
#include <span>
#include <string>

#include "kplug/core/error.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/train/example.hpp"

namespace kplug::train {

template <class O>
concept objective = requires(const O& o, matrix_view<const float> outputs, std::span<const target* const> targets,
                             matrix_view<float> grad) {
  { o(outputs, targets, grad) } -> std::convertible_to<double>;
};

namespace detail {
inline void check_objective_shapes(matrix_view<const float> outputs, std::size_t n, matrix_view<float> grad,
                                   const char* what) {
  if (outputs.rows() != static_cast<index_t>(n))
    throw error(what, "outputs", std::to_string(outputs.rows()) + " rows for " + std::to_string(n) + " targets");
  require_shape(grad, outputs.rows(), outputs.cols(), what, "grad");
}

// The frame of a mean loss: checks the shapes, then for each target r calls
// add_row(r, inv_n, total), which adds target r's loss to `total` and writes
// row r of grad (already divided by n: inv_n = 1/n); returns total / n, or 0
// for no targets.
template <class AddRow>
double mean_over_targets(matrix_view<const float> outputs, std::span<const target* const> targets,
                         matrix_view<float> grad, const char* what, AddRow add_row) {
  check_objective_shapes(outputs, targets.size(), grad, what);
  if (targets.empty()) return 0.0;
  const double inv_n = 1.0 / static_cast<double>(targets.size());
  double total = 0.0;
  for (std::size_t r = 0; r < targets.size(); ++r) add_row(r, inv_n, total);
  return total * inv_n;
}
}  // namespace detail

// Softmax cross-entropy with hard labels (MMLM over the vocabulary, or task
// classes), computed in double from the max-shifted logits.
struct cross_entropy {
  double operator()(matrix_view<const float> logits, std::span<const target* const> targets,
                    matrix_view<float> grad) const {
    constexpr const char* what = "cross-entropy loss";
    return detail::mean_over_targets(logits, targets, grad, what, [&](std::size_t r, double inv_n, double& total) {
      const auto row = logits.row(static_cast<index_t>(r));
      const std::int32_t label = targets[r]->label;
      if (label < 0 || label >= logits.cols())
        throw error(what, "targets[" + std::to_string(r) + "].label",
                    "label " + std::to_string(label) + " is outside [0, " + std::to_string(logits.cols()) + ")");
      // Vectorised float exp over the (max-shifted) row: an MLM row is ~30k
      // wide and this loop is the loss's whole cost.
      const Eigen::Map<const Eigen::ArrayXf> x(row.data(), static_cast<Eigen::Index>(row.size()));
      const auto g = grad.row(static_cast<index_t>(r));
      Eigen::Map<Eigen::ArrayXf> e(g.data(), static_cast<Eigen::Index>(g.size()));
      const float peak = x.maxCoeff();
      e = (x - peak).exp();
      const double sum = static_cast<double>(e.sum());
      const double log_sum = std::log(sum);
      total += log_sum - (static_cast<double>(row[static_cast<std::size_t>(label)]) - peak);
      e *= static_cast<float>(inv_n / sum);
      g[static_cast<std::size_t>(label)] -= static_cast<float>(inv_n);
    });
  }
};

// Half the squared distance to regression targets (distillation from a
// teacher's outputs, or recovering a known mapping in tests).
struct squared_error {
  double operator()(matrix_view<const float> outputs, std::span<const target* const> targets,
                    matrix_view<float> grad) const {
    constexpr const char* what = "squared-error loss";
    return detail::mean_over_targets(outputs, targets, grad, what, [&](std::size_t r, double inv_n, double& total) {
      const auto& want = targets[r]->values;
      if (static_cast<index_t>(want.size()) != outputs.cols())
        throw error(what, "targets[" + std::to_string(r) + "].values",
                    "has " + std::to_string(want.size()) + " values for outputs " + std::to_string(outputs.cols()) +
                        " wide");
      const auto y = outputs.row(static_cast<index_t>(r));
      const auto g = grad.row(static_cast<index_t>(r));
      for (std::size_t c = 0; c < y.size(); ++c) {
        const double d = static_cast<double>(y[c]) - want[c];
        total += 0.5 * d * d;
        g[c] = static_cast<float>(d * inv_n);
      }
    });
  }
};

// Fraction of targets whose arg-max output is their label (classification).
inline double accuracy(matrix_view<const float> outputs, std::span<const target* const> targets) {
  if (targets.empty()) return 0.0;
  std::size_t right = 0;
  for (std::size_t r = 0; r < targets.size(); ++r) {
    const auto row = outputs.row(static_cast<index_t>(r));
    const auto best = std::max_element(row.begin(), row.end()) - row.begin();
    right += best == targets[r]->label;
  }
  return static_cast<double>(right) / static_cast<double>(targets.size());
}

}  // namespace kplug::train
