// Mapping-network benchmarks.
//
// - affine_forward: 4,096 entities, 128 -> 768, fp32, through
//   kplug::map::affine_mapper::forward (bias fill + one Eigen GEMM).
// - eigen_gemm: the same-size product written as plain Eigen,
//   Y.noalias() = X * W^T with the same row-major layouts, no bias: the peer
//   the mapper is compared with. Target: affine_forward within 1.5x of it.
// - mlp_forward (128 -> 768 -> 768, GELU) and affine_backward (with and
//   without the input gradient), for reference.
//
// Both sides run in this process with Eigen's thread setting
// (Eigen::nbThreads(), reported as a counter: 1 unless built with OpenMP).
// At the end the ratio affine_forward / eigen_gemm is printed, from the
// fastest repetition of each (use --benchmark_repetitions=N to get several;
// with --benchmark_report_aggregates_only=true, from the medians).
#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <algorithm>
#include <cstdio>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "kplug/map/affine.hpp"
#include "kplug/map/init.hpp"
#include "kplug/map/mlp.hpp"

namespace {

using kplug::index_t;
using kplug::matrix;
namespace km = kplug::map;

constexpr index_t n = 4096, d_kb = 128, d_model = 768;

matrix<float> filled(index_t rows, index_t cols, std::uint64_t seed) {
  matrix<float> m(rows, cols);
  km::xavier_uniform(m, seed);
  return m;
}

void set_counters(benchmark::State& state, double flops) {
  state.counters["GFLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
  state.counters["threads"] = Eigen::nbThreads();
  state.counters["entities/s"] = benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
}

void affine_forward(benchmark::State& state) {
  km::affine_mapper m(d_kb, d_model);
  km::initialize(m, km::init_scheme::xavier_uniform, 1);
  const matrix<float> x = filled(n, d_kb, 2);
  matrix<float> y(n, d_model);
  for (auto _ : state) {
    m.forward(x, y);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, 2.0 * n * d_kb * d_model);
}
BENCHMARK(affine_forward)->Unit(benchmark::kMillisecond)->UseRealTime();

void eigen_gemm(benchmark::State& state) {
  using row_major = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const row_major x = row_major::Random(n, d_kb);
  const row_major w = row_major::Random(d_model, d_kb);
  row_major y(n, d_model);
  for (auto _ : state) {
    y.noalias() = x * w.transpose();
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, 2.0 * n * d_kb * d_model);
}
BENCHMARK(eigen_gemm)->Unit(benchmark::kMillisecond)->UseRealTime();

void mlp_forward(benchmark::State& state) {
  km::mlp_mapper m(d_kb, d_model, d_model, km::activation::gelu);
  km::initialize(m, km::init_scheme::xavier_uniform, 1);
  const matrix<float> x = filled(n, d_kb, 2);
  matrix<float> y(n, d_model);
  for (auto _ : state) {
    m.forward(x, y);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, 2.0 * n * d_kb * d_model + 2.0 * n * d_model * d_model);
}
BENCHMARK(mlp_forward)->Unit(benchmark::kMillisecond)->UseRealTime();

// Arg 1: with the input gradient (two GEMMs), 0: parameter gradients only.
void affine_backward(benchmark::State& state) {
  km::affine_mapper m(d_kb, d_model);
  km::initialize(m, km::init_scheme::xavier_uniform, 1);
  const matrix<float> x = filled(n, d_kb, 2);
  const matrix<float> gy = filled(n, d_model, 3);
  matrix<float> gx(n, d_kb);
  const bool with_input = state.range(0) != 0;
  for (auto _ : state) {
    m.backward(x, gy, with_input ? gx.view() : kplug::matrix_view<float>{});
    benchmark::DoNotOptimize(gx.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, (with_input ? 4.0 : 2.0) * n * d_kb * d_model);
}
BENCHMARK(affine_backward)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// Keeps the fastest iteration time of each benchmark to print the ratio.
class ratio_reporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.error_occurred) continue;
      // Single iterations when reported; with --benchmark_report_aggregates_only
      // only aggregates arrive, and the "min" of none exists: take the median.
      const bool iteration = r.run_type == Run::RT_Iteration;
      if (!iteration && r.aggregate_name != "median") continue;
      const std::string name = r.run_name.function_name;
      const double t = r.GetAdjustedRealTime();
      auto [it, inserted] = best_.try_emplace(name, t);
      if (!inserted && iteration) it->second = std::min(it->second, t);
    }
    ConsoleReporter::ReportRuns(runs);
  }
  void print_ratio() const {
    const auto a = best_.find("affine_forward"), g = best_.find("eigen_gemm");
    if (a == best_.end() || g == best_.end()) return;
    std::printf("\naffine_forward / eigen_gemm (%d Eigen thread(s)): %.3f  [target <= 1.5]\n",
                Eigen::nbThreads(), a->second / g->second);
  }

 private:
  std::map<std::string, double> best_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  ratio_reporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.print_ratio();
  benchmark::Shutdown();
  return 0;
}
