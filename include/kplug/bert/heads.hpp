// Heads over chosen rows of the last hidden states (the backend evaluates a
// head only at the positions a caller asks for: masked tokens for MLM, [CLS]
// or a mention marker for classification).
//
//   masked_lm_head:       logits = LN(act(h Wt^T + bt)) D^T + b
//                         (D is the word-embedding matrix when tied)
//   classification_head:  logits = z Wc^T + bc, z = tanh(h Wp^T + bp) with a
//                         pooler (sequence classification), z = h without
//                         (token classification, or a linear probe)
//
// backward() maps dL/d(logits) to dL/d(h) using what forward() cached.
#pragma once

#include <Eigen/Core>
#include <optional>
#include <vector>

#include "kplug/bert/config.hpp"
#include "kplug/bert/kernels.hpp"
#include "kplug/bert/weights.hpp"
#include "kplug/core/error.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/core/thread_pool.hpp"

namespace kplug::bert {

struct head_activations {
  matrix<float> pre;   // MLM: transform pre-activation; classifier: tanh output of the pooler
  matrix<float> xhat;  // MLM: transform output, normalised
  std::vector<float> rstd;
};

class masked_lm_head {
 public:
  masked_lm_head(const masked_lm_weights& w, activation act, float eps) : w_(w), act_(act), eps_(eps) {}

  index_t output_size() const noexcept { return w_.decoder.rows(); }

  void forward(thread_pool& pool, matrix_view<const float> h, matrix_view<float> logits,
               head_activations* cache = nullptr) {
    const index_t p = h.rows();
    const index_t hidden = h.cols();
    head_activations& a = cache ? *cache : scratch_;
    a.pre.resize(p, hidden);
    a.xhat.resize(p, hidden);
    a.rstd.resize(static_cast<std::size_t>(p));
    u_.resize(p, hidden);
    kernels::linear(pool, h, w_.transform, a.pre.view());
    as_eigen(u_.view()) = as_eigen(a.pre.view());
    kernels::activate(pool, act_, u_.view());
    kernels::layer_norm(pool, u_.view(), w_.transform_norm, eps_, u_.view(), a.xhat.view(), a.rstd);
    kernels::linear(pool, u_.view(), linear_weights{w_.decoder, w_.bias}, logits);
  }

  void backward(thread_pool& pool, const head_activations& a, matrix_view<const float> dlogits,
                matrix_view<float> dh) {
    const index_t p = dlogits.rows();
    u_.resize(p, a.pre.cols());
    kernels::linear_backward_input(pool, dlogits, linear_weights{w_.decoder, w_.bias}, u_.view(), false);
    kernels::layer_norm_backward(pool, u_.view(), a.xhat.view(), a.rstd, w_.transform_norm, u_.view());
    kernels::activation_backward(pool, act_, a.pre.view(), u_.view());
    kernels::linear_backward_input(pool, u_.view(), w_.transform, dh, false);
  }

 private:
  masked_lm_weights w_;
  activation act_;
  float eps_;
  head_activations scratch_;
  matrix<float> u_;
};

class classification_head {
 public:
  // `pooler` (hidden x hidden), when given, is applied with tanh first.
  classification_head(std::optional<linear_weights> pooler, linear_weights classifier)
      : pooler_(pooler), classifier_(classifier) {
    const index_t hidden = classifier.weight.cols();
    if (classifier.bias.size() != static_cast<std::size_t>(classifier.weight.rows()))
      throw error("building a classification head", "classifier.bias",
                  "has " + std::to_string(classifier.bias.size()) + " entries for " +
                      std::to_string(classifier.weight.rows()) + " labels");
    if (pooler && (pooler->weight.rows() != hidden || pooler->weight.cols() != hidden ||
                   pooler->bias.size() != static_cast<std::size_t>(hidden)))
      throw error("building a classification head", "pooler",
                  "must be " + std::to_string(hidden) + " x " + std::to_string(hidden) + " with a bias of " +
                      std::to_string(hidden));
  }

  index_t output_size() const noexcept { return classifier_.weight.rows(); }
  index_t input_size() const noexcept { return classifier_.weight.cols(); }
  bool has_pooler() const noexcept { return pooler_.has_value(); }

  void forward(thread_pool& pool, matrix_view<const float> h, matrix_view<float> logits,
               head_activations* cache = nullptr) {
    if (!pooler_) {
      kernels::linear(pool, h, classifier_, logits);
      return;
    }
    head_activations& a = cache ? *cache : scratch_;
    a.pre.resize(h.rows(), h.cols());
    kernels::linear(pool, h, *pooler_, a.pre.view());
    as_eigen(a.pre.view()).array() = as_eigen(a.pre.view()).array().tanh();
    kernels::linear(pool, a.pre.view(), classifier_, logits);
  }

  void backward(thread_pool& pool, const head_activations& a, matrix_view<const float> dlogits,
                matrix_view<float> dh) {
    if (!pooler_) {
      kernels::linear_backward_input(pool, dlogits, classifier_, dh, false);
      return;
    }
    dz_.resize(dlogits.rows(), classifier_.weight.cols());
    kernels::linear_backward_input(pool, dlogits, classifier_, dz_.view(), false);
    as_eigen(dz_.view()).array() *= 1.0f - as_eigen(a.pre.view()).array().square();
    kernels::linear_backward_input(pool, dz_.view(), *pooler_, dh, false);
  }

 private:
  std::optional<linear_weights> pooler_;
  linear_weights classifier_;
  head_activations scratch_;
  matrix<float> dz_;
};

}  // namespace kplug::bert
