// TransE knowledge-graph embeddings (Bordes et al., NIPS 2013): a triple
// (h, r, t) is plausible when t is close to h + r, d(h, r, t) = ||h + r - t||
// under the L1 or L2 norm. Trained with the margin ranking loss
//   max(0, margin + d(h, r, t) - d(h', r, t'))
// against corrupted triples (head or tail replaced by a uniformly drawn
// entity; which side by a fair coin ("uniform") or by the relation's
// tails-per-head vs heads-per-tail ratio, "bern", Wang et al., AAAI 2014).
//
// As in the paper: init uniform in [-6/sqrt(d), 6/sqrt(d)], relations and
// entities L2-normalised once at init, and every entity vector renormalised
// to unit L2 norm right after each update that touches it (relations are
// not). Updates are applied per (positive, negative) pair, SGD or Adagrad
// (per-element accumulators); `batch_size` is the unit of work between
// progress reports.
//
// Threads: each epoch shuffles the training triples (from the seed) and cuts
// them into one shard per thread of the pool; threads update the shared
// tables without locks (Hogwild, Recht et al. 2011: sparse updates rarely
// collide and a collision only loses part of one step). So a multi-threaded
// run is not bit-reproducible; a 1-thread run with a given seed is, exactly.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "kplug/core/error.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/core/random.hpp"
#include "kplug/core/thread_pool.hpp"
#include "kplug/io/atomic_file.hpp"
#include "kplug/io/npy.hpp"
#include "kplug/kge/triples.hpp"

namespace kplug::kge {

enum class distance_norm { l1, l2 };
enum class corruption { uniform, bern };
enum class transe_optimizer { sgd, adagrad };

// Defaults: the best filtered MRR measured on WordNet (300k noun/verb
// triples, 2 threads) within about two minutes of training: L2 with margin 1
// (0.55 after 60 epochs) beat L1 with margin 2-8 (0.36-0.44) and margins
// 0.75 / 1.5 (0.41); Adagrad at 0.05 beat SGD (0.06 after 20 epochs).
struct transe_options {
  index_t dim = 128;  // the paper kplug implements uses d_kb = 128
  int epochs = 50;
  index_t batch_size = 8192;  // triples between progress reports
  int negatives = 1;          // corrupted triples per positive
  float learning_rate = 0.05f;
  float margin = 1.0f;
  distance_norm norm = distance_norm::l2;
  corruption sampling = corruption::bern;
  transe_optimizer optimizer = transe_optimizer::adagrad;
  std::uint64_t seed = 1;
};

struct transe_model {
  matrix<float> entities;   // entities x dim
  matrix<float> relations;  // relations x dim
  distance_norm norm = distance_norm::l1;

