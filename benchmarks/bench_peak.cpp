// The machine's measured FP32 peak: every thread runs twelve independent
// 8-wide FMA chains in registers, which saturates both FMA pipes of an
// AVX2 core. The nominal "cores x GHz x 32" understates it wherever cores
// boost above the clock /proc/cpuinfo reports; percent-of-peak figures in
// benchmarks/README.md are against this measurement (and the nominal one).
//
// BM_fma_peak/threads:N   counter GFLOPs (all threads together)
#include <benchmark/benchmark.h>

#include <thread>
#include <vector>

namespace {

typedef float v8f __attribute__((vector_size(32)));

float fma_chains(long iterations) {
  v8f a0 = v8f{} + 1.0f, a1 = a0 + 1e-7f, a2 = a1 + 1e-7f, a3 = a2 + 1e-7f, a4 = a3 + 1e-7f, a5 = a4 + 1e-7f;
  v8f a6 = a5 + 1e-7f, a7 = a6 + 1e-7f, a8 = a7 + 1e-7f, a9 = a8 + 1e-7f, a10 = a9 + 1e-7f, a11 = a10 + 1e-7f;
  const v8f m = v8f{} + 0.9999999f, c = v8f{} + 1e-8f;
  for (long k = 0; k < iterations; ++k) {
#if defined(__FMA__) && defined(__AVX__)
#define KPLUG_F(x) x = __builtin_ia32_vfmaddps256(x, m, c)
#else
#define KPLUG_F(x) x = x * m + c
#endif
    KPLUG_F(a0); KPLUG_F(a1); KPLUG_F(a2); KPLUG_F(a3); KPLUG_F(a4); KPLUG_F(a5);
    KPLUG_F(a6); KPLUG_F(a7); KPLUG_F(a8); KPLUG_F(a9); KPLUG_F(a10); KPLUG_F(a11);
#undef KPLUG_F
  }
  const v8f s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
  return s[0];
}

void BM_fma_peak(benchmark::State& state) {
  const auto threads = static_cast<int>(state.range(0));
  constexpr long iterations = 50'000'000;
  for (auto _ : state) {
    std::vector<std::thread> pool;
    std::vector<float> sink(static_cast<std::size_t>(threads));
    for (int t = 0; t < threads; ++t) pool.emplace_back([&, t] { sink[static_cast<std::size_t>(t)] = fma_chains(iterations); });
    for (auto& t : pool) t.join();
    benchmark::DoNotOptimize(sink.data());
  }
  const double flops = 2.0 * 8 * 12 * static_cast<double>(iterations) * threads;
  state.counters["GFLOPs"] =
      benchmark::Counter(flops * static_cast<double>(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
}

BENCHMARK(BM_fma_peak)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
