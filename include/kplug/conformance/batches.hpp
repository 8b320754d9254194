// Test batches for the backend conformance suite (conformance/backend_suite.hpp):
// ragged packed batches built by kplug's own planner in every splice format,
// with mapped entity rows of the backend's own word-embedding scale, and the
// host-side helpers that run a backend of any memory space on them.
//
// Needs GoogleTest only through backend_suite.hpp; this header is plain C++.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "kplug/backend/concepts.hpp"
#include "kplug/backend/memory.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/core/model_input.hpp"
#include "kplug/core/random.hpp"
#include "kplug/core/types.hpp"
#include "kplug/splice/batch.hpp"
#include "kplug/splice/format.hpp"
#include "kplug/splice/planner.hpp"

namespace kplug::conformance {

// A packed batch owned by the test, editable field by field.
struct test_batch {
  std::vector<std::int32_t> offsets{0};
  std::vector<token_id> token_ids;
  std::vector<std::int32_t> position_ids, segment_ids;
  std::vector<std::uint8_t> attention_mask;
  std::vector<std::int32_t> slot_rows, slot_entities;
  matrix<float> entities;  // mapped entity rows, host memory

  std::int32_t tokens() const noexcept { return static_cast<std::int32_t>(token_ids.size()); }
  std::int32_t sequences() const noexcept { return static_cast<std::int32_t>(offsets.size()) - 1; }
  model_input input() const noexcept {
    return {offsets, token_ids, position_ids, segment_ids, attention_mask, slot_rows, slot_entities};
  }
  // Every packed row: where outputs are compared.
  std::vector<std::int32_t> all_rows() const {
    std::vector<std::int32_t> r(static_cast<std::size_t>(tokens()));
    for (std::size_t i = 0; i < r.size(); ++i) r[i] = static_cast<std::int32_t>(i);
    return r;
  }
  // Sequence s alone, with the entity rows it uses (renumbered).
  test_batch sequence(index_t s) const;
};

// The token ids the suite's inputs use, all inside the vocabulary.
struct test_vocabulary {
  index_t size = 0;
  token_id id(index_t k) const noexcept { return static_cast<token_id>(k % size); }
  token_id cls() const noexcept { return id(1); }
  token_id sep() const noexcept { return id(2); }
  token_id slash() const noexcept { return id(3); }
  token_id open_paren() const noexcept { return id(4); }
  token_id close_paren() const noexcept { return id(5); }
  token_id hash() const noexcept { return id(6); }
  token_id dollar() const noexcept { return id(7); }
  token_id placeholder() const noexcept { return id(8); }
  token_id word(index_t w) const noexcept { return id(11 + 7 * w); }
};

struct format_case {
  std::string name;
  splice::splice_format format;
  bool markers = false;  // the first two mentions of each sequence get marker pairs 0 and 1
};

// The paper's E / m, E-BERT's m / E, replacement, PELT's m ( E ) with the
// shared position, and relation markers around E / m groups.
std::vector<format_case> splice_formats(const test_vocabulary& v);

// Three ragged sequences planned in `format`: a single text with two
// mentions, a sentence pair (segments 0 and 1) whose two-word mention shares
// its entity with the first sequence, and a short text with one mention.
// Entity rows: hidden wide, `extra_entities` more rows than the slots use
// (no slot points at them), filled with values of RMS about `scale`.
test_batch planned_batch(const test_vocabulary& v, const format_case& format, index_t hidden, float scale,
                         index_t extra_entities = 0, std::uint64_t seed = 1);

// RMS of the backend's word embeddings (of the vocabulary's first ids): the
// scale of the entity rows, so that they look like what the model was trained on.
template <token_embedder B>
float word_embedding_rms(const B& backend);

// Deterministic values in [-1, 1).
matrix<float> random_matrix(index_t rows, index_t cols, std::uint64_t seed);

// forward on the backend, through its memory: entities uploaded, outputs
// downloaded.
template <model_backend B>
matrix<float> run_forward(B& backend, const model_input& in, matrix_view<const float> entities,
                          std::span<const std::int32_t> positions);

// backward likewise; returns dL/d(entities) on the host.
template <trainable_backend B>
matrix<float> run_backward(B& backend, const model_input& in, matrix_view<const float> entities,
                           std::span<const std::int32_t> positions, matrix_view<const float> grad_out);

// max over elements of |a - b| / max(1, |b|); infinity when shapes differ.
double max_scaled_difference(matrix_view<const float> a, matrix_view<const float> b);
// ||a - b|| / ||b|| over all elements.
double relative_error(matrix_view<const float> a, const std::vector<double>& b);

// ---------------------------------------------------------------- implementation

inline matrix<float> random_matrix(index_t rows, index_t cols, std::uint64_t seed) {
  xoshiro256 rng(seed);
  matrix<float> m(rows, cols);
  for (index_t r = 0; r < rows; ++r)
    for (float& x : m.row(r)) x = static_cast<float>(rng.uniform() * 2.0 - 1.0);
  return m;
}

inline std::vector<format_case> splice_formats(const test_vocabulary& v) {
  using splice::splice_format;
  const splice::marker_pair head{{v.hash()}, {v.hash()}}, tail{{v.dollar()}, {v.dollar()}};
  return {
      {"paper E / m", splice_format::entity_slash_mention(v.slash())},
      {"E-BERT m / E", splice_format::mention_slash_entity(v.slash())},
      {"replace m by E", splice_format::replace_mention()},
      {"PELT m ( E ), E at the position of (",
       splice_format::mention_paren_entity(v.open_paren(), v.close_paren())},
      {"relation # E / h # ... $ E / t $",
       splice_format::entity_slash_mention(v.slash()).with_markers({head, tail}), true},
  };
}

inline test_batch planned_batch(const test_vocabulary& v, const format_case& format, index_t hidden,
                                float scale, index_t extra_entities, std::uint64_t seed) {
  const splice::planner planner({.format = format.format, .placeholder_id = v.placeholder()});
  auto text = [&](std::vector<index_t> words_per_segment) {
    token_sequence t{{v.cls()}, {-1}, {}};
    t.segment_ids.push_back(0);
    std::int32_t w = 0;
    for (std::size_t seg = 0; seg < words_per_segment.size(); ++seg) {
      for (index_t i = 0; i < words_per_segment[seg]; ++i, ++w) {
        t.ids.push_back(v.word(w));
        t.word_of.push_back(w);
        t.segment_ids.push_back(static_cast<std::int32_t>(seg));
      }
      t.ids.push_back(v.sep());
      t.word_of.push_back(-1);
      t.segment_ids.push_back(static_cast<std::int32_t>(seg));
    }
    return t;
  };
  auto mention_at = [&](std::int32_t begin, std::int32_t end, std::int16_t marker) {
    mention m{{begin, end}, "e"};
    if (format.markers) m.marker = marker;
    return m;
  };
  struct sequence_spec {
    token_sequence tokens;
    std::vector<mention> mentions;
    std::vector<row_index> rows;
  };
  const std::vector<sequence_spec> specs = {
      {text({5}), {mention_at(1, 2, 0), mention_at(3, 4, 1)}, {10, 20}},
      {text({2, 3}), {mention_at(2, 4, 0)}, {10}},
      {text({2}), {mention_at(0, 1, 1)}, {30}},
  };
  std::vector<splice::splice_plan> plans;
  for (const auto& s : specs) plans.push_back(planner.build(s.tokens, s.mentions, s.rows));
  const splice::packed_plan p = splice::pack(plans);

  test_batch b;
  b.offsets = p.layout.offsets;
  b.token_ids = p.input_ids;
  b.position_ids = p.position_ids;
  b.segment_ids = p.segment_ids;
  b.attention_mask = p.attention_mask;
  b.slot_rows = p.slot_rows;
  b.slot_entities = p.slot_entities;
  // Uniform in [-a, a) has RMS a / sqrt(3).
  b.entities = random_matrix(p.entities() + extra_entities, hidden, seed);
  const float a = scale * std::sqrt(3.0f);
  for (index_t r = 0; r < b.entities.rows(); ++r)
    for (float& x : b.entities.row(r)) x *= a;
  return b;
}

inline test_batch test_batch::sequence(index_t s) const {
  test_batch b;
  const auto begin = static_cast<std::size_t>(offsets[static_cast<std::size_t>(s)]);
  const auto end = static_cast<std::size_t>(offsets[static_cast<std::size_t>(s) + 1]);
  b.offsets = {0, static_cast<std::int32_t>(end - begin)};
  auto slice = [&](const auto& v) { return std::decay_t<decltype(v)>(v.begin() + begin, v.begin() + end); };
  b.token_ids = slice(token_ids);
  b.position_ids = slice(position_ids);
  b.segment_ids = slice(segment_ids);
  b.attention_mask = slice(attention_mask);
  std::vector<std::int32_t> renumbered(static_cast<std::size_t>(entities.rows()), -1);
  std::vector<index_t> used;
  for (std::size_t i = 0; i < slot_rows.size(); ++i) {
    const auto row = static_cast<std::size_t>(slot_rows[i]);
    if (row < begin || row >= end) continue;
    auto& e = renumbered[static_cast<std::size_t>(slot_entities[i])];
    if (e < 0) {
      e = static_cast<std::int32_t>(used.size());
      used.push_back(slot_entities[i]);
    }
    b.slot_rows.push_back(static_cast<std::int32_t>(row - begin));
    b.slot_entities.push_back(e);
  }
  b.entities = matrix<float>(static_cast<index_t>(used.size()), entities.cols());
  for (std::size_t k = 0; k < used.size(); ++k)
    std::ranges::copy(entities.row(used[k]), b.entities.row(static_cast<index_t>(k)).begin());
  return b;
}

template <token_embedder B>
float word_embedding_rms(const B& backend) {
  const auto hidden = static_cast<index_t>(backend.hidden_size());
  const index_t n = std::min<index_t>(static_cast<index_t>(backend.vocab_size()), 64);
  std::vector<token_id> ids(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) ids[static_cast<std::size_t>(i)] = static_cast<token_id>(i);
  matrix<float> rows(n, hidden);
  backend.embed_tokens(std::span<const token_id>(ids), rows.view());
  double sum = 0;
  for (index_t r = 0; r < n; ++r)
    for (const float x : rows.row(r)) sum += double(x) * x;
  return static_cast<float>(std::sqrt(sum / double(std::max<index_t>(1, n * hidden))));
}

namespace detail {
inline void copy_into(matrix_view<const float> from, matrix_view<float> to) {
  for (index_t r = 0; r < from.rows(); ++r) std::ranges::copy(from.row(r), to.row(r).begin());
}
}  // namespace detail

template <model_backend B>
matrix<float> run_forward(B& backend, const model_input& in, matrix_view<const float> entities,
                          std::span<const std::int32_t> positions) {
  mirrored_matrix<B> e, out;
  e.resize(backend, entities.rows(), entities.cols());
  detail::copy_into(entities, e.host());
  e.upload(backend);
  out.resize(backend, static_cast<index_t>(positions.size()), static_cast<index_t>(backend.output_size()));
  backend.forward(in, e.device(), positions, out.device());
  out.download(backend);
  matrix<float> result(out.rows(), out.cols());
  detail::copy_into(out.host(), result.view());
  return result;
}

template <trainable_backend B>
matrix<float> run_backward(B& backend, const model_input& in, matrix_view<const float> entities,
                           std::span<const std::int32_t> positions, matrix_view<const float> grad_out) {
  mirrored_matrix<B> e, g, ge;
  e.resize(backend, entities.rows(), entities.cols());
  detail::copy_into(entities, e.host());
  e.upload(backend);
  g.resize(backend, grad_out.rows(), grad_out.cols());
  detail::copy_into(grad_out, g.host());
  g.upload(backend);
  ge.resize(backend, entities.rows(), entities.cols());
  backend.backward(in, e.device(), positions, g.device(), ge.device());
  ge.download(backend);
  matrix<float> result(ge.rows(), ge.cols());
  detail::copy_into(ge.host(), result.view());
  return result;
}

inline double max_scaled_difference(matrix_view<const float> a, matrix_view<const float> b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return INFINITY;
  double worst = 0;
  for (index_t r = 0; r < a.rows(); ++r)
    for (index_t c = 0; c < a.cols(); ++c) {
      const double d = std::abs(double(a(r, c)) - double(b(r, c))) / std::max(1.0, std::abs(double(b(r, c))));
      worst = std::isnan(d) ? INFINITY : std::max(worst, d);
    }
  return worst;
}

inline double relative_error(matrix_view<const float> a, const std::vector<double>& b) {
  double diff = 0, norm = 0;
  std::size_t k = 0;
  for (index_t r = 0; r < a.rows(); ++r)
    for (index_t c = 0; c < a.cols(); ++c, ++k) {
      diff += (double(a(r, c)) - b[k]) * (double(a(r, c)) - b[k]);
      norm += b[k] * b[k];
    }
  return std::sqrt(diff / std::max(norm, 1e-300));
}

}  // namespace kplug::conformance
