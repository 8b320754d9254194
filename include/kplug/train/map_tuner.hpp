// The map-tuning loop: trains a mapping network (the knowledge plugin)
// through a FROZEN model, generic over the backend concept.
//
// One step, for a batch of examples:
//   plan + pack (splice)  ->  gather the distinct entities' knowledge rows
//   -> input dropout -> mapper forward (once per distinct entity)
//   -> backend forward on the plan + mapped rows, at the target rows -> loss
//   -> backend backward: gradients of the mapped rows (summed over each
//      entity's slots by the backend) -> mapper backward -> Adam/AdamW step.
// The backend's weights are never touched and never asked for gradients.
// Only the mapped rows, the outputs at the targets and their gradients cross
// to the backend (uploaded and downloaded when its memory is not the host's).
// General map-tuning uses MMLM examples (example.hpp) with cross_entropy over
// an MLM-head backend; task-specific map-tuning uses the task's examples with
// the frozen downstream model (backend + its head).
//
// Data-parallel: on_reduce(gradient_reduction) makes the tuner one rank of a
// group (reduction.hpp has the contract; kplug/distributed/mpi.hpp makes one
// over MPI). Each rank runs forward and backward on its share of every
// global batch; the mapper's gradients are summed over the ranks between
// the mapper's backward and the optimizer step, which is then the same on
// every rank. Without a reduction nothing of this runs.
#pragma once

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "kplug/backend/concepts.hpp"
#include "kplug/backend/memory.hpp"
#include "kplug/core/error.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/kb/knowledge_base.hpp"
#include "kplug/core/random.hpp"
#include "kplug/map/dropout.hpp"
#include "kplug/map/mapper.hpp"
#include "kplug/map/parameter.hpp"
#include "kplug/optim/adam.hpp"
#include "kplug/plugin/fingerprint.hpp"
#include "kplug/splice/batch.hpp"
#include "kplug/splice/planner.hpp"
#include "kplug/train/example.hpp"
#include "kplug/train/objective.hpp"
#include "kplug/train/reduction.hpp"

namespace kplug::train {

struct tuning_options {
  int epochs = 1;
  std::size_t batch_size = 64;        // examples per step (the paper: 64)
  std::uint64_t seed = 0;             // shuffling and input dropout
  bool shuffle = true;
  optim::adam_options optimizer{};    // the paper: Adam, lr 1e-5 (set optimizer.lr)
  float input_dropout = 0.0f;         // on the knowledge vectors, training only
  std::size_t eval_every = 0;         // steps between dev evaluations; 0: after each epoch
  int patience = 0;                   // evaluations without dev improvement before stopping; 0: never
  bool restore_best = true;           // end with the parameters of the best dev evaluation
  bool frozen_model_dropout = false;  // backend dropout during training (needs backend.set_dropout(bool))
};

struct evaluation {
  double loss = 0.0;                // mean over targets
  std::optional<double> accuracy;   // classification objectives only
  std::size_t targets = 0;
  std::size_t examples = 0;
};

struct progress {
  enum class phase { train, eval, done };
  phase stage = phase::train;
  int epoch = 0;                    // 1-based
  int epochs = 0;
  std::size_t step = 0;             // steps taken so far
  std::size_t total_steps = 0;      // planned (early stopping may end sooner)
  double loss = 0.0;                // the last step's loss
  double mean_loss = 0.0;           // mean over this epoch's steps so far
  double examples_per_second = 0.0;
  double elapsed_seconds = 0.0;
  double eta_seconds = 0.0;
  std::optional<evaluation> dev;    // the latest dev evaluation
};
using progress_callback = std::function<void(const progress&)>;

// Time spent inside the backend's forward and backward against the whole of
// each step, so the loop's own overhead (plan, pack, gather, mapper, loss,
// optimizer, transfers) is measurable.
struct step_timing {
  std::size_t steps = 0;
  double total_seconds = 0.0;
  double backend_seconds = 0.0;
  // Inside the gradient reduction (data-parallel only), including the wait
  // for the slowest rank; part of total_seconds.
  double reduce_seconds = 0.0;
};

struct tuning_result {
  std::size_t steps = 0;
  int epochs_run = 0;
  bool stopped_early = false;
  double last_train_loss = 0.0;
  std::optional<evaluation> best_dev;
  std::vector<evaluation> dev_history;
};

template <trainable_backend Backend, map::mapping_network Mapper, objective Objective = cross_entropy>
class map_tuner {
 public:
  // Called with the mapper each time the dev loss improves (write a plugin
  // checkpoint here); a checkpoint is therefore always a good state.
  using checkpoint_callback = std::function<void(Mapper&, const evaluation&)>;

