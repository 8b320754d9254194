// A small map-tuning setup that the data-parallel tests (tests/mpi/,
// tests/train/test_reduction.cpp) build alike, identically on every rank: a
// random knowledge base, examples with two or three targets each (so that
// ranks hold different target counts and a reduction must weight by them),
// the frozen mock model, a mapper and the tuner's options.
#pragma once

#include <cstdint>
#include <kplug/backend/mock.hpp>
#include <kplug/core/random.hpp>
#include <kplug/kb/knowledge_base.hpp>
#include <kplug/map/mapper.hpp>
#include <kplug/map/parameter.hpp>
#include <kplug/splice/planner.hpp>
#include <kplug/train/map_tuner.hpp>
#include <string>
#include <vector>

namespace kplug_test::small_tuning {

using kplug::index_t;
namespace train = kplug::train;

inline constexpr index_t d_kb = 5, hidden = 8, outputs = 6, vocab = 40, entities = 20;
inline constexpr kplug::token_id slash = 3;

// "E" + number, spelled out: GCC 12 at -O3 warns falsely (-Wrestrict) on a
// literal + std::to_string.
inline std::string entity_name(std::uint64_t row) {
  std::string s = "E";
  s += std::to_string(row);
  return s;
}

inline kplug::kb::knowledge_base make_kb(std::uint64_t seed) {
  kplug::xoshiro256 rng(seed);
  kplug::matrix<float> table(entities, d_kb);
  for (index_t r = 0; r < entities; ++r)
    for (float& v : table.row(r)) v = static_cast<float>(rng.uniform() * 2.0 - 1.0);
  kplug::kb::entity_index index;
  for (index_t r = 0; r < entities; ++r) index.add(entity_name(std::uint64_t(r)), r);
  return {"test-kb", std::move(index), kplug::kb::embedding_table(std::move(table))};
}

inline kplug::backend::mock_backend make_model() { return {vocab, hidden, outputs, 64, /*seed=*/11}; }

inline kplug::splice::planner make_planner() {
  return kplug::splice::planner({.format = kplug::splice::splice_format::entity_slash_mention(slash)});
}

// Sentences of one-piece words with one or two one-word mentions; a target
// at each mention's entity slot and one at [CLS], with random regression
// values and a random class label (for squared_error and cross_entropy).
inline std::vector<train::example> make_examples(std::size_t n, std::uint64_t seed) {
  kplug::xoshiro256 rng(seed);
  std::vector<train::example> out;
  for (std::size_t i = 0; i < n; ++i) {
    train::example e;
    const int words = 4 + static_cast<int>(rng.next() % 6);
    e.tokens.ids.push_back(1);
    e.tokens.word_of.push_back(-1);
    for (int w = 0; w < words; ++w) {
      e.tokens.ids.push_back(static_cast<kplug::token_id>(5 + rng.next() % (vocab - 5)));
      e.tokens.word_of.push_back(w);
    }
    e.tokens.ids.push_back(2);
    e.tokens.word_of.push_back(-1);
    for (int w = static_cast<int>(rng.next() % 2); w < words; w += 3 + static_cast<int>(rng.next() % 3)) {
      const auto row = static_cast<kplug::row_index>(rng.next() % entities);
      e.mentions.push_back({{w, w + 1}, entity_name(std::uint64_t(row))});
      e.rows.push_back(row);
      if (e.mentions.size() == 2) break;
    }
    auto values = [&] {
      std::vector<float> v(outputs);
      for (float& x : v) x = static_cast<float>(rng.uniform() - 0.5);
      return v;
    };
    for (std::size_t k = 0; k < e.mentions.size(); ++k)
      e.targets.push_back({-1, static_cast<std::int32_t>(k), static_cast<std::int32_t>(rng.next() % outputs), values()});
    e.targets.push_back({0, -1, static_cast<std::int32_t>(rng.next() % outputs), values()});
    out.push_back(std::move(e));
  }
  return out;
}

inline kplug::map::any_mapper make_mapper(std::uint64_t seed = 1, const char* kind = "affine") {
  kplug::map::mapper_options o;
  o.seed = seed;
  return kplug::map::make_mapper(kind, d_kb, hidden, o);
}

inline train::tuning_options options() {
  train::tuning_options o;
  o.epochs = 3;
  o.batch_size = 11;  // 45 examples: the last global batch holds one, rank 1's share of it is empty
  o.seed = 7;
  o.optimizer.lr = 1e-2;
  o.eval_every = 3;
  return o;
}

// Every parameter value, in parameters() order, row-major.
inline std::vector<float> flat(kplug::map::any_mapper& m) {
  std::vector<float> out;
  for (const kplug::map::parameter& p : m.parameters())
    for (index_t r = 0; r < p.value.rows(); ++r) out.insert(out.end(), p.value.row(r).begin(), p.value.row(r).end());
  return out;
}

inline std::vector<float> flat_grads(kplug::map::any_mapper& m) {
  std::vector<float> out;
  for (const kplug::map::parameter& p : m.parameters())
    for (index_t r = 0; r < p.grad.rows(); ++r) out.insert(out.end(), p.grad.row(r).begin(), p.grad.row(r).end());
  return out;
}

}  // namespace kplug_test::small_tuning
