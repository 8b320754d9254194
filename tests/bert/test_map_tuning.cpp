// Map-tuning through the real encoder: train::map_tuner drives bert_cpu's
// forward and input-gradient backward, and only the mapping network learns.
// Task: each sentence masks one word, a mention of entity e; the frozen MLM
// must predict word 200 + (e % 6) at the entity's slot, which only the
// knowledge base tells.
#include <gtest/gtest.h>

#include <kplug/backend/bert_cpu.hpp>
#include <kplug/core/random.hpp>
#include <kplug/kb/knowledge_base.hpp>
#include <kplug/map/mapper.hpp>
#include <kplug/train/map_tuner.hpp>
#include <span>
#include <string>
#include <vector>

#include "support/model_paths.hpp"

namespace {

using kplug::index_t;

TEST(MapTuningThroughBert, TheMapperLearnsWhatTheKnowledgeBaseKnows) {
  kplug::backend::bert_cpu model(kplug::bert::load_checkpoint(kplug_test::fixture("tiny_mlm")), {.threads = 2});
  constexpr index_t d_kb = 8, entities = 12;
  constexpr kplug::token_id cls = 101, sep = 102, mask = 103, slash = 1013 % 1024;
  kplug::xoshiro256 rng(3);
  kplug::matrix<float> vectors(entities, d_kb);
  for (index_t r = 0; r < entities; ++r)
    for (float& v : vectors.row(r)) v = static_cast<float>(rng.uniform() * 2 - 1);
  kplug::kb::entity_index names;
  for (index_t r = 0; r < entities; ++r) names.add("E" + std::to_string(r), r);
  const kplug::kb::knowledge_base kb("toy", std::move(names), kplug::kb::embedding_table(std::move(vectors)));

  std::vector<kplug::train::example> data;
  for (int i = 0; i < 144; ++i) {
    const int e = i % entities;
    kplug::train::example ex;
    ex.tokens = {{cls, 300 + i % 7, 400 + i % 5, mask, 500 + i % 3, sep}, {-1, 0, 1, 2, 3, -1}, {}};
    ex.mentions = {{{2, 3}, "E" + std::to_string(e)}};
    ex.rows = {e};
    ex.targets = {{.token = -1, .mention = 0, .label = 200 + e % 6, .values = {}}};
    data.push_back(std::move(ex));
  }
  const std::span<const kplug::train::example> all(data);
  kplug::map::any_mapper mapper = kplug::map::make_mapper("affine", d_kb, model.hidden_size());
  kplug::train::tuning_options options;
  options.epochs = 30;
  options.batch_size = 16;
  options.optimizer.lr = 3e-2;
  const auto format = kplug::splice::splice_format::entity_slash_mention(slash);
  kplug::train::map_tuner tuner(model, kb, mapper, kplug::splice::planner({.format = format}), options);
  const auto before = tuner.evaluate(all.last(48));
  tuner.fit(all.first(96), all.last(48));
  const auto after = tuner.evaluate(all.last(48));
  // Dev entities are the training entities (the mapping, not generalisation,
  // is under test). Accuracy is the argmax over the whole 1,024-word
  // vocabulary; the random 32-wide head caps how confident it can get (the
  // loss plateaus near 3.9 whatever the learning rate), so the bars are
  // "far better than before", not "solved".
  ASSERT_TRUE(before.accuracy.has_value() && after.accuracy.has_value());
  EXPECT_LT(*before.accuracy, 0.1);
  EXPECT_LT(after.loss, 0.65 * before.loss) << before.loss << " -> " << after.loss;
  EXPECT_GE(*after.accuracy, 0.3) << "accuracy " << *before.accuracy << " -> " << *after.accuracy;
}

}  // namespace
