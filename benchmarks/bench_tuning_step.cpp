// One map-tuning step through the real all-MiniLM-L6-v2 on the CPU backend:
// the typing task (a token-classification head, 26 labels, read at one
// mention per example), batch 64, spliced length 64, d_kb 128 affine plugin.
// Reports the step time and the share of it spent outside the backend's
// calls (plan, pack, knowledge gather, mapper, splice, loss, optimizer).
//
// Environment: KPLUG_MINILM_DIR (default ~/.cache/kplug/all-MiniLM-L6-v2),
// KPLUG_NUM_THREADS (default: all cores).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <kplug/backend/bert_cpu.hpp>
#include <kplug/core/random.hpp>
#include <kplug/kb/knowledge_base.hpp>
#include <kplug/map/mapper.hpp>
#include <kplug/train/map_tuner.hpp>
#include <memory>
#include <string>
#include <vector>

#include "bench_support.hpp"

namespace {

using kplug::index_t;
constexpr index_t d_kb = 128, entities = 20000, labels = 26;

std::string model_dir() {
  if (const char* d = std::getenv("KPLUG_MINILM_DIR")) return d;
  const char* home = std::getenv("HOME");
  return std::string(home ? home : ".") + "/.cache/kplug/all-MiniLM-L6-v2";
}

int threads() {
  const char* t = std::getenv("KPLUG_NUM_THREADS");
  return t ? std::atoi(t) : 0;
}

void BM_minilm_tuning_step(benchmark::State& state) {
  kplug::backend::bert_cpu model(kplug::bert::load_checkpoint(model_dir()),
                                 kplug::backend::bert_cpu_options{.threads = threads()});
  kplug::xoshiro256 rng(3);
  kplug::matrix<float> head(labels, model.hidden_size());
  for (index_t r = 0; r < labels; ++r)
    for (float& v : head.row(r)) v = static_cast<float>(rng.uniform() - 0.5) * 0.1f;
  std::vector<float> bias(labels, 0.0f);
  model.set_classifier(kplug::bert::classification_head(std::nullopt, {head.view(), bias}));

  const auto kb = kplug_bench::random_knowledge_base(entities, d_kb);
  const auto data = kplug_bench::tuning_step_examples(entities, labels);
  kplug::map::any_mapper mapper = kplug::map::make_mapper("affine", d_kb, model.hidden_size());
  kplug::train::tuning_options o;
  o.optimizer.lr = 1e-4;
  kplug::train::map_tuner tuner(
      model, kb, mapper, kplug::splice::planner({.format = kplug::splice::splice_format::entity_slash_mention(1013)}), o,
      kplug::train::cross_entropy{});
  std::vector<const kplug::train::example*> step;
  for (const auto& e : data) step.push_back(&e);
  tuner.step(step);  // warm-up: first-touch allocations are not a step's cost
  const kplug::train::step_timing warm = tuner.timing();
  for (auto _ : state) benchmark::DoNotOptimize(tuner.step(step));
  const auto& t = tuner.timing();
  const double total = t.total_seconds - warm.total_seconds, backend = t.backend_seconds - warm.backend_seconds;
  const auto steps = static_cast<double>(t.steps - warm.steps);
  state.counters["outside_backend_pct"] = 100.0 * (total - backend) / total;
  state.counters["outside_backend_ms"] = 1e3 * (total - backend) / steps;
  state.counters["rows"] = static_cast<double>(kplug_bench::step_rows);
}
BENCHMARK(BM_minilm_tuning_step)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
