// A small fork-join thread pool for the CPU backend's kernels.
//
// Why not OpenMP: kplug is header-only and included into engines that own
// their threading; a pool object the caller sizes (and can share between
// backends) keeps threads explicit and avoids imposing -fopenmp on users.
// The calling thread always takes part, so a pool of size 1 has no workers
// and runs everything inline.
//
// run(parts, fn) calls fn(part) for part in [0, parts) and returns when all
// are done; parts above size() are run by the threads in turn. An exception
// thrown by any part is rethrown in the caller (the first one wins). Calls
// from several threads at once are serialised; a call from inside a part
// of the same pool runs inline (no nested parallelism, no deadlock).
//
// Workers and the caller spin briefly (tens of microseconds) before sleeping
// on a condition variable: an encoder forward is ~60 short runs in a row, and
// a futex wake-up per run would cost more than some of the runs themselves.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "kplug/core/matrix_view.hpp"  // index_t

namespace kplug {

class thread_pool {
 public:
  // threads <= 0: one per hardware thread.
  explicit thread_pool(int threads = 0);
  ~thread_pool();
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;

  // Threads taking part in run(), the caller included.
  int size() const noexcept { return static_cast<int>(workers_.size()) + 1; }

  template <class F>
  void run(int parts, F&& fn);

  // fn(begin, end) over [0, n) cut into at most size() contiguous chunks
  // whose boundaries are multiples of `grain` (except the last).
  template <class F>
  void parallel_for(index_t n, F&& fn, index_t grain = 1);

  // fn(i) for every i in [0, n), handed out one at a time: for work items of
  // uneven cost (attention of sequences of different lengths).
  template <class F>
  void for_each_dynamic(index_t n, F&& fn);

 private:
  struct job {
    void (*call)(void*, int) = nullptr;
    void* fn = nullptr;
    int parts = 0;
  };
  void work(int index);
  void execute(const job& j, int first_part);

  std::vector<std::thread> workers_;
  std::mutex run_mutex_;  // one run() at a time
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  job job_;  // written before generation_ is bumped, read after it is seen
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  std::exception_ptr error_;

  // The pool whose part this thread is running, if any: a nested run() on
  // the same pool runs inline instead of waiting for itself.
  static const thread_pool*& inside() noexcept {
    thread_local const thread_pool* pool = nullptr;
    return pool;
  }
};

// ---------------------------------------------------------------------------
// Implementation

inline thread_pool::thread_pool(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  workers_.reserve(static_cast<std::size_t>(threads - 1));
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { work(i); });
}

namespace detail {
inline void spin_pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}
inline constexpr int spin_limit = 4000;  // pauses: roughly 20-100 microseconds
}  // namespace detail

inline thread_pool::~thread_pool() {
  {
    std::lock_guard lock(mutex_);
    stop_.store(true);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

inline void thread_pool::execute(const job& j, int first_part) {
  const thread_pool* outer = std::exchange(inside(), this);
  for (int part = first_part; part < j.parts; part += size()) {
    try {
      j.call(j.fn, part);
    } catch (...) {
      std::lock_guard lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
  }
  inside() = outer;
}

inline void thread_pool::work(int index) {
  std::uint64_t seen = 0;
  for (;;) {
    for (int spin = 0; spin < detail::spin_limit && generation_.load(std::memory_order_acquire) == seen &&
                       !stop_.load(std::memory_order_relaxed);
         ++spin)
      detail::spin_pause();
    if (generation_.load(std::memory_order_acquire) == seen) {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stop_.load() || generation_.load() != seen; });
    }
    if (stop_.load()) return;
    seen = generation_.load(std::memory_order_acquire);
    const job j = job_;
    execute(j, index);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard lock(mutex_);
      done_.notify_one();
    }
  }
}

template <class F>
void thread_pool::run(int parts, F&& fn) {
  if (parts <= 0) return;
  if (workers_.empty() || parts == 1 || inside() == this) {
    for (int p = 0; p < parts; ++p) fn(p);
    return;
  }
  std::lock_guard serial(run_mutex_);
  job j;
  j.fn = static_cast<void*>(&fn);
  j.call = [](void* f, int part) { (*static_cast<std::remove_reference_t<F>*>(f))(part); };
  j.parts = parts;
  {
    std::lock_guard lock(mutex_);  // a worker about to sleep checks generation_ under it
    job_ = j;
    pending_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
    error_ = nullptr;
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  execute(j, 0);
  for (int spin = 0; spin < detail::spin_limit && pending_.load(std::memory_order_acquire) != 0; ++spin)
    detail::spin_pause();
  std::exception_ptr error;
  {
    std::unique_lock lock(mutex_);
    done_.wait(lock, [&] { return pending_.load(std::memory_order_acquire) == 0; });
    error = error_;
    error_ = nullptr;
  }
  if (error) std::rethrow_exception(error);
}

template <class F>
void thread_pool::parallel_for(index_t n, F&& fn, index_t grain) {
  if (n <= 0) return;
  grain = std::max<index_t>(grain, 1);
  const index_t blocks = (n + grain - 1) / grain;
  const int parts = static_cast<int>(std::min<index_t>(blocks, size()));
  run(parts, [&](int part) {
    const index_t b0 = blocks * part / parts;
    const index_t b1 = blocks * (part + 1) / parts;
    const index_t begin = b0 * grain;
    const index_t end = std::min(n, b1 * grain);
    if (begin < end) fn(begin, end);
  });
}

template <class F>
void thread_pool::for_each_dynamic(index_t n, F&& fn) {
  if (n <= 0) return;
  std::atomic<index_t> next{0};
  const int parts = static_cast<int>(std::min<index_t>(n, size()));
  run(parts, [&](int) {
    for (index_t i = next.fetch_add(1, std::memory_order_relaxed); i < n;
         i = next.fetch_add(1, std::memory_order_relaxed))
      fn(i);
  });
}

}  // namespace kplug
