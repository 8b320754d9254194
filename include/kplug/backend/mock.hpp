// The mock backend: a deterministic, weight-free stand-in for a real encoder.
// It models kplug::trainable_backend and is what the test suite (and users
// testing their own linking/splicing/mask/position logic) run against.
//
// It is small but not trivial, so that injection bugs change its output:
// it executes the splice plan itself (embeds the tokens, writes the mapped
// entity rows into their slots), adds position and segment embeddings (as a
// real encoder does), mixes every token with the masked mean of ITS OWN
// sequence (so offset, packing and mask mistakes show), and records every
// call it receives, including the embedding rows its encoder saw.
// Because it records them, even its const members must not be called on one
// object from several threads at once: give each thread its own mock.
//
// The model, for token i of sequence s (rows [offsets[s], offsets[s+1])):
//   x_i = entities[slot_entities[k]] if slot_rows[k] = i, else E[token_ids[i]]
//   z_i = x_i + P[position_ids[i]] + S[segment_ids[i]]          (hidden)
//   h_i = tanh(A z_i + b)                                       (hidden)
//   c_s = sum_{j in s, mask_j = 1} h_j / n_s,  n_s = #{j in s : mask_j = 1}
//         (c_s = 0 when n_s = 0)
//   y_i = W (h_i + c_s)                                         (output)
// forward writes row r of `out` = y_{positions[r]}. backward returns the exact
// gradient with respect to the entity rows (the sum of dL/dx_i over each
// entity's slots); parameters are frozen.
//
// Every parameter is a hash of (seed, table, row, col) -- see mock_uniform --
// so the model is identical across runs, compilers and platforms:
//   word embedding  E[t][k] = u(seed, word, t, k)
//   P[p][k] = u(seed, position, p, k)        S[g][k] = u(seed, segment, g, k)
//   A[j][k] = u(seed, hidden_weight, j, k) * r     b[j] = u(seed, hidden_bias, 0, j) / 2
//   W[o][k] = u(seed, output_weight, o, k) * r     r = float(1 / sqrt(double(hidden)))
// Arithmetic is float (Eigen); results agree with a double-precision
// re-implementation to float rounding.
//
// Not thread-safe: every call appends to the call log.
#pragma once

#include <Eigen/Core>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <vector>

#include "kplug/backend/concepts.hpp"
#include "kplug/core/eigen.hpp"  // eigen_row_major
#include "kplug/core/error.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/core/model_input.hpp"
#include "kplug/core/types.hpp"
#include "kplug/splice/assemble.hpp"

namespace kplug::backend {

// ---------------------------------------------------------------- declarations

// The parameter tables of the mock; the enumerator's value is the `table`
// argument of mock_uniform.
enum class mock_table : std::uint64_t {
  word = 0,
  position = 1,
  segment = 2,
  hidden_weight = 3,
  hidden_bias = 4,
  output_weight = 5,
};

// The documented hash: h = m(seed); h = m(h ^ table); h = m(h ^ row);
// h = m(h ^ col), where m is the SplitMix64 finaliser
//   z += 0x9e3779b97f4a7c15; z = (z ^ z>>30) * 0xbf58476d1ce4e5b9;
//   z = (z ^ z>>27) * 0x94d049bb133111eb; m = z ^ z>>31   (mod 2^64),
// and the value is ((h >> 40) - 2^23) / 2^23 in [-1, 1), exact in float.
constexpr float mock_uniform(std::uint64_t seed, mock_table table, std::uint64_t row,
                             std::uint64_t col) noexcept;

struct mock_config {
  index_t vocab_size = 0;
  index_t hidden_size = 0;
  index_t output_size = 0;
  index_t max_positions = 0;
  std::uint64_t seed = 0;
  index_t segment_types = 2;           // segment ids must lie in [0, segment_types)
  std::size_t max_logged_calls = 256;  // call_log keeps the most recent ones; 0 keeps none
};

enum class mock_call_kind { embed_tokens, forward, backward };

// A copy of everything one call received. For embed_tokens only `token_ids`
// is filled; for forward and backward everything, `grad_out` for backward only.
struct mock_call {
  mock_call_kind kind = mock_call_kind::forward;
  std::vector<token_id> token_ids;
  std::vector<std::int32_t> offsets;
  std::vector<std::int32_t> position_ids;
  std::vector<std::int32_t> segment_ids;
  std::vector<std::uint8_t> attention_mask;
  std::vector<std::int32_t> slot_rows;
  std::vector<std::int32_t> slot_entities;
  matrix<float> entities;               // the mapped entity rows, densely copied
  std::vector<std::int32_t> positions;  // the requested output positions
  matrix<float> grad_out;               // backward only
  // The word-embedding rows its encoder ran on (tokens x hidden): the
  // tokens' embeddings with the entity rows written into their slots.
  matrix<float> embeddings;

