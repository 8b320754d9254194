// The CPU encoder on all-MiniLM-L6-v2: forward throughput (tokens/s) and the
// input-gradient backward, at sequence length 32 and 128, batch 1 and 32.
// benchmarks/compare_torch.py runs this next to PyTorch and prints ratios.
//
// Environment: KPLUG_MINILM_DIR (default ~/.cache/kplug/all-MiniLM-L6-v2,
// fetched by scripts/fetch-model.sh), KPLUG_NUM_THREADS (default: all cores).
// KPLUG_MINILM_DIR may name any BERT checkpoint directory: compare_torch.py
// --model bert-base points it at the random BERT-base checkpoint; the
// benchmarks keep their BM_minilm_ names whatever the model.
//
// BM_minilm_forward/batch:B/length:L   forward of B sequences of L tokens
// BM_minilm_backward/batch:B/length:L  backward alone, after a cached forward
// Counters: tokens_per_second; for the forward also GFLOP/s (linear layers and
// attention counted analytically).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <kplug/backend/bert_cpu.hpp>
#include <kplug/core/random.hpp>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

namespace {

using kplug::index_t;

std::string model_dir() {
  if (const char* d = std::getenv("KPLUG_MINILM_DIR")) return d;
  const char* home = std::getenv("HOME");
  return std::string(home ? home : ".") + "/.cache/kplug/all-MiniLM-L6-v2";
}

int threads() {
  const char* t = std::getenv("KPLUG_NUM_THREADS");
  return t ? std::atoi(t) : 0;
}

kplug::backend::bert_cpu& backend() {
  static auto b = std::make_unique<kplug::backend::bert_cpu>(kplug::bert::load_checkpoint(model_dir()),
                                                             kplug::backend::bert_cpu_options{.threads = threads()});
  return *b;
}

// A packed batch of `batch` sequences of `length` random word pieces
// ([CLS] ... [SEP]), and the rows of all tokens as head positions. Every row
// is an entity slot whose entity row is its token's embedding, so that the
// backward returns the gradient of every input row, as PyTorch's
// inputs_embeds gradient does in compare_torch.py.
struct batch_data {
  kplug::matrix<float> rows;
  std::vector<kplug::token_id> ids;
  std::vector<std::int32_t> offsets, position_ids, segment_ids, positions;
  std::vector<std::uint8_t> mask;
  kplug::model_input input() const { return {offsets, ids, position_ids, segment_ids, mask, positions, positions}; }
};

batch_data make_batch(index_t batch, index_t length) {
  auto& b = backend();
  kplug::xoshiro256 rng(42);
  batch_data d;
  std::vector<kplug::token_id>& ids = d.ids;
  d.offsets.push_back(0);
  for (index_t s = 0; s < batch; ++s) {
    for (index_t i = 0; i < length; ++i) {
      kplug::token_id id = 1000 + static_cast<kplug::token_id>(rng.uniform() * 29000);
      if (i == 0) id = 101;
      if (i + 1 == length) id = 102;
      ids.push_back(id);
      d.position_ids.push_back(static_cast<std::int32_t>(i));
    }
    d.offsets.push_back(static_cast<std::int32_t>(ids.size()));
  }
  d.segment_ids.assign(ids.size(), 0);
  d.mask.assign(ids.size(), 1);
  d.rows.resize(static_cast<index_t>(ids.size()), b.hidden_size());
  b.embed_tokens(ids, d.rows.view());
  d.positions.resize(ids.size());
  std::iota(d.positions.begin(), d.positions.end(), 0);
  return d;
}

double forward_flops(index_t batch, index_t length) {
  const auto& c = backend().config();
  const double h = static_cast<double>(c.hidden_size), i = static_cast<double>(c.intermediate_size);
  const double per_token_linear = 2.0 * (4 * h * h + 2 * h * i);
  const double per_token_attention = 2.0 * 2.0 * static_cast<double>(length) * h;
  return static_cast<double>(batch * length) * static_cast<double>(c.num_layers) *
         (per_token_linear + per_token_attention);
}

void BM_minilm_forward(benchmark::State& state) {
  const index_t batch = state.range(0), length = state.range(1);
  auto& b = backend();
  const batch_data d = make_batch(batch, length);
  kplug::matrix<float> hidden(batch * length, b.hidden_size());
  for (auto _ : state) {
    b.encode(d.input(), d.rows.view(), hidden.view());
    benchmark::DoNotOptimize(hidden.data());
  }
  const double items = static_cast<double>(state.iterations() * batch * length);
  state.counters["tokens_per_second"] = benchmark::Counter(items, benchmark::Counter::kIsRate);
  state.counters["GFLOPs"] = benchmark::Counter(
      forward_flops(batch, length) * static_cast<double>(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
}

void BM_minilm_backward(benchmark::State& state) {
  const index_t batch = state.range(0), length = state.range(1);
  auto& b = backend();
  const batch_data d = make_batch(batch, length);
  const index_t t = batch * length;
  kplug::matrix<float> out(t, b.output_size()), grad_out(t, b.output_size(), 1.0f), grad_in(t, b.hidden_size());
  b.forward(d.input(), d.rows.view(), d.positions, out.view());  // keeps the activations
  for (auto _ : state) {
    b.backward(d.input(), d.rows.view(), d.positions, grad_out.view(), grad_in.view());
    benchmark::DoNotOptimize(grad_in.data());
  }
  state.counters["tokens_per_second"] =
      benchmark::Counter(static_cast<double>(state.iterations() * t), benchmark::Counter::kIsRate);
}

void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"batch", "length"});
  for (const index_t length : {32, 128})
    for (const index_t batch : {1, 32}) b->Args({batch, length});
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}

BENCHMARK(BM_minilm_forward)->Apply(shapes);
BENCHMARK(BM_minilm_backward)->Apply(shapes);

}  // namespace

BENCHMARK_MAIN();
