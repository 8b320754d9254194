// Heads over chosen rows of the last hidden states on the GPU, mirroring
// bert/heads.hpp:
//
//   masked_lm:       logits = LN(act(h Wt^T + bt)) D^T + b   (D tied or not)
//   classification:  logits = z Wc^T + bc, z = tanh(h Wp^T + bp) with a
//                    pooler, z = h without
//
// backward() maps dL/d(logits) to dL/d(h) using what forward() kept.
#pragma once

#include <optional>

#include "kplug/backend/cuda/kernels.cuh"
#include "kplug/backend/cuda/memory.cuh"
#include "kplug/backend/cuda/weights.cuh"
#include "kplug/bert/config.hpp"

namespace kplug::cuda {

struct device_head_activations {
  device_matrix pre;   // MLM: transform pre-activation; classifier: tanh output of the pooler
  device_matrix xhat;  // MLM: transform output, normalised
  device_matrix rstd;
};

class device_masked_lm_head {
 public:
  device_masked_lm_head(const device_masked_lm& w, bert::activation act, float eps) : w_(w), act_(act), eps_(eps) {}

  index_t output_size() const noexcept { return w_.decoder.out; }

  void forward(cudaStream_t s, cublasHandle_t blas, const float* h, index_t p, float* logits,
               device_head_activations* cache) {
    const index_t hidden = w_.transform.in;
    device_head_activations& a = cache ? *cache : scratch_;
    a.pre.resize(p, hidden);
    a.xhat.resize(p, hidden);
    a.rstd.resize(p, 1);
    u_.resize(p, hidden);
    kernels::linear(blas, h, p, hidden, w_.transform.weight, hidden, u_.data());
    kernels::bias_activation(s, u_.data(), w_.transform.bias, p, hidden, true, act_, false, a.pre.data());
    kernels::layer_norm(s, p, hidden, u_.data(), nullptr, w_.transform_norm.gamma, w_.transform_norm.beta, eps_,
                        u_.data(), a.xhat.data(), a.rstd.data());
    kernels::linear(blas, u_.data(), p, hidden, w_.decoder.weight, w_.decoder.out, logits);
    kernels::bias_activation(s, logits, w_.decoder.bias, p, w_.decoder.out, false, act_, false, nullptr);
  }

  void backward(cudaStream_t s, cublasHandle_t blas, const device_head_activations& a, const float* dlogits,
                index_t p, float* dh) {
    const index_t hidden = w_.transform.in;
    u_.resize(p, hidden);
    kernels::linear_backward_input(blas, dlogits, p, w_.decoder.out, w_.decoder.weight, hidden, u_.data(), false);
    kernels::layer_norm_backward(s, p, hidden, u_.data(), a.xhat.data(), a.rstd.data(), w_.transform_norm.gamma,
                                 u_.data());
    kernels::activation_backward(s, a.pre.data(), u_.data(), std::size_t(p * hidden), act_, false);
    kernels::linear_backward_input(blas, u_.data(), p, hidden, w_.transform.weight, hidden, dh, false);
  }

 private:
  device_masked_lm w_;
  bert::activation act_;
  float eps_;
  device_head_activations scratch_;
  device_matrix u_;
};

class device_classification_head {
 public:
  device_classification_head(std::optional<device_linear> pooler, device_linear classifier)
      : pooler_(pooler), classifier_(classifier) {}

  index_t output_size() const noexcept { return classifier_.out; }

  void forward(cudaStream_t s, cublasHandle_t blas, const float* h, index_t p, float* logits,
               device_head_activations* cache) {
    const index_t hidden = classifier_.in;
    const float* z = h;
    if (pooler_) {
      device_head_activations& a = cache ? *cache : scratch_;
      a.pre.resize(p, hidden);
      kernels::linear(blas, h, p, hidden, pooler_->weight, hidden, a.pre.data());
      kernels::bias_activation(s, a.pre.data(), pooler_->bias, p, hidden, true, bert::activation::relu, true, nullptr);
      z = a.pre.data();
    }
    kernels::linear(blas, z, p, hidden, classifier_.weight, classifier_.out, logits);
    kernels::bias_activation(s, logits, classifier_.bias, p, classifier_.out, false, bert::activation::relu, false,
                             nullptr);
  }

  void backward(cudaStream_t s, cublasHandle_t blas, const device_head_activations& a, const float* dlogits,
                index_t p, float* dh) {
    const index_t hidden = classifier_.in;
    if (!pooler_) {
      kernels::linear_backward_input(blas, dlogits, p, classifier_.out, classifier_.weight, hidden, dh, false);
      return;
    }
    dz_.resize(p, hidden);
    kernels::linear_backward_input(blas, dlogits, p, classifier_.out, classifier_.weight, hidden, dz_.data(), false);
    kernels::activation_backward(s, a.pre.data(), dz_.data(), std::size_t(p * hidden), bert::activation::relu, true);
    kernels::linear_backward_input(blas, dz_.data(), p, hidden, pooler_->weight, hidden, dh, false);
  }

 private:
  std::optional<device_linear> pooler_;
  device_linear classifier_;
  device_head_activations scratch_;
  device_matrix dz_;
};

}  // namespace kplug::cuda
