#include <gtest/gtest.h>

#include <atomic>
#include <kplug/core/thread_pool.hpp>
#include <stdexcept>
#include <thread>
#include <vector>

namespace {

TEST(ThreadPool, ParallelForCoversEveryIndexOnceWithGrainAlignedChunks) {
  for (const int threads : {1, 2, 3, 8}) {
    kplug::thread_pool pool(threads);
    for (const kplug::index_t n : {0, 1, 5, 16, 17, 1000}) {
      std::vector<std::atomic<int>> hits(static_cast<std::size_t>(n));
      pool.parallel_for(n, [&](kplug::index_t b, kplug::index_t e) {
        EXPECT_EQ(b % 4, 0) << "chunk starts off the grain";
        for (kplug::index_t i = b; i < e; ++i) hits[static_cast<std::size_t>(i)]++;
      }, 4);
      for (kplug::index_t i = 0; i < n; ++i) EXPECT_EQ(hits[static_cast<std::size_t>(i)].load(), 1) << i;
    }
  }
}

TEST(ThreadPool, UsesMoreThanOneThreadWhenItHasThem) {
  kplug::thread_pool pool(2);
  std::atomic<int> inside{0};
  std::atomic<int> max_inside{0};
  pool.run(2, [&](int) {
    const int now = ++inside;
    int seen = max_inside.load();
    while (now > seen && !max_inside.compare_exchange_weak(seen, now)) {
    }
    // Wait (bounded) for the other part to arrive, proving both run at once.
    for (int spin = 0; spin < 2000000 && inside.load() < 2; ++spin) std::this_thread::yield();
    --inside;
  });
  EXPECT_EQ(max_inside.load(), 2);
}

TEST(ThreadPool, DynamicLoopRunsEachItemOnce) {
  kplug::thread_pool pool(3);
  std::vector<std::atomic<int>> hits(257);
  pool.for_each_dynamic(257, [&](kplug::index_t i) { hits[static_cast<std::size_t>(i)]++; });
  for (auto& h : hits) EXPECT_EQ(h.load(), 1);
}

TEST(ThreadPool, RethrowsAPartsExceptionAndStaysUsable) {
  kplug::thread_pool pool(2);
  EXPECT_THROW(pool.run(4, [](int part) {
    if (part == 3) throw std::runtime_error("part 3 failed");
  }), std::runtime_error);
  std::atomic<int> count{0};
  pool.run(4, [&](int) { ++count; });
  EXPECT_EQ(count.load(), 4);
}

TEST(ThreadPool, NestedRunOnTheSamePoolRunsInline) {
  kplug::thread_pool pool(2);
  std::atomic<int> count{0};
  pool.run(2, [&](int) { pool.run(3, [&](int) { ++count; }); });
  EXPECT_EQ(count.load(), 6);
}

}  // namespace
