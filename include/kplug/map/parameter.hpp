// A trainable tensor of a mapping network, as the optimizer and the plugin
// file see it: a name (the safetensors tensor name) and two views, the value
// and its gradient, into storage that the mapper owns. Mappers hand these out
// from parameters(); nothing here allocates or owns memory.
//
// Lifetime: the views stay valid while the mapper that produced them is alive
// and not assigned to (moving a mapper keeps its buffers, copying does not:
// call parameters() again on the copy).
#pragma once

#include <cmath>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include "kplug/core/error.hpp"
#include "kplug/core/matrix_view.hpp"

namespace kplug::map {

struct parameter {
  std::string name;           // e.g. "weight", "bias", "0.weight"
  matrix_view<float> value;   // rows x cols, row-major
  matrix_view<float> grad;    // same shape as value; backward() accumulates into it
};

// Sets every gradient to zero (call once per optimizer step, before the
// backward passes whose gradients should be summed).
void zero_grad(std::span<const parameter> params) noexcept;

// sqrt(sum of the squares of every gradient entry), accumulated in double so
// that the value does not depend on summation order beyond double rounding.
// NaN/Inf gradients give a non-finite result.
double global_grad_norm(std::span<const parameter> params) noexcept;

// The (row, col) of the first NaN or +-Inf in `v` in row-major order, or
// nullopt when every entry is finite.
std::optional<std::pair<index_t, index_t>> first_non_finite(matrix_view<const float> v) noexcept;

// Throws unless value and grad of every parameter have the same shape and
// non-null storage; `what` names the operation in the message.
void check_parameters(std::span<const parameter> params, const char* what);

// ---------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------

inline void zero_grad(std::span<const parameter> params) noexcept {
  for (const parameter& p : params)
    for (index_t r = 0; r < p.grad.rows(); ++r)
      for (float& g : p.grad.row(r)) g = 0.0f;
}

inline double global_grad_norm(std::span<const parameter> params) noexcept {
  double sum = 0.0;
  for (const parameter& p : params)
    for (index_t r = 0; r < p.grad.rows(); ++r)
      for (float g : p.grad.row(r)) sum += static_cast<double>(g) * static_cast<double>(g);
  return std::sqrt(sum);
}

inline std::optional<std::pair<index_t, index_t>> first_non_finite(matrix_view<const float> v) noexcept {
  for (index_t r = 0; r < v.rows(); ++r) {
    const auto row = v.row(r);
    for (std::size_t c = 0; c < row.size(); ++c)
      if (!std::isfinite(row[c])) return std::pair<index_t, index_t>{r, static_cast<index_t>(c)};
  }
  return std::nullopt;
}

namespace detail {
// Throws, naming the row and column of `name`'s first NaN or infinite entry.
inline void require_all_finite(matrix_view<const float> v, const char* what, const char* name) {
  if (const auto bad = first_non_finite(v))
    throw error(what, std::string(name) + " row " + std::to_string(bad->first) + ", column " +
                          std::to_string(bad->second),
                "entry is NaN or infinite");
}
}  // namespace detail

inline void check_parameters(std::span<const parameter> params, const char* what) {
  for (std::size_t i = 0; i < params.size(); ++i) {
    const parameter& p = params[i];
    const std::string where = "parameter '" + p.name + "' (#" + std::to_string(i) + ")";
    if (p.value.rows() != p.grad.rows() || p.value.cols() != p.grad.cols())
      throw error(what, where,
                  "value is " + std::to_string(p.value.rows()) + " x " + std::to_string(p.value.cols()) +
                      " but its gradient is " + std::to_string(p.grad.rows()) + " x " +
                      std::to_string(p.grad.cols()));
    if (!p.value.empty() && (p.value.data() == nullptr || p.grad.data() == nullptr))
      throw error(what, where, "value or gradient has no storage");
  }
}

}  // namespace kplug::map
