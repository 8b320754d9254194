// A two-layer MLP mapping network, d_kb -> hidden -> d_model:
//
//     h = x W1^T + b1,   a = act(h),   y = a W2^T + b2
//
// act is GELU (exact, erf form: x * Phi(x), as PyTorch's default nn.GELU),
// ReLU (derivative 0 at 0, as PyTorch) or tanh. The tensor names follow
// PyTorch's nn.Sequential(nn.Linear, act, nn.Linear) so a state dict maps one
// to one: "0.weight" (hidden x d_kb), "0.bias" (1 x hidden), "2.weight"
// (d_model x hidden), "2.bias" (1 x d_model).
//
// forward() caches h and a (2 x n x hidden floats, buffers reused across
// calls, grown only when a larger batch arrives). backward(x, ...) uses that
// cache when x is the same view (pointer, rows, cols, stride) as the last
// forward's, and otherwise recomputes h and a from x first (one more GEMM),
// so backward is always correct for the x it is given — except when the
// caller overwrote x in place between forward and backward, which cannot be
// detected. Because of the cache an mlp_mapper is not safe to share between
// threads; copy it per thread.
#pragma once

#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "kplug/core/eigen.hpp"
#include "kplug/core/enum_names.hpp"
#include "kplug/core/error.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/map/affine.hpp"
#include "kplug/map/detail/checks.hpp"
#include "kplug/map/parameter.hpp"

namespace kplug::map {

enum class activation { gelu, relu, tanh };

// "gelu", "relu", "tanh" — the names stored in plugin metadata.
std::string_view activation_name(activation a) noexcept;
// The inverse of activation_name; anything else throws naming the value.
activation parse_activation(std::string_view name);

class mlp_mapper {
 public:
  static constexpr std::string_view kind_name = "mlp";

  mlp_mapper() = default;
  // Zero-initialised weights (use map/init.hpp); all dims >= 1.
  mlp_mapper(index_t d_kb, index_t hidden, index_t d_model, activation act = activation::gelu);

  index_t input_dim() const noexcept { return w1_.cols(); }
  index_t hidden_dim() const noexcept { return w1_.rows(); }
  index_t output_dim() const noexcept { return w2_.rows(); }
  activation activation_kind() const noexcept { return act_; }
  std::string_view kind() const noexcept { return kind_name; }

  // y = act(x W1^T + b1) W2^T + b2; x: n x input_dim, y: n x output_dim,
  // disjoint from x. Caches h and a for backward.
  void forward(matrix_view<const float> x, matrix_view<float> y);

  // Parameter gradients ACCUMULATE; grad_x (n x input_dim) is OVERWRITTEN,
  // or skipped when an empty matrix_view<float>{} is passed.
  void backward(matrix_view<const float> x, matrix_view<const float> grad_y, matrix_view<float> grad_x);

  // {"0.weight", "0.bias", "2.weight", "2.bias"}: views into this mapper.
  std::vector<parameter> parameters();

  matrix_view<float> weight1() noexcept { return w1_.view(); }
  matrix_view<float> bias1() noexcept { return b1_.view(); }
  matrix_view<float> weight2() noexcept { return w2_.view(); }
  matrix_view<float> bias2() noexcept { return b2_.view(); }
  matrix_view<const float> weight1() const noexcept { return w1_.view(); }
  matrix_view<const float> bias1() const noexcept { return b1_.view(); }
  matrix_view<const float> weight2() const noexcept { return w2_.view(); }
  matrix_view<const float> bias2() const noexcept { return b2_.view(); }

 private:
  // h = x W1^T + b1 and a = act(h) into the cache, remembering which x.
  void compute_hidden(matrix_view<const float> x);
  bool cache_matches(const matrix_view<const float>& x) const noexcept {
    return cache_valid_ && x.data() == cached_x_ && x.rows() == cached_rows_ && x.cols() == cached_cols_ &&
           x.row_stride() == cached_stride_;
  }

