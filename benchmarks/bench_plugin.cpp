// Plugin-file costs: XXH64 throughput, opening a safetensors file with many
// tensors (header parse + validation), the sampled fingerprint of a large
// knowledge-base table, and saving a BERT-base-sized affine plugin.
#include <benchmark/benchmark.h>

#include <kplug/io/safetensors.hpp>
#include <kplug/plugin/fingerprint.hpp>

#include <cstdio>
#include <string>
#include <vector>

namespace {

void BM_xxh64(benchmark::State& state) {
  std::vector<std::byte> data(static_cast<std::size_t>(state.range(0)));
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::byte>(i * 131);
  for (auto _ : state) benchmark::DoNotOptimize(kplug::xxh64(data));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_xxh64)->Arg(64 << 10)->Arg(64 << 20);

// A checkpoint-like file: 400 small F32 tensors (the header is what is parsed).
void BM_open_safetensors(benchmark::State& state) {
  const std::string path = "/tmp/kplug_bench_open.safetensors";
  std::vector<float> values(64, 1.f);
  std::vector<kplug::io::named_tensor> ts;
  for (int i = 0; i < 400; ++i)
    ts.push_back(kplug::io::make_tensor("encoder.layer." + std::to_string(i) + ".weight", {8, 8}, values));
  kplug::io::write_safetensors(path, ts);
  for (auto _ : state) {
    const kplug::io::safetensors_file f(path);
    benchmark::DoNotOptimize(f.tensor("encoder.layer.7.weight").bytes().data());
  }
  std::remove(path.c_str());
}
BENCHMARK(BM_open_safetensors)->Unit(benchmark::kMicrosecond);

// 400k x 128 float32 = 195 MiB (above the 64 MiB full-hash limit: sampled).
void BM_kb_fingerprint_sampled(benchmark::State& state) {
  const kplug::index_t rows = 400'000, dim = 128;
  kplug::matrix<float> t(rows, dim, 0.5f);
  kplug::kb::entity_index idx("bench");
  idx.reserve(static_cast<std::size_t>(rows));
  for (kplug::index_t r = 0; r < rows; ++r) idx.add("Q" + std::to_string(r), r);
  const kplug::kb::knowledge_base kb("bench", std::move(idx), kplug::kb::embedding_table(std::move(t)));
  for (auto _ : state) benchmark::DoNotOptimize(kplug::plugin::kb_fingerprint(kb));
}
BENCHMARK(BM_kb_fingerprint_sampled)->Unit(benchmark::kMillisecond);

// weight 768 x 128 + bias 768 (float32), atomic write including fsync.
void BM_write_affine_plugin_tensors(benchmark::State& state) {
  const std::string path = "/tmp/kplug_bench_write.safetensors";
  kplug::matrix<float> w(768, 128, 0.25f);
  std::vector<float> b(768, 0.f);
  const std::vector<kplug::io::named_tensor> ts{kplug::io::make_tensor("weight", w),
                                                kplug::io::make_tensor("bias", {768}, b)};
  for (auto _ : state) kplug::io::write_safetensors(path, ts, {{"kplug.format_version", "1"}});
  std::remove(path.c_str());
}
BENCHMARK(BM_write_affine_plugin_tensors)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