  // The tuner keeps references to backend, knowledge base and mapper.
  map_tuner(Backend& backend, const kb::knowledge_base& knowledge, Mapper& mapper, splice::planner planner,
            tuning_options options = {}, Objective objective = {});

  void on_checkpoint(checkpoint_callback fn) { checkpoint_ = std::move(fn); }

  // Trains as rank `reduction.rank` of a data-parallel group (reduction.hpp):
  // every rank then calls fit, step and evaluate with the same arguments and
  // gets the results one process would get on the whole data; only rank 0
  // calls the progress and checkpoint callbacks. Set it before training.
  void on_reduce(gradient_reduction reduction);

  // Trains on `train`, evaluating on `dev` (may be empty: no early stopping,
  // no checkpoints). A non-finite knowledge vector, gradient or loss throws a
  // kplug::error naming the entity or parameter; the mapper then holds the
  // last good parameters (the failed step changed nothing) and the last
  // checkpoint written stays valid.
  tuning_result fit(std::span<const example> train, std::span<const example> dev = {},
                    const progress_callback& on_progress = {});

  // One optimizer step on `batch`; returns its loss. Data-parallel, `batch`
  // is the global batch: this rank runs its share (rank_share) and the loss
  // is the mean over every rank's targets.
  double step(std::span<const example* const> batch);
  // Mean loss (and accuracy for classification) over `data`, no training.
  // Data-parallel, each rank evaluates its share and the totals are summed.
  evaluation evaluate(std::span<const example> data);

  const step_timing& timing() const noexcept { return timing_; }
  optim::adam& optimizer() noexcept { return optimizer_; }
  const tuning_options& options() const noexcept { return options_; }

 private:
  struct forward_result {
    double loss = 0.0;
    std::size_t targets = 0;
    std::size_t correct = 0;
  };
  forward_result run(std::span<const example* const> batch, bool train);
  void prepare(std::span<const example* const> batch, bool train);
  void check_finite_rows(matrix_view<const float> rows, const char* what, const char* kind) const;
  void set_backend_dropout(bool on);
  std::vector<std::vector<float>> snapshot();
  void restore(const std::vector<std::vector<float>>& values);
  // Reduces the gradients (data-parallel), steps the optimizer, and counts the step's time.
  void finish_step(forward_result& r, std::span<const map::parameter> params,
                   std::chrono::steady_clock::time_point start, std::chrono::steady_clock::duration backend_time);
  void reduce_gradients(forward_result& r, std::span<const map::parameter> params);
  void check_same_setup(std::span<const example> train, std::span<const example> dev);
  std::string describe_setup(std::span<const example> train, std::span<const example> dev);
  bool leader() const noexcept { return !reduction_ || reduction_->rank == 0; }

  Backend& backend_;
  const kb::knowledge_base& kb_;
  Mapper& mapper_;
  splice::planner planner_;
  tuning_options options_;
  Objective objective_;
  optim::adam optimizer_;
  map::input_dropout dropout_;
  checkpoint_callback checkpoint_;
  step_timing timing_;
  std::optional<gradient_reduction> reduction_;
  bool setup_checked_ = false;

