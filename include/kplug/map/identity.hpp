// The identity mapping network, for entity vectors that already live in the
// encoder's word-embedding space (PELT-style entity embeddings built from the
// encoder's own vectors, or vectors trained against it): d_kb == d_model, no
// parameters. Optionally each row is re-scaled to a fixed L2 norm, e.g. the
// mean norm of the encoder's word embeddings (mean_row_norm below), so that a
// spliced entity row has the magnitude the encoder expects of an input row:
//
//     y_i = x_i                          (no target norm)
//     y_i = t * x_i / ||x_i||            (target norm t; an all-zero row maps
//                                         to zeros and passes no gradient)
//
// backward gives dL/dx: grad_y itself, or with re-scaling
//     dL/dx_i = (t / r) * (g_i - x_i (x_i . g_i) / r^2),   r = ||x_i||.
// Norms and dot products are accumulated in double.
#pragma once

#include <algorithm>
#include <cmath>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kplug/core/error.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/map/detail/checks.hpp"
#include "kplug/map/parameter.hpp"

namespace kplug::map {

class identity_mapper {
 public:
  static constexpr std::string_view kind_name = "identity";

  identity_mapper() = default;
  // `dim` >= 1; `target_norm`, when given, must be finite and > 0.
  explicit identity_mapper(index_t dim, std::optional<float> target_norm = std::nullopt);

  index_t input_dim() const noexcept { return dim_; }
  index_t output_dim() const noexcept { return dim_; }
  std::string_view kind() const noexcept { return kind_name; }
  std::optional<float> target_norm() const noexcept { return target_norm_; }

  // x: n x dim, y: n x dim. y may be x itself (in place) but must not
  // partially overlap it.
  void forward(matrix_view<const float> x, matrix_view<float> y) const;
  // grad_x (n x dim) is OVERWRITTEN, or skipped for an empty view; it may be
  // grad_y itself but must not overlap x.
  void backward(matrix_view<const float> x, matrix_view<const float> grad_y, matrix_view<float> grad_x) const;
  // None: the identity mapper is not trained.
  std::vector<parameter> parameters() const { return {}; }

 private:
  index_t dim_ = 0;
  std::optional<float> target_norm_;
};

// The mean L2 norm of the rows of `embeddings` (e.g. an encoder's word
// embedding matrix), the usual target norm. Throws for an empty matrix or a
// non-finite entry (naming its row and column).
float mean_row_norm(matrix_view<const float> embeddings);

// ---------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------

namespace detail {

// Views that are the same buffer, or do not touch at all, are both fine for
// an element-wise operation; anything in between is rejected.
template <class A, class B>
void require_same_or_disjoint(const matrix_view<A>& out, const matrix_view<B>& in, const char* what,
                              const char* out_name, const char* in_name) {
  if (static_cast<const void*>(out.data()) == static_cast<const void*>(in.data()) &&
      out.row_stride() == in.row_stride())
    return;
  require_disjoint(out, in, what, out_name, in_name);
}

// Copies `from` into `to` (same shape) row by row; a row that is already the
// same memory is left alone.
inline void copy_rows(matrix_view<const float> from, matrix_view<float> to) noexcept {
  // Bounded by the destination (equal to the source after the callers'
  // checks), so that GCC's -Warray-bounds sees no write past `to`.
  for (index_t r = 0; r < to.rows(); ++r) {
    const auto in = from.row(r);
    const auto out = to.row(r);
    // Sized by the output (equal to the input after the callers' checks; this
    // form also keeps GCC's -Wstringop-overflow from guessing otherwise).
    if (in.data() != out.data()) std::copy_n(in.begin(), out.size(), out.begin());
  }
}

inline double row_norm(std::span<const float> row) noexcept {
  double s = 0.0;
  for (float v : row) s += static_cast<double>(v) * static_cast<double>(v);
  return std::sqrt(s);
}

}  // namespace detail

inline identity_mapper::identity_mapper(index_t dim, std::optional<float> target_norm)
    : dim_(dim), target_norm_(target_norm) {
  detail::require_positive_dim(dim, "create identity mapper", "dim");
  if (target_norm && !(std::isfinite(*target_norm) && *target_norm > 0.0f))
    throw error("create identity mapper", "target_norm",
                "must be finite and > 0, got " + std::to_string(*target_norm));
}

inline void identity_mapper::forward(matrix_view<const float> x, matrix_view<float> y) const {
  constexpr const char* what = "identity mapper forward";
  detail::require_cols(x, dim_, what, "x");
  detail::require_exact(y, x.rows(), dim_, what, "y");
  detail::require_same_or_disjoint(y, x, what, "y", "x");
  if (!target_norm_) return detail::copy_rows(x, y);
  for (index_t r = 0; r < x.rows(); ++r) {
    const auto in = x.row(r);
    const auto out = y.row(r);
    const double norm = detail::row_norm(in);
    const double scale = norm > 0.0 ? static_cast<double>(*target_norm_) / norm : 0.0;
    for (std::size_t c = 0; c < in.size(); ++c) out[c] = static_cast<float>(scale * static_cast<double>(in[c]));
  }
}

inline void identity_mapper::backward(matrix_view<const float> x, matrix_view<const float> grad_y,
                                      matrix_view<float> grad_x) const {
  constexpr const char* what = "identity mapper backward";
  detail::require_cols(x, dim_, what, "x");
  detail::require_exact(grad_y, x.rows(), dim_, what, "grad_y");
  if (!detail::wanted(grad_x)) return;
  detail::require_exact(grad_x, x.rows(), dim_, what, "grad_x");
  detail::require_disjoint(grad_x, x, what, "grad_x", "x");
  detail::require_same_or_disjoint(grad_x, grad_y, what, "grad_x", "grad_y");
  if (!target_norm_) return detail::copy_rows(grad_y, grad_x);
  for (index_t r = 0; r < x.rows(); ++r) {
    const auto in = x.row(r);
    const auto g = grad_y.row(r);
    const auto out = grad_x.row(r);
    const double norm = detail::row_norm(in);
    if (norm == 0.0) {
      for (float& v : out) v = 0.0f;
      continue;
    }
    double dot = 0.0;
    for (std::size_t c = 0; c < in.size(); ++c) dot += static_cast<double>(in[c]) * static_cast<double>(g[c]);
    const double scale = static_cast<double>(*target_norm_) / norm;
    const double along = dot / (norm * norm);
    for (std::size_t c = 0; c < in.size(); ++c)
      out[c] = static_cast<float>(scale * (static_cast<double>(g[c]) - static_cast<double>(in[c]) * along));
  }
}

inline float mean_row_norm(matrix_view<const float> embeddings) {
  constexpr const char* what = "mean row norm";
  detail::require_storage(embeddings, what, "embeddings");
  if (embeddings.empty()) throw error(what, "embeddings", "has no rows");
  detail::require_all_finite(embeddings, what, "embeddings");
  double sum = 0.0;
  for (index_t r = 0; r < embeddings.rows(); ++r) sum += detail::row_norm(embeddings.row(r));
  return static_cast<float>(sum / static_cast<double>(embeddings.rows()));
}

}  // namespace kplug::map