  activation act_ = activation::gelu;
  matrix<float> w1_, b1_, w2_, b2_;
  matrix<float> g_w1_, g_b1_, g_w2_, g_b2_;
  matrix<float> pre_;      // n x hidden: h
  matrix<float> post_;     // n x hidden: act(h)
  matrix<float> grad_h_;   // n x hidden scratch for backward
  bool cache_valid_ = false;
  const float* cached_x_ = nullptr;
  index_t cached_rows_ = 0, cached_cols_ = 0, cached_stride_ = 0;
};

namespace detail {

// The activation and its derivative, in float (the precision of the network).
inline float activate(activation a, float h) noexcept {
  switch (a) {
    case activation::gelu: return 0.5f * h * (1.0f + std::erf(h * 0.70710678118654752f));
    case activation::relu: return h > 0.0f ? h : 0.0f;
    case activation::tanh: return std::tanh(h);
  }
  return h;
}
inline float activate_derivative(activation a, float h) noexcept {
  switch (a) {
    case activation::gelu:  // Phi(h) + h * phi(h)
      return 0.5f * (1.0f + std::erf(h * 0.70710678118654752f)) +
             h * 0.39894228040143268f * std::exp(-0.5f * h * h);
    case activation::relu: return h > 0.0f ? 1.0f : 0.0f;
    case activation::tanh: {
      const float t = std::tanh(h);
      return 1.0f - t * t;
    }
  }
  return 1.0f;
}

}  // namespace detail

// ---------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------

namespace detail {
inline constexpr enum_names<activation, 3> activation_names{
    {{{activation::gelu, "gelu"}, {activation::relu, "relu"}, {activation::tanh, "tanh"}}}};
}  // namespace detail

inline std::string_view activation_name(activation a) noexcept { return detail::activation_names.name(a); }

inline activation parse_activation(std::string_view name) {
  return detail::activation_names.parse(name, "parse activation", "activation");
}

inline mlp_mapper::mlp_mapper(index_t d_kb, index_t hidden, index_t d_model, activation act) : act_(act) {
  constexpr const char* what = "create MLP mapper";
  detail::require_positive_dim(d_kb, what, "d_kb");
  detail::require_positive_dim(hidden, what, "hidden");
  detail::require_positive_dim(d_model, what, "d_model");
  if (!detail::activation_names.contains(act))
    throw error(what, "activation", "value " + std::to_string(static_cast<int>(act)) + " is not an activation");
  w1_ = matrix<float>(hidden, d_kb, 0.0f);
  b1_ = matrix<float>(1, hidden, 0.0f);
  w2_ = matrix<float>(d_model, hidden, 0.0f);
  b2_ = matrix<float>(1, d_model, 0.0f);
  g_w1_ = matrix<float>(hidden, d_kb, 0.0f);
  g_b1_ = matrix<float>(1, hidden, 0.0f);
  g_w2_ = matrix<float>(d_model, hidden, 0.0f);
  g_b2_ = matrix<float>(1, d_model, 0.0f);
}

inline void mlp_mapper::compute_hidden(matrix_view<const float> x) {
  const index_t n = x.rows();
  pre_.resize(n, hidden_dim());
  post_.resize(n, hidden_dim());
  detail::linear_forward(x, w1_.view(), b1_.view(), pre_.view());
  const std::size_t count = static_cast<std::size_t>(n * hidden_dim());
  const float* h = pre_.data();
  float* a = post_.data();
  for (std::size_t i = 0; i < count; ++i) a[i] = detail::activate(act_, h[i]);
  cache_valid_ = true;
  cached_x_ = x.data();
  cached_rows_ = x.rows();
  cached_cols_ = x.cols();
  cached_stride_ = x.row_stride();
}

inline void mlp_mapper::forward(matrix_view<const float> x, matrix_view<float> y) {
  constexpr const char* what = "MLP mapper forward";
  detail::require_cols(x, input_dim(), what, "x");
  detail::require_exact(y, x.rows(), output_dim(), what, "y");
  detail::require_disjoint(y, x, what, "y", "x");
  cache_valid_ = false;  // stays false if anything below throws
  compute_hidden(x);
  detail::linear_forward(post_.view(), w2_.view(), b2_.view(), y);
}

inline void mlp_mapper::backward(matrix_view<const float> x, matrix_view<const float> grad_y,
                                 matrix_view<float> grad_x) {
  constexpr const char* what = "MLP mapper backward";
  detail::require_backward_args(x, grad_y, grad_x, input_dim(), output_dim(), what);
  const index_t n = x.rows();
  if (n == 0) return;
  if (!cache_matches(x)) compute_hidden(x);

  // Second layer: parameter grads and dL/da into grad_h_.
  grad_h_.resize(n, hidden_dim());
  detail::linear_backward(post_.view(), w2_.view(), grad_y, g_w2_.view(), g_b2_.view(), grad_h_.view());
  // Through the activation: dL/dh = dL/da * act'(h).
  const std::size_t count = static_cast<std::size_t>(n * hidden_dim());
  const float* h = pre_.data();
  float* g = grad_h_.data();
  for (std::size_t i = 0; i < count; ++i) g[i] *= detail::activate_derivative(act_, h[i]);
  // First layer.
  detail::linear_backward(x, w1_.view(), grad_h_.view(), g_w1_.view(), g_b1_.view(), grad_x);
}

inline std::vector<parameter> mlp_mapper::parameters() {
  std::vector<parameter> out;
  out.reserve(4);
  out.push_back({"0.weight", w1_.view(), g_w1_.view()});
  out.push_back({"0.bias", b1_.view(), g_b1_.view()});
  out.push_back({"2.weight", w2_.view(), g_w2_.view()});
  out.push_back({"2.bias", b2_.view(), g_b2_.view()});
  return out;
}

}  // namespace kplug::map
