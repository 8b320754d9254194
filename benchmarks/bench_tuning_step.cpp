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

#include "minilm_typing_step.hpp"

namespace {

int threads() {
  const char* t = std::getenv("KPLUG_NUM_THREADS");
  return t ? std::atoi(t) : 0;
}

void BM_minilm_tuning_step(benchmark::State& state) {
  kplug_bench::minilm_typing_step s(threads());
  s.tuner.step(s.batch);  // warm-up: first-touch allocations are not a step's cost
  const kplug::train::step_timing warm = s.tuner.timing();
  for (auto _ : state) benchmark::DoNotOptimize(s.tuner.step(s.batch));
  const auto& t = s.tuner.timing();
  const double total = t.total_seconds - warm.total_seconds, backend = t.backend_seconds - warm.backend_seconds;
  const auto steps = static_cast<double>(t.steps - warm.steps);
  state.counters["outside_backend_pct"] = 100.0 * (total - backend) / total;
  state.counters["outside_backend_ms"] = 1e3 * (total - backend) / steps;
  state.counters["rows"] = static_cast<double>(kplug_bench::step_rows);
}
BENCHMARK(BM_minilm_tuning_step)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
