// Adam and AdamW for mapping networks (Kingma & Ba 2015; Loshchilov & Hutter
// 2019), written to match PyTorch's torch.optim.Adam / AdamW step for step:
//
//   g   <- grad * clip_scale            (clip by global norm, see below)
//   g   <- g + wd * p                   (Adam, L2 mode, decayed params only)
//   m   <- beta1 m + (1 - beta1) g
//   v   <- beta2 v + (1 - beta2) g^2
//   p   <- p (1 - lr wd)                (AdamW, decoupled mode, decayed params only)
//   p   <- p - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
//
// Gradient clipping: the global L2 norm over every gradient (in double) is
// measured first; when max_grad_norm > 0 and the norm exceeds it, every
// gradient is scaled IN PLACE by max_grad_norm / norm (as
// torch.nn.utils.clip_grad_norm_ does, without its 1e-6), and the pre-clip
// norm is reported. The update arithmetic is done in double per element and
// stored back as float; m and v are kept in float, as PyTorch keeps them in
// the parameter's dtype; beta^t is a running product, not pow(), so every
// platform computes the same bits.
//
// Non-finite gradients: step() scans every gradient first and throws a
// kplug::error naming the parameter and the index of the first NaN/Inf
// before anything (parameters, gradients, moments, step counter) is touched,
// so the caller can stop and keep its last good checkpoint.
//
// State for checkpoints: state() returns the step counter and the moments as
// named float matrices "<parameter>.exp_avg" and "<parameter>.exp_avg_sq"
// (PyTorch's state keys); load_state() checks and restores them.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "kplug/core/error.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/map/parameter.hpp"

namespace kplug::optim {

using map::parameter;

enum class weight_decay_mode {
  l2,         // Adam: wd * p added to the gradient (coupled with the moments)
  decoupled,  // AdamW: p shrunk by lr * wd outside the adaptive update
};

struct adam_options {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  weight_decay_mode decay_mode = weight_decay_mode::l2;
  double max_grad_norm = 0.0;  // 0: no clipping
  // Which parameters weight decay applies to; empty: all of them. E.g.
  // [](const parameter& p) { return !p.name.ends_with("bias"); }
  std::function<bool(const parameter&)> decays;
};

// PyTorch's AdamW defaults (weight decay 0.01), decoupled decay.
adam_options adamw_options(double lr = 1e-3, double weight_decay = 1e-2);

struct named_matrix {
  std::string name;
  matrix<float> value;
};

struct optimizer_state {
  std::int64_t step = 0;
  std::vector<named_matrix> tensors;  // "<param>.exp_avg", "<param>.exp_avg_sq"
};

struct step_report {
  std::int64_t step = 0;     // the step number just taken (1 for the first)
  double grad_norm = 0.0;    // global gradient norm before clipping
  double clip_scale = 1.0;   // factor the gradients were multiplied by (1: not clipped)
};

class adam {
 public:
  // Throws for lr < 0, betas outside [0, 1), eps <= 0, weight_decay < 0,
  // max_grad_norm < 0, or any non-finite value.
  explicit adam(adam_options options = {});

  const adam_options& options() const noexcept { return opt_; }
  void set_lr(double lr);  // for schedules; same check as the constructor
  std::int64_t step_count() const noexcept { return step_; }

  // One update of `params` from their gradients (gradients are not zeroed;
  // call map::zero_grad). The first call binds the optimizer to the
  // parameters' names and shapes; later calls must pass the same list.
  step_report step(std::span<const parameter> params);

  optimizer_state state() const;
  // Restores a state() for `params` (names and shapes must match; moments
  // finite, exp_avg_sq >= 0; no unknown tensors). Nothing changes if it throws.
  void load_state(const optimizer_state& state, std::span<const parameter> params);
  // Forgets moments and the step counter.
  void reset() noexcept;

 private:
  struct slot {
    std::string name;
    index_t rows = 0, cols = 0;
    matrix<float> m, v;
  };
  void bind(std::span<const parameter> params);
  void check_bound(std::span<const parameter> params, const char* what) const;
  static void validate(const adam_options& o);
  void recompute_powers() noexcept;

