// The CUDA backend on the GPU: forward throughput (tokens/s, encoder to the
// last hidden states) and forward + entity-row backward, for
// all-MiniLM-L6-v2 (or a random model of its shape where it was not fetched:
// the speed is the same) and a BERT-base-shaped random model, at batch 1, 32 and
// 256 and length 32 and 128; the cuBLAS GEMMs of the same encoder alone (the
// floor: attention, layer norm and the rest excluded); and one map-tuning
// step (batch 64, length 64) through MiniLM. benchmarks/compare_torch_cuda.py
// runs PyTorch on the same points.
//
// Without a CUDA device every benchmark reports an error saying so.
// Environment: KPLUG_MINILM_DIR (default ~/.cache/kplug/all-MiniLM-L6-v2).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <kplug/backend/cuda/bert_cuda.cuh>
#include <kplug/backend/memory.hpp>
#include <kplug/core/random.hpp>
#include <kplug/io/safetensors.hpp>
#include <kplug/kb/knowledge_base.hpp>
#include <kplug/map/mapper.hpp>
#include <kplug/train/map_tuner.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench_support.hpp"

namespace {

using kplug::index_t;
using kplug::backend::bert_cuda;

std::string minilm_dir() {
  if (const char* d = std::getenv("KPLUG_MINILM_DIR")) return d;
  const char* home = std::getenv("HOME");
  return std::string(home ? home : ".") + "/.cache/kplug/all-MiniLM-L6-v2";
}

// A BertModel of the given shape with random weights (vocabulary 30522, 512
// positions), written once under the temporary directory: its speed is that
// of any checkpoint of the shape.
std::string random_model_dir(const std::string& name, index_t layers, index_t hidden, index_t heads,
                             index_t intermediate) {
  const std::string dir = (std::filesystem::temp_directory_path() / ("kplug-random-" + name)).string();
  if (std::filesystem::exists(dir + "/model.safetensors")) return dir;
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/config.json")
      << R"({"architectures": ["BertModel"], "model_type": "bert", "hidden_size": )" << hidden
      << R"(, "num_hidden_layers": )" << layers << R"(, "num_attention_heads": )" << heads
      << R"(, "intermediate_size": )" << intermediate
      << R"(, "vocab_size": 30522, "max_position_embeddings": 512, "type_vocab_size": 2, "hidden_act": "gelu",
    "layer_norm_eps": 1e-12, "position_embedding_type": "absolute"})";
  kplug::xoshiro256 rng(7);
  std::deque<std::vector<float>> store;
  std::vector<kplug::io::named_tensor> tensors;
  auto add = [&](const std::string& name, std::vector<index_t> shape, float scale) {
    std::size_t n = 1;
    for (const index_t d : shape) n *= std::size_t(d);
    auto& v = store.emplace_back(n);
    for (float& x : v) x = scale == 0.0f ? 1.0f : static_cast<float>(rng.uniform() * 2 - 1) * scale;
    tensors.push_back(kplug::io::make_tensor(name, std::move(shape), v));
  };
  auto linear = [&](const std::string& name, index_t out, index_t in) {
    add(name + ".weight", {out, in}, 0.02f);
    add(name + ".bias", {out}, 0.02f);
  };
  auto norm = [&](const std::string& n) {
    add(n + ".weight", {hidden}, 0.0f);
    add(n + ".bias", {hidden}, 0.02f);
  };
  add("embeddings.word_embeddings.weight", {30522, hidden}, 0.02f);
  add("embeddings.position_embeddings.weight", {512, hidden}, 0.02f);
  add("embeddings.token_type_embeddings.weight", {2, hidden}, 0.02f);
  norm("embeddings.LayerNorm");
  for (index_t l = 0; l < layers; ++l) {
    const std::string b = "encoder.layer." + std::to_string(l) + ".";
    for (const char* part : {"query", "key", "value"}) linear(b + "attention.self." + part, hidden, hidden);
    linear(b + "attention.output.dense", hidden, hidden);
    norm(b + "attention.output.LayerNorm");
    linear(b + "intermediate.dense", intermediate, hidden);
    linear(b + "output.dense", hidden, intermediate);
    norm(b + "output.LayerNorm");
  }
  kplug::io::write_safetensors(dir + "/model.safetensors", tensors);
  return dir;
}