  index_t dim() const noexcept { return entities.cols(); }
  float distance(const triple& t) const;
};

// Reported after every batch of the calling thread's shard and at the end
// of every epoch (epoch_done).
struct transe_progress {
  int epoch = 0;  // 1-based
  int epochs = 0;
  std::uint64_t epoch_triples_done = 0;
  std::uint64_t epoch_triples = 0;
  double loss = 0.0;  // mean margin loss per (positive, negative) pair so far this epoch
  double triples_per_second = 0.0;  // positives, over the whole run so far
  double elapsed_seconds = 0.0;
  double eta_seconds = 0.0;
  bool epoch_done = false;
};
using transe_progress_callback = std::function<void(const transe_progress&)>;

// d(h, r, t) under `norm`.
float transe_distance(std::span<const float> h, std::span<const float> r, std::span<const float> t,
                      distance_norm norm);

// The margin loss of one pair, max(0, margin + d(h, r, t) - d(hn, r, tn)),
// and its gradient with respect to each of the five vectors taken as
// distinct variables (the caller sums where hn is h or tn is t). Gradients
// are zero where the loss is zero; at a kink (an L1 coordinate or the L2
// residual exactly zero) the zero subgradient is used.
float transe_margin_loss(std::span<const float> h, std::span<const float> r, std::span<const float> t,
                         std::span<const float> hn, std::span<const float> tn, float margin, distance_norm norm,
                         std::span<float> grad_h, std::span<float> grad_r, std::span<float> grad_t,
                         std::span<float> grad_hn, std::span<float> grad_tn);

// Random tables as training starts them (also the random baseline).
transe_model init_transe(std::int32_t entities, std::int32_t relations, index_t dim, distance_norm norm,
                         std::uint64_t seed);

// Per relation, the probability of corrupting the head: tph / (tph + hpt).
std::vector<float> bern_head_probability(std::span<const triple> train, std::int32_t relations);

// Trains on `train` (ids below `entities` / `relations`).
transe_model train_transe(std::span<const triple> train, std::int32_t entities, std::int32_t relations,
                          const transe_options& options, thread_pool& pool,
                          const transe_progress_callback& progress = {});

// Writes DIR/entities.npy and DIR/relations.npy (float32, rows x dim) with
// DIR/entity2id.txt and DIR/relation2id.txt in OpenKE format (the count,
// then name<TAB>row), each through an io::atomic_file. The
// entity pair opens with kb::open_knowledge_base.
void write_transe_tables(const std::string& dir, const transe_model& model, const name_table& entities,
                         const name_table& relations);

// ---------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------

namespace detail {

// sum_j term(j) with 16 independent partial sums combined in a fixed order:
// vectorises without -ffast-math and gives the same bits wherever it runs.
template <class Term>
inline float lane_sum(index_t n, Term&& term) noexcept {
  float acc[16] = {};
  index_t j = 0;
  for (; j + 16 <= n; j += 16)
    for (int k = 0; k < 16; ++k) acc[k] += term(j + k);
  for (; j < n; ++j) acc[j & 15] += term(j);
  for (int w = 8; w > 0; w /= 2)
    for (int k = 0; k < w; ++k) acc[k] += acc[k + w];
  return acc[0];
}

// ||x|| of a residual already in memory.
inline float norm_of(const float* x, index_t n, distance_norm norm) noexcept {
  if (norm == distance_norm::l1) return lane_sum(n, [&](index_t j) { return std::fabs(x[j]); });
  return std::sqrt(lane_sum(n, [&](index_t j) { return x[j] * x[j]; }));
}

inline void residual(const float* h, const float* r, const float* t, float* out, index_t n) noexcept {
  for (index_t j = 0; j < n; ++j) out[j] = h[j] + r[j] - t[j];
}

// d/dx ||x|| given x and ||x||.
inline void norm_gradient(const float* x, float d, index_t n, distance_norm norm, float* g) noexcept {
  if (norm == distance_norm::l1) {
    for (index_t j = 0; j < n; ++j) g[j] = x[j] > 0.0f ? 1.0f : (x[j] < 0.0f ? -1.0f : 0.0f);
  } else {
    const float inv = d > 0.0f ? 1.0f / d : 0.0f;
    for (index_t j = 0; j < n; ++j) g[j] = x[j] * inv;
  }
}

inline void normalize_l2(float* x, index_t n) noexcept {
  const float s = std::sqrt(lane_sum(n, [&](index_t j) { return x[j] * x[j]; }));
  if (s > 0.0f) {
    const float inv = 1.0f / s;
    for (index_t j = 0; j < n; ++j) x[j] *= inv;
  }
}

inline void check_same_size(std::size_t a, std::size_t b, const char* what, const char* name) {
  if (a != b)
    throw error(what, name, "length " + std::to_string(b) + " differs from the head's " + std::to_string(a));
}

}  // namespace detail

inline float transe_distance(std::span<const float> h, std::span<const float> r, std::span<const float> t,
                             distance_norm norm) {
  detail::check_same_size(h.size(), r.size(), "TransE distance", "relation");
  detail::check_same_size(h.size(), t.size(), "TransE distance", "tail");
  const auto n = static_cast<index_t>(h.size());
  std::vector<float> x(h.size());
  detail::residual(h.data(), r.data(), t.data(), x.data(), n);
  return detail::norm_of(x.data(), n, norm);
}

namespace detail {

// The kernel of one training pair; buffers are n floats each (x, xn scratch).
inline float margin_pair(const float* h, const float* r, const float* t, const float* hn, const float* tn,
                         float margin, distance_norm norm, index_t n, float* x, float* xn, float* g,
                         float* gn) noexcept {
  residual(h, r, t, x, n);
  residual(hn, r, tn, xn, n);
  const float d = norm_of(x, n, norm);
  const float dn = norm_of(xn, n, norm);
  const float loss = margin + d - dn;
  if (!(loss > 0.0f)) return 0.0f;
  norm_gradient(x, d, n, norm, g);     // dL/dh = g, dL/dt = -g, dL/dr = g - gn
  norm_gradient(xn, dn, n, norm, gn);  // dL/dhn = -gn, dL/dtn = gn
  return loss;
}

}  // namespace detail

inline float transe_margin_loss(std::span<const float> h, std::span<const float> r, std::span<const float> t,
                                std::span<const float> hn, std::span<const float> tn, float margin,
                                distance_norm norm, std::span<float> grad_h, std::span<float> grad_r,
                                std::span<float> grad_t, std::span<float> grad_hn, std::span<float> grad_tn) {
  constexpr const char* what = "TransE margin loss";
  for (const auto& [size, name] : {std::pair{r.size(), "relation"}, std::pair{t.size(), "tail"},
                                   std::pair{hn.size(), "corrupted head"}, std::pair{tn.size(), "corrupted tail"},
                                   std::pair{grad_h.size(), "grad_h"}, std::pair{grad_r.size(), "grad_r"},
                                   std::pair{grad_t.size(), "grad_t"}, std::pair{grad_hn.size(), "grad_hn"},
                                   std::pair{grad_tn.size(), "grad_tn"}})
    detail::check_same_size(h.size(), size, what, name);
  const auto n = static_cast<index_t>(h.size());
  std::vector<float> x(h.size()), xn(h.size()), g(h.size()), gn(h.size());
  const float loss = detail::margin_pair(h.data(), r.data(), t.data(), hn.data(), tn.data(), margin, norm, n,
                                         x.data(), xn.data(), g.data(), gn.data());
  for (std::size_t j = 0; j < h.size(); ++j) {
    const float gp = loss > 0.0f ? g[j] : 0.0f;
    const float gq = loss > 0.0f ? gn[j] : 0.0f;
    grad_h[j] = gp;
    grad_t[j] = -gp;
    grad_r[j] = gp - gq;
    grad_hn[j] = -gq;
    grad_tn[j] = gq;
  }
  return loss;
}

inline float transe_model::distance(const triple& t) const {
  return transe_distance(entities.row(t.head), relations.row(t.relation), entities.row(t.tail), norm);
}

inline transe_model init_transe(std::int32_t entities, std::int32_t relations, index_t dim, distance_norm norm,
                                std::uint64_t seed) {
  if (dim <= 0) throw error("initialise TransE", "dim", "dimension must be positive, got " + std::to_string(dim));
  if (entities <= 0 || relations <= 0)
    throw error("initialise TransE", "", "need at least one entity and one relation");
  transe_model m;
  m.norm = norm;
  m.entities.resize(entities, dim);
  m.relations.resize(relations, dim);
  xoshiro256 rng(seed);
  const double bound = 6.0 / std::sqrt(static_cast<double>(dim));
  for (matrix<float>* table : {&m.relations, &m.entities})
    for (index_t i = 0; i < table->rows(); ++i) {
      float* row = table->row(i).data();
      for (index_t j = 0; j < dim; ++j) row[j] = static_cast<float>((2.0 * rng.uniform() - 1.0) * bound);
      detail::normalize_l2(row, dim);
    }
  return m;
}

inline std::vector<float> bern_head_probability(std::span<const triple> train, std::int32_t relations) {
  // tph: distinct (h, r) pairs' mean number of tails; hpt likewise.
  std::vector<std::uint64_t> triples(static_cast<std::size_t>(relations), 0);
  std::vector<std::uint64_t> head_keys(static_cast<std::size_t>(relations), 0);
  std::vector<std::uint64_t> tail_keys(static_cast<std::size_t>(relations), 0);
  std::vector<std::uint64_t> hr, rt;
  hr.reserve(train.size());
  rt.reserve(train.size());
  for (const triple& t : train) {
    ++triples[static_cast<std::size_t>(t.relation)];
    hr.push_back((static_cast<std::uint64_t>(static_cast<std::uint32_t>(t.relation)) << 32) |
                 static_cast<std::uint32_t>(t.head));
    rt.push_back((static_cast<std::uint64_t>(static_cast<std::uint32_t>(t.relation)) << 32) |
                 static_cast<std::uint32_t>(t.tail));
  }
  for (auto* keys : {&hr, &rt}) {
    std::sort(keys->begin(), keys->end());
    keys->erase(std::unique(keys->begin(), keys->end()), keys->end());
  }
  for (const std::uint64_t k : hr) ++head_keys[static_cast<std::size_t>(k >> 32)];
  for (const std::uint64_t k : rt) ++tail_keys[static_cast<std::size_t>(k >> 32)];
  std::vector<float> p(static_cast<std::size_t>(relations), 0.5f);
  for (std::size_t r = 0; r < p.size(); ++r) {
    if (triples[r] == 0) continue;
    const double tph = static_cast<double>(triples[r]) / static_cast<double>(head_keys[r]);
    const double hpt = static_cast<double>(triples[r]) / static_cast<double>(tail_keys[r]);
    p[r] = static_cast<float>(tph / (tph + hpt));
  }
  return p;
}

namespace detail {

inline void check_transe_input(std::span<const triple> train, std::int32_t entities, std::int32_t relations,
                               const transe_options& o) {
  constexpr const char* what = "train TransE";
  if (train.empty()) throw error(what, "", "no training triples");
  if (o.epochs < 0) throw error(what, "epochs", "must be >= 0, got " + std::to_string(o.epochs));
  if (o.batch_size <= 0) throw error(what, "batch_size", "must be positive, got " + std::to_string(o.batch_size));
  if (o.negatives <= 0) throw error(what, "negatives", "must be positive, got " + std::to_string(o.negatives));
  if (!(o.learning_rate > 0.0f))
    throw error(what, "learning_rate", "must be positive, got " + std::to_string(o.learning_rate));
  if (!(o.margin >= 0.0f)) throw error(what, "margin", "must be >= 0, got " + std::to_string(o.margin));
  for (const triple& t : train)
    if (t.head < 0 || t.head >= entities || t.tail < 0 || t.tail >= entities || t.relation < 0 ||
        t.relation >= relations)
      throw error(what, "", "a triple's id is outside the " + std::to_string(entities) + " entities / " +
                                std::to_string(relations) + " relations given");
}

// One training run's state, shared by the pool's threads (see the top of
// this file): the tables, Adagrad's sums, the epoch's order and the progress
// counters.
class transe_trainer {
 public:
  transe_trainer(std::span<const triple> train, std::int32_t entities, std::int32_t relations,
                 const transe_options& o, int parts)
      : train_(train),
        entities_(entities),
        o_(o),
        parts_(parts),
        model_(init_transe(entities, relations, o.dim, o.norm, o.seed)),
        head_p_(o.sampling == corruption::bern ? bern_head_probability(train, relations)
                                               : std::vector<float>(static_cast<std::size_t>(relations), 0.5f)),
        order_(train.size()),
        shuffle_rng_(o.seed ^ 0x5DEECE66Dull),
        part_loss_(static_cast<std::size_t>(parts)),
        start_(std::chrono::steady_clock::now()) {
    if (adagrad()) {
      entity_g2_.resize(entities, o.dim);
      relation_g2_.resize(relations, o.dim);
      std::fill_n(entity_g2_.data(), entity_g2_.rows() * entity_g2_.cols(), 0.0f);
      std::fill_n(relation_g2_.data(), relation_g2_.rows() * relation_g2_.cols(), 0.0f);
    }
    std::iota(order_.begin(), order_.end(), 0u);
  }