  index_t tokens() const noexcept { return static_cast<index_t>(token_ids.size()); }
  // Packed row `i` as the encoder saw it.
  std::span<const float> row(index_t i) const noexcept { return embeddings.row(i); }
  // The recorded input as a model_input over this record's copies, for
  // replaying it with `entities`; valid as long as this record lives.
  model_input input() const noexcept;
};

struct mock_call_counts {
  std::size_t embed_tokens = 0;
  std::size_t forward = 0;
  std::size_t backward = 0;
};

class mock_backend {
 public:
  explicit mock_backend(const mock_config& config);
  mock_backend(index_t vocab_size, index_t hidden_size, index_t output_size, index_t max_positions,
               std::uint64_t seed = 0);

  index_t vocab_size() const noexcept { return config_.vocab_size; }
  index_t hidden_size() const noexcept { return config_.hidden_size; }
  index_t output_size() const noexcept { return config_.output_size; }
  index_t max_positions() const noexcept { return config_.max_positions; }
  index_t segment_types() const noexcept { return config_.segment_types; }
  std::uint64_t seed() const noexcept { return config_.seed; }
  const mock_config& config() const noexcept { return config_; }

  // out: ids.size() x hidden_size; row i = E[ids[i]]. Ids must lie in [0, vocab_size).
  void embed_tokens(std::span<const token_id> ids, matrix_view<float> out) const;

  // entities: E x hidden_size; out: positions.size() x output_size; row r = y_{positions[r]}.
  void forward(const model_input& in, matrix_view<const float> entities, std::span<const std::int32_t> positions,
               matrix_view<float> out);

  // grad_out: positions.size() x output_size; grad_entities: E x hidden_size,
  // overwritten with dL/d(entities). Repeated positions accumulate. Recomputes
  // the forward pass itself: it does not depend on an earlier forward call.
  void backward(const model_input& in, matrix_view<const float> entities, std::span<const std::int32_t> positions,
                matrix_view<const float> grad_out, matrix_view<float> grad_entities);

  // What it was given (successful calls only: a call that throws is not recorded).
  const mock_call_counts& calls() const noexcept { return counts_; }
  const std::deque<mock_call>& call_log() const noexcept { return log_; }
  // The last forward or backward call; throws kplug::error if there was none.
  const mock_call& last_input() const;
  // The ids of the last embed_tokens call (empty if none).
  const std::vector<token_id>& last_token_ids() const noexcept { return last_ids_; }
  // Forgets the log, the last input and the counts.
  void clear_log() noexcept;

 private:
  using rows_t = eigen_row_major<float>;

  // Activations of one forward pass: per token h_i and its sequence's c_s.
  struct activations {
    rows_t hidden;                  // tokens x hidden: h_i
    rows_t context;                 // sequences x hidden: c_s
    std::vector<index_t> sequence;  // tokens: s of token i
    std::vector<index_t> count;     // sequences: n_s
  };

  void check_input(const model_input& in, matrix_view<const float> entities,
                   std::span<const std::int32_t> positions, const char* what) const;
  void embed(std::span<const token_id> ids, matrix_view<float> out) const;
  // The call record, with the rows the encoder runs on (x_i above).
  mock_call assemble(mock_call_kind kind, const model_input& in, matrix_view<const float> entities,
                     std::span<const std::int32_t> positions) const;
  activations run(const mock_call& call) const;
  void record(mock_call call) const;

  mock_config config_;
  rows_t position_;       // max_positions x hidden
  rows_t segment_;        // segment_types x hidden
  rows_t hidden_weight_;  // hidden x hidden (A)
  Eigen::RowVectorXf hidden_bias_;
  rows_t output_weight_;  // output x hidden (W)