// all-MiniLM-L6-v2 itself where it was fetched, else a random model of its
// shape (6 layers, hidden 384, 12 heads, intermediate 1536); BERT-base's
// shape (12, 768, 12, 3072) at random.
std::string model_dir(const std::string& name) {
  if (name == "minilm")
    return std::filesystem::exists(minilm_dir() + "/model.safetensors") ? minilm_dir()
                                                                           : random_model_dir("minilm", 6, 384, 12, 1536);
  return random_model_dir("bert-base", 12, 768, 12, 3072);
}

bert_cuda* backend(const std::string& name) {
  static std::map<std::string, std::unique_ptr<bert_cuda>> cache;
  auto& b = cache[name];
  if (!b) b = std::make_unique<bert_cuda>(kplug::bert::load_checkpoint(model_dir(name)));
  return b.get();
}

bool have_gpu(benchmark::State& state) {
  if (kplug::cuda::device_count() > 0) return true;
  state.SkipWithError("no CUDA device is present");
  return false;
}

// A packed batch of `batch` sequences of `length` random word pieces, no entity.
struct batch_data {
  std::vector<kplug::token_id> ids;
  std::vector<std::int32_t> offsets{0}, position_ids, segment_ids, none, rows;
  std::vector<std::uint8_t> mask;
  kplug::model_input input() const { return {offsets, ids, position_ids, segment_ids, mask, none, none}; }
};

batch_data make_batch(index_t batch, index_t length) {
  kplug::xoshiro256 rng(42);
  batch_data d;
  for (index_t s = 0; s < batch; ++s) {
    for (index_t i = 0; i < length; ++i) {
      d.ids.push_back(i == 0 ? 101 : i + 1 == length ? 102 : 1000 + static_cast<kplug::token_id>(rng.uniform() * 29000));
      d.position_ids.push_back(static_cast<std::int32_t>(i));
      d.rows.push_back(static_cast<std::int32_t>(d.ids.size() - 1));
    }
    d.offsets.push_back(static_cast<std::int32_t>(d.ids.size()));
  }
  d.segment_ids.assign(d.ids.size(), 0);
  d.mask.assign(d.ids.size(), 1);
  return d;
}