  transe_model take_model() { return std::move(model_); }

  // A new epoch: a new order of the triples, the counters at zero.
  void start_epoch() {
    for (std::size_t i = order_.size(); i > 1; --i)
      std::swap(order_[i - 1], order_[static_cast<std::size_t>(shuffle_rng_.next() % i)]);
    for (auto& l : part_loss_) l.store(0.0, std::memory_order_relaxed);
    epoch_done_triples_.store(0, std::memory_order_relaxed);
  }

  // Thread `part`'s shard of the epoch's order, in batches; part 0 reports
  // progress after each of its batches.
  void run_shard(int epoch, int part, const transe_progress_callback& progress) {
    std::uint64_t s = o_.seed + 0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(epoch) +
                      0xD1B54A32D192ED03ull * static_cast<std::uint64_t>(part);
    xoshiro256 rng(splitmix64(s));
    std::vector<float> scratch(static_cast<std::size_t>(o_.dim) * 5);
    const auto n = static_cast<std::uint64_t>(train_.size());
    const std::uint64_t begin = n * static_cast<std::uint64_t>(part) / static_cast<std::uint64_t>(parts_);
    const std::uint64_t end = n * static_cast<std::uint64_t>(part + 1) / static_cast<std::uint64_t>(parts_);
    double loss_sum = 0.0;
    for (std::uint64_t b = begin; b < end; b += static_cast<std::uint64_t>(o_.batch_size)) {
      const std::uint64_t b_end = std::min(end, b + static_cast<std::uint64_t>(o_.batch_size));
      for (std::uint64_t i = b; i < b_end; ++i) train_positive(train_[order_[i]], rng, scratch.data(), loss_sum);
      part_loss_[static_cast<std::size_t>(part)].store(loss_sum, std::memory_order_relaxed);
      epoch_done_triples_.fetch_add(b_end - b, std::memory_order_relaxed);
      if (part == 0 && progress) progress(report(epoch, false));
    }
  }