  // embed_tokens is const (the concept asks for it) but is logged too.
  mutable mock_call_counts counts_;
  mutable std::deque<mock_call> log_;
  mutable std::vector<token_id> last_ids_;
  bool has_last_ = false;
  mock_call last_;
};

static_assert(kplug::trainable_backend<mock_backend>, "mock_backend must model kplug::trainable_backend");

// -------------------------------------------------------------- implementation

namespace detail {

constexpr std::uint64_t splitmix64(std::uint64_t z) noexcept {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Caller memory is read and written with plain loops, Eigen works on the
// mock's own storage: Eigen's packet stores into a small caller buffer trip
// GCC 12's -Warray-bounds (a false positive) in user code built with -Werror.
template <class Dst, class Src>
void copy_rows(Dst& dst, const Src& src, index_t rows, index_t cols) {
  for (index_t r = 0; r < rows; ++r)
    for (index_t c = 0; c < cols; ++c) dst(r, c) = src(r, c);
}

inline void require_positive(index_t value, const char* name) {
  if (value <= 0) throw error("create mock_backend", name, "must be positive, got " + std::to_string(value));
}

}  // namespace detail

constexpr float mock_uniform(std::uint64_t seed, mock_table table, std::uint64_t row,
                             std::uint64_t col) noexcept {
  std::uint64_t h = detail::splitmix64(seed);
  h = detail::splitmix64(h ^ static_cast<std::uint64_t>(table));
  h = detail::splitmix64(h ^ row);
  h = detail::splitmix64(h ^ col);
  // 24 bits -> an integer in [-2^23, 2^23), exact in float; dividing by a
  // power of two is exact too, so every platform gets the same bits.
  const auto k = static_cast<std::int32_t>(h >> 40) - (std::int32_t{1} << 23);
  return static_cast<float>(k) / static_cast<float>(std::int32_t{1} << 23);
}

inline model_input mock_call::input() const noexcept {
  return {offsets, token_ids, position_ids, segment_ids, attention_mask, slot_rows, slot_entities};
}

inline mock_backend::mock_backend(index_t vocab_size, index_t hidden_size, index_t output_size,
                                  index_t max_positions, std::uint64_t seed)
    : mock_backend(mock_config{vocab_size, hidden_size, output_size, max_positions, seed}) {}

inline mock_backend::mock_backend(const mock_config& config) : config_(config) {
  detail::require_positive(config.vocab_size, "mock_config.vocab_size");
  detail::require_positive(config.hidden_size, "mock_config.hidden_size");
  detail::require_positive(config.output_size, "mock_config.output_size");
  detail::require_positive(config.max_positions, "mock_config.max_positions");
  detail::require_positive(config.segment_types, "mock_config.segment_types");

  const index_t hidden = config.hidden_size;
  const std::uint64_t seed = config.seed;
  const auto scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hidden)));
  auto fill = [&](rows_t& m, index_t rows, mock_table table, float factor) {
    m.resize(rows, hidden);
    for (index_t r = 0; r < rows; ++r)
      for (index_t k = 0; k < hidden; ++k)
        m(r, k) =
            mock_uniform(seed, table, static_cast<std::uint64_t>(r), static_cast<std::uint64_t>(k)) * factor;
  };
  fill(position_, config.max_positions, mock_table::position, 1.0f);
  fill(segment_, config.segment_types, mock_table::segment, 1.0f);
  fill(hidden_weight_, hidden, mock_table::hidden_weight, scale);
  fill(output_weight_, config.output_size, mock_table::output_weight, scale);
  hidden_bias_.resize(hidden);
  for (index_t k = 0; k < hidden; ++k)
    hidden_bias_(k) = mock_uniform(seed, mock_table::hidden_bias, 0, static_cast<std::uint64_t>(k)) * 0.5f;
}

inline void mock_backend::embed(std::span<const token_id> ids, matrix_view<float> out) const {
  for (std::size_t i = 0; i < ids.size(); ++i) {
    auto row = out.row(static_cast<index_t>(i));
    for (index_t k = 0; k < config_.hidden_size; ++k)
      row[static_cast<std::size_t>(k)] = mock_uniform(
          config_.seed, mock_table::word, static_cast<std::uint64_t>(ids[i]), static_cast<std::uint64_t>(k));
  }
}

