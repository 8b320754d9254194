// The mention-typing task through the library alone, on the tiny
// classification fixture (random weights, 3 labels; its vocabulary is digits
// and punctuation): read the JSONL data, build examples with knowledge,
// evaluate, map-tune an affine mapper with the library's tuner, evaluate
// again. Figures are checked against computations done here by hand: the
// cross-entropy from the logits, the arg-max accuracy, and an identity
// mapper whose entity vector is the mention's own word embedding, which must
// give the logits of the text without knowledge.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kplug/core/random.hpp"
#include "kplug/io/npy.hpp"
#include "kplug/map/affine.hpp"
#include "kplug/map/identity.hpp"
#include "kplug/map/init.hpp"
#include "kplug/tasks/evaluate.hpp"
#include "kplug/tasks/typing_examples.hpp"
#include "kplug/tasks/typing_model.hpp"
#include "kplug/train/map_tuner.hpp"
#include "support/model_paths.hpp"
#include "support/temp_dir.hpp"

namespace {

using kplug::index_t;
using kplug::matrix;
namespace tasks = kplug::tasks;

constexpr int entities = 9;
constexpr int d_kb = 8;

std::string entity_name(int k) {
  std::string name = "e";
  name += std::to_string(k);
  return name;
}

// Every line is the same text; only the entity of its mention ("#") says
// which label it has: LABEL_(k mod 3). With `typed_paren`, the typed mention
// is "(" (no entity) and "#" a second mention bringing knowledge.
std::string typing_lines(bool typed_paren) {
  std::string out;
  for (int k = 0; k < entities; ++k) {
    std::string label = "LABEL_";
    label += std::to_string(k % 3);
    nlohmann::json mentions = {{{"start", 0}, {"end", 1}, {"entity", entity_name(k)}}};
    if (typed_paren) mentions.insert(mentions.begin(), nlohmann::json{{"start", 2}, {"end", 3}});
    out += nlohmann::json{{"text", "# ( ) ."}, {"mentions", mentions}, {"label", label}}.dump() + "\n";
  }
  return out;
}

class TypingTask : public ::testing::Test {
 protected:
  void SetUp() override {
    kplug::xoshiro256 rng(5);
    table = matrix<float>(entities, d_kb);
    for (index_t r = 0; r < entities; ++r)
      for (float& v : table.row(r)) v = static_cast<float>(rng.uniform() * 2 - 1);
    kplug::io::write_npy(dir.file("entities.npy"), table.view());
    std::string ids = std::to_string(entities) + "\n";
    for (int k = 0; k < entities; ++k) ids += entity_name(k) + "\t" + std::to_string(k) + "\n";
    dir.write("entity2id.txt", ids);
    dir.write("data.jsonl", typing_lines(false));
    dir.write("paren.jsonl", typing_lines(true));
  }

  std::vector<kplug::train::example> examples(const kplug::kb::knowledge_base* kb,
                                             const std::string& name = "data.jsonl") {
    const tasks::typing_file file = tasks::read_typing_file(dir.file(name));
    const tasks::knowledge_inputs inputs{kb, nullptr, tasks::entity_source::gold};
    tasks::example_stats stats;
    auto out = tasks::make_typing_examples(file, model.tokenizer, model.labels, kb ? &inputs : nullptr, stats);
    EXPECT_EQ(stats.instances, static_cast<std::size_t>(entities));
    EXPECT_EQ(stats.unknown_labels, 0u);
    if (kb && name == "data.jsonl") {
      EXPECT_EQ(stats.typed_with_entity, static_cast<std::size_t>(entities));
    }
    return out;
  }

  // Logits at every example's target row.
  template <class Mapper>
  matrix<float> logits(const kplug::splice::planner& planner, const kplug::kb::knowledge_base* kb, Mapper* mapper,
                       const std::vector<kplug::train::example>& ex) {
    matrix<float> out(static_cast<index_t>(ex.size()), model.encoder->output_size());
    tasks::forward_examples(*model.encoder, planner, kb, mapper, std::span<const kplug::train::example>(ex), 4,
                            [&](std::size_t first, kplug::matrix_view<const float> l) {
                              for (index_t r = 0; r < l.rows(); ++r)
                                for (index_t c = 0; c < l.cols(); ++c)
                                  out(static_cast<index_t>(first) + r, c) = l(r, c);
                            });
    return out;
  }