  adam_options opt_;
  std::vector<slot> slots_;
  std::int64_t step_ = 0;
  double beta1_power_ = 1.0;  // beta1^step
  double beta2_power_ = 1.0;
};

// ---------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------

inline adam_options adamw_options(double lr, double weight_decay) {
  adam_options o;
  o.lr = lr;
  o.weight_decay = weight_decay;
  o.decay_mode = weight_decay_mode::decoupled;
  return o;
}

inline void adam::validate(const adam_options& o) {
  constexpr const char* what = "configure Adam";
  auto finite = [&](double v, const char* name) {
    if (!std::isfinite(v)) throw error(what, name, "is not finite");
  };
  finite(o.lr, "lr");
  finite(o.beta1, "beta1");
  finite(o.beta2, "beta2");
  finite(o.eps, "eps");
  finite(o.weight_decay, "weight_decay");
  finite(o.max_grad_norm, "max_grad_norm");
  if (o.lr < 0.0) throw error(what, "lr", "must be >= 0, got " + std::to_string(o.lr));
  if (!(o.beta1 >= 0.0 && o.beta1 < 1.0)) throw error(what, "beta1", "must be in [0, 1), got " + std::to_string(o.beta1));
  if (!(o.beta2 >= 0.0 && o.beta2 < 1.0)) throw error(what, "beta2", "must be in [0, 1), got " + std::to_string(o.beta2));
  if (!(o.eps > 0.0)) throw error(what, "eps", "must be > 0, got " + std::to_string(o.eps));
  if (o.weight_decay < 0.0)
    throw error(what, "weight_decay", "must be >= 0, got " + std::to_string(o.weight_decay));
  if (o.max_grad_norm < 0.0)
    throw error(what, "max_grad_norm", "must be >= 0 (0: no clipping), got " + std::to_string(o.max_grad_norm));
  if (o.decay_mode != weight_decay_mode::l2 && o.decay_mode != weight_decay_mode::decoupled)
    throw error(what, "decay_mode", "is not a weight_decay_mode");
}

inline adam::adam(adam_options options) : opt_(std::move(options)) { validate(opt_); }

inline void adam::set_lr(double lr) {
  adam_options o = opt_;
  o.lr = lr;
  validate(o);
  opt_.lr = lr;
}

inline void adam::reset() noexcept {
  slots_.clear();
  step_ = 0;
  beta1_power_ = beta2_power_ = 1.0;
}

inline void adam::recompute_powers() noexcept {
  beta1_power_ = beta2_power_ = 1.0;
  for (std::int64_t t = 0; t < step_; ++t) {
    beta1_power_ *= opt_.beta1;
    beta2_power_ *= opt_.beta2;
  }
}

inline void adam::check_bound(std::span<const parameter> params, const char* what) const {
  if (params.size() != slots_.size())
    throw error(what, "parameters",
                "the optimizer holds state for " + std::to_string(slots_.size()) + " parameters, got " +
                    std::to_string(params.size()));
  for (std::size_t i = 0; i < params.size(); ++i) {
    const slot& s = slots_[i];
    const parameter& p = params[i];
    if (p.name != s.name || p.value.rows() != s.rows || p.value.cols() != s.cols)
      throw error(what, "parameter #" + std::to_string(i),
                  "is '" + p.name + "' " + std::to_string(p.value.rows()) + " x " + std::to_string(p.value.cols()) +
                      ", the optimizer's state is for '" + s.name + "' " + std::to_string(s.rows) + " x " +
                      std::to_string(s.cols));
  }
}

inline void adam::bind(std::span<const parameter> params) {
  std::vector<slot> slots;
  slots.reserve(params.size());
  for (const parameter& p : params)
    slots.push_back({p.name, p.value.rows(), p.value.cols(), matrix<float>(p.value.rows(), p.value.cols(), 0.0f),
                     matrix<float>(p.value.rows(), p.value.cols(), 0.0f)});
  slots_ = std::move(slots);
}

inline step_report adam::step(std::span<const parameter> params) {
  constexpr const char* what = "Adam step";
  map::check_parameters(params, what);
  if (slots_.empty() && step_ == 0) {
    // Bound below, after the checks, so that a throwing first step binds nothing.
  } else {
    check_bound(params, what);
  }
  // Every check before any write.
  for (const parameter& p : params)
    if (const auto bad = map::first_non_finite(p.grad)) {
      const float v = p.grad(bad->first, bad->second);
      throw error(what,
                  "parameter '" + p.name + "', gradient index " +
                      std::to_string(bad->first * p.grad.cols() + bad->second) + " (row " +
                      std::to_string(bad->first) + ", column " + std::to_string(bad->second) + ")",
                  std::string("gradient is ") + (std::isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf")) +
                      "; no parameter was changed");
    }
  // The user's predicate may throw: ask it before anything is written.
  std::vector<char> decays(params.size(), 0);
  if (opt_.weight_decay > 0.0)
    for (std::size_t i = 0; i < params.size(); ++i) decays[i] = !opt_.decays || opt_.decays(params[i]);
  if (slots_.empty() && step_ == 0) bind(params);

  step_report report;
  report.grad_norm = map::global_grad_norm(params);
  if (opt_.max_grad_norm > 0.0 && report.grad_norm > opt_.max_grad_norm) {
    report.clip_scale = opt_.max_grad_norm / report.grad_norm;
    for (const parameter& p : params)
      for (index_t r = 0; r < p.grad.rows(); ++r)
        for (float& g : p.grad.row(r)) g = static_cast<float>(static_cast<double>(g) * report.clip_scale);
  }

  ++step_;
  beta1_power_ *= opt_.beta1;
  beta2_power_ *= opt_.beta2;
  const double b1 = opt_.beta1, b2 = opt_.beta2, lr = opt_.lr, eps = opt_.eps, wd = opt_.weight_decay;
  const double bc1 = 1.0 - beta1_power_, bc2 = 1.0 - beta2_power_;
  for (std::size_t i = 0; i < params.size(); ++i) {
    const parameter& p = params[i];
    slot& s = slots_[i];
    const bool coupled = decays[i] && opt_.decay_mode == weight_decay_mode::l2;
    const bool decoupled = decays[i] && opt_.decay_mode == weight_decay_mode::decoupled;
    for (index_t r = 0; r < p.value.rows(); ++r) {
      const auto val = p.value.row(r);
      const auto grad = p.grad.row(r);
      const auto m = s.m.row(r);
      const auto v = s.v.row(r);
      for (std::size_t c = 0; c < val.size(); ++c) {
        double theta = static_cast<double>(val[c]);
        double g = static_cast<double>(grad[c]);
        if (coupled) g += wd * theta;
        const double mn = b1 * static_cast<double>(m[c]) + (1.0 - b1) * g;
        const double vn = b2 * static_cast<double>(v[c]) + (1.0 - b2) * g * g;
        if (decoupled) theta *= 1.0 - lr * wd;
        theta -= lr * (mn / bc1) / (std::sqrt(vn / bc2) + eps);
        m[c] = static_cast<float>(mn);
        v[c] = static_cast<float>(vn);
        val[c] = static_cast<float>(theta);
      }
    }
  }
  report.step = step_;
  return report;
}

inline optimizer_state adam::state() const {
  optimizer_state st;
  st.step = step_;
  st.tensors.reserve(2 * slots_.size());
  for (const slot& s : slots_) {
    st.tensors.push_back({s.name + ".exp_avg", s.m});
    st.tensors.push_back({s.name + ".exp_avg_sq", s.v});
  }
  return st;
}

inline void adam::load_state(const optimizer_state& st, std::span<const parameter> params) {
  constexpr const char* what = "load Adam state";
  map::check_parameters(params, what);
  if (st.step < 0) throw error(what, "step", "is negative (" + std::to_string(st.step) + ")");
  std::vector<bool> used(st.tensors.size(), false);
  auto find = [&](const std::string& name, index_t rows, index_t cols) -> const matrix<float>& {
    for (std::size_t k = 0; k < st.tensors.size(); ++k) {
      if (st.tensors[k].name != name) continue;
      if (used[k]) throw error(what, "tensor '" + name + "'", "appears more than once");
      const matrix<float>& t = st.tensors[k].value;
      if (t.rows() != rows || t.cols() != cols)
        throw error(what, "tensor '" + name + "'",
                    "is " + std::to_string(t.rows()) + " x " + std::to_string(t.cols()) + ", the parameter is " +
                        std::to_string(rows) + " x " + std::to_string(cols));
      if (const auto bad = map::first_non_finite(t.view()))
        throw error(what, "tensor '" + name + "' row " + std::to_string(bad->first) + ", column " +
                              std::to_string(bad->second),
                    "entry is NaN or infinite");
      used[k] = true;
      return t;
    }
    throw error(what, "tensor '" + name + "'", "is missing from the state");
  };
  std::vector<slot> slots;
  if (st.step > 0 || !st.tensors.empty()) {
    slots.reserve(params.size());
    for (const parameter& p : params) {
      const matrix<float>& m = find(p.name + ".exp_avg", p.value.rows(), p.value.cols());
      const matrix<float>& v = find(p.name + ".exp_avg_sq", p.value.rows(), p.value.cols());
      for (index_t r = 0; r < v.rows(); ++r)
        for (float x : v.row(r))
          if (x < 0.0f) throw error(what, "tensor '" + p.name + ".exp_avg_sq'", "has a negative entry");
      slots.push_back({p.name, p.value.rows(), p.value.cols(), m, v});
    }
    for (std::size_t k = 0; k < used.size(); ++k)
      if (!used[k]) throw error(what, "tensor '" + st.tensors[k].name + "'", "matches no parameter");
  }
  slots_ = std::move(slots);
  step_ = st.step;
  recompute_powers();
}

}  // namespace kplug::optim