  transe_progress report(int epoch, bool done) const {
    const auto n = static_cast<std::uint64_t>(train_.size());
    transe_progress p;
    p.epoch = epoch;
    p.epochs = o_.epochs;
    p.epoch_triples = n;
    p.epoch_triples_done = epoch_done_triples_.load(std::memory_order_relaxed);
    p.epoch_done = done;
    double loss = 0.0;
    for (const auto& l : part_loss_) loss += l.load(std::memory_order_relaxed);
    const double pairs = static_cast<double>(p.epoch_triples_done) * o_.negatives;
    p.loss = pairs > 0 ? loss / pairs : 0.0;
    p.elapsed_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double done_all = static_cast<double>(n) * (epoch - 1) + static_cast<double>(p.epoch_triples_done);
    p.triples_per_second = p.elapsed_seconds > 0 ? done_all / p.elapsed_seconds : 0.0;
    const double total_triples = static_cast<double>(n) * o_.epochs;
    p.eta_seconds = p.triples_per_second > 0 ? (total_triples - done_all) / p.triples_per_second : 0.0;
    return p;
  }

 private:
  bool adagrad() const noexcept { return o_.optimizer == transe_optimizer::adagrad; }

  // The positive's negatives, each drawn and trained on; adds their losses to loss_sum.
  void train_positive(const triple& tr, xoshiro256& rng, float* scratch, double& loss_sum) {
    const auto r = static_cast<std::size_t>(tr.relation);
    for (int k = 0; k < o_.negatives; ++k) {
      triple neg = tr;
      const bool corrupt_head = rng.uniform() < static_cast<double>(head_p_[r]);
      const auto pick = static_cast<entity_id>(rng.next() % static_cast<std::uint64_t>(entities_));
      (corrupt_head ? neg.head : neg.tail) = pick;
      if (neg == tr) continue;  // drew the true entity: no signal
      if (const float loss = train_pair(tr, neg, corrupt_head, scratch); loss > 0.0f) loss_sum += loss;
    }
  }