  kplug::kb::knowledge_base open_kb(const std::string& npy) {
    return kplug::kb::open_knowledge_base(npy, dir.file("entity2id.txt"), "kb");
  }

  kplug_test::temp_dir dir;
  matrix<float> table;
  tasks::typing_model model{kplug_test::fixture("tiny_cls"), 1, true, true};
};

TEST_F(TypingTask, ModelLabelsComeFromId2label) {
  EXPECT_EQ(model.labels, (std::vector<std::string>{"LABEL_0", "LABEL_1", "LABEL_2"}));
  EXPECT_EQ(tasks::label_index(model.labels, "LABEL_2"), 2);
  EXPECT_EQ(tasks::label_index(model.labels, "noun.animal"), -1);
}

// The identity mapper with the word embedding of "#" as every entity's
// vector, spliced in place of the mention "#", is the text itself: the
// logits at the typed mention "(" do not change.
TEST_F(TypingTask, AnEntityEqualToTheMentionsEmbeddingChangesNothing) {
  const kplug::token_id hash = *model.tokenizer.vocab().find("#");
  matrix<float> emb(1, model.encoder->hidden_size());
  model.encoder->embed_tokens(std::vector<kplug::token_id>{hash}, emb.view());
  matrix<float> same(entities, model.encoder->hidden_size());
  for (index_t r = 0; r < entities; ++r)
    for (index_t c = 0; c < same.cols(); ++c) same(r, c) = emb(0, c);
  kplug::io::write_npy(dir.file("hash.npy"), same.view());
  const auto kb = open_kb(dir.file("hash.npy"));

  kplug::splice::planner_config config;
  config.format = kplug::splice::splice_format::replace_mention();
  config.max_length = 64;
  const kplug::splice::planner planner(config);
  kplug::map::identity_mapper identity(model.encoder->hidden_size());
  const auto with = examples(&kb, "paren.jsonl");
  const auto without = examples(nullptr, "paren.jsonl");
  ASSERT_EQ(with[0].mentions.size(), 1u);
  ASSERT_TRUE(without[0].mentions.empty());
  const matrix<float> a = logits(planner, &kb, &identity, with);
  const matrix<float> b = logits<kplug::map::identity_mapper>(planner, nullptr, nullptr, without);
  for (index_t r = 0; r < a.rows(); ++r)
    for (index_t c = 0; c < a.cols(); ++c) EXPECT_NEAR(a(r, c), b(r, c), 1e-5f) << r << ", " << c;
}

// Map-tuning a token classifier and evaluating it, with the library only.
TEST_F(TypingTask, MapTuningTeachesTheEntityLabelsAndEvaluationAgrees) {
  const auto kb = open_kb(dir.file("entities.npy"));
  const auto ex = examples(&kb);
  kplug::splice::planner_config config;
  config.format = kplug::splice::splice_format::entity_slash_mention(*model.tokenizer.vocab().find("/"));
  config.max_length = 64;
  const kplug::splice::planner planner(config);
  kplug::map::affine_mapper affine(d_kb, model.encoder->hidden_size());
  kplug::map::initialize(affine, kplug::map::init_scheme::xavier_uniform, 3);

  // Before: the tuner's loss and accuracy are the mean cross-entropy and the
  // arg-max accuracy of the logits, computed here.
  kplug::train::tuning_options options;
  options.epochs = 60;
  options.batch_size = 3;
  options.seed = 1;
  options.optimizer.lr = 5e-2;
  kplug::train::map_tuner tuner(*model.encoder, kb, affine, planner, options);
  const auto first = logits(planner, &kb, &affine, ex);
  double loss = 0;
  std::size_t right = 0;
  for (index_t r = 0; r < first.rows(); ++r) {
    const int label = ex[static_cast<std::size_t>(r)].targets[0].label;
    double sum = 0, best = -1e30;
    int arg = 0;
    for (index_t c = 0; c < first.cols(); ++c) {
      sum += std::exp(static_cast<double>(first(r, c)));
      if (first(r, c) > best) best = first(r, c), arg = static_cast<int>(c);
    }
    loss += std::log(sum) - first(r, label);
    right += arg == label;
  }
  loss /= entities;
  const double accuracy = static_cast<double>(right) / entities;
  const kplug::train::evaluation before = tuner.evaluate(ex);
  EXPECT_NEAR(before.loss, loss, 1e-5);
  ASSERT_TRUE(before.accuracy);
  EXPECT_DOUBLE_EQ(*before.accuracy, accuracy);
  const tasks::typing_evaluation e0 = tasks::evaluate_typing(*model.encoder, planner, &kb, &affine,
                                                             std::span<const kplug::train::example>(ex), 4);
  EXPECT_EQ(e0.correct, right);
  EXPECT_DOUBLE_EQ(e0.accuracy, accuracy);

  tuner.fit(ex, ex);
  const kplug::train::evaluation after = tuner.evaluate(ex);
  const tasks::typing_evaluation e1 = tasks::evaluate_typing(*model.encoder, planner, &kb, &affine,
                                                             std::span<const kplug::train::example>(ex), 4);
  ASSERT_TRUE(after.accuracy);
  EXPECT_DOUBLE_EQ(e1.accuracy, *after.accuracy);
  EXPECT_LT(after.loss, before.loss - 0.3) << before.loss << " -> " << after.loss;
  EXPECT_GT(e1.accuracy, accuracy);
  // Only the knowledge tells the lines apart, so every right answer above
  // chance came through the mapper.
  EXPECT_GE(e1.accuracy, 2.0 / 3.0);
}

// Bad input names the file, the line and why.
TEST_F(TypingTask, BadLinesNameFileLineAndField) {
  struct bad_case {
    std::string line;
    std::vector<std::string> expected;
  };
  const std::string good = R"({"text": "# ( ) .", "mentions": [{"start": 0, "end": 1}], "label": "LABEL_0"})";
  const std::vector<bad_case> cases = {
      {R"({"text": "# ( ) .", "mentions": [{"start": 0, "end": 1}]})", {", line 2", "\"label\""}},
      {R"({"text": "# ( ) .", "mentions": [{"start": 0, "end": 70}], "label": "x"})",
       {", line 2", "\"mentions\"[0]", "7 characters"}},
      {R"({"text": "# ( ) .", "mentions": [{"start": "0", "end": 1}], "label": "x"})",
       {", line 2", "\"mentions\"[0].start", "integer"}},
      {R"({"text": "# ( ) .", "mentions": [], "label": "x"})", {", line 2", "non-empty"}},
      {R"({"text": "# ( ) .", "mentions": [{"start": 0, "end": 1, "entity": 5}], "label": "x"})",
       {", line 2", ".entity"}},
      {R"(["not", "an", "object"])", {", line 2", "JSON object"}},
      {R"x({"text": "# ( )", )x", {", line 2", "invalid JSON"}},
  };
  for (const bad_case& c : cases) {
    const std::string path = dir.write("bad.jsonl", good + "\n" + c.line + "\n");
    try {
      tasks::read_typing_file(path);
      ADD_FAILURE() << "accepted: " << c.line;
    } catch (const kplug::error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(path), std::string::npos) << what;
      for (const std::string& part : c.expected) EXPECT_NE(what.find(part), std::string::npos) << what;
    }
  }
  // A span inside a word is found when tokenising (this vocabulary splits "12" in pieces, not words).
  const std::string path = dir.write("inside.jsonl", good + "\n" +
                                                         R"({"text": "12 ( ) .", "mentions": [{"start": 1, "end": 2}], "label": "LABEL_0"})" +
                                                         "\n");
  const tasks::typing_file file = tasks::read_typing_file(path);
  tasks::example_stats stats;
  KPLUG_EXPECT_ERROR(tasks::make_typing_examples(file, model.tokenizer, model.labels, nullptr, stats),
                     path + ", line 2", "inside a word");
  // A label the model lacks is an error for training, naming its line.
  const std::string unknown = dir.write("unknown.jsonl", good + "\n" +
                                                              R"({"text": "# ( ) .", "mentions": [{"start": 0, "end": 1}], "label": "LABEL_9"})" +
                                                              "\n");
  const tasks::typing_file u = tasks::read_typing_file(unknown);
  const auto ex = tasks::make_typing_examples(u, model.tokenizer, model.labels, nullptr, stats);
  KPLUG_EXPECT_ERROR(tasks::require_known_labels(std::span<const kplug::train::example>(ex), u, model.labels,
                                                 "read training data"),
                     unknown + ", line 2", "\"LABEL_9\" is not one of the 3 labels");
}

}  // namespace