  // Buffers reused across steps.
  std::vector<splice::splice_plan> plans_;
  splice::packed_plan packed_;
  std::vector<std::int32_t> positions_;
  std::vector<const target*> targets_;
  matrix<float> knowledge_, dropped_;
  mirrored_matrix<Backend> mapped_, grad_mapped_, outputs_, grad_outputs_;
  std::vector<float> reduce_buffer_;
  std::vector<const example*> share_;
};

// ---------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------

template <trainable_backend B, map::mapping_network M, objective O>
map_tuner<B, M, O>::map_tuner(B& backend, const kb::knowledge_base& knowledge, M& mapper, splice::planner planner,
                              tuning_options options, O objective)
    : backend_(backend),
      kb_(knowledge),
      mapper_(mapper),
      planner_(std::move(planner)),
      options_(std::move(options)),
      objective_(std::move(objective)),
      optimizer_(options_.optimizer),
      dropout_(options_.input_dropout, options_.seed ^ 0x6b706c7567ull) {
  constexpr const char* what = "create map tuner";
  if (mapper_.input_dim() != knowledge.d_kb())
    throw error(what, "mapper", "maps " + std::to_string(mapper_.input_dim()) + "-wide vectors, knowledge base '" +
                                    knowledge.name() + "' has d_kb " + std::to_string(knowledge.d_kb()));
  if (mapper_.output_dim() != backend_.hidden_size())
    throw error(what, "mapper", "produces " + std::to_string(mapper_.output_dim()) +
                                    "-wide rows, the encoder's hidden size is " +
                                    std::to_string(backend_.hidden_size()));
  if (options_.epochs < 0) throw error(what, "options.epochs", "must be >= 0");
  if (options_.batch_size == 0) throw error(what, "options.batch_size", "must be >= 1");
  if (options_.patience < 0) throw error(what, "options.patience", "must be >= 0");
  if (options_.frozen_model_dropout && !requires { backend_.set_dropout(true); })
    throw error(what, "options.frozen_model_dropout", "this backend has no set_dropout(bool)");
}

template <trainable_backend B, map::mapping_network M, objective O>
void map_tuner<B, M, O>::set_backend_dropout(bool on) {
  if constexpr (requires { backend_.set_dropout(on); }) backend_.set_dropout(on && options_.frozen_model_dropout);
}

template <trainable_backend B, map::mapping_network M, objective O>
void map_tuner<B, M, O>::on_reduce(gradient_reduction reduction) {
  validate(reduction);
  // Each rank draws its own input-dropout masks (rank 0 the single-process ones).
  dropout_ = map::input_dropout(options_.input_dropout, (options_.seed ^ 0x6b706c7567ull) ^
                                                            (static_cast<std::uint64_t>(reduction.rank) *
                                                             0x9e3779b97f4a7c15ull));
  reduction_ = std::move(reduction);
  setup_checked_ = false;
}

template <trainable_backend B, map::mapping_network M, objective O>
void map_tuner<B, M, O>::check_finite_rows(matrix_view<const float> rows, const char* what, const char* kind) const {
  for (index_t r = 0; r < rows.rows(); ++r)
    for (float v : rows.row(r))
      if (!std::isfinite(v)) {
        const row_index kb_row = packed_.distinct_rows[0][static_cast<std::size_t>(r)];
        const auto name = kb_.entities().name_of(kb_row);
        throw error(what, "entity '" + std::string(name ? *name : std::string_view("?")) + "' (knowledge-base row " +
                              std::to_string(kb_row) + ")",
                    std::string(kind) + " is not finite (" + std::to_string(v) + ")");
      }
}

template <trainable_backend B, map::mapping_network M, objective O>
void map_tuner<B, M, O>::prepare(std::span<const example* const> batch, bool train) {
  constexpr const char* what = "map-tuning step";
  plans_.resize(batch.size());
  positions_.clear();
  targets_.clear();
  std::int32_t offset = 0;
  for (std::size_t b = 0; b < batch.size(); ++b) {
    const example& ex = *batch[b];
    splice::splice_plan& plan = plans_[b];
    planner_.build_into(ex.tokens, ex.mentions, ex.rows, plan);
    for (const target& t : ex.targets) {
      std::int32_t row = -1;
      if (t.token >= 0 && t.mention < 0 && static_cast<std::size_t>(t.token) < plan.old_to_new.size())
        row = plan.old_to_new[static_cast<std::size_t>(t.token)];
      else if (t.mention >= 0 && t.token < 0 && static_cast<std::size_t>(t.mention) < plan.groups.size())
        row = plan.groups[static_cast<std::size_t>(t.mention)].begin;
      else
        throw error(what, "target of an example",
                    "needs exactly one of token (in [0, " + std::to_string(ex.tokens.size()) + ")) or mention (in [0, " +
                        std::to_string(ex.mentions.size()) + ")), got token " + std::to_string(t.token) +
                        ", mention " + std::to_string(t.mention));
      if (row < 0) continue;  // truncated away with its token or group
      positions_.push_back(offset + row);
      targets_.push_back(&t);
    }
    offset += plan.length();
  }
  splice::pack_into(plans_, packed_);
  if (packed_.sources() > 1)
    throw error(what, "mentions", "a map tuner trains one knowledge source; the batch uses " +
                                      std::to_string(packed_.sources()));
  static const std::vector<row_index> none;
  const std::vector<row_index>& distinct = packed_.sources() == 1 ? packed_.distinct_rows[0] : none;
  const auto n = static_cast<index_t>(distinct.size());
  knowledge_.resize(n, kb_.d_kb());
  kb_.gather(distinct, knowledge_);
  check_finite_rows(knowledge_, what, "its knowledge vector");
  dropped_.resize(n, kb_.d_kb());
  dropout_.set_training(train);
  dropout_.forward(knowledge_, dropped_);
  mapped_.resize(backend_, n, mapper_.output_dim());
  mapper_.forward(dropped_, mapped_.host());
  mapped_.upload(backend_);
}

template <trainable_backend B, map::mapping_network M, objective O>
typename map_tuner<B, M, O>::forward_result map_tuner<B, M, O>::run(std::span<const example* const> batch,
                                                                     bool train) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  // Data-parallel, this rank's share of a small global batch may be empty:
  // it still joins the step, with zero gradients and zero targets.
  if (batch.empty() && reduction_) {
    forward_result r;
    if (train) {
      const std::vector<map::parameter> params = mapper_.parameters();
      map::zero_grad(params);
      finish_step(r, params, start, clock::duration{});
    }
    return r;
  }
  prepare(batch, train);
  const model_input input = packed_.input();
  const auto targets = static_cast<index_t>(positions_.size());