  // One (positive, negative) pair's update of the rows it touches; its loss.
  // `scratch` holds 5 x dim floats.
  float train_pair(const triple& tr, const triple& neg, bool corrupt_head, float* scratch) {
    const index_t dim = o_.dim;
    float* x = scratch;
    float* xn = x + dim;
    float* g = xn + dim;
    float* gn = g + dim;
    float* gr = gn + dim;
    float* h = model_.entities.row(tr.head).data();
    float* t = model_.entities.row(tr.tail).data();
    float* rv = model_.relations.row(tr.relation).data();
    const float loss = margin_pair(h, rv, t, model_.entities.row(neg.head).data(),
                                   model_.entities.row(neg.tail).data(), o_.margin, o_.norm, dim, x, xn, g, gn);
    if (loss <= 0.0f) return 0.0f;
    for (index_t j = 0; j < dim; ++j) gr[j] = g[j] - gn[j];
    // Entity gradients: dL/dh = g, dL/dt = -g, and -gn / +gn for the
    // corrupted head / tail. One side of the negative is the positive's own
    // row: its gradient joins that row's.
    const entity_id changed = corrupt_head ? neg.head : neg.tail;
    // grad of the changed row; its sign: hn -> -gn, tn -> +gn.
    const float changed_sign = corrupt_head ? -1.0f : 1.0f;
    // x <- grad of h, xn <- grad of t (residual buffers are free now).
    for (index_t j = 0; j < dim; ++j) {
      x[j] = g[j];
      xn[j] = -g[j];
    }
    // The unchanged side of the negative shares the positive's row.
    if (corrupt_head)
      for (index_t j = 0; j < dim; ++j) xn[j] += gn[j];  // tn == t
    else
      for (index_t j = 0; j < dim; ++j) x[j] -= gn[j];  // hn == h
    for (index_t j = 0; j < dim; ++j) gn[j] *= changed_sign;
    update_entities({h, t, model_.entities.row(changed).data()}, {x, xn, gn}, {tr.head, tr.tail, changed});
    step(rv, !adagrad() ? nullptr : relation_g2_.row(tr.relation).data(), gr);
    return loss;
  }

