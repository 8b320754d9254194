#include "kplug/optim/adam.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "kplug/map/affine.hpp"
#include "kplug/map/mlp.hpp"
#include "map/map_test_support.hpp"

namespace {

using kplug::index_t;
using kplug::matrix;
using kplug::matrix_view;
using kplug::map::parameter;
using namespace kplug_test;
namespace ko = kplug::optim;
namespace km = kplug::map;

// Adam written out from the paper (Kingma & Ba, Algorithm 1) plus the two
// weight-decay variants, entirely in double.
struct reference_adam {
  double lr, b1, b2, eps, wd;
  bool decoupled;
  std::vector<double> m, v;
  int t = 0;
  void step(std::vector<double>& p, const std::vector<double>& grad) {
    if (m.empty()) m.assign(p.size(), 0.0), v.assign(p.size(), 0.0);
    ++t;
    for (std::size_t i = 0; i < p.size(); ++i) {
      double g = grad[i];
      if (!decoupled) g += wd * p[i];
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      const double m_hat = m[i] / (1 - std::pow(b1, t));
      const double v_hat = v[i] / (1 - std::pow(b2, t));
      if (decoupled) p[i] -= lr * wd * p[i];
      p[i] -= lr * m_hat / (std::sqrt(v_hat) + eps);
    }
  }
};

// The parameters of a 3 -> 2 affine mapper (8 values) flattened.
std::vector<double> flat_values(km::affine_mapper& m) {
  std::vector<double> out;
  for (const auto& p : m.parameters())
    for (index_t r = 0; r < p.value.rows(); ++r)
      for (float v : p.value.row(r)) out.push_back(v);
  return out;
}

// Gradients for step s: deterministic, varying sign and size per step.
std::vector<double> set_grads(km::affine_mapper& m, int s) {
  std::vector<double> out;
  test_rng rng(static_cast<std::uint64_t>(100 + s));
  for (const auto& p : m.parameters())
    for (index_t r = 0; r < p.grad.rows(); ++r)
      for (float& g : p.grad.row(r)) {
        g = rng.uniform(-2.0f, 2.0f);
        out.push_back(g);
      }
  return out;
}

km::affine_mapper make_affine() {
  km::affine_mapper m(3, 2);
  copy_into(m.weight(), random_matrix(2, 3, 1));
  copy_into(m.bias(), random_matrix(1, 2, 2));
  return m;
}

// Tolerance for comparing float kplug with the double reference: parameters
// are O(1) and rounded to float after each of 6 steps (6 * 6e-8), moments are
// stored in float (relative 6e-8 of an update of size ~lr): 1e-6 absolute.
void run_against_reference(ko::adam_options opt, bool decoupled) {
  km::affine_mapper m = make_affine();
  reference_adam ref{opt.lr, opt.beta1, opt.beta2, opt.eps, opt.weight_decay, decoupled, {}, {}};
  std::vector<double> p = flat_values(m);
  ko::adam adam(opt);
  for (int s = 0; s < 6; ++s) {
    const std::vector<double> g = set_grads(m, s);
    const auto params = m.parameters();
    const ko::step_report rep = adam.step(params);
    EXPECT_EQ(rep.step, s + 1);
    ref.step(p, g);
    const std::vector<double> got = flat_values(m);
    for (std::size_t i = 0; i < p.size(); ++i) EXPECT_NEAR(got[i], p[i], 1e-6) << "step " << s << " value " << i;
  }
}

TEST(Adam, FirstStepMovesEachParameterByTheLearningRate) {
  // Bias correction makes m_hat = g and v_hat = g^2 at t = 1, so the first
  // update is lr * g / (|g| + eps): lr against the gradient's sign.
  km::affine_mapper m = make_affine();
  const std::vector<double> before = flat_values(m);
  const std::vector<double> g = set_grads(m, 0);
  ko::adam_options o;
  o.lr = 0.01;
  ko::adam adam(o);
  adam.step(m.parameters());
  const std::vector<double> after = flat_values(m);
  for (std::size_t i = 0; i < g.size(); ++i)
    EXPECT_NEAR(after[i] - before[i], -0.01 * std::abs(g[i]) / (std::abs(g[i]) + 1e-8) * (g[i] > 0 ? 1 : -1), 1e-7);
}

TEST(Adam, SeveralStepsMatchTheHandWrittenUpdate) {
  ko::adam_options o;
  o.lr = 0.01;
  o.beta1 = 0.8;
  o.beta2 = 0.95;
  o.eps = 1e-6;
  run_against_reference(o, false);
}

TEST(Adam, L2WeightDecayMatchesTheHandWrittenUpdate) {
  ko::adam_options o;
  o.lr = 0.02;
  o.weight_decay = 0.3;
  run_against_reference(o, false);
}

TEST(Adam, AdamWMatchesTheHandWrittenDecoupledUpdate) {
  run_against_reference(ko::adamw_options(0.02, 0.3), true);
}

TEST(Adam, AdamWDiffersFromAdamWithL2AsExpected) {
  // With zero gradients AdamW only shrinks: p_t = p_0 (1 - lr wd)^t exactly.
  // Adam + L2 feeds wd * p through the normalised moments instead and moves
  // each parameter by about lr per step, whatever its size.
  km::affine_mapper a = make_affine(), b = make_affine();
  const std::vector<double> p0 = flat_values(a);
  ko::adam adamw(ko::adamw_options(0.01, 0.5));
  ko::adam_options l2 = ko::adamw_options(0.01, 0.5);
  l2.decay_mode = ko::weight_decay_mode::l2;
  ko::adam adam_l2(l2);
  for (int s = 0; s < 3; ++s) {
    adamw.step(a.parameters());
    adam_l2.step(b.parameters());
  }
  const std::vector<double> pa = flat_values(a), pb = flat_values(b);
  const double shrink = std::pow(1.0 - 0.01 * 0.5, 3);
  int checked = 0;
  for (std::size_t i = 0; i < p0.size(); ++i) {
    EXPECT_NEAR(pa[i], p0[i] * shrink, 1e-6);
    if (std::abs(p0[i]) < 0.1) continue;  // near 0 the L2 steps may cross it
    ++checked;
    EXPECT_NEAR(std::abs(pb[i] - p0[i]), 0.03, 1e-3) << i;  // three steps of ~lr toward 0
    EXPECT_LT(std::abs(pb[i]), std::abs(p0[i]));
  }
  EXPECT_GE(checked, 4);
}

TEST(Adam, DecayPredicateExcludesParameters) {
  km::affine_mapper m = make_affine();
  const std::vector<double> p0 = flat_values(m);  // 6 weights, then 2 biases
  ko::adam_options o = ko::adamw_options(0.1, 1.0);
  o.decays = [](const parameter& p) { return !p.name.ends_with("bias"); };
  ko::adam adam(o);
  adam.step(m.parameters());
  const std::vector<double> p1 = flat_values(m);
  for (std::size_t i = 0; i < 6; ++i) EXPECT_NEAR(p1[i], p0[i] * 0.9, 1e-7);
  for (std::size_t i = 6; i < 8; ++i) EXPECT_EQ(p1[i], p0[i]);
}

TEST(Adam, ThrowingDecayPredicateChangesNothing) {
  km::affine_mapper m = make_affine();
  set_grads(m, 1);
  const std::vector<double> before = flat_values(m);
  ko::adam_options o = ko::adamw_options(0.1, 0.5);
  o.max_grad_norm = 1e-3;
  o.decays = [](const parameter& p) -> bool {
    if (p.name == "bias") throw kplug::error("decay predicate", p.name, "refused");
    return true;
  };
  ko::adam adam(o);
  KPLUG_EXPECT_ERROR(adam.step(m.parameters()), "refused");
  EXPECT_EQ(flat_values(m), before);
  EXPECT_GT(km::global_grad_norm(m.parameters()), 1e-3);  // not clipped either
  EXPECT_EQ(adam.step_count(), 0);
}

TEST(Adam, ClippingScalesGradientsToTheMaxNormExactly) {
  km::affine_mapper m = make_affine();
  const auto params = m.parameters();
  for (const auto& p : params)
    for (index_t r = 0; r < p.grad.rows(); ++r)
      for (float& g : p.grad.row(r)) g = static_cast<float>(10.0 / std::sqrt(8.0));  // norm 10
  ko::adam_options o;
  o.max_grad_norm = 1.0;
  ko::adam adam(o);
  const ko::step_report rep = adam.step(params);
  EXPECT_NEAR(rep.grad_norm, 10.0, 1e-5);  // reported before clipping
  EXPECT_NEAR(rep.clip_scale, 0.1, 1e-7);
  EXPECT_NEAR(km::global_grad_norm(params), 1.0, 1e-6);
  // The step used the clipped gradients: m = (1 - beta1) g_clipped.
  const ko::optimizer_state st = adam.state();
  EXPECT_NEAR(st.tensors[0].value(0, 0), 0.1 * (1.0 / std::sqrt(8.0)), 1e-8);
}

TEST(Adam, NoClippingBelowTheMaxNorm) {
  km::affine_mapper m = make_affine();
  set_grads(m, 3);
  const auto params = m.parameters();
  const double norm = km::global_grad_norm(params);
  ko::adam_options o;
  o.max_grad_norm = norm * 1.01;
  ko::adam adam(o);
  const ko::step_report rep = adam.step(params);
  EXPECT_EQ(rep.clip_scale, 1.0);
  EXPECT_EQ(km::global_grad_norm(params), norm);
}

ko::optimizer_state state_copy(const ko::adam& a) { return a.state(); }

void expect_same_state(const ko::optimizer_state& a, const ko::optimizer_state& b) {
  ASSERT_EQ(a.step, b.step);
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (std::size_t k = 0; k < a.tensors.size(); ++k) {
    EXPECT_EQ(a.tensors[k].name, b.tensors[k].name);
    for (index_t r = 0; r < a.tensors[k].value.rows(); ++r)
      for (index_t c = 0; c < a.tensors[k].value.cols(); ++c)
        EXPECT_EQ(a.tensors[k].value(r, c), b.tensors[k].value(r, c));
  }
}

TEST(Adam, NonFiniteGradientThrowsNamingParameterAndIndexAndChangesNothing) {
  km::affine_mapper m = make_affine();
  ko::adam_options o;
  o.max_grad_norm = 0.5;  // clipping would otherwise rescale the gradients
  ko::adam adam(o);
  for (int s = 0; s < 2; ++s) {
    set_grads(m, s);
    adam.step(m.parameters());
  }
  set_grads(m, 5);
  m.bias_grad()(0, 1) = std::numeric_limits<float>::quiet_NaN();
  const std::vector<double> before = flat_values(m);
  const float grad_before = m.weight_grad()(0, 0);
  const ko::optimizer_state state_before = state_copy(adam);
  KPLUG_EXPECT_ERROR(adam.step(m.parameters()), "Adam step", "parameter 'bias'", "gradient index 1", "NaN");
  EXPECT_EQ(flat_values(m), before);
  EXPECT_EQ(m.weight_grad()(0, 0), grad_before);
  EXPECT_EQ(adam.step_count(), 2);
  expect_same_state(adam.state(), state_before);

  m.bias_grad()(0, 1) = 0.0f;
  m.weight_grad()(1, 2) = -std::numeric_limits<float>::infinity();
  KPLUG_EXPECT_ERROR(adam.step(m.parameters()), "parameter 'weight', gradient index 5 (row 1, column 2)", "-Inf");
  EXPECT_EQ(flat_values(m), before);
}

TEST(Adam, NonFiniteGradientOnTheFirstStepBindsNothing) {
  km::affine_mapper m = make_affine();
  ko::adam adam;
  m.weight_grad()(0, 0) = std::numeric_limits<float>::infinity();
  KPLUG_EXPECT_ERROR(adam.step(m.parameters()), "+Inf");
  EXPECT_TRUE(adam.state().tensors.empty());
  // A different parameter list is then still accepted.
  km::mlp_mapper mlp(2, 2, 2);
  EXPECT_NO_THROW(adam.step(mlp.parameters()));
}

TEST(Adam, IsDeterministic) {
  km::affine_mapper a = make_affine(), b = make_affine();
  ko::adam oa(ko::adamw_options(0.05, 0.1)), ob(ko::adamw_options(0.05, 0.1));
  for (int s = 0; s < 4; ++s) {
    set_grads(a, s);
    set_grads(b, s);
    oa.step(a.parameters());
    ob.step(b.parameters());
  }
  EXPECT_EQ(flat_values(a), flat_values(b));
}

TEST(Adam, StateRoundTripContinuesBitForBit) {
  km::affine_mapper a = make_affine();
  ko::adam oa(ko::adamw_options(0.05, 0.1));
  for (int s = 0; s < 3; ++s) {
    set_grads(a, s);
    oa.step(a.parameters());
  }
  const ko::optimizer_state st = oa.state();
  EXPECT_EQ(st.step, 3);
  ASSERT_EQ(st.tensors.size(), 4u);
  EXPECT_EQ(st.tensors[0].name, "weight.exp_avg");
  EXPECT_EQ(st.tensors[1].name, "weight.exp_avg_sq");
  EXPECT_EQ(st.tensors[2].name, "bias.exp_avg");
  EXPECT_EQ(st.tensors[3].name, "bias.exp_avg_sq");

  km::affine_mapper b = a;  // same parameter values
  ko::adam ob(ko::adamw_options(0.05, 0.1));
  ob.load_state(st, b.parameters());
  EXPECT_EQ(ob.step_count(), 3);
  for (int s = 3; s < 5; ++s) {
    set_grads(a, s);
    set_grads(b, s);
    oa.step(a.parameters());
    ob.step(b.parameters());
  }
  EXPECT_EQ(flat_values(a), flat_values(b));
}

// --- bad input ----------------------------------------------------------------

TEST(Adam, RejectsBadOptions) {
  auto with = [](auto set) {
    ko::adam_options o;
    set(o);
    return o;
  };
  KPLUG_EXPECT_ERROR(ko::adam(with([](auto& o) { o.lr = -1; })), "lr");
  KPLUG_EXPECT_ERROR(ko::adam(with([](auto& o) { o.beta1 = 1.0; })), "beta1");
  KPLUG_EXPECT_ERROR(ko::adam(with([](auto& o) { o.beta2 = -0.1; })), "beta2");
  KPLUG_EXPECT_ERROR(ko::adam(with([](auto& o) { o.eps = 0; })), "eps");
  KPLUG_EXPECT_ERROR(ko::adam(with([](auto& o) { o.weight_decay = -1e-3; })), "weight_decay");
  KPLUG_EXPECT_ERROR(ko::adam(with([](auto& o) { o.max_grad_norm = -1; })), "max_grad_norm");
  KPLUG_EXPECT_ERROR(ko::adam(with([](auto& o) { o.lr = std::numeric_limits<double>::quiet_NaN(); })), "lr",
                     "not finite");
  ko::adam a;
  KPLUG_EXPECT_ERROR(a.set_lr(-0.5), "lr");
  EXPECT_EQ(a.options().lr, 1e-3);
}

TEST(Adam, RejectsAParameterListOtherThanTheBoundOne) {
  km::affine_mapper m = make_affine();
  ko::adam adam;
  adam.step(m.parameters());
  km::mlp_mapper mlp(3, 2, 2);
  KPLUG_EXPECT_ERROR(adam.step(mlp.parameters()), "state for 2 parameters, got 4");
  auto renamed = m.parameters();
  renamed[1].name = "b";
  KPLUG_EXPECT_ERROR(adam.step(renamed), "parameter #1", "'b'");
  km::affine_mapper other(3, 3);
  KPLUG_EXPECT_ERROR(adam.step(other.parameters()), "parameter #0", "3 x 3");
}

TEST(Adam, RejectsParameterWhoseGradientShapeDiffers) {
  matrix<float> value(2, 2), grad(2, 3);
  const std::vector<parameter> params{{"w", value.view(), grad.view()}};
  ko::adam adam;
  KPLUG_EXPECT_ERROR(adam.step(params), "parameter 'w'", "its gradient is 2 x 3");
}

TEST(Adam, LoadStateRejectsBadStatesAndKeepsItsOwn) {
  km::affine_mapper m = make_affine();
  ko::adam adam;
  set_grads(m, 0);
  adam.step(m.parameters());
  const ko::optimizer_state good = adam.state();
  const auto params = m.parameters();

  ko::optimizer_state missing = good;
  missing.tensors.pop_back();
  KPLUG_EXPECT_ERROR(adam.load_state(missing, params), "'bias.exp_avg_sq'", "missing");

  ko::optimizer_state shape = good;
  shape.tensors[2].value = matrix<float>(1, 3);
  KPLUG_EXPECT_ERROR(adam.load_state(shape, params), "'bias.exp_avg'", "1 x 3", "1 x 2");

  ko::optimizer_state unknown = good;
  unknown.tensors.push_back({"scale.exp_avg", matrix<float>(1, 1)});
  KPLUG_EXPECT_ERROR(adam.load_state(unknown, params), "'scale.exp_avg'", "matches no parameter");

  ko::optimizer_state negative_step = good;
  negative_step.step = -1;
  KPLUG_EXPECT_ERROR(adam.load_state(negative_step, params), "step", "negative");

  ko::optimizer_state nan = good;
  nan.tensors[0].value(1, 1) = std::numeric_limits<float>::quiet_NaN();
  KPLUG_EXPECT_ERROR(adam.load_state(nan, params), "'weight.exp_avg' row 1, column 1", "NaN");

  ko::optimizer_state negative_v = good;
  negative_v.tensors[1].value(0, 0) = -1.0f;
  KPLUG_EXPECT_ERROR(adam.load_state(negative_v, params), "'weight.exp_avg_sq'", "negative");

  expect_same_state(adam.state(), good);
}

}  // namespace
