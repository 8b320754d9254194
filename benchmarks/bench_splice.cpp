// Splice-plan throughput: output rows per second (items/s) on one core.
// Realistic input: BERT-like sequences of 64 or 128 word pieces ([CLS] ...
// [SEP], 1-3 pieces per word), one linked mention per ~8 words, the paper's
// format `E / m`. "truncated" caps the output at the input length, so every
// sequence loses its tail (about one row in ten) to longest-first truncation.
// Target (issue 2): at least 10 million tokens per second.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <random>
#include <vector>

#include "kplug/splice/batch.hpp"
#include "kplug/splice/planner.hpp"

namespace {

using namespace kplug;
using namespace kplug::splice;

struct example {
  token_sequence tokens;
  std::vector<mention> mentions;
  std::vector<row_index> rows;
};

example make_example(std::mt19937& rng, int length, bool pair) {
  example e;
  auto& t = e.tokens;
  std::uniform_int_distribution<int> pieces_of(1, 100);
  std::uniform_int_distribution<int> vocab(1000, 29999);
  auto special = [&](token_id id, int seg) {
    t.ids.push_back(id);
    t.word_of.push_back(-1);
    t.segment_ids.push_back(seg);
  };
  special(101, 0);
  int word = 0;
  int seg = 0;
  std::vector<int> first_piece_of_word;  // for placing mentions
  while (static_cast<int>(t.ids.size()) < length - 1) {
    if (pair && seg == 0 && static_cast<int>(t.ids.size()) >= length / 2) {
      special(102, 0);
      seg = 1;
      ++word;  // a mention never spans the [SEP]
      continue;
    }
    const int r = pieces_of(rng);
    int pieces = r <= 75 ? 1 : r <= 95 ? 2 : 3;  // about 1.3 pieces per word
    pieces = std::min(pieces, length - 1 - static_cast<int>(t.ids.size()));
    for (int p = 0; p < pieces; ++p) {
      t.ids.push_back(vocab(rng));
      t.word_of.push_back(word);
      t.segment_ids.push_back(seg);
    }
    ++word;
  }
  special(102, seg);
  // One mention per ~8 words, 1 or 2 words long, inside one segment.
  std::uniform_int_distribution<int> gap(4, 12);
  std::vector<int> word_segment(static_cast<std::size_t>(word + 1), -1);
  for (std::size_t i = 0; i < t.ids.size(); ++i)
    if (t.word_of[i] >= 0) word_segment[static_cast<std::size_t>(t.word_of[i])] = t.segment_ids[i];
  for (int w = gap(rng) / 2; w < word; w += gap(rng)) {
    if (word_segment[static_cast<std::size_t>(w)] < 0) continue;
    const bool two = (rng() & 1) && w + 1 < word &&
                     word_segment[static_cast<std::size_t>(w + 1)] == word_segment[static_cast<std::size_t>(w)];
    mention m;
    m.words = {w, w + (two ? 2 : 1)};
    m.source = static_cast<source_id>(rng() % 2);
    e.mentions.push_back(m);
    e.rows.push_back(static_cast<row_index>(rng() % 100000));
    w += two ? 1 : 0;
  }
  if (!pair) t.segment_ids.clear();
  return e;
}

std::vector<example> make_examples(int length, bool pair) {
  std::mt19937 rng(42);
  std::vector<example> v;
  for (int i = 0; i < 256; ++i) v.push_back(make_example(rng, length, pair));
  return v;
}

void run_build(benchmark::State& state, bool pair) {
  const int length = static_cast<int>(state.range(0));
  const bool truncate = state.range(1) != 0;
  const auto examples = make_examples(length, pair);
  const planner p({.format = splice_format::entity_slash_mention(1013),
                   .max_length = truncate ? length : 0,
                   .placeholder_id = 1});
  splice_plan plan;
  std::int64_t rows = 0, mentions = 0, input = 0;
  std::size_t i = 0;
  for (auto _ : state) {
    const example& e = examples[i];
    i = (i + 1) % examples.size();
    p.build_into(e.tokens, e.mentions, e.rows, plan);
    benchmark::DoNotOptimize(plan.input_ids.data());
    rows += plan.length();
    mentions += static_cast<std::int64_t>(e.mentions.size());
    input += static_cast<std::int64_t>(e.tokens.size());
  }
  state.SetItemsProcessed(rows);
  state.counters["rows/seq"] = static_cast<double>(rows) / static_cast<double>(state.iterations());
  state.counters["mentions/seq"] = static_cast<double>(mentions) / static_cast<double>(state.iterations());
  state.counters["input_tokens/s"] = benchmark::Counter(static_cast<double>(input), benchmark::Counter::kIsRate);
}

void BM_build_plan(benchmark::State& state) { run_build(state, false); }
void BM_build_plan_pair(benchmark::State& state) { run_build(state, true); }

// The allocating build() for comparison with build_into().
void BM_build_plan_allocating(benchmark::State& state) {
  const auto examples = make_examples(static_cast<int>(state.range(0)), false);
  const planner p({.format = splice_format::entity_slash_mention(1013), .placeholder_id = 1});
  std::int64_t rows = 0;
  std::size_t i = 0;
  for (auto _ : state) {
    const example& e = examples[i];
    i = (i + 1) % examples.size();
    const splice_plan plan = p.build(e.tokens, e.mentions, e.rows);
    benchmark::DoNotOptimize(plan.input_ids.data());
    rows += plan.length();
  }
  state.SetItemsProcessed(rows);
}

// Packing a batch of 64 plans (with per-source dedup of knowledge rows).
void BM_pack_batch(benchmark::State& state) {
  const int length = static_cast<int>(state.range(0));
  const auto examples = make_examples(length, false);
  const planner p({.format = splice_format::entity_slash_mention(1013), .max_length = length, .placeholder_id = 1});
  std::vector<splice_plan> plans(64);
  for (std::size_t s = 0; s < plans.size(); ++s)
    p.build_into(examples[s].tokens, examples[s].mentions, examples[s].rows, plans[s]);
  packed_plan packed;
  for (auto _ : state) {
    pack_into(plans, packed);
    benchmark::DoNotOptimize(packed.input_ids.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * packed.tokens());
  state.counters["slots"] = static_cast<double>(packed.slots.size());
}

// Plan building plus packing for a batch of 64: the whole host-side cost.
void BM_build_and_pack_batch(benchmark::State& state) {
  const int length = static_cast<int>(state.range(0));
  const auto examples = make_examples(length, false);
  const planner p({.format = splice_format::entity_slash_mention(1013), .max_length = length, .placeholder_id = 1});
  std::vector<splice_plan> plans(64);
  packed_plan packed;
  std::size_t base = 0;
  for (auto _ : state) {
    for (std::size_t s = 0; s < plans.size(); ++s) {
      const example& e = examples[(base + s) % examples.size()];
      p.build_into(e.tokens, e.mentions, e.rows, plans[s]);
    }
    base = (base + plans.size()) % examples.size();
    pack_into(plans, packed);
    benchmark::DoNotOptimize(packed.input_ids.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * packed.tokens());
}

}  // namespace

BENCHMARK(BM_build_plan)->ArgNames({"len", "truncate"})->ArgsProduct({{64, 128}, {0, 1}});
BENCHMARK(BM_build_plan_pair)->ArgNames({"len", "truncate"})->ArgsProduct({{128}, {0, 1}});
BENCHMARK(BM_build_plan_allocating)->ArgName("len")->Arg(128);
BENCHMARK(BM_pack_batch)->ArgName("len")->Arg(64)->Arg(128);
BENCHMARK(BM_build_and_pack_batch)->ArgName("len")->Arg(64)->Arg(128);

BENCHMARK_MAIN();
