// Data-parallel map-tuning over MPI: the optional part of kplug that needs an
// MPI library (CMake target kplug::mpi, which links MPI::MPI_CXX for MPI's C
// API, without the MPI-2 C++ bindings; nothing else in kplug includes this
// header).
//
//   int main(int argc, char** argv) {
//     kplug::distributed::mpi_context mpi(argc, argv);
//     return mpi.run([&] {
//       ...  // every rank: the same examples, its own backend, the same mapper
//       tuner.on_reduce(kplug::distributed::allreduce_gradients(mpi));
//       tuner.fit(train, dev);  // rank 0 alone reports progress and writes checkpoints
//     });
//   }
//
// Launch with `mpirun -np N prog ...` (docs/distributed.md: hostfiles, costs,
// errors). What a rank computes, and why the result is the one-process
// result, is in kplug/train/reduction.hpp.
//
// Errors. kplug's collectives run on a private duplicate of the
// communicator (so they never mix with an engine's own messages), with
// MPI errors returned and thrown as kplug::error. A rank that fails alone
// would leave the others waiting in a collective for ever, so a failure
// stops the whole job: run() catches an exception (or takes a non-zero
// return) on any rank, prints it naming the rank and calls MPI_Abort, which
// makes the launcher terminate every rank; the context's destructor does
// the same when an exception unwinds through it. A rank that dies (killed,
// crashed) is noticed by the launcher, which terminates the others (mpirun
// does so; under Slurm use srun --kill-on-bad-exit=1). A rank that hangs
// without dying is not detected.
#pragma once

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <concepts>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "kplug/core/error.hpp"
#include "kplug/train/reduction.hpp"

namespace kplug::distributed {

class mpi_context {
 public:
  // Initialises MPI (MPI_Init_thread, MPI_THREAD_FUNNELED: only the thread
  // that constructs the context calls MPI, so fit must run on it) and
  // finalises it in the destructor. Throws if MPI is already initialised:
  // join its communicator with the other constructor.
  mpi_context(int& argc, char**& argv);
  // Joins `comm` of an engine that set MPI up itself; MPI stays initialised.
  explicit mpi_context(MPI_Comm comm);
  // Frees the duplicate communicator and finalises MPI when it initialised
  // it. When an exception unwinds through it, aborts the job instead (the
  // other ranks may be waiting in a collective).
  ~mpi_context();
  mpi_context(const mpi_context&) = delete;
  mpi_context& operator=(const mpi_context&) = delete;

  int rank() const noexcept { return rank_; }
  int size() const noexcept { return size_; }
  bool is_root() const noexcept { return rank_ == 0; }
  // kplug's duplicate of the communicator.
  MPI_Comm comm() const noexcept { return comm_; }

  // Prints "[kplug rank R of N] <message>" to stderr and stops every rank
  // of the job (MPI_Abort with `code`, 1 if it is 0).
  [[noreturn]] void abort(std::string_view message, int code = 1) const noexcept;

  // Runs body() and returns its exit code (0 for a void body). An exception,
  // or a non-zero code, on any rank aborts the whole job (see above).
  template <std::invocable F>
  int run(F&& body) const noexcept;

 private:
  void join(MPI_Comm comm);

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
  bool owns_mpi_ = false;
  int uncaught_at_start_ = std::uncaught_exceptions();
};

// The map tuner's gradient_reduction over ctx's communicator: sums by
// MPI_Allreduce in place (MPI_FLOAT for the gradients, one call per step;
// MPI_DOUBLE for evaluation totals), and the setup check gathers every
// rank's description (MPI_Allgather + MPI_Allgatherv) and throws on every
// rank, naming the first rank that differs from rank 0 and the fact. `ctx`
// must outlive the tuner's use of it.
train::gradient_reduction allreduce_gradients(const mpi_context& ctx);

// This rank's share of `items`: train::rank_share with ctx's rank and size.
template <std::ranges::random_access_range R>
std::vector<std::ranges::range_value_t<R>> share(const R& items, const mpi_context& ctx) {
  return train::rank_share(items, ctx.rank(), ctx.size());
}

// ---------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------

namespace detail {

inline void check_mpi(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) length = 0;
  throw error(what, "MPI", length > 0 ? std::string(text, static_cast<std::size_t>(length))
                                      : "error code " + std::to_string(code));
}

// MPI counts are int: long buffers go in pieces.
template <class T>
void allreduce_sum(std::span<T> values, MPI_Datatype type, MPI_Comm comm, const char* what) {
  constexpr std::size_t piece = INT_MAX / 2;
  for (std::size_t first = 0; first < values.size(); first += piece) {
    const auto count = static_cast<int>(std::min(piece, values.size() - first));
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, values.data() + first, count, type, MPI_SUM, comm), what);
  }
}

inline std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    out.push_back(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
  }
  return out;
}

