// Knowledge plugins: mapper <-> plugin file round trips, refusal against the
// wrong encoder or knowledge base, and map-tuning checkpoints that load back.
#include <gtest/gtest.h>

#include <kplug/backend/mock.hpp>
#include <kplug/map/mapper.hpp>
#include <kplug/plugin/knowledge_plugin.hpp>
#include <kplug/train/map_tuner.hpp>
#include <string>
#include <vector>

#include "support/temp_dir.hpp"

namespace {

using kplug::index_t;
namespace plugin = kplug::plugin;

kplug::kb::knowledge_base small_kb(index_t d_kb, index_t rows = 6) {
  kplug::matrix<float> t(rows, d_kb);
  for (index_t r = 0; r < rows; ++r)
    for (index_t c = 0; c < d_kb; ++c) t(r, c) = static_cast<float>(r - c) * 0.25f;
  kplug::kb::entity_index idx;
  for (index_t r = 0; r < rows; ++r) {
    std::string name = "Q";
    name += std::to_string(r);
    idx.add(name, r);
  }
  return {"toy", std::move(idx), kplug::kb::embedding_table(std::move(t))};
}

const kplug::splice::splice_format paper = kplug::splice::splice_format::entity_slash_mention(3);

std::vector<float> flat(kplug::map::any_mapper& m) {
  std::vector<float> out;
  for (const auto& p : m.parameters())
    for (index_t r = 0; r < p.value.rows(); ++r) out.insert(out.end(), p.value.row(r).begin(), p.value.row(r).end());
  return out;
}

kplug::matrix<float> apply(kplug::map::any_mapper& m, const kplug::kb::knowledge_base& kb) {
  kplug::matrix<float> x(kb.table().rows(), kb.d_kb()), y(kb.table().rows(), m.output_dim());
  std::vector<kplug::row_index> all;
  for (index_t r = 0; r < kb.table().rows(); ++r) all.push_back(r);
  kb.gather(all, x);
  m.forward(x, y);
  return y;
}

TEST(KnowledgePlugin, EveryMapperKindRoundTripsAndMapsIdentically) {
  kplug_test::temp_dir dir;
  kplug::backend::mock_backend encoder(50, 8, 4, 64, 1);
  for (const char* kind : {"affine", "mlp", "identity"}) {
    const index_t d_kb = std::string(kind) == "identity" ? 8 : 5;
    const auto kb = small_kb(d_kb);
    kplug::map::mapper_options o;
    o.seed = 7;
    o.hidden = 6;
    o.act = kplug::map::activation::tanh;
    if (std::string(kind) == "identity") o.target_norm = 1.5f;
    kplug::map::any_mapper m = kplug::map::make_mapper(kind, d_kb, 8, o);
    const auto meta = plugin::describe(m, paper, kb, encoder, "mock");
    const std::string path = dir.file(std::string(kind) + ".kplug");
    plugin::save_knowledge_plugin(path, meta, m);
    plugin::knowledge_plugin loaded = plugin::load_knowledge_plugin(path, kb, encoder);
    EXPECT_EQ(loaded.mapper.kind(), kind);
    EXPECT_EQ(loaded.metadata.splice, paper);
    EXPECT_EQ(flat(loaded.mapper), flat(m)) << kind;
    const auto a = apply(m, kb), b = apply(loaded.mapper, kb);
    EXPECT_EQ(std::vector<float>(a.data(), a.data() + a.rows() * a.cols()),
              std::vector<float>(b.data(), b.data() + b.rows() * b.cols()))
        << kind;
  }
}

TEST(KnowledgePlugin, RefusesAnotherEncoderOrKnowledgeBase) {
  kplug_test::temp_dir dir;
  kplug::backend::mock_backend encoder(50, 8, 4, 64, 1), other_seed(50, 8, 4, 64, 2);
  const auto kb = small_kb(5), bigger = small_kb(5, 7);
  kplug::map::any_mapper m = kplug::map::make_mapper("affine", 5, 8);
  const std::string path = dir.file("p.kplug");
  plugin::save_knowledge_plugin(path, plugin::describe(m, paper, kb, encoder, "mock"), m);
  EXPECT_THROW(plugin::load_knowledge_plugin(path, kb, other_seed), kplug::error);
  EXPECT_THROW(plugin::load_knowledge_plugin(path, bigger, encoder), kplug::error);
  EXPECT_NO_THROW(plugin::load_knowledge_plugin(path, kb, encoder));
}

TEST(KnowledgePlugin, MetadataMustDescribeTheMapper) {
  kplug_test::temp_dir dir;
  kplug::backend::mock_backend encoder(50, 8, 4, 64, 1);
  const auto kb = small_kb(5);
  kplug::map::any_mapper m = kplug::map::make_mapper("affine", 5, 8);
  auto meta = plugin::describe(m, paper, kb, encoder, "mock");
  meta.mapper_kind = "mlp";
  EXPECT_THROW(plugin::save_knowledge_plugin(dir.file("x.kplug"), meta, m), kplug::error);
}

TEST(KnowledgePlugin, BadMapperOptionsAreErrors) {
  EXPECT_THROW(plugin::mapper_options_from_strings({{"hidden", "-3"}}, "f"), kplug::error);
  EXPECT_THROW(plugin::mapper_options_from_strings({{"hidden", "12x"}}, "f"), kplug::error);
  EXPECT_THROW(plugin::mapper_options_from_strings({{"activation", "swish"}}, "f"), kplug::error);
  EXPECT_THROW(plugin::mapper_options_from_strings({{"target_norm", "nan"}}, "f"), kplug::error);
  EXPECT_THROW(plugin::mapper_options_from_strings({{"colour", "blue"}}, "f"), kplug::error);
  EXPECT_EQ(plugin::mapper_options_from_strings({{"hidden", "12"}}, "f").hidden, 12);
}

TEST(KnowledgePlugin, MapTuningCheckpointLoadsBackAsTheBestMapper) {
  kplug_test::temp_dir dir;
  kplug::backend::mock_backend encoder(40, 8, 8, 64, 1);
  const auto kb = small_kb(5);
  std::vector<kplug::train::example> data;
  for (int i = 0; i < 12; ++i) {
    kplug::train::example e;
    e.tokens = {{1, 10 + i % 7, 20, 2}, {-1, 0, 1, -1}, {}};
    std::string entity = "Q";
    entity += std::to_string(i % 6);  // not "Q" + ...: GCC 12 -O3 -Wrestrict false positive
    e.mentions = {{{0, 1}, entity}};
    e.rows = {i % 6};
    e.targets = {{-1, 0, 0, std::vector<float>(8, 0.1f * float(i % 6))}};
    data.push_back(std::move(e));
  }
  kplug::map::any_mapper m = kplug::map::make_mapper("affine", 5, 8);
  kplug::train::tuning_options o;
  o.epochs = 5;
  o.batch_size = 4;
  o.optimizer.lr = 1e-2;
  kplug::train::map_tuner tuner(encoder, kb, m, kplug::splice::planner({.format = paper}), o,
                                kplug::train::squared_error{});
  const auto meta = plugin::describe(m, paper, kb, encoder, "mock");
  const std::string path = dir.file("best.kplug");
  tuner.on_checkpoint([&](kplug::map::any_mapper& best, const kplug::train::evaluation&) {
    plugin::save_knowledge_plugin(path, meta, best);
  });
  const auto result = tuner.fit(data, data);
  ASSERT_TRUE(result.best_dev.has_value());
  plugin::knowledge_plugin loaded = plugin::load_knowledge_plugin(path, kb, encoder);
  EXPECT_EQ(flat(loaded.mapper), flat(m));  // restore_best: in memory == last checkpoint
}

}  // namespace
