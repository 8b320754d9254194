// Data-parallel map-tuning, as the map tuner sees it: a group of processes
// ("ranks"), each with its own backend, that take every optimizer step
// together. The tuner calls these collective operations; it needs nothing
// else from the transport, so the header-only core never needs MPI
// (kplug/distributed/mpi.hpp builds a gradient_reduction over MPI).
//
// The contract, with map_tuner::on_reduce(gradient_reduction):
// - Every rank holds the same examples and calls fit / step / evaluate with
//   the same arguments. Of each global batch a rank processes its share,
//   batch positions rank, rank + ranks, rank + 2 ranks, ... (rank_share),
//   like PyTorch's DistributedSampler. Shuffling uses the same seed on every
//   rank, so a global batch is exactly the batch one process would take.
// - Once per step, after the mapper's backward pass and before the optimizer
//   step, the tuner hands sum_gradients one float buffer: every parameter's
//   gradient (in parameters() order, row-major) scaled by the rank's target
//   count, then that count, then the rank's loss times that count. After the
//   sum it divides by the global target count, so every rank steps on the
//   gradient of the GLOBAL mean loss, the one a single process computes on
//   the whole batch, and reports that loss.
// - evaluate sums (loss x targets, correct, targets) with sum_totals, so
//   that early stopping and best-checkpoint decisions agree on every rank.
// - Only rank 0 calls the progress and checkpoint callbacks.
// - fit (and the first step or evaluate) first hands check_same_setup a
//   description of this rank's setup, one "key: value" line per fact
//   (mapper shape and parameter values, knowledge base, options, data); it
//   must throw on EVERY rank, naming the first rank that differs from rank
//   0, when they are not all equal.
// A function that fails on one rank only (an exception, a dead peer) leaves
// the others waiting inside a collective: the transport must stop the whole
// group then (mpi.hpp: MPI_Abort), never let them wait forever.
#pragma once

#include <cstddef>
#include <functional>
#include <ranges>
#include <span>
#include <string>
#include <vector>

#include "kplug/core/error.hpp"

namespace kplug::train {

struct gradient_reduction {
  int rank = 0;   // this process, in [0, ranks)
  int ranks = 1;  // processes training together
  // Replace every element by its sum over all ranks, identically on every
  // rank. Collective: all ranks call it at the same point with the same length.
  std::function<void(std::span<float>)> sum_gradients;  // once per step
  std::function<void(std::span<double>)> sum_totals;    // once per evaluation
  // Collective; throws (on every rank) unless all ranks passed equal text.
  std::function<void(const std::string& setup)> check_same_setup;
};

// Throws unless `r` is usable: 0 <= rank < ranks and every function set.
void validate(const gradient_reduction& r);

// A rank's share of `items` (a global batch, a dev set): the items at
// positions rank, rank + ranks, rank + 2 ranks, ... The shares of all ranks
// partition `items`; they differ in size by at most one.
template <std::ranges::random_access_range R>
std::vector<std::ranges::range_value_t<R>> rank_share(const R& items, int rank, int ranks);

// ---------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------

inline void validate(const gradient_reduction& r) {
  constexpr const char* what = "set a gradient reduction";
  if (r.ranks < 1) throw error(what, "ranks", "must be >= 1, got " + std::to_string(r.ranks));
  if (r.rank < 0 || r.rank >= r.ranks)
    throw error(what, "rank", "must be in [0, " + std::to_string(r.ranks) + "), got " + std::to_string(r.rank));
  if (!r.sum_gradients) throw error(what, "sum_gradients", "is not set");
  if (!r.sum_totals) throw error(what, "sum_totals", "is not set");
  if (!r.check_same_setup) throw error(what, "check_same_setup", "is not set");
}

template <std::ranges::random_access_range R>
std::vector<std::ranges::range_value_t<R>> rank_share(const R& items, int rank, int ranks) {
  if (ranks < 1 || rank < 0 || rank >= ranks)
    throw error("take a rank's share", "rank " + std::to_string(rank) + " of " + std::to_string(ranks),
                "needs 0 <= rank < ranks");
  const auto n = static_cast<std::size_t>(std::ranges::size(items));
  const auto step = static_cast<std::size_t>(ranks);
  std::vector<std::ranges::range_value_t<R>> out;
  out.reserve(n / step + 1);
  for (std::size_t i = static_cast<std::size_t>(rank); i < n; i += step)
    out.push_back(std::ranges::begin(items)[static_cast<std::ranges::range_difference_t<R>>(i)]);
  return out;
}

}  // namespace kplug::train