  auto t0 = clock::now();
  set_backend_dropout(train);
  outputs_.resize(backend_, targets, backend_.output_size());
  backend_.forward(input, mapped_.device(), positions_, outputs_.device());
  auto backend_time = clock::now() - t0;
  outputs_.download(backend_);

  forward_result r;
  r.targets = targets_.size();
  grad_outputs_.resize(backend_, targets, backend_.output_size());
  r.loss = objective_(outputs_.host(), targets_, grad_outputs_.host());
  if (!std::isfinite(r.loss))
    throw error("map-tuning step", "loss", "is not finite (" + std::to_string(r.loss) + ")");
  if constexpr (std::same_as<O, cross_entropy>)
    r.correct = static_cast<std::size_t>(std::lround(accuracy(outputs_.host(), targets_) * double(targets_.size())));

  if (train) {
    grad_outputs_.upload(backend_);
    grad_mapped_.resize(backend_, mapped_.rows(), mapped_.cols());
    t0 = clock::now();
    backend_.backward(input, mapped_.device(), positions_, grad_outputs_.device(), grad_mapped_.device());
    backend_time += clock::now() - t0;
    grad_mapped_.download(backend_);
    check_finite_rows(grad_mapped_.host(), "map-tuning step", "the gradient of its mapped row");
    const std::vector<map::parameter> params = mapper_.parameters();
    map::zero_grad(params);
    mapper_.backward(dropped_, grad_mapped_.host(), matrix_view<float>{});
    finish_step(r, params, start, backend_time);
  }
  return r;
}

