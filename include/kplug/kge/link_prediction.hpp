// Filtered link prediction (Bordes et al. 2013, "filt." setting): for each
// test triple (h, r, t), rank t among all entities e by d(h, r, e) and h
// among all e by d(e, r, t), skipping every other e that makes a known true
// triple (the filter holds the training and test triples). Reported: mean
// reciprocal rank, mean rank and Hits@1/3/10 over all 2 x count rankings,
// and separately for heads and tails.
//
// Ties: an entity at exactly the true entity's distance counts half, i.e.
// rank = (optimistic + pessimistic) / 2 = 1 + #closer + #tied / 2; Hits@k
// counts rank <= k. A degenerate model (all vectors equal) so ranks in the
// middle rather than first.
//
// Speed: queries are taken in chunks; each chunk's distances to a block of
// entities are computed while the block is in cache, so the entity table is
// read once per chunk, not once per query. Chunks run on the pool.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "kplug/core/error.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/core/thread_pool.hpp"
#include "kplug/kge/transe.hpp"
#include "kplug/kge/triples.hpp"

namespace kplug::kge {

struct ranking_metrics {
  std::size_t count = 0;  // rankings
  double mrr = 0.0;
  double mean_rank = 0.0;
  double hits_at_1 = 0.0;
  double hits_at_3 = 0.0;
  double hits_at_10 = 0.0;
};

struct link_prediction_result {
  ranking_metrics both;  // heads and tails together
  ranking_metrics heads;
  ranking_metrics tails;
  std::vector<double> head_ranks;  // per test triple, in input order
  std::vector<double> tail_ranks;
};

// Ranks of the test triples' heads and tails under `model`, filtered by
// `known` (which should contain the test triples themselves).
link_prediction_result evaluate_link_prediction(const transe_model& model, std::span<const triple> test,
                                                const triple_filter& known, thread_pool& pool);

// Metrics of a list of ranks.
ranking_metrics summarize_ranks(std::span<const double> ranks);

// ---------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------

inline ranking_metrics summarize_ranks(std::span<const double> ranks) {
  ranking_metrics m;
  m.count = ranks.size();
  if (ranks.empty()) return m;
  for (const double r : ranks) {
    m.mrr += 1.0 / r;
    m.mean_rank += r;
    m.hits_at_1 += r <= 1.0 ? 1.0 : 0.0;
    m.hits_at_3 += r <= 3.0 ? 1.0 : 0.0;
    m.hits_at_10 += r <= 10.0 ? 1.0 : 0.0;
  }
  const auto n = static_cast<double>(ranks.size());
  m.mrr /= n;
  m.mean_rank /= n;
  m.hits_at_1 /= n;
  m.hits_at_3 /= n;
  m.hits_at_10 /= n;
  return m;
}

namespace detail {

inline float query_distance(const float* q, const float* e, index_t n, distance_norm norm) noexcept {
  if (norm == distance_norm::l1) return lane_sum(n, [&](index_t j) { return std::fabs(q[j] - e[j]); });
  return std::sqrt(lane_sum(n, [&](index_t j) {
    const float x = q[j] - e[j];
    return x * x;
  }));
}

}  // namespace detail

inline link_prediction_result evaluate_link_prediction(const transe_model& model, std::span<const triple> test,
                                                       const triple_filter& known, thread_pool& pool) {
  constexpr const char* what = "evaluate link prediction";
  const index_t entities = model.entities.rows();
  const index_t dim = model.dim();
  if (model.relations.cols() != dim)
    throw error(what, "", "entity and relation tables differ in width");
  for (const triple& t : test)
    if (t.head < 0 || t.head >= entities || t.tail < 0 || t.tail >= entities || t.relation < 0 ||
        t.relation >= model.relations.rows())
      throw error(what, "", "a test triple's id is outside the model's tables");

  // Query i: test triple i / 2, its tail (even i) or head (odd i). Both are
  // "distance from q to each entity row": tail: q = h + r, d = ||q - e||;
  // head: q = t - r, d = ||e + r - t|| = ||q - e|| (up to rounding).
  const auto queries = static_cast<index_t>(test.size()) * 2;
  std::vector<double> ranks(static_cast<std::size_t>(queries));
  // Distances of a chunk are kept whole (every value computed once, so the
  // true entity's and the filtered ones' distances are the very same
  // numbers they are compared with): chunk x entities floats per thread.
  constexpr std::size_t distance_bytes_per_thread = std::size_t{16} << 20;
  const index_t chunk = std::clamp<index_t>(
      static_cast<index_t>(distance_bytes_per_thread / (sizeof(float) * static_cast<std::size_t>(entities))), 1, 32);
  constexpr index_t block = 128;  // entities per cache block
  const index_t chunks = (queries + chunk - 1) / chunk;
  const int threads = pool.size();
  std::vector<std::vector<float>> distance_buffers(static_cast<std::size_t>(threads));
  std::vector<std::vector<float>> query_buffers(static_cast<std::size_t>(threads));

  pool.run(threads, [&](int part) {
    std::vector<float>& dist = distance_buffers[static_cast<std::size_t>(part)];
    std::vector<float>& qbuf = query_buffers[static_cast<std::size_t>(part)];
    dist.resize(static_cast<std::size_t>(chunk * entities));
    qbuf.resize(static_cast<std::size_t>(chunk * dim));
    for (index_t c = part; c < chunks; c += threads) {
      const index_t q0 = c * chunk;
      const index_t nq = std::min(chunk, queries - q0);
      for (index_t qi = 0; qi < nq; ++qi) {
        const triple& t = test[static_cast<std::size_t>((q0 + qi) / 2)];
        const float* r = model.relations.row(t.relation).data();
        float* q = qbuf.data() + qi * dim;
        if ((q0 + qi) % 2 == 0) {
          const float* h = model.entities.row(t.head).data();
          for (index_t j = 0; j < dim; ++j) q[j] = h[j] + r[j];
        } else {
          const float* tl = model.entities.row(t.tail).data();
          for (index_t j = 0; j < dim; ++j) q[j] = tl[j] - r[j];
        }
      }
      for (index_t e0 = 0; e0 < entities; e0 += block) {
        const index_t e1 = std::min(entities, e0 + block);
        for (index_t qi = 0; qi < nq; ++qi) {
          const float* q = qbuf.data() + qi * dim;
          float* out = dist.data() + qi * entities;
          for (index_t e = e0; e < e1; ++e)
            out[e] = detail::query_distance(q, model.entities.row(e).data(), dim, model.norm);
        }
      }
      for (index_t qi = 0; qi < nq; ++qi) {
        const index_t query = q0 + qi;
        const triple& t = test[static_cast<std::size_t>(query / 2)];
        const bool tail_query = query % 2 == 0;
        const entity_id answer = tail_query ? t.tail : t.head;
        const float* d = dist.data() + qi * entities;
        const float d_true = d[answer];
        std::int64_t closer = 0, tied = 0;
        for (index_t e = 0; e < entities; ++e) {
          closer += d[e] < d_true ? 1 : 0;
          tied += d[e] == d_true ? 1 : 0;
        }
        const bool nan_true = std::isnan(d_true);  // a broken model: rank it mid-field
        tied = nan_true ? entities - 1 : tied - 1;    // minus the answer itself
        for (const entity_id other : tail_query ? known.tails(t.head, t.relation) : known.heads(t.relation, t.tail)) {
          if (other == answer) continue;
          if (d[other] < d_true) --closer;
          if (d[other] == d_true || nan_true) --tied;
        }
        ranks[static_cast<std::size_t>(query)] = 1.0 + static_cast<double>(closer) + 0.5 * static_cast<double>(tied);
      }
    }
  });

  link_prediction_result out;
  out.head_ranks.reserve(test.size());
  out.tail_ranks.reserve(test.size());
  for (std::size_t i = 0; i < test.size(); ++i) {
    out.tail_ranks.push_back(ranks[2 * i]);
    out.head_ranks.push_back(ranks[2 * i + 1]);
  }
  out.both = summarize_ranks(ranks);
  out.heads = summarize_ranks(out.head_ranks);
  out.tails = summarize_ranks(out.tail_ranks);
  return out;
}

}  // namespace kplug::kge