inline void mock_backend::embed_tokens(std::span<const token_id> ids, matrix_view<float> out) const {
  constexpr const char* what = "mock_backend::embed_tokens";
  require_shape(out, static_cast<index_t>(ids.size()), config_.hidden_size, what, "out");
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (ids[i] < 0 || ids[i] >= config_.vocab_size)
      throw error(what, "ids[" + std::to_string(i) + "]",
                  "token id " + std::to_string(ids[i]) + " is outside the vocabulary [0, " +
                      std::to_string(config_.vocab_size) + ")");
  embed(ids, out);
  ++counts_.embed_tokens;
  last_ids_.assign(ids.begin(), ids.end());
  mock_call call;
  call.kind = mock_call_kind::embed_tokens;
  call.token_ids = last_ids_;
  record(std::move(call));
}

inline void mock_backend::check_input(const model_input& in, matrix_view<const float> entities,
                                      std::span<const std::int32_t> positions, const char* what) const {
  validate(in,
           model_limits{config_.hidden_size, config_.vocab_size, config_.max_positions, config_.segment_types},
           entities, what);
  validate_positions(positions, in.tokens(), what);
}

inline mock_call mock_backend::assemble(mock_call_kind kind, const model_input& in,
                                        matrix_view<const float> entities,
                                        std::span<const std::int32_t> positions) const {
  mock_call call;
  call.kind = kind;
  call.token_ids.assign(in.token_ids.begin(), in.token_ids.end());
  call.offsets.assign(in.offsets.begin(), in.offsets.end());
  call.position_ids.assign(in.position_ids.begin(), in.position_ids.end());
  call.segment_ids.assign(in.segment_ids.begin(), in.segment_ids.end());
  call.attention_mask.assign(in.attention_mask.begin(), in.attention_mask.end());
  call.slot_rows.assign(in.slot_rows.begin(), in.slot_rows.end());
  call.slot_entities.assign(in.slot_entities.begin(), in.slot_entities.end());
  call.entities.resize(entities.rows(), config_.hidden_size);
  detail::copy_rows(call.entities, entities, entities.rows(), config_.hidden_size);
  call.positions.assign(positions.begin(), positions.end());
  call.embeddings.resize(in.tokens(), config_.hidden_size);
  embed(in.token_ids, call.embeddings);
  for (index_t i = 0; i < in.slots(); ++i) {
    const auto slot = static_cast<std::size_t>(i);
    const auto src = call.entities.row(in.slot_entities[slot]);
    std::copy(src.begin(), src.end(), call.embeddings.row(in.slot_rows[slot]).begin());
  }
  return call;
}

inline mock_backend::activations mock_backend::run(const mock_call& in) const {
  const index_t tokens = in.tokens();
  const auto sequences = static_cast<index_t>(in.offsets.size()) - 1;
  activations act;
  rows_t z(tokens, config_.hidden_size);
  detail::copy_rows(z, in.embeddings, tokens, config_.hidden_size);
  for (index_t i = 0; i < tokens; ++i) {
    const auto u = static_cast<std::size_t>(i);
    z.row(i) += position_.row(in.position_ids[u]) + segment_.row(in.segment_ids[u]);
  }
  act.hidden = ((z * hidden_weight_.transpose()).rowwise() + hidden_bias_).array().tanh().matrix();
  act.context = rows_t::Zero(sequences, config_.hidden_size);
  act.sequence.resize(static_cast<std::size_t>(tokens));
  act.count.assign(static_cast<std::size_t>(sequences), 0);
  for (index_t s = 0; s < sequences; ++s) {
    const auto su = static_cast<std::size_t>(s);
    for (index_t i = in.offsets[su]; i < in.offsets[su + 1]; ++i) {
      act.sequence[static_cast<std::size_t>(i)] = s;
      if (in.attention_mask[static_cast<std::size_t>(i)] != 0) {
        act.context.row(s) += act.hidden.row(i);
        ++act.count[su];
      }
    }
    if (act.count[su] > 0) act.context.row(s) /= static_cast<float>(act.count[su]);
  }
  return act;
}