// Throws unless every rank's `setup` equals rank 0's; every rank gathers
// all of them, so every rank throws the same error.
inline void check_same_setup(MPI_Comm comm, int size, const std::string& setup) {
  constexpr const char* what = "start data-parallel map-tuning";
  if (setup.size() > static_cast<std::size_t>(INT_MAX / size))
    throw error(what, "setup description", "is too long to gather");
  const int length = static_cast<int>(setup.size());
  std::vector<int> lengths(static_cast<std::size_t>(size)), offsets(static_cast<std::size_t>(size));
  check_mpi(MPI_Allgather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, comm), what);
  long long total = 0;
  for (std::size_t r = 0; r < lengths.size(); ++r) {
    offsets[r] = static_cast<int>(total);
    total += lengths[r];
    if (total > INT_MAX) throw error(what, "setup descriptions", "are too long to gather");
  }
  std::string all(static_cast<std::size_t>(total), '\0');
  check_mpi(MPI_Allgatherv(setup.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR,
                           comm),
            what);
  auto text_of = [&](std::size_t r) {
    return std::string_view(all).substr(static_cast<std::size_t>(offsets[r]), static_cast<std::size_t>(lengths[r]));
  };
  const std::vector<std::string_view> reference = lines_of(text_of(0));
  for (std::size_t r = 1; r < lengths.size(); ++r) {
    const std::vector<std::string_view> lines = lines_of(text_of(r));
    for (std::size_t i = 0; i < std::max(reference.size(), lines.size()); ++i) {
      const std::string_view a = i < reference.size() ? reference[i] : "(nothing)";
      const std::string_view b = i < lines.size() ? lines[i] : "(nothing)";
      if (a == b) continue;
      const std::string_view keyed = a.find(':') != std::string_view::npos ? a : b;
      const std::string_view fact = keyed.substr(0, keyed.find(':'));
      throw error(what, "rank " + std::to_string(r) + " of " + std::to_string(size),
                  "disagrees with rank 0 on the " + std::string(fact) + ": rank 0 has '" + std::string(a) +
                      "', rank " + std::to_string(r) + " has '" + std::string(b) + "'");
    }
  }
}

}  // namespace detail

inline mpi_context::mpi_context(int& argc, char**& argv) {
  constexpr const char* what = "initialise MPI";
  int initialised = 0;
  detail::check_mpi(MPI_Initialized(&initialised), what);
  if (initialised)
    throw error(what, "MPI_Init", "MPI is already initialised; join its communicator with mpi_context(MPI_Comm)");
  int provided = 0;
  detail::check_mpi(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided), what);
  owns_mpi_ = true;
  try {
    if (provided < MPI_THREAD_FUNNELED)
      throw error(what, "MPI_Init_thread", "this MPI library gives no MPI_THREAD_FUNNELED support");
    join(MPI_COMM_WORLD);
  } catch (...) {
    MPI_Finalize();
    throw;
  }
}

inline mpi_context::mpi_context(MPI_Comm comm) {
  int initialised = 0;
  detail::check_mpi(MPI_Initialized(&initialised), "join an MPI communicator");
  if (!initialised) throw error("join an MPI communicator", "MPI_Init", "MPI is not initialised");
  join(comm);
}

inline void mpi_context::join(MPI_Comm comm) {
  constexpr const char* what = "join an MPI communicator";
  detail::check_mpi(MPI_Comm_dup(comm, &comm_), what);
  detail::check_mpi(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), what);
  detail::check_mpi(MPI_Comm_rank(comm_, &rank_), what);
  detail::check_mpi(MPI_Comm_size(comm_, &size_), what);
}

inline mpi_context::~mpi_context() {
  if (std::uncaught_exceptions() > uncaught_at_start_)
    abort("kplug: an exception is unwinding through the MPI context; stopping every rank");
  if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
  if (owns_mpi_) MPI_Finalize();
}

inline void mpi_context::abort(std::string_view message, int code) const noexcept {
  std::fprintf(stderr, "[kplug rank %d of %d] %.*s\n", rank_, size_, static_cast<int>(message.size()),
               message.data());
  std::fflush(stderr);
  MPI_Abort(comm_ != MPI_COMM_NULL ? comm_ : MPI_COMM_WORLD, code == 0 ? 1 : code);
  std::terminate();  // MPI_Abort does not return
}

template <std::invocable F>
int mpi_context::run(F&& body) const noexcept {
  int code = 0;
  try {
    if constexpr (std::is_void_v<std::invoke_result_t<F>>)
      std::forward<F>(body)();
    else
      code = static_cast<int>(std::forward<F>(body)());
  } catch (const std::exception& e) {
    abort(std::string(e.what()) + "; stopping every rank");
  } catch (...) {
    abort("kplug: an unknown exception; stopping every rank");
  }
  if (code != 0) abort("kplug: exited with status " + std::to_string(code) + "; stopping every rank", code);
  return code;
}

inline train::gradient_reduction allreduce_gradients(const mpi_context& ctx) {
  const MPI_Comm comm = ctx.comm();
  const int size = ctx.size();
  train::gradient_reduction r;
  r.rank = ctx.rank();
  r.ranks = size;
  r.sum_gradients = [comm](std::span<float> v) {
    detail::allreduce_sum(v, MPI_FLOAT, comm, "sum gradients over the ranks");
  };
  r.sum_totals = [comm](std::span<double> v) {
    detail::allreduce_sum(v, MPI_DOUBLE, comm, "sum evaluation totals over the ranks");
  };
  r.check_same_setup = [comm, size](const std::string& setup) { detail::check_same_setup(comm, size, setup); };
  return r;
}

}  // namespace kplug::distributed
