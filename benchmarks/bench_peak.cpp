// The machine's measured FP32 peak: every thread runs twelve independent
// 8-wide FMA chains in registers, which saturates both FMA pipes of an
// AVX2 core; BM_fma_peak_avx512 the same with 16-wide chains (on CPUs that
// split 512-bit operations in two, such as AMD's Zen 4, the same peak). The nominal "cores x GHz x 32" understates it wherever cores
// boost above the clock /proc/cpuinfo reports; percent-of-peak figures in
// benchmarks/README.md are against this measurement (and the nominal one).
//
// BM_fma_peak/threads:N, BM_fma_peak_avx512/threads:N   counter GFLOPs (all threads together)
#include <benchmark/benchmark.h>

#include <thread>
#include <vector>

namespace {

typedef float v8f __attribute__((vector_size(32)));
typedef float v16f __attribute__((vector_size(64)));

// Target attributes, not build flags: the peak is the CPU's whatever the
// build's -m flags (the benchmarks are built for baseline x86-64 by default).
#define KPLUG_CHAINS(x) KPLUG_F(x##0); KPLUG_F(x##1); KPLUG_F(x##2); KPLUG_F(x##3); KPLUG_F(x##4); KPLUG_F(x##5); \
  KPLUG_F(x##6); KPLUG_F(x##7); KPLUG_F(x##8); KPLUG_F(x##9); KPLUG_F(x##10); KPLUG_F(x##11)

__attribute__((target("avx2,fma"))) float fma_chains_avx2(long iterations) {
  v8f a0 = v8f{} + 1.0f, a1 = a0 + 1e-7f, a2 = a1 + 1e-7f, a3 = a2 + 1e-7f, a4 = a3 + 1e-7f, a5 = a4 + 1e-7f;
  v8f a6 = a5 + 1e-7f, a7 = a6 + 1e-7f, a8 = a7 + 1e-7f, a9 = a8 + 1e-7f, a10 = a9 + 1e-7f, a11 = a10 + 1e-7f;
  const v8f m = v8f{} + 0.9999999f, c = v8f{} + 1e-8f;
  for (long k = 0; k < iterations; ++k) {
#define KPLUG_F(x) x = __builtin_ia32_vfmaddps256(x, m, c)
    KPLUG_CHAINS(a);
#undef KPLUG_F
  }
  const v8f s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
  return s[0];
}

__attribute__((target("avx512f"))) float fma_chains_avx512(long iterations) {
  v16f a0 = v16f{} + 1.0f, a1 = a0 + 1e-7f, a2 = a1 + 1e-7f, a3 = a2 + 1e-7f, a4 = a3 + 1e-7f, a5 = a4 + 1e-7f;
  v16f a6 = a5 + 1e-7f, a7 = a6 + 1e-7f, a8 = a7 + 1e-7f, a9 = a8 + 1e-7f, a10 = a9 + 1e-7f, a11 = a10 + 1e-7f;
  const v16f m = v16f{} + 0.9999999f, c = v16f{} + 1e-8f;
  for (long k = 0; k < iterations; ++k) {
#define KPLUG_F(x) x = __builtin_ia32_vfmaddps512_mask(x, m, c, (unsigned short)-1, 4)
    KPLUG_CHAINS(a);
#undef KPLUG_F
  }
  const v16f s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
  return s[0];
}

template <int Lanes>
void BM_fma_peak(benchmark::State& state) {
  if (Lanes == 16 ? !__builtin_cpu_supports("avx512f") : !__builtin_cpu_supports("fma")) {
    state.SkipWithError("the CPU lacks these instructions");
    return;
  }
  const auto threads = static_cast<int>(state.range(0));
  constexpr long iterations = 50'000'000;
  for (auto _ : state) {
    std::vector<std::thread> pool;
    std::vector<float> sink(static_cast<std::size_t>(threads));
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        sink[static_cast<std::size_t>(t)] = Lanes == 16 ? fma_chains_avx512(iterations) : fma_chains_avx2(iterations);
      });
    for (auto& t : pool) t.join();
    benchmark::DoNotOptimize(sink.data());
  }
  const double flops = 2.0 * Lanes * 12 * static_cast<double>(iterations) * threads;
  state.counters["GFLOPs"] =
      benchmark::Counter(flops * static_cast<double>(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
}

BENCHMARK(BM_fma_peak<8>)->Name("BM_fma_peak")->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_fma_peak<16>)->Name("BM_fma_peak_avx512")->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