template <trainable_backend B, map::mapping_network M, objective O>
void map_tuner<B, M, O>::finish_step(forward_result& r, std::span<const map::parameter> params,
                                     std::chrono::steady_clock::time_point start,
                                     std::chrono::steady_clock::duration backend_time) {
  if (reduction_) reduce_gradients(r, params);
  optimizer_.step(params);  // throws, changing nothing, on a non-finite gradient
  ++timing_.steps;
  timing_.total_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  timing_.backend_seconds += std::chrono::duration<double>(backend_time).count();
}

template <trainable_backend B, map::mapping_network M, objective O>
void map_tuner<B, M, O>::reduce_gradients(forward_result& r, std::span<const map::parameter> params) {
  // The objective's gradient is that of this rank's MEAN loss. Weighted by
  // the rank's target count, the sum over ranks is the gradient of the
  // summed loss; divided by the global count, that of the global mean.
  // One buffer, one collective: [gradients x count, count, loss x count]
  // (float32 holds counts exactly up to 2^24 targets per step).
  const auto local = static_cast<float>(r.targets);
  reduce_buffer_.clear();
  for (const map::parameter& p : params)
    for (index_t row = 0; row < p.grad.rows(); ++row)
      for (const float g : p.grad.row(row)) reduce_buffer_.push_back(g * local);
  const std::size_t n = reduce_buffer_.size();
  reduce_buffer_.push_back(local);
  reduce_buffer_.push_back(static_cast<float>(r.loss * static_cast<double>(r.targets)));
  const auto t0 = std::chrono::steady_clock::now();
  reduction_->sum_gradients(reduce_buffer_);
  timing_.reduce_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double total = reduce_buffer_[n];
  const double scale = total > 0.0 ? 1.0 / total : 0.0;
  const float* sum = reduce_buffer_.data();
  for (const map::parameter& p : params)
    for (index_t row = 0; row < p.grad.rows(); ++row)
      for (float& g : p.grad.row(row)) g = static_cast<float>(static_cast<double>(*sum++) * scale);
  r.targets = static_cast<std::size_t>(std::llround(total));
  r.loss = static_cast<double>(reduce_buffer_[n + 1]) * scale;
}

template <trainable_backend B, map::mapping_network M, objective O>
double map_tuner<B, M, O>::step(std::span<const example* const> batch) {
  if (!reduction_) return run(batch, true).loss;
  if (!setup_checked_) check_same_setup({}, {});
  share_.clear();
  for (std::size_t i = static_cast<std::size_t>(reduction_->rank); i < batch.size();
       i += static_cast<std::size_t>(reduction_->ranks))
    share_.push_back(batch[i]);
  return run(share_, true).loss;
}

template <trainable_backend B, map::mapping_network M, objective O>
evaluation map_tuner<B, M, O>::evaluate(std::span<const example> data) {
  if (reduction_ && !setup_checked_) check_same_setup({}, {});
  evaluation e;
  e.examples = data.size();
  double weighted = 0.0;
  std::size_t correct = 0;
  // Data-parallel, this rank evaluates the examples at positions rank,
  // rank + ranks, ..., in batches of its share of batch_size.
  const auto rank = static_cast<std::size_t>(reduction_ ? reduction_->rank : 0);
  const auto ranks = static_cast<std::size_t>(reduction_ ? reduction_->ranks : 1);
  const std::size_t batch_size = (options_.batch_size + ranks - 1) / ranks;
  std::vector<const example*> batch;
  for (std::size_t i = rank; i < data.size(); i += ranks) {
    batch.push_back(&data[i]);
    if (batch.size() < batch_size && i + ranks < data.size()) continue;
    const forward_result r = run(batch, false);
    weighted += r.loss * static_cast<double>(r.targets);
    e.targets += r.targets;
    correct += r.correct;
    batch.clear();
  }
  if (reduction_) {
    std::array<double, 3> totals{weighted, static_cast<double>(correct), static_cast<double>(e.targets)};
    reduction_->sum_totals(totals);
    weighted = totals[0];
    correct = static_cast<std::size_t>(std::llround(totals[1]));
    e.targets = static_cast<std::size_t>(std::llround(totals[2]));
  }
  if (e.targets > 0) e.loss = weighted / static_cast<double>(e.targets);
  if constexpr (std::same_as<O, cross_entropy>)
    if (e.targets > 0) e.accuracy = static_cast<double>(correct) / static_cast<double>(e.targets);
  return e;
}

