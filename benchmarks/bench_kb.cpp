// Knowledge-base adapter benchmarks.
//
// - Opening a 1 GiB float32 .npy table (header written, data extent made by
//   ftruncate: opening maps the file and parses the header, never reads the
//   data, so a sparse file measures the same thing). Target: well under 50 ms.
// - Opening + touching one random row (one page fault).
// - gather() of 4096 random rows from a 1M x 128 table, float32 and float16,
//   from the memory-mapped .npy (pages pre-faulted, as after warm-up) and from
//   an owned in-memory float32 table for comparison. Each iteration uses a new
//   batch of rows out of 64 (128 MiB of rows, far beyond the caches).
//
// Files go to a fresh directory under $TMPDIR (or /tmp), removed at exit.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "kplug/io/npy.hpp"
#include "kplug/kb/embedding_table.hpp"

namespace {

using kplug::index_t;
using kplug::row_index;

class bench_files {
 public:
  static bench_files& get() {
    static bench_files f;
    return f;
  }
  ~bench_files() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // header + 1 GiB of float32 rows of 128 (2^21 rows), sparse.
  const std::string& one_gib() {
    if (one_gib_.empty()) {
      one_gib_ = dir_ + "/one_gib.npy";
      constexpr index_t rows = index_t{1} << 21;
      const std::string header = kplug::io::npy_header_bytes(kplug::io::dtype::f32, {rows, 128});
      const int fd = ::open(one_gib_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd < 0 || ::write(fd, header.data(), header.size()) != static_cast<ssize_t>(header.size()) ||
          ::ftruncate(fd, static_cast<off_t>(header.size() + (std::size_t{1} << 30))) != 0)
        std::abort();
      ::close(fd);
    }
    return one_gib_;
  }

  // 1M x 128 random float32 table, also written as float16.
  const kplug::matrix<float>& values() {
    if (values_.rows() == 0) {
      values_ = kplug::matrix<float>(kRows, kDim);
      std::mt19937 rng(1);
      std::normal_distribution<float> d(0.0f, 0.1f);
      for (index_t i = 0; i < kRows * kDim; ++i) values_.data()[i] = d(rng);
    }
    return values_;
  }
  const std::string& table32() {
    if (table32_.empty()) {
      table32_ = dir_ + "/table32.npy";
      kplug::io::write_npy(table32_, values());
    }
    return table32_;
  }
  const std::string& table16() {
    if (table16_.empty()) {
      table16_ = dir_ + "/table16.npy";
      kplug::io::write_npy_float16(table16_, values().view());
    }
    return table16_;
  }

  static constexpr index_t kRows = 1 << 20;
  static constexpr index_t kDim = 128;

 private:
  bench_files() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr ? tmp : "/tmp") + "/kplug-bench-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    dir_ = pattern;
  }
  std::string dir_;
  std::string one_gib_, table32_, table16_;
  kplug::matrix<float> values_;
};

void BM_OpenNpy1GiB(benchmark::State& state) {
  const std::string& path = bench_files::get().one_gib();
  for (auto _ : state) {
    const auto a = kplug::io::open_npy(path);
    benchmark::DoNotOptimize(a.data());
  }
  state.counters["table_GiB"] = 1.0;
}
BENCHMARK(BM_OpenNpy1GiB)->Unit(benchmark::kMicrosecond);

void BM_OpenNpy1GiBAndTouchRandomRow(benchmark::State& state) {
  const std::string& path = bench_files::get().one_gib();
  std::mt19937_64 rng(3);
  std::vector<float> row(128);
  for (auto _ : state) {
    const auto t = kplug::kb::open_embedding_table(path);
    const row_index r = static_cast<row_index>(rng() % static_cast<std::uint64_t>(t.rows()));
    t.gather({&r, 1}, kplug::matrix_view<float>(row.data(), 1, 128));
    benchmark::DoNotOptimize(row.data());
  }
}
BENCHMARK(BM_OpenNpy1GiBAndTouchRandomRow)->Unit(benchmark::kMicrosecond);

constexpr std::size_t kBatch = 4096;
constexpr std::size_t kBatches = 64;

std::vector<row_index> random_rows() {
  std::mt19937_64 rng(5);
  std::vector<row_index> rows(kBatch * kBatches);
  for (auto& r : rows) r = static_cast<row_index>(rng() % static_cast<std::uint64_t>(bench_files::kRows));
  return rows;
}

void prefault(const kplug::kb::embedding_table& t) {
  // Read one byte per page so the measurement is the warm steady state.
  const auto first = t.row_bytes(0);
  const std::size_t total = static_cast<std::size_t>(t.rows()) * first.size();
  volatile std::byte sink{};
  for (std::size_t off = 0; off < total; off += 4096) sink = first.data()[off];
  (void)sink;
}

void run_gather(benchmark::State& state, const kplug::kb::embedding_table& t) {
  const std::vector<row_index> rows = random_rows();
  kplug::matrix<float> out(static_cast<index_t>(kBatch), t.dim());
  std::size_t b = 0;
  for (auto _ : state) {
    t.gather({rows.data() + b * kBatch, kBatch}, out.view());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
    b = (b + 1) % kBatches;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kBatch));
  // Bytes of float32 output written (for float16, half as many are read).
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kBatch) * t.dim() *
                          static_cast<std::int64_t>(sizeof(float)));
}

void BM_Gather4096Float32Mapped(benchmark::State& state) {
  const auto t = kplug::kb::open_embedding_table(bench_files::get().table32());
  prefault(t);
  run_gather(state, t);
}
BENCHMARK(BM_Gather4096Float32Mapped)->Unit(benchmark::kMicrosecond);

void BM_Gather4096Float16Mapped(benchmark::State& state) {
  const auto t = kplug::kb::open_embedding_table(bench_files::get().table16());
  prefault(t);
  run_gather(state, t);
  state.counters["f16c"] = kplug::detail::half_rows_use_f16c() ? 1 : 0;
}
BENCHMARK(BM_Gather4096Float16Mapped)->Unit(benchmark::kMicrosecond);

void BM_Gather4096Float32Owned(benchmark::State& state) {
  kplug::matrix<float> copy = bench_files::get().values();
  const kplug::kb::embedding_table t(std::move(copy), "owned");
  run_gather(state, t);
}
BENCHMARK(BM_Gather4096Float32Owned)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
