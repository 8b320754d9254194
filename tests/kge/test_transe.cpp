// kge/transe.hpp: the distance and margin-loss gradient (against central
// finite differences in double), the initialisation, the bern
// probabilities (by hand), 1-thread reproducibility, and training on a
// small tree whose held-out links a random model cannot predict.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <span>
#include <vector>

#include "kplug/kb/knowledge_base.hpp"
#include "kplug/kge/link_prediction.hpp"
#include "kplug/kge/transe.hpp"
#include "support/temp_dir.hpp"

namespace {

using kplug::index_t;
using kplug::kge::distance_norm;
using kplug::kge::triple;

TEST(TransE, DistanceByHand) {
  const std::vector<float> h{1.0f, 0.0f, 2.0f}, r{0.0f, 1.0f, -1.0f}, t{0.0f, 0.0f, 4.0f};
  // h + r - t = (1, 1, -3)
  EXPECT_FLOAT_EQ(kplug::kge::transe_distance(h, r, t, distance_norm::l1), 5.0f);
  EXPECT_FLOAT_EQ(kplug::kge::transe_distance(h, r, t, distance_norm::l2), std::sqrt(11.0f));
}

// The loss in double, independently of the library.
double reference_loss(const std::vector<std::vector<double>>& v, double margin, distance_norm norm) {
  const auto d = [&](const std::vector<double>& h, const std::vector<double>& r, const std::vector<double>& t) {
    double s = 0.0;
    for (std::size_t j = 0; j < h.size(); ++j) {
      const double x = h[j] + r[j] - t[j];
      s += norm == distance_norm::l1 ? std::fabs(x) : x * x;
    }
    return norm == distance_norm::l1 ? s : std::sqrt(s);
  };
  return std::max(0.0, margin + d(v[0], v[1], v[2]) - d(v[3], v[1], v[4]));
}

void check_gradient(distance_norm norm, double margin, std::uint64_t seed) {
  constexpr std::size_t n = 19;  // not a multiple of the 16 summation lanes
  kplug::xoshiro256 rng(seed);
  std::vector<std::vector<float>> v(5, std::vector<float>(n));  // h, r, t, hn, tn
  for (auto& vec : v)
    for (float& x : vec) x = static_cast<float>(rng.uniform() * 2.0 - 1.0);
  std::vector<std::vector<float>> g(5, std::vector<float>(n, 99.0f));
  const float loss = kplug::kge::transe_margin_loss(v[0], v[1], v[2], v[3], v[4], static_cast<float>(margin), norm,
                                                    g[0], g[1], g[2], g[3], g[4]);
  std::vector<std::vector<double>> vd(5);
  for (int k = 0; k < 5; ++k) vd[k].assign(v[k].begin(), v[k].end());
  const double ref = reference_loss(vd, margin, norm);
  EXPECT_NEAR(loss, ref, 1e-5);
  constexpr double eps = 1e-4;
  for (int k = 0; k < 5; ++k)
    for (std::size_t j = 0; j < n; ++j) {
      if (norm == distance_norm::l1) {
        // Skip coordinates at an L1 kink (a residual coordinate within eps of 0).
        const double x_pos = vd[0][j] + vd[1][j] - vd[2][j];
        const double x_neg = vd[3][j] + vd[1][j] - vd[4][j];
        if (std::fabs(x_pos) < 10 * eps || std::fabs(x_neg) < 10 * eps) continue;
      }
      auto plus = vd, minus = vd;
      plus[k][j] += eps;
      minus[k][j] -= eps;
      const double numeric = (reference_loss(plus, margin, norm) - reference_loss(minus, margin, norm)) / (2 * eps);
      EXPECT_NEAR(g[k][j], numeric, 1e-4) << "vector " << k << " coordinate " << j;
    }
}

TEST(TransE, MarginLossGradientMatchesFiniteDifferencesL1) {
  for (const std::uint64_t seed : {1u, 2u, 3u}) check_gradient(distance_norm::l1, 5.0, seed);
}

TEST(TransE, MarginLossGradientMatchesFiniteDifferencesL2) {
  for (const std::uint64_t seed : {1u, 2u, 3u}) check_gradient(distance_norm::l2, 2.0, seed);
}

TEST(TransE, InactivePairHasZeroLossAndGradient) {
  // Positive exact (d = 0), negative far: margin 1 + 0 - d_neg < 0.
  const std::vector<float> h{0.0f, 0.0f}, r{1.0f, 0.0f}, t{1.0f, 0.0f}, hn{0.0f, 0.0f}, tn{-5.0f, 0.0f};
  std::vector<std::vector<float>> g(5, std::vector<float>(2, 7.0f));
  EXPECT_EQ(kplug::kge::transe_margin_loss(h, r, t, hn, tn, 1.0f, distance_norm::l1, g[0], g[1], g[2], g[3], g[4]),
            0.0f);
  for (const auto& gk : g)
    for (const float x : gk) EXPECT_EQ(x, 0.0f);
}

TEST(TransE, InitIsUnitNormWithinBound) {
  const auto m = kplug::kge::init_transe(50, 4, 16, distance_norm::l1, 3);
  ASSERT_EQ(m.entities.rows(), 50);
  ASSERT_EQ(m.relations.rows(), 4);
  ASSERT_EQ(m.dim(), 16);
  for (const auto* table : {&m.entities, &m.relations})
    for (index_t i = 0; i < table->rows(); ++i) {
      double s = 0.0;
      for (const float x : table->row(i)) s += double(x) * x;
      EXPECT_NEAR(s, 1.0, 1e-5);
    }
  KPLUG_EXPECT_ERROR(kplug::kge::init_transe(5, 1, 0, distance_norm::l1, 1), "dimension must be positive");
}

TEST(TransE, BernProbabilitiesByHand) {
  // Relation 0: one head, three tails (tph 3, hpt 1): corrupt the head 3/4.
  // Relation 1: three heads, one tail: 1/4. Relation 2: 1-to-1 pairs: 1/2.
  // Relation 3: unused: 1/2.
  const std::vector<triple> g{{0, 0, 1}, {0, 0, 2}, {0, 0, 3}, {1, 1, 0}, {2, 1, 0},
                              {3, 1, 0}, {1, 2, 2}, {2, 2, 3}};
  const auto p = kplug::kge::bern_head_probability(g, 4);
  ASSERT_EQ(p.size(), 4u);
  EXPECT_FLOAT_EQ(p[0], 0.75f);
  EXPECT_FLOAT_EQ(p[1], 0.25f);
  EXPECT_FLOAT_EQ(p[2], 0.5f);
  EXPECT_FLOAT_EQ(p[3], 0.5f);
}

// A complete 3-ary tree of depth 3 (40 nodes) with "parent" (child -> parent)
// and "child" (parent -> child) edges.
std::vector<triple> tree_graph(std::int32_t& entities) {
  std::vector<triple> g;
  entities = 40;
  for (std::int32_t c = 1; c < entities; ++c) {
    const std::int32_t p = (c - 1) / 3;
    g.push_back({c, 0, p});
    g.push_back({p, 1, c});
  }
  return g;
}

kplug::kge::transe_options small_options() {
  kplug::kge::transe_options o;
  o.dim = 16;
  o.epochs = 150;
  o.batch_size = 16;
  o.learning_rate = 0.05f;
  o.margin = 1.0f;
  o.norm = distance_norm::l2;
  o.seed = 11;
  return o;
}

TEST(TransE, LearnsHeldOutTreeLinksBeyondRandom) {
  std::int32_t entities = 0;
  const std::vector<triple> g = tree_graph(entities);
  const auto split = kplug::kge::split_held_out(g, 12, 4);
  const kplug::kge::triple_filter known(g);
  for (const int threads : {1, 2}) {
    kplug::thread_pool pool(threads);
    const auto o = small_options();
    const auto model = kplug::kge::train_transe(split.train, entities, 2, o, pool);
    const auto trained = kplug::kge::evaluate_link_prediction(model, split.held_out, known, pool);
    const auto random = kplug::kge::evaluate_link_prediction(
        kplug::kge::init_transe(entities, 2, o.dim, o.norm, 12345), split.held_out, known, pool);
    // A random ranking of ~39 candidates has MRR about H(39)/39 ~ 0.11.
    EXPECT_LT(random.both.mrr, 0.3) << threads << " threads";
    EXPECT_GT(trained.both.mrr, 0.6) << threads << " threads";
    EXPECT_GT(trained.both.mrr, 2.5 * random.both.mrr) << threads << " threads";
  }
}

TEST(TransE, OneThreadRunsAreReproducible) {
  std::int32_t entities = 0;
  const std::vector<triple> g = tree_graph(entities);
  kplug::thread_pool pool(1);
  auto o = small_options();
  o.epochs = 20;
  for (const auto opt : {kplug::kge::transe_optimizer::adagrad, kplug::kge::transe_optimizer::sgd}) {
    o.optimizer = opt;
    const auto a = kplug::kge::train_transe(g, entities, 2, o, pool);
    const auto b = kplug::kge::train_transe(g, entities, 2, o, pool);
    const auto bytes = [](const kplug::matrix<float>& m) {
      return static_cast<std::size_t>(m.rows() * m.cols()) * sizeof(float);
    };
    EXPECT_EQ(std::memcmp(a.entities.data(), b.entities.data(), bytes(a.entities)), 0);
    EXPECT_EQ(std::memcmp(a.relations.data(), b.relations.data(), bytes(a.relations)), 0);
    auto o2 = o;
    o2.seed = o.seed + 1;
    const auto c = kplug::kge::train_transe(g, entities, 2, o2, pool);
    EXPECT_NE(std::memcmp(a.entities.data(), c.entities.data(), bytes(a.entities)), 0);
    // Trained entity vectors stay on the unit sphere.
    for (index_t i = 0; i < a.entities.rows(); ++i) {
      double s = 0.0;
      for (const float x : a.entities.row(i)) s += double(x) * x;
      EXPECT_NEAR(s, 1.0, 1e-5);
    }
  }
}

TEST(TransE, ReportsProgressEveryEpoch) {
  std::int32_t entities = 0;
  const std::vector<triple> g = tree_graph(entities);
  kplug::thread_pool pool(2);
  auto o = small_options();
  o.epochs = 3;
  o.batch_size = 10;
  std::vector<kplug::kge::transe_progress> ends;
  int batches = 0;
  kplug::kge::train_transe(g, entities, 2, o, pool, [&](const kplug::kge::transe_progress& p) {
    if (p.epoch_done)
      ends.push_back(p);
    else
      ++batches;
  });
  ASSERT_EQ(ends.size(), 3u);
  for (int e = 0; e < 3; ++e) {
    EXPECT_EQ(ends[e].epoch, e + 1);
    EXPECT_EQ(ends[e].epochs, 3);
    EXPECT_EQ(ends[e].epoch_triples_done, g.size());
    EXPECT_EQ(ends[e].epoch_triples, g.size());
    EXPECT_GE(ends[e].loss, 0.0);
  }
  EXPECT_EQ(ends.back().eta_seconds, 0.0);
  EXPECT_GE(batches, 3 * 4);  // the calling thread's shard, 39 triples, in batches of 10
}

TEST(TransE, RejectsBadOptionsAndIds) {
  kplug::thread_pool pool(1);
  const std::vector<triple> g{{0, 0, 1}};
  auto o = small_options();
  o.negatives = 0;
  KPLUG_EXPECT_ERROR(kplug::kge::train_transe(g, 2, 1, o, pool), "negatives");
  KPLUG_EXPECT_ERROR(kplug::kge::train_transe(g, 1, 1, small_options(), pool), "outside");
  KPLUG_EXPECT_ERROR(kplug::kge::train_transe({}, 2, 1, small_options(), pool), "no training triples");
}

TEST(TransE, TablesOpenAsKnowledgeBase) {
  kplug_test::temp_dir dir;
  kplug::kge::name_table entities, relations;
  for (const char* name : {"n02084071", "n02083346", "v01831531"}) entities.intern(name);
  relations.intern("hypernym");
  relations.intern("derivationally related form");  // spaces are fine after a tab
  const auto model = kplug::kge::init_transe(3, 2, 8, distance_norm::l1, 5);
  kplug::kge::write_transe_tables(dir.path(), model, entities, relations);
  EXPECT_EQ(kplug_test::read_all(dir.file("entity2id.txt")), "3\nn02084071\t0\nn02083346\t1\nv01831531\t2\n");
  const auto kb =
      kplug::kb::open_knowledge_base(dir.file("entities.npy"), dir.file("entity2id.txt"), "wordnet");
  EXPECT_EQ(kb.size(), 3u);
  EXPECT_EQ(kb.d_kb(), 8);
  for (std::int32_t i = 0; i < 3; ++i) {
    ASSERT_EQ(kb.find(entities.name(i)), i);
    kplug::matrix<float> row(1, 8);
    const std::vector<kplug::row_index> rows{i};
    kb.gather(rows, row.view());
    for (index_t j = 0; j < 8; ++j) EXPECT_EQ(row(0, j), model.entities(i, j));
  }
  const auto rel = kplug::kb::read_openke_entity2id(dir.file("relation2id.txt"));
  EXPECT_EQ(rel.at("derivationally related form"), 1);
  const auto npy = kplug::io::open_npy(dir.file("relations.npy"));
  EXPECT_EQ(npy.header().shape, (std::vector<index_t>{2, 8}));
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    EXPECT_EQ(e.path().filename().string().find(".kplug-tmp"), std::string::npos) << e.path();
  KPLUG_EXPECT_ERROR(kplug::kge::write_transe_tables(dir.path(), model, relations, relations), "2 entity names");
}

}  // namespace