template <trainable_backend B, map::mapping_network M, objective O>
std::vector<std::vector<float>> map_tuner<B, M, O>::snapshot() {
  std::vector<std::vector<float>> out;
  for (const map::parameter& p : mapper_.parameters()) {
    std::vector<float>& v = out.emplace_back();
    for (index_t r = 0; r < p.value.rows(); ++r) v.insert(v.end(), p.value.row(r).begin(), p.value.row(r).end());
  }
  return out;
}

template <trainable_backend B, map::mapping_network M, objective O>
void map_tuner<B, M, O>::restore(const std::vector<std::vector<float>>& values) {
  const std::vector<map::parameter> params = mapper_.parameters();
  for (std::size_t k = 0; k < params.size() && k < values.size(); ++k) {
    const float* src = values[k].data();
    for (index_t r = 0; r < params[k].value.rows(); ++r, src += params[k].value.cols())
      std::copy(src, src + params[k].value.cols(), params[k].value.row(r).begin());
  }
}

template <trainable_backend B, map::mapping_network M, objective O>
void map_tuner<B, M, O>::check_same_setup(std::span<const example> train, std::span<const example> dev) {
  reduction_->check_same_setup(describe_setup(train, dev));
  setup_checked_ = true;
}

// What every rank of a data-parallel group must agree on, one fact per line.
template <trainable_backend B, map::mapping_network M, objective O>
std::string map_tuner<B, M, O>::describe_setup(std::span<const example> train, std::span<const example> dev) {
  auto exact = [](double v) {  // the shortest text that reads back as v
    char buf[32];
    const auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
    return std::string(buf, end);
  };
  auto n = [](auto v) { return std::to_string(v); };
  const std::vector<map::parameter> params = mapper_.parameters();
  std::string shapes;
  xxh64_stream values;
  for (const map::parameter& p : params) {
    shapes += (shapes.empty() ? "" : ", ") + p.name + " " + n(p.value.rows()) + "x" + n(p.value.cols());
    values.update_u64(plugin::fingerprint_matrix(p.value));
  }
  const optim::adam_options& a = optimizer_.options();
  const tuning_options& o = options_;
  std::string s;
  s += "mapper: " + std::string(mapper_.kind()) + " " + n(mapper_.input_dim()) + " -> " + n(mapper_.output_dim()) +
       " (" + shapes + ")\n";
  s += "mapper parameter values: " + plugin::format_fingerprint(values.digest()) + "\n";
  s += "knowledge base: '" + kb_.name() + "', " + n(kb_.size()) + " entities, d_kb " + n(kb_.d_kb()) +
       ", fingerprint " + plugin::format_fingerprint(plugin::kb_fingerprint(kb_)) + "\n";
  s += "encoder: hidden size " + n(backend_.hidden_size()) + ", output size " + n(backend_.output_size()) + "\n";
  s += "options: epochs " + n(o.epochs) + ", batch_size " + n(o.batch_size) + ", seed " + n(o.seed) + ", shuffle " +
       n(int(o.shuffle)) + ", eval_every " + n(o.eval_every) + ", patience " + n(o.patience) + ", restore_best " +
       n(int(o.restore_best)) + ", input_dropout " + exact(o.input_dropout) + ", frozen_model_dropout " +
       n(int(o.frozen_model_dropout)) + "\n";
  s += "optimizer: lr " + exact(a.lr) + ", betas " + exact(a.beta1) + " " + exact(a.beta2) + ", eps " +
       exact(a.eps) + ", weight_decay " + exact(a.weight_decay) + " (" +
       (a.decay_mode == optim::weight_decay_mode::l2 ? "l2" : "decoupled") + "), max_grad_norm " +
       exact(a.max_grad_norm) + ", steps taken " + n(optimizer_.step_count()) + "\n";
  s += "training examples: " + n(train.size()) + ", fingerprint " +
       plugin::format_fingerprint(examples_fingerprint(train)) + "\n";
  s += "dev examples: " + n(dev.size()) + ", fingerprint " + plugin::format_fingerprint(examples_fingerprint(dev)) +
       "\n";
  return s;
}

