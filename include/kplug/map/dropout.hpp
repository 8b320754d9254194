// Dropout on the mapper's input (the knowledge vectors) for training, as the
// paper's experiments vary it. Inverted dropout: in training each entry is
// kept with probability 1 - p and scaled by 1 / (1 - p), so evaluation is the
// identity and needs no rescaling. The mask of the last forward is kept for
// backward. Masks come from kplug's own seeded generator: the same seed and
// the same sequence of calls give the same masks everywhere.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kplug/core/error.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/map/detail/checks.hpp"
#include "kplug/core/random.hpp"

namespace kplug::map {

class input_dropout {
 public:
  // p in [0, 1); anything else (NaN included) throws.
  explicit input_dropout(float p = 0.0f, std::uint64_t seed = 0);

  float p() const noexcept { return p_; }
  bool training() const noexcept { return training_; }
  void set_training(bool on) noexcept { training_ = on; }

  // y = x * mask / (1 - p) in training (a fresh mask per call), y = x
  // otherwise. x and y have the same shape; y may be x itself.
  void forward(matrix_view<const float> x, matrix_view<float> y);
  // grad_x = grad_y * (mask of the last forward) / (1 - p); grad_y must have
  // that forward's shape. grad_x may be grad_y itself.
  void backward(matrix_view<const float> grad_y, matrix_view<float> grad_x) const;

  // 1 where the last forward kept an entry (row-major, rows x cols of it).
  const std::vector<std::uint8_t>& mask() const noexcept { return mask_; }

 private:
  float p_ = 0.0f;
  float scale_ = 1.0f;
  bool training_ = true;
  xoshiro256 rng_{0};
  std::vector<std::uint8_t> mask_;
  index_t rows_ = 0, cols_ = 0;
  bool has_forward_ = false;
  bool scale_applied_ = false;  // whether the last forward was a training pass
};

// ---------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------

inline input_dropout::input_dropout(float p, std::uint64_t seed) : p_(p), rng_(seed) {
  if (!(p >= 0.0f && p < 1.0f))
    throw error("create input dropout", "p", "must be in [0, 1), got " + std::to_string(p));
  scale_ = static_cast<float>(1.0 / (1.0 - static_cast<double>(p)));
}

inline void input_dropout::forward(matrix_view<const float> x, matrix_view<float> y) {
  constexpr const char* what = "input dropout forward";
  detail::require_storage(x, what, "x");
  detail::require_exact(y, x.rows(), x.cols(), what, "y");
  if (!(y.data() == x.data() && y.row_stride() == x.row_stride())) detail::require_disjoint(y, x, what, "y", "x");
  rows_ = x.rows();
  cols_ = x.cols();
  mask_.assign(static_cast<std::size_t>(rows_ * cols_), 1);  // capacity is reused across calls
  has_forward_ = true;
  const bool drop = training_ && p_ > 0.0f;
  const double p = static_cast<double>(p_);
  std::size_t k = 0;
  for (index_t r = 0; r < rows_; ++r) {
    const auto in = x.row(r);
    const auto out = y.row(r);
    for (std::size_t c = 0; c < in.size(); ++c, ++k) {
      if (drop && rng_.uniform() < p) {
        mask_[k] = 0;
        out[c] = 0.0f;
      } else {
        out[c] = drop ? in[c] * scale_ : in[c];
      }
    }
  }
  scale_applied_ = drop;
}

inline void input_dropout::backward(matrix_view<const float> grad_y, matrix_view<float> grad_x) const {
  constexpr const char* what = "input dropout backward";
  if (!has_forward_) throw error(what, "", "no forward pass to take the mask from");
  detail::require_exact(grad_y, rows_, cols_, what, "grad_y");
  detail::require_exact(grad_x, rows_, cols_, what, "grad_x");
  if (!(grad_x.data() == grad_y.data() && grad_x.row_stride() == grad_y.row_stride()))
    detail::require_disjoint(grad_x, grad_y, what, "grad_x", "grad_y");
  const float s = scale_applied_ ? scale_ : 1.0f;
  std::size_t k = 0;
  for (index_t r = 0; r < rows_; ++r) {
    const auto g = grad_y.row(r);
    const auto out = grad_x.row(r);
    for (std::size_t c = 0; c < g.size(); ++c, ++k) out[c] = mask_[k] ? g[c] * s : 0.0f;
  }
}

}  // namespace kplug::map
