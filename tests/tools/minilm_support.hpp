// all-MiniLM-L6-v2 loaded in-process, once per test program, to compare the
// tool's output with bert_cpu called directly.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include "kplug/backend/bert_cpu.hpp"
#include "kplug/bert/checkpoint.hpp"
#include "support/model_paths.hpp"

namespace kplug_test {

// The model, loaded on first use; callers check have_minilm() first.
inline kplug::backend::bert_cpu* minilm_model() {
  static const std::unique_ptr<kplug::backend::bert_cpu> model =
      std::make_unique<kplug::backend::bert_cpu>(kplug::bert::load_checkpoint(minilm_dir()),
                                                 kplug::backend::bert_cpu_options{.keep_activations = false});
  return model.get();
}

// The last hidden states of `sequences`, each with positions 0.., encoded as
// one packed batch. `entity_rows`, if given, replaces the word embeddings of
// the packed rows it names (row -> input vector).
inline kplug::matrix<float> encode_in_process(
    kplug::backend::bert_cpu& model, const std::vector<std::vector<std::int32_t>>& sequences,
    const std::vector<std::pair<std::size_t, std::vector<float>>>& entity_rows = {}) {
  std::vector<kplug::token_id> ids;
  std::vector<std::int32_t> offsets{0}, positions;
  for (const auto& s : sequences) {
    for (std::size_t i = 0; i < s.size(); ++i) {
      ids.push_back(std::max(s[i], 0));  // an entity row's id (-1) is overwritten below
      positions.push_back(static_cast<std::int32_t>(i));
    }
    offsets.push_back(static_cast<std::int32_t>(ids.size()));
  }
  const std::vector<std::int32_t> segments(ids.size(), 0);
  const std::vector<std::uint8_t> mask(ids.size(), 1);
  const auto n = static_cast<kplug::index_t>(ids.size());
  std::vector<std::int32_t> slot_rows, slot_entities;
  kplug::matrix<float> entities(static_cast<kplug::index_t>(entity_rows.size()), model.hidden_size());
  for (std::size_t k = 0; k < entity_rows.size(); ++k) {
    slot_rows.push_back(static_cast<std::int32_t>(entity_rows[k].first));
    slot_entities.push_back(static_cast<std::int32_t>(k));
    std::copy(entity_rows[k].second.begin(), entity_rows[k].second.end(),
              entities.row(static_cast<kplug::index_t>(k)).begin());
  }
  const kplug::model_input in{offsets, ids, positions, segments, mask, slot_rows, slot_entities};
  kplug::matrix<float> hidden(n, model.hidden_size());
  model.encode(in, entities.view(), hidden.view());
  return hidden;
}

inline float max_abs_diff(const float* a, const float* b, std::size_t n) {
  float d = 0;
  for (std::size_t i = 0; i < n; ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return d;
}

// max |a - b| / (1 + |b|): float rounding differences (another thread count,
// FMA contraction) scale with the magnitude of the value.
inline float max_rel_diff(const float* a, const float* b, std::size_t n) {
  float d = 0;
  for (std::size_t i = 0; i < n; ++i) d = std::max(d, std::abs(a[i] - b[i]) / (1.0f + std::abs(b[i])));
  return d;
}

}  // namespace kplug_test
