// The paper's mapping network: an affine map from knowledge-base space
// (d_kb) to the encoder's word-embedding space (d_model),
//
//     y = x W^T + b        x: n x d_kb, y: n x d_model (row-major batches)
//
// W is stored d_model x d_kb row-major and b as 1 x d_model, exactly the
// layout of PyTorch's nn.Linear(d_kb, d_model): tensors "weight" and "bias".
//
// A batch is one Eigen GEMM written straight into the caller's output (the
// output is first filled with b, which costs what the GEMM's own zero fill
// would), so the mapper adds nothing beyond the product and follows Eigen's
// thread setting (Eigen::setNbThreads / OpenMP). No allocation per call in
// kplug code; Eigen's GEMM may use its own blocking workspace, as any GEMM.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <string_view>
#include <vector>

#include "kplug/core/eigen.hpp"
#include "kplug/core/error.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/map/detail/checks.hpp"
#include "kplug/map/parameter.hpp"

namespace kplug::map {

class affine_mapper {
 public:
  static constexpr std::string_view kind_name = "affine";

  affine_mapper() = default;
  // Zero-initialised W and b (use map/init.hpp to initialise); both dims >= 1.
  affine_mapper(index_t d_kb, index_t d_model);

  index_t input_dim() const noexcept { return weight_.cols(); }
  index_t output_dim() const noexcept { return weight_.rows(); }
  std::string_view kind() const noexcept { return kind_name; }

  // y = x W^T + b. x: n x input_dim (n may be 0), y: n x output_dim, must not
  // share memory with x. Stateless: the same x always gives the same y.
  void forward(matrix_view<const float> x, matrix_view<float> y) const;

  // Given dL/dy for the batch x of a forward call:
  //   grad(weight) += grad_y^T x,  grad(bias) += column sums of grad_y
  //   (parameter gradients ACCUMULATE, so several batches can be summed),
  //   grad_x = grad_y W  (OVERWRITTEN; pass an empty matrix_view<float>{} to skip).
  void backward(matrix_view<const float> x, matrix_view<const float> grad_y, matrix_view<float> grad_x);

  // {"weight" (d_model x d_kb), "bias" (1 x d_model)}: views into this mapper.
  std::vector<parameter> parameters();

  matrix_view<float> weight() noexcept { return weight_.view(); }
  matrix_view<const float> weight() const noexcept { return weight_.view(); }
  matrix_view<float> bias() noexcept { return bias_.view(); }
  matrix_view<const float> bias() const noexcept { return bias_.view(); }
  matrix_view<float> weight_grad() noexcept { return grad_weight_.view(); }
  matrix_view<float> bias_grad() noexcept { return grad_bias_.view(); }

 private:
  matrix<float> weight_;       // d_model x d_kb
  matrix<float> bias_;         // 1 x d_model
  matrix<float> grad_weight_;  // d_model x d_kb
  matrix<float> grad_bias_;    // 1 x d_model
};

namespace detail {

// out = x W^T + b as one GEMM accumulating into a bias-filled output. Shared
// by the affine and MLP mappers; shapes are checked by the callers.
inline void linear_forward(matrix_view<const float> x, matrix_view<const float> w, matrix_view<const float> b,
                           matrix_view<float> out) {
  if (out.rows() == 0) return;
  // Bias fill by plain row copies: Eigen's replicate() pays an integer
  // modulo per coefficient, which cost a third of the GEMM's time here.
  const float* bias = b.data();
  for (index_t r = 0; r < out.rows(); ++r) std::copy_n(bias, out.cols(), out.row(r).data());
  as_eigen(out).noalias() += as_eigen(x) * as_eigen(w).transpose();
}

// Parameter gradients of out = x W^T + b (accumulated) and, when wanted,
// grad_x = grad_out W (overwritten).
inline void linear_backward(matrix_view<const float> x, matrix_view<const float> w,
                            matrix_view<const float> grad_out, matrix_view<float> grad_w,
                            matrix_view<float> grad_b, matrix_view<float> grad_x) {
  if (grad_out.rows() == 0) return;
  const auto gy = as_eigen(grad_out);
  as_eigen(grad_w).noalias() += gy.transpose() * as_eigen(x);
  as_eigen(grad_b) += gy.colwise().sum();
  if (wanted(grad_x)) as_eigen(grad_x).noalias() = gy * as_eigen(w);
}

}  // namespace detail

// ---------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------

inline affine_mapper::affine_mapper(index_t d_kb, index_t d_model) {
  detail::require_positive_dim(d_kb, "create affine mapper", "d_kb");
  detail::require_positive_dim(d_model, "create affine mapper", "d_model");
  weight_ = matrix<float>(d_model, d_kb, 0.0f);
  bias_ = matrix<float>(1, d_model, 0.0f);
  grad_weight_ = matrix<float>(d_model, d_kb, 0.0f);
  grad_bias_ = matrix<float>(1, d_model, 0.0f);
}

inline void affine_mapper::forward(matrix_view<const float> x, matrix_view<float> y) const {
  constexpr const char* what = "affine mapper forward";
  detail::require_cols(x, input_dim(), what, "x");
  detail::require_exact(y, x.rows(), output_dim(), what, "y");
  detail::require_disjoint(y, x, what, "y", "x");
  detail::linear_forward(x, weight_.view(), bias_.view(), y);
}

inline void affine_mapper::backward(matrix_view<const float> x, matrix_view<const float> grad_y,
                                    matrix_view<float> grad_x) {
  constexpr const char* what = "affine mapper backward";
  detail::require_backward_args(x, grad_y, grad_x, input_dim(), output_dim(), what);
  detail::linear_backward(x, weight_.view(), grad_y, grad_weight_.view(), grad_bias_.view(), grad_x);
}

inline std::vector<parameter> affine_mapper::parameters() {
  std::vector<parameter> out;
  out.reserve(2);
  out.push_back({"weight", weight_.view(), grad_weight_.view()});
  out.push_back({"bias", bias_.view(), grad_bias_.view()});
  return out;
}

}  // namespace kplug::map
