// What data-parallel map-tuning costs: one map-tuning step through the real
// all-MiniLM-L6-v2 on the CPU backend (bench_tuning_step's step: typing
// task, global batch 64, spliced length 64, d_kb 128 affine plugin, so the
// gradients are 384 x 128 + 384 floats), split over the ranks of
//   mpirun -np N ./build/benchmarks/mpi_tuning_step [steps]
// and the gradient allreduce's share of it: inside the step (which includes
// waiting for the slowest rank) and alone (the same buffer, after a barrier).
// A plain timing program, not Google Benchmark: its adaptive iteration
// counts would differ between ranks, which must call the collectives
// equally often.
//
// Environment: KPLUG_MINILM_DIR (default ~/.cache/kplug/all-MiniLM-L6-v2),
// KPLUG_NUM_THREADS (default: the machine's cores divided among the ranks).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <kplug/distributed/mpi.hpp>
#include <string>
#include <thread>
#include <vector>

#include "minilm_typing_step.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

int threads(int ranks) {
  if (const char* t = std::getenv("KPLUG_NUM_THREADS")) return std::atoi(t);
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / ranks);
}

double seconds_since(clock_type::time_point t) { return std::chrono::duration<double>(clock_type::now() - t).count(); }

// Every rank's value, on rank 0.
std::vector<double> gather(const kplug::distributed::mpi_context& mpi, double v) {
  std::vector<double> all(static_cast<std::size_t>(mpi.size()));
  MPI_Gather(&v, 1, MPI_DOUBLE, all.data(), 1, MPI_DOUBLE, 0, mpi.comm());
  return all;
}

std::string per_rank(const std::vector<double>& v, double scale, const char* unit) {
  std::string s;
  for (std::size_t r = 0; r < v.size(); ++r) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s%.3g %s", r ? " / " : "", v[r] * scale, unit);
    s += buf;
  }
  return s;
}

int measure(const kplug::distributed::mpi_context& mpi, int steps) {
  const int thread_count = threads(mpi.size());
  kplug_bench::minilm_typing_step setup(thread_count);
  auto& tuner = setup.tuner;
  const auto& batch = setup.batch;
  const kplug::train::gradient_reduction reduction = kplug::distributed::allreduce_gradients(mpi);
  tuner.on_reduce(reduction);

  tuner.step(batch);  // warm-up (and the start-up setup check)
  const kplug::train::step_timing warm = tuner.timing();
  MPI_Barrier(mpi.comm());
  const auto start = clock_type::now();
  for (int s = 0; s < steps; ++s) tuner.step(batch);
  const double step_seconds = seconds_since(start) / steps;
  const kplug::train::step_timing& t = tuner.timing();
  const double total = t.total_seconds - warm.total_seconds;
  const double backend = (t.backend_seconds - warm.backend_seconds) / total;
  const double in_step_reduce = (t.reduce_seconds - warm.reduce_seconds) / steps;

  // The allreduce alone: the step's buffer (gradients + 2 counts), after a barrier.
  std::size_t floats = 2;
  for (const auto& p : setup.mapper.parameters()) floats += static_cast<std::size_t>(p.grad.rows() * p.grad.cols());
  std::vector<float> buffer(floats, 1.0f);
  // Median and mean of single calls: other jobs on shared cores can
  // deschedule a rank that polls for its peer, which shows in the mean.
  constexpr int calls = 200;
  std::vector<double> call_seconds;
  MPI_Barrier(mpi.comm());
  for (int c = 0; c < calls; ++c) {
    const auto call_start = clock_type::now();
    reduction.sum_gradients(buffer);
    call_seconds.push_back(seconds_since(call_start));
  }
  double alone_mean = 0.0;
  for (double v : call_seconds) alone_mean += v / calls;
  std::nth_element(call_seconds.begin(), call_seconds.begin() + calls / 2, call_seconds.end());
  const double alone = call_seconds[calls / 2];

  const auto steps_all = gather(mpi, step_seconds), backend_all = gather(mpi, backend),
             reduce_all = gather(mpi, in_step_reduce), alone_all = gather(mpi, alone),
             alone_mean_all = gather(mpi, alone_mean);
  if (!mpi.is_root()) return 0;
  const double step = *std::max_element(steps_all.begin(), steps_all.end());
  const double alone_max = *std::max_element(alone_all.begin(), alone_all.end());
  const double alone_mean_max = *std::max_element(alone_mean_all.begin(), alone_mean_all.end());
  const double bytes = static_cast<double>(floats * sizeof(float));
  const auto per_rank_batch = (batch.size() + std::size_t(mpi.size()) - 1) / std::size_t(mpi.size());
  std::printf("ranks %d, %d thread(s) each, global batch %zu (up to %zu per rank), %d timed steps\n", mpi.size(),
              thread_count, batch.size(), per_rank_batch, steps);
  std::printf("step: %.1f ms\n", 1e3 * step);
  std::printf("  backend share (forward + input-gradient backward), per rank: %s\n",
              per_rank(backend_all, 100.0, "%").c_str());
  std::printf("  gradient allreduce inside the step (includes waiting for the slower rank), per rank: %s\n",
              per_rank(reduce_all, 1e3, "ms").c_str());
  std::printf("allreduce alone (%d calls after a barrier): median %.1f us per call = %.4f%% of a step (mean %.1f us)\n",
              calls, 1e6 * alone_max, 100.0 * alone_max / step, 1e6 * alone_mean_max);
  std::printf("bytes per step: %.0f per rank into the allreduce (%zu float32: %zu gradients + 2 counts)\n", bytes,
              floats, floats - 2);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  kplug::distributed::mpi_context mpi(argc, argv);
  const int steps = argc > 1 ? std::max(1, std::atoi(argv[1])) : 5;
  return mpi.run([&] { return measure(mpi, steps); });
}