template <trainable_backend B, map::mapping_network M, objective O>
tuning_result map_tuner<B, M, O>::fit(std::span<const example> train, std::span<const example> dev,
                                      const progress_callback& on_progress) {
  using clock = std::chrono::steady_clock;
  if (reduction_) check_same_setup(train, dev);
  tuning_result result;
  const std::size_t steps_per_epoch = (train.size() + options_.batch_size - 1) / options_.batch_size;
  progress p;
  p.epochs = options_.epochs;
  p.total_steps = steps_per_epoch * static_cast<std::size_t>(options_.epochs);
  const auto start = clock::now();
  std::size_t examples_seen = 0;
  int evaluations_without_gain = 0;
  std::vector<std::vector<float>> best;
  xoshiro256 rng(options_.seed);
  std::vector<std::size_t> order(train.size());
  std::vector<const example*> batch;

  auto report = [&](progress::phase stage) {
    if (!on_progress || !leader()) return;
    p.stage = stage;
    p.elapsed_seconds = std::chrono::duration<double>(clock::now() - start).count();
    p.examples_per_second = p.elapsed_seconds > 0 ? double(examples_seen) / p.elapsed_seconds : 0.0;
    p.eta_seconds = p.step > 0 ? p.elapsed_seconds / double(p.step) * double(p.total_steps - std::min(p.step, p.total_steps)) : 0.0;
    on_progress(p);
  };
  // Returns true when training should stop (patience exhausted).
  auto evaluate_dev = [&]() {
    if (dev.empty()) return false;
    report(progress::phase::eval);
    const evaluation e = evaluate(dev);
    result.dev_history.push_back(e);
    p.dev = e;
    if (!result.best_dev || e.loss < result.best_dev->loss) {
      result.best_dev = e;
      evaluations_without_gain = 0;
      if (options_.restore_best) best = snapshot();
      if (checkpoint_ && leader()) checkpoint_(mapper_, e);
      return false;
    }
    ++evaluations_without_gain;
    return options_.patience > 0 && evaluations_without_gain >= options_.patience;
  };

  bool stop = false;
  for (int epoch = 1; epoch <= options_.epochs && !stop; ++epoch) {
    p.epoch = epoch;
    std::iota(order.begin(), order.end(), std::size_t{0});
    if (options_.shuffle)  // Fisher-Yates with kplug's own generator: the same order everywhere
      for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.next() % i]);
    double epoch_loss = 0.0;
    std::size_t epoch_steps = 0;
    for (std::size_t first = 0; first < order.size() && !stop; first += options_.batch_size) {
      batch.clear();
      for (std::size_t i = first; i < std::min(order.size(), first + options_.batch_size); ++i)
        batch.push_back(&train[order[i]]);
      p.loss = step(batch);
      result.last_train_loss = p.loss;
      epoch_loss += p.loss;
      p.mean_loss = epoch_loss / double(++epoch_steps);
      examples_seen += batch.size();
      p.step = ++result.steps;
      report(progress::phase::train);
      if (options_.eval_every > 0 && result.steps % options_.eval_every == 0) stop = evaluate_dev();
    }
    result.epochs_run = epoch;
    if (options_.eval_every == 0 && !stop) stop = evaluate_dev();
  }
  result.stopped_early = stop;
  set_backend_dropout(false);
  if (options_.restore_best && !best.empty()) restore(best);
  report(progress::phase::done);
  return result;
}

}  // namespace kplug::train