  // Steps the three entity rows of a pair, each then renormalised. Rows that
  // coincide (h == t, or the draw hit the other side's entity) take the sum
  // of their gradients in one step.
  void update_entities(std::array<float*, 3> rows, std::array<float*, 3> grads, std::array<entity_id, 3> ids) {
    const index_t dim = o_.dim;
    for (int a = 0; a < 3; ++a)
      for (int c = a + 1; c < 3; ++c)
        if (ids[c] == ids[a] && grads[c] != nullptr && grads[a] != nullptr) {
          for (index_t j = 0; j < dim; ++j) grads[a][j] += grads[c][j];
          grads[c] = nullptr;
        }
    for (int a = 0; a < 3; ++a) {
      if (grads[a] == nullptr) continue;
      step(rows[a], !adagrad() ? nullptr : entity_g2_.row(ids[a]).data(), grads[a]);
      normalize_l2(rows[a], dim);
    }
  }

  // param -= lr * grad, scaled per element by Adagrad (g2: its sums; null for SGD).
  void step(float* w, float* g2, const float* grad) const {
    constexpr float adagrad_eps = 1e-8f;
    const float lr = o_.learning_rate;
    if (g2 != nullptr) {
      for (index_t j = 0; j < o_.dim; ++j) {
        g2[j] += grad[j] * grad[j];
        w[j] -= lr * grad[j] / (std::sqrt(g2[j]) + adagrad_eps);
      }
    } else {
      for (index_t j = 0; j < o_.dim; ++j) w[j] -= lr * grad[j];
    }
  }

  std::span<const triple> train_;
  std::int32_t entities_;
  const transe_options& o_;
  int parts_;
  transe_model model_;
  matrix<float> entity_g2_, relation_g2_;  // Adagrad's sums of squared gradients
  std::vector<float> head_p_;
  std::vector<std::uint32_t> order_;
  xoshiro256 shuffle_rng_;
  std::vector<std::atomic<double>> part_loss_;
  std::atomic<std::uint64_t> epoch_done_triples_{0};
  std::chrono::steady_clock::time_point start_;
};

}  // namespace detail

inline transe_model train_transe(std::span<const triple> train, std::int32_t entities, std::int32_t relations,
                                 const transe_options& o, thread_pool& pool,
                                 const transe_progress_callback& progress) {
  detail::check_transe_input(train, entities, relations, o);
  detail::transe_trainer trainer(train, entities, relations, o, pool.size());
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    trainer.start_epoch();
    pool.run(pool.size(), [&](int part) { trainer.run_shard(epoch, part, progress); });
    if (progress) progress(trainer.report(epoch, true));
  }
  return trainer.take_model();
}

namespace detail {

inline std::string openke_id_file(const name_table& names) {
  std::string s = std::to_string(names.size()) + "\n";
  for (std::int32_t i = 0; i < names.size(); ++i) {
    s += names.name(i);
    s += '\t';
    s += std::to_string(i);
    s += '\n';
  }
  return s;
}

}  // namespace detail

inline void write_transe_tables(const std::string& dir, const transe_model& model, const name_table& entities,
                                const name_table& relations) {
  constexpr const char* what = "write TransE tables";
  if (model.entities.rows() != entities.size())
    throw error(what, at_file(dir),
                std::to_string(entities.size()) + " entity names for " + std::to_string(model.entities.rows()) +
                    " rows");
  if (model.relations.rows() != relations.size())
    throw error(what, at_file(dir),
                std::to_string(relations.size()) + " relation names for " +
                    std::to_string(model.relations.rows()) + " rows");
  for (const auto& names : {&entities, &relations})
    for (const std::string& name : names->names())
      if (name.empty() || name.find_first_of("\t\n\r") != std::string::npos)
        throw error(what, at_file(dir), "name '" + name + "' is empty or holds a tab or line break");
  const std::string prefix = dir.empty() || dir.back() == '/' ? dir : dir + "/";
  io::write_npy(prefix + "entities.npy", model.entities.view());
  io::write_npy(prefix + "relations.npy", model.relations.view());
  io::write_file_atomically(prefix + "entity2id.txt", detail::openke_id_file(entities), "write text file");
  io::write_file_atomically(prefix + "relation2id.txt", detail::openke_id_file(relations), "write text file");
}

}  // namespace kplug::kge
