// A linear classifier (a probe) over fixed features: softmax regression
// trained with the library's cross-entropy (train/objective.hpp) and Adam
// (optim/adam.hpp, L2 weight decay on the weights, not the bias), keeping the
// epoch with the best dev accuracy. `kplug train-head` trains a
// mention-typing head this way on a frozen encoder's hidden states at the
// typed mention's first piece.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <numeric>
#include <span>
#include <utility>
#include <vector>

#include "kplug/core/eigen.hpp"
#include "kplug/core/error.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/core/random.hpp"
#include "kplug/map/parameter.hpp"
#include "kplug/optim/adam.hpp"
#include "kplug/train/example.hpp"
#include "kplug/train/objective.hpp"

namespace kplug::tasks {

struct labelled_features {
  matrix<float> x;                  // n x features
  std::vector<std::int32_t> y;      // n class indices
};

struct linear_head {
  matrix<float> weight;  // classes x features (nn.Linear layout)
  matrix<float> bias;    // 1 x classes
};

struct linear_probe_options {
  int epochs = 100;
  index_t batch_size = 128;
  std::uint64_t seed = 1;  // initialisation and shuffling
  double lr = 3e-3;
  double weight_decay = 1e-4;  // L2, on the weights only
};

struct probe_epoch {
  int epoch = 0;  // 1-based
  double loss = 0.0;  // mean training cross-entropy over the epoch
  double dev_accuracy = 0.0;
  double best_dev_accuracy = 0.0;
  int best_epoch = 0;
};

struct probe_result {
  linear_head head;  // the best epoch's
  double dev_accuracy = 0.0;
  int epoch = 0;
};

// Fraction of `data` whose arg-max class is its label.
double probe_accuracy(const linear_head& head, const labelled_features& data);

probe_result train_linear_probe(const labelled_features& train, const labelled_features& dev, index_t classes,
                                const linear_probe_options& options,
                                const std::function<void(const probe_epoch&)>& on_epoch = {});

// ---------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------

namespace detail {
// logits = x W^T + b, rows of `x` chosen by `rows` (all when empty).
inline void probe_logits(const linear_head& head, matrix_view<const float> x, matrix<float>& logits) {
  logits.resize(x.rows(), head.weight.rows());
  as_eigen(logits.view()).noalias() = as_eigen(x) * as_eigen(head.weight.view()).transpose();
  as_eigen(logits.view()).rowwise() += as_eigen(head.bias.view()).row(0);
}
}  // namespace detail

inline double probe_accuracy(const linear_head& head, const labelled_features& data) {
  if (data.y.empty()) return 0.0;
  matrix<float> logits;
  detail::probe_logits(head, data.x.view(), logits);
  std::vector<train::target> targets(data.y.size());
  std::vector<const train::target*> ptrs;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    targets[i].label = data.y[i];
    ptrs.push_back(&targets[i]);
  }
  return train::accuracy(logits.view(), ptrs);
}

inline probe_result train_linear_probe(const labelled_features& train, const labelled_features& dev,
                                       index_t classes, const linear_probe_options& options,
                                       const std::function<void(const probe_epoch&)>& on_epoch) {
  constexpr const char* what = "train a linear probe";
  const index_t n = train.x.rows(), features = train.x.cols();
  if (static_cast<std::size_t>(n) != train.y.size() || dev.x.cols() != features ||
      static_cast<std::size_t>(dev.x.rows()) != dev.y.size())
    throw error(what, "features", "rows, labels and widths of the training and dev features disagree");
  if (classes < 1 || options.batch_size < 1) throw error(what, "options", "need classes >= 1 and batch_size >= 1");

  // Small random weights (a zero start is as good for a convex loss, but the
  // seed should matter the way it does for any trained head).
  xoshiro256 rng(options.seed);
  linear_head head{matrix<float>(classes, features), matrix<float>(1, classes, 0.0f)};
  for (index_t r = 0; r < classes; ++r)
    for (float& v : head.weight.row(r)) v = static_cast<float>((rng.uniform() * 2 - 1) * 0.01);
  matrix<float> grad_w(classes, features), grad_b(1, classes);
  const std::vector<map::parameter> params = {{"weight", head.weight.view(), grad_w.view()},
                                              {"bias", head.bias.view(), grad_b.view()}};
  optim::adam_options adam_options;
  adam_options.lr = options.lr;
  adam_options.weight_decay = options.weight_decay;
  adam_options.decays = [](const map::parameter& p) { return p.name == "weight"; };
  optim::adam adam(adam_options);
  const train::cross_entropy loss_of;

  probe_result best{head, -1.0, 0};
  std::vector<index_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), index_t{0});
  matrix<float> xb, logits, grad;
  std::vector<train::target> targets;
  std::vector<const train::target*> ptrs;
  for (int epoch = 1; epoch <= options.epochs; ++epoch) {
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.next() % i]);
    double loss = 0;
    for (index_t first = 0; first < n; first += options.batch_size) {
      const index_t m = std::min(options.batch_size, n - first);
      xb.resize(m, features);
      targets.resize(static_cast<std::size_t>(m));
      ptrs.clear();
      for (index_t i = 0; i < m; ++i) {
        const index_t row = order[static_cast<std::size_t>(first + i)];
        const auto from = train.x.row(row);
        std::copy(from.begin(), from.end(), xb.row(i).begin());
        targets[static_cast<std::size_t>(i)].label = train.y[static_cast<std::size_t>(row)];
        ptrs.push_back(&targets[static_cast<std::size_t>(i)]);
      }
      detail::probe_logits(head, xb.view(), logits);
      grad.resize(m, classes);
      loss += loss_of(logits.view(), ptrs, grad.view()) * static_cast<double>(m);
      as_eigen(grad_w.view()).noalias() = as_eigen(grad.view()).transpose() * as_eigen(xb.view());
      as_eigen(grad_b.view()).row(0) = as_eigen(grad.view()).colwise().sum();
      adam.step(params);
    }
    const double acc = probe_accuracy(head, dev);
    if (acc > best.dev_accuracy) best = {head, acc, epoch};
    if (on_epoch) on_epoch({epoch, loss / static_cast<double>(n), acc, best.dev_accuracy, best.epoch});
  }
  return best;
}

}  // namespace kplug::tasks
