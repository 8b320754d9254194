// One map-tuning step on the mock backend, and the share of it spent outside
// the backend's embed/forward/backward calls (planning, packing, knowledge
// gather, mapper forward/backward, loss, optimizer). Target: under 5%.
//
// Shape: batch 64 x about 60 word pieces, ~1 mention per 8 words (paper's
// E / m format), hidden 384 (MiniLM's), d_kb 128 affine mapper, targets at
// every masked mention piece (MMLM), mock output over a 30,522 vocabulary.
#include <benchmark/benchmark.h>

#include <kplug/backend/mock.hpp>
#include <kplug/kb/knowledge_base.hpp>
#include <kplug/map/mapper.hpp>
#include <kplug/core/random.hpp>
#include <kplug/train/map_tuner.hpp>
#include <string>
#include <vector>

#include "bench_support.hpp"

namespace {

using kplug::index_t;
constexpr index_t hidden = 384, d_kb = 128, entities = 10000, vocab = 30522, batch = 64;

std::vector<kplug::train::example> make_examples() {
  kplug::xoshiro256 rng(2);
  std::vector<kplug::train::example> out;
  for (index_t s = 0; s < batch; ++s) {
    kplug::token_sequence t{{101}, {-1}, {}};
    std::vector<kplug::mention> mentions;
    std::vector<kplug::row_index> rows;
    for (int w = 0; w < 48; ++w) {
      const int pieces = rng.next() % 4 == 0 ? 2 : 1;
      for (int p = 0; p < pieces; ++p) {
        t.ids.push_back(static_cast<kplug::token_id>(1000 + rng.next() % 29000));
        t.word_of.push_back(w);
      }
      if (rng.next() % 8 == 0) {
        const auto row = static_cast<kplug::row_index>(rng.next() % entities);
        mentions.push_back({{w, w + 1}, kplug_bench::entity_name(static_cast<std::uint64_t>(row))});
        rows.push_back(row);
      }
    }
    t.ids.push_back(102);
    t.word_of.push_back(-1);
    auto ex = kplug::train::mmlm_examples(t, mentions, rows, 103);
    if (!ex.empty()) out.push_back(std::move(ex.front()));
  }
  return out;
}

void BM_map_tuning_step(benchmark::State& state) {
  kplug::backend::mock_config config{vocab, hidden, vocab, 512, 7};  // an MLM-sized output
  config.max_logged_calls = 0;
  kplug::backend::mock_backend model(config);
  const auto kb = kplug_bench::random_knowledge_base(entities, d_kb);
  const auto data = make_examples();
  kplug::map::any_mapper mapper = kplug::map::make_mapper("affine", d_kb, hidden);
  kplug::train::tuning_options o;
  o.optimizer.lr = 1e-5;
  kplug::train::map_tuner tuner(model, kb, mapper,
                                kplug::splice::planner({.format = kplug::splice::splice_format::entity_slash_mention(1013)}),
                                o, kplug::train::cross_entropy{});
  std::vector<const kplug::train::example*> step;
  std::size_t tokens = 0;
  for (const auto& e : data) {
    step.push_back(&e);
    tokens += e.tokens.size() + 2 * e.mentions.size();
  }
  tuner.step(step);  // warm-up: first-touch allocations are not a step's cost
  const kplug::train::step_timing warm = tuner.timing();
  for (auto _ : state) benchmark::DoNotOptimize(tuner.step(step));
  const auto& t = tuner.timing();
  const double total = t.total_seconds - warm.total_seconds, backend = t.backend_seconds - warm.backend_seconds;
  state.counters["outside_backend_pct"] = 100.0 * (total - backend) / total;
  state.counters["tokens"] = static_cast<double>(tokens);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * tokens));
}
BENCHMARK(BM_map_tuning_step)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
