// What several benchmarks build alike: a random knowledge base, and the
// examples of one map-tuning step in the shape of the typing task (batch 64,
// 64 rows per spliced sequence: [CLS] 50 word pieces [SEP] and six one-word
// mentions in the paper's E / m format; the first mention is the target).
#pragma once

#include <kplug/core/random.hpp>
#include <kplug/kb/knowledge_base.hpp>
#include <kplug/train/example.hpp>
#include <string>
#include <vector>

namespace kplug_bench {

using kplug::index_t;

// "E" + number, spelled out: GCC 12 warns falsely (-Wrestrict) on a literal + std::to_string.
inline std::string entity_name(std::uint64_t row) {
  std::string s = "E";
  s += std::to_string(row);
  return s;
}

// Entities "E0" .. named rows of uniform values in [-0.5, 0.5).
inline kplug::kb::knowledge_base random_knowledge_base(index_t entities, index_t d_kb) {
  kplug::xoshiro256 rng(1);
  kplug::matrix<float> t(entities, d_kb);
  for (index_t r = 0; r < entities; ++r)
    for (float& v : t.row(r)) v = static_cast<float>(rng.uniform() - 0.5);
  kplug::kb::entity_index idx;
  for (index_t r = 0; r < entities; ++r) idx.add(entity_name(static_cast<std::uint64_t>(r)), r);
  return {"bench", std::move(idx), kplug::kb::embedding_table(std::move(t))};
}

inline constexpr int step_batch = 64, step_words = 50, step_mentions = 6;
inline constexpr index_t step_rows = step_batch * (step_words + 2 + 2 * step_mentions);  // 4,096

// The step's examples; each target has a class label in [0, labels) and,
// when value_width > 0, that many regression values (for squared_error).
inline std::vector<kplug::train::example> tuning_step_examples(index_t entities, std::int32_t labels,
                                                               index_t value_width = 0) {
  kplug::xoshiro256 rng(2);
  std::vector<kplug::train::example> out;
  for (int s = 0; s < step_batch; ++s) {
    kplug::train::example ex;
    ex.tokens = {{101}, {-1}, {}};
    for (int w = 0; w < step_words; ++w) {
      ex.tokens.ids.push_back(static_cast<kplug::token_id>(1000 + rng.next() % 29000));
      ex.tokens.word_of.push_back(w);
    }
    ex.tokens.ids.push_back(102);
    ex.tokens.word_of.push_back(-1);
    for (int m = 0; m < step_mentions; ++m) {
      const int w = 3 + 8 * m;
      const auto row = static_cast<kplug::row_index>(rng.next() % static_cast<std::uint64_t>(entities));
      ex.mentions.push_back({{w, w + 1}, entity_name(static_cast<std::uint64_t>(row))});
      ex.rows.push_back(row);
    }
    ex.targets.push_back({/*token=*/4, -1, static_cast<std::int32_t>(rng.next() % std::uint64_t(labels)),
                          std::vector<float>(static_cast<std::size_t>(value_width), 0.1f)});
    out.push_back(std::move(ex));
  }
  return out;
}

}  // namespace kplug_bench
