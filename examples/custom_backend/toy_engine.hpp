// A pretend third-party inference engine that knows nothing about kplug. It
// stands in for "your engine": its own tensor type (COLUMN-major, one column
// per token), its own names, int ids, a float mask, one sequence per call,
// and a backward pass that reuses activations cached by the last encode().
//
// Its model, for one sequence of n tokens (x_i = column i of the input):
//   a_i = tanh(W (x_i + P[pos_i] + T[seg_i]))
//   y_i = V a_i + U mean_{j : mask_j = 1} a_j          (mean = 0 if none)
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace toy {

// Column-major: element (r, c) lives at data[c * rows + r].
struct tensor {
  int rows = 0, cols = 0;
  std::vector<float> data;

  tensor(int r, int c) : rows(r), cols(c), data(std::size_t(r) * std::size_t(c), 0.0f) {}
  float& at(int r, int c) { return data[std::size_t(c) * std::size_t(rows) + std::size_t(r)]; }
  float at(int r, int c) const { return data[std::size_t(c) * std::size_t(rows) + std::size_t(r)]; }
};

class engine {
 public:
  static constexpr int segment_types = 2;

  engine(int vocab, int dim, int labels, int max_len, std::uint32_t seed)
      : vocab_(vocab),
        dim_(dim),
        labels_(labels),
        max_len_(max_len),
        seed_(seed),
        embed_(random(dim, vocab, 1.0f)),
        pos_(random(dim, max_len, 0.5f)),
        seg_(random(dim, segment_types, 0.5f)),
        w_(random(dim, dim, 1.0f / std::sqrt(float(dim)))),
        v_(random(labels, dim, 1.0f / std::sqrt(float(dim)))),
        u_(random(labels, dim, 1.0f / std::sqrt(float(dim)))),
        act_(dim, 0) {}

  int vocab() const { return vocab_; }
  int dim() const { return dim_; }
  int labels() const { return labels_; }
  int max_len() const { return max_len_; }

  // dim x ids.size(): the word embedding of each id, one column per token.
  tensor lookup(const std::vector<int>& ids) const {
    tensor out(dim_, int(ids.size()));
    for (int c = 0; c < out.cols; ++c) {
      const int id = ids[std::size_t(c)];
      if (id < 0 || id >= vocab_) throw std::out_of_range("toy::engine::lookup: bad id");
      for (int r = 0; r < dim_; ++r) out.at(r, c) = embed_.at(r, id);
    }
    return out;
  }

  // One sequence: x is dim x n; returns labels x n. Caches what encode_grad needs.
  // Like many engines it trusts its caller: pos and seg are NOT range-checked.
  tensor encode(const tensor& x, const std::vector<int>& pos, const std::vector<int>& seg,
                const std::vector<float>& mask) {
    const int n = x.cols;
    act_ = tensor(dim_, n);
    mask_ = mask;
    tensor y(labels_, n), mean(dim_, 1);
    float count = 0;
    for (int i = 0; i < n; ++i) {
      for (int r = 0; r < dim_; ++r) {
        float pre = 0;
        for (int k = 0; k < dim_; ++k)
          pre +=
              w_.at(r, k) * (x.at(k, i) + pos_.at(k, pos[std::size_t(i)]) + seg_.at(k, seg[std::size_t(i)]));
        act_.at(r, i) = std::tanh(pre);
        mean.at(r, 0) += mask[std::size_t(i)] * act_.at(r, i);
      }
      count += mask[std::size_t(i)];
    }
    for (int r = 0; r < dim_; ++r) mean.at(r, 0) = count > 0 ? mean.at(r, 0) / count : 0.0f;
    for (int i = 0; i < n; ++i)
      for (int o = 0; o < labels_; ++o)
        for (int k = 0; k < dim_; ++k)
          y.at(o, i) += v_.at(o, k) * act_.at(k, i) + u_.at(o, k) * mean.at(k, 0);
    return y;
  }

  // dim x n: the gradient wrt x of the LAST encode() call, given dL/dy (labels x n).
  tensor encode_grad(const tensor& grad_y) const {
    const int n = act_.cols;
    tensor da(dim_, n), grad_x(dim_, n), u_sum(dim_, 1);
    float count = 0;
    for (int i = 0; i < n; ++i) count += mask_[std::size_t(i)];
    for (int i = 0; i < n; ++i)
      for (int k = 0; k < dim_; ++k)
        for (int o = 0; o < labels_; ++o) {
          da.at(k, i) += v_.at(o, k) * grad_y.at(o, i);
          u_sum.at(k, 0) += u_.at(o, k) * grad_y.at(o, i);
        }
    for (int i = 0; i < n; ++i)
      for (int k = 0; k < dim_; ++k) {
        if (mask_[std::size_t(i)] > 0) da.at(k, i) += u_sum.at(k, 0) / count;
        da.at(k, i) *= 1.0f - act_.at(k, i) * act_.at(k, i);  // through tanh
      }
    for (int i = 0; i < n; ++i)
      for (int k = 0; k < dim_; ++k)
        for (int r = 0; r < dim_; ++r) grad_x.at(k, i) += w_.at(r, k) * da.at(r, i);
    return grad_x;
  }

 private:
  // A little LCG: the engine's own weights, in [-scale, scale].
  tensor random(int rows, int cols, float scale) {
    tensor t(rows, cols);
    for (float& v : t.data) {
      seed_ = seed_ * 1664525u + 1013904223u;
      v = scale * (float(seed_ >> 8) / float(1u << 24) * 2.0f - 1.0f);
    }
    return t;
  }

  int vocab_, dim_, labels_, max_len_;
  std::uint32_t seed_;
  tensor embed_, pos_, seg_, w_, v_, u_;
  tensor act_;  // cached activations of the last encode()
  std::vector<float> mask_;
};

}  // namespace toy
