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

namespace {

using kplug::index_t;
constexpr index_t d_kb = 128, entities = 20000, labels = 26, batch = 64;
constexpr int words = 52, mentions_per_example = 6;  // 52 pieces + 6 x (E, /) = 64 rows

std::string model_dir() {
  if (const char* d = std::getenv("KPLUG_MINILM_DIR")) return d;
  const char* home = std::getenv("HOME");
  return std::string(home ? home : ".") + "/.cache/kplug/all-MiniLM-L6-v2";
}

int threads() {
  const char* t = std::getenv("KPLUG_NUM_THREADS");
  return t ? std::atoi(t) : 0;
}

kplug::kb::knowledge_base make_kb() {
  kplug::xoshiro256 rng(1);
  kplug::matrix<float> t(entities, d_kb);
  for (index_t r = 0; r < entities; ++r)
    for (float& v : t.row(r)) v = static_cast<float>(rng.uniform() - 0.5);
  kplug::kb::entity_index idx;
  for (index_t r = 0; r < entities; ++r) idx.add("E" + std::to_string(r), r);
  return {"bench", std::move(idx), kplug::kb::embedding_table(std::move(t))};
}

// [CLS] w0 .. w49 [SEP], one piece per word; six one-word mentions with
// knowledge, the first of which is typed (its piece is the target).
std::vector<kplug::train::example> make_examples() {
  kplug::xoshiro256 rng(2);
  std::vector<kplug::train::example> out;
  for (index_t s = 0; s < batch; ++s) {
    kplug::train::example ex;
    ex.tokens = {{101}, {-1}, {}};
    for (int w = 0; w + 2 < words; ++w) {
      ex.tokens.ids.push_back(static_cast<kplug::token_id>(1000 + rng.next() % 29000));
      ex.tokens.word_of.push_back(w);
    }
    ex.tokens.ids.push_back(102);
    ex.tokens.word_of.push_back(-1);
    for (int m = 0; m < mentions_per_example; ++m) {
      const int w = 3 + 8 * m;
      const auto row = static_cast<kplug::row_index>(rng.next() % entities);
      ex.mentions.push_back({{w, w + 1}, "E" + std::to_string(row)});
      ex.rows.push_back(row);
    }
    ex.targets.push_back({/*token=*/4, -1, static_cast<std::int32_t>(rng.next() % labels), {}});
    out.push_back(std::move(ex));
  }
  return out;
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

  const auto kb = make_kb();
  const auto data = make_examples();
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
  state.counters["rows"] = static_cast<double>(batch * words + 2 * batch * mentions_per_example);
}
BENCHMARK(BM_minilm_tuning_step)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