void report(benchmark::State& state, double tokens) {
  state.counters["tokens_per_second"] =
      benchmark::Counter(tokens * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_cuda_forward(benchmark::State& state, const std::string& model) {
  if (!have_gpu(state)) return;
  bert_cuda& b = *backend(model);
  const batch_data d = make_batch(state.range(0), state.range(1));
  kplug::cuda::device_matrix none(0, b.hidden_size()), hidden(static_cast<index_t>(d.ids.size()), b.hidden_size());
  b.encode(d.input(), none.view(), hidden.view());  // warm-up: allocations
  b.synchronize();
  for (auto _ : state) {
    b.encode(d.input(), none.view(), hidden.view());
    b.synchronize();
  }
  report(state, static_cast<double>(d.ids.size()));
}

void BM_cuda_forward_backward(benchmark::State& state, const std::string& model) {
  if (!have_gpu(state)) return;
  bert_cuda& b = *backend(model);
  batch_data d = make_batch(state.range(0), state.range(1));
  // Every row an entity slot: the backward runs to every input row, as a
  // PyTorch inputs_embeds gradient does.
  const auto t = static_cast<index_t>(d.ids.size());
  kplug::mirrored_matrix<bert_cuda> entities, out, grad_out, grad;
  entities.resize(b, t, b.hidden_size());
  b.embed_tokens(d.ids, entities.host());
  entities.upload(b);
  out.resize(b, t, b.output_size());
  grad_out.resize(b, t, b.output_size());
  for (index_t r = 0; r < t; ++r)
    for (float& v : grad_out.host().row(r)) v = 1e-3f;
  grad_out.upload(b);
  grad.resize(b, t, b.hidden_size());
  kplug::model_input in = d.input();
  in.slot_rows = d.rows;
  in.slot_entities = d.rows;
  for (auto _ : state) {
    b.forward(in, entities.device(), d.rows, out.device());
    b.backward(in, entities.device(), d.rows, grad_out.device(), grad.device());
    b.synchronize();
  }
  report(state, static_cast<double>(t));
}

// The encoder's GEMMs alone (per layer: QKV, attention output, intermediate,
// output), on the same shapes: the floor the encoder is measured against.
void BM_cuda_gemm_floor(benchmark::State& state, const std::string& model) {
  if (!have_gpu(state)) return;
  bert_cuda& b = *backend(model);
  const auto& c = b.config();
  const index_t t = state.range(0) * state.range(1), h = c.hidden_size, i = c.intermediate_size;
  kplug::cuda::device_matrix x(t, h), qkv(t, 3 * h), y(t, h), mid(t, i), w(1, std::max(3 * h, i) * h);
  kplug::cuda::stream s;
  kplug::cuda::blas_handle blas(s.get());
  for (auto _ : state) {
    for (index_t l = 0; l < c.num_layers; ++l) {
      kplug::cuda::kernels::linear(blas.get(), x.data(), t, h, w.data(), 3 * h, qkv.data());  // QKV
      kplug::cuda::kernels::linear(blas.get(), x.data(), t, h, w.data(), h, y.data());        // attention output
      kplug::cuda::kernels::linear(blas.get(), x.data(), t, h, w.data(), i, mid.data());      // intermediate
      kplug::cuda::kernels::linear(blas.get(), mid.data(), t, i, w.data(), h, y.data());      // output
    }
    s.synchronize();
  }
  report(state, static_cast<double>(t));
}

void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"batch", "length"});
  for (const index_t length : {32, 128})
    for (const index_t batch : {1, 32, 256}) b->Args({batch, length});
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}

BENCHMARK_CAPTURE(BM_cuda_forward, minilm, std::string("minilm"))->Apply(shapes);
BENCHMARK_CAPTURE(BM_cuda_forward, bert_base, std::string("bert_base"))->Apply(shapes);
BENCHMARK_CAPTURE(BM_cuda_gemm_floor, minilm, std::string("minilm"))->Apply(shapes);
BENCHMARK_CAPTURE(BM_cuda_gemm_floor, bert_base, std::string("bert_base"))->Apply(shapes);
BENCHMARK_CAPTURE(BM_cuda_forward_backward, minilm, std::string("minilm"))->Apply(shapes);
BENCHMARK_CAPTURE(BM_cuda_forward_backward, bert_base, std::string("bert_base"))->Apply(shapes);

// One map-tuning step through MiniLM (bare encoder, squared error on the
// hidden state at one mention per example), bench_tuning_step's batch.
void BM_cuda_tuning_step(benchmark::State& state) {
  if (!have_gpu(state)) return;
  bert_cuda& b = *backend("minilm");
  constexpr index_t d_kb = 128, entities = 20000;
  const auto kb = kplug_bench::random_knowledge_base(entities, d_kb);
  const auto data = kplug_bench::tuning_step_examples(entities, 2, b.hidden_size());
  kplug::map::any_mapper mapper = kplug::map::make_mapper("affine", d_kb, b.hidden_size());
  kplug::train::map_tuner tuner(b, kb, mapper,
                                kplug::splice::planner({.format = kplug::splice::splice_format::entity_slash_mention(1013)}),
                                {}, kplug::train::squared_error{});
  std::vector<const kplug::train::example*> step;
  for (const auto& e : data) step.push_back(&e);
  tuner.step(step);
  for (auto _ : state) benchmark::DoNotOptimize(tuner.step(step));
  state.counters["steps_per_second"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_cuda_tuning_step)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