inline void mock_backend::forward(const model_input& in, matrix_view<const float> entities,
                                  std::span<const std::int32_t> positions, matrix_view<float> out) {
  constexpr const char* what = "mock_backend::forward";
  check_input(in, entities, positions, what);
  require_shape(out, static_cast<index_t>(positions.size()), config_.output_size, what, "out");
  // Copied before anything is written, in case `out` aliases the caller's input.
  mock_call call = assemble(mock_call_kind::forward, in, entities, positions);
  const activations act = run(call);
  const auto rows = static_cast<index_t>(positions.size());
  rows_t picked(rows, config_.hidden_size);  // h_i + c_s at the requested rows
  for (index_t r = 0; r < rows; ++r) {
    const index_t i = positions[static_cast<std::size_t>(r)];
    picked.row(r) = act.hidden.row(i) + act.context.row(act.sequence[static_cast<std::size_t>(i)]);
  }
  const rows_t y = picked * output_weight_.transpose();
  detail::copy_rows(out, y, rows, config_.output_size);
  ++counts_.forward;
  last_ = call;
  has_last_ = true;
  record(std::move(call));
}

inline void mock_backend::backward(const model_input& in, matrix_view<const float> entities,
                                   std::span<const std::int32_t> positions, matrix_view<const float> grad_out,
                                   matrix_view<float> grad_entities) {
  constexpr const char* what = "mock_backend::backward";
  check_input(in, entities, positions, what);
  require_shape(grad_out, static_cast<index_t>(positions.size()), config_.output_size, what, "grad_out");
  require_shape(grad_entities, entities.rows(), config_.hidden_size, what, "grad_entities");
  // Copied before anything is written: grad_entities may alias entities.
  mock_call call = assemble(mock_call_kind::backward, in, entities, positions);
  call.grad_out.resize(grad_out.rows(), grad_out.cols());
  detail::copy_rows(call.grad_out, grad_out, grad_out.rows(), grad_out.cols());
  const activations act = run(call);
  const index_t tokens = in.tokens();

  // g_i = W^T dL/dy_i: the gradient wrt (h_i + c_s), summed over repeats.
  rows_t gy(grad_out.rows(), config_.output_size);
  detail::copy_rows(gy, grad_out, grad_out.rows(), config_.output_size);
  const rows_t g_picked = gy * output_weight_;
  rows_t g = rows_t::Zero(tokens, config_.hidden_size);
  for (std::size_t r = 0; r < positions.size(); ++r)
    g.row(positions[r]) += g_picked.row(static_cast<index_t>(r));

  // dL/dh_j = g_j + mask_j / n_s * sum_{i in s} g_i  (the context term).
  rows_t g_sum = rows_t::Zero(in.sequences(), config_.hidden_size);
  for (index_t i = 0; i < tokens; ++i) g_sum.row(act.sequence[static_cast<std::size_t>(i)]) += g.row(i);
  for (index_t j = 0; j < tokens; ++j) {
    const auto ju = static_cast<std::size_t>(j);
    const index_t s = act.sequence[ju];
    if (in.attention_mask[ju] != 0)
      g.row(j) += g_sum.row(s) / static_cast<float>(act.count[static_cast<std::size_t>(s)]);
  }
  // Through tanh, then A: dL/dz = (dL/dh .* (1 - h^2)) A, and dz/dx = I.
  const rows_t d_pre = (g.array() * (1.0f - act.hidden.array().square())).matrix();
  rows_t dx = d_pre * hidden_weight_;
  splice::gather_entity_gradients(in, matrix_view<const float>(dx.data(), tokens, config_.hidden_size),
                                  grad_entities);

  ++counts_.backward;
  last_ = call;
  has_last_ = true;
  record(std::move(call));
}

inline const mock_call& mock_backend::last_input() const {
  if (!has_last_)
    throw error("mock_backend::last_input", "mock_backend",
                "neither forward nor backward has been called yet");
  return last_;
}

inline void mock_backend::clear_log() noexcept {
  counts_ = {};
  log_.clear();
  last_ids_.clear();
  has_last_ = false;
  last_ = {};
}

inline void mock_backend::record(mock_call call) const {
  if (config_.max_logged_calls == 0) return;
  if (log_.size() == config_.max_logged_calls) log_.pop_front();
  log_.push_back(std::move(call));
}

}  // namespace kplug::backend
