// Map-tuning a knowledge plugin through a frozen model, saving it, and
// loading it back against the same knowledge base and encoder: the README's
// plugin example, compiled and run by the test suite.
//
// Task-specific map-tuning: the frozen downstream model is kplug's mock
// backend with a 4-class head read at the mention's group (its entity slot);
// entity e belongs to class e % 4, a fact only the knowledge base carries
// (the mention token is [MASK]ed). Only the mapping network is trained.
#include <kplug/kplug.hpp>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

int main(int argc, char** argv) try {
  namespace fs = std::filesystem;
  const fs::path dir = argc > 1 ? fs::path(argv[1]) : fs::temp_directory_path() / "kplug-plugin-example";
  fs::create_directories(dir);
  constexpr kplug::index_t d_kb = 16, hidden = 32, vocab = 64, entities = 24;
  constexpr kplug::token_id cls = 1, sep = 2, mask = 3, slash = 4;
  constexpr kplug::index_t classes = 4;

  // A knowledge base of 24 entities (random vectors stand in for TransE).
  kplug::xoshiro256 rng(7);
  kplug::matrix<float> vectors(entities, d_kb);
  for (kplug::index_t r = 0; r < entities; ++r)
    for (float& v : vectors.row(r)) v = static_cast<float>(rng.uniform() * 2 - 1);
  kplug::kb::entity_index names;
  for (kplug::index_t r = 0; r < entities; ++r) names.add("E" + std::to_string(r), r);
  const kplug::kb::knowledge_base kb("toy-kb", std::move(names), kplug::kb::embedding_table(std::move(vectors)));

  // "[CLS] w w [MASK] w [SEP]", the [MASK] a mention of entity e; label e % 4 at the mention.
  std::vector<kplug::train::example> data;
  for (int i = 0; i < 240; ++i) {
    const int e = i % entities;
    kplug::train::example ex;
    ex.tokens = {{cls, 40 + i % 7, 50 + i % 5, mask, 45, sep}, {-1, 0, 1, 2, 3, -1}, {}};
    ex.mentions = {{{2, 3}, "E" + std::to_string(e)}};
    ex.rows = {e};
    ex.targets = {{.mention = 0, .label = static_cast<std::int32_t>(e % classes)}};
    data.push_back(std::move(ex));
  }
  const std::span<const kplug::train::example> all(data);

  kplug::backend::mock_backend model(vocab, hidden, /*output: classes*/ classes, /*max positions*/ 64, 3);
  const auto format = kplug::splice::splice_format::entity_slash_mention(slash);

  // readme-begin
  kplug::map::any_mapper mapper = kplug::map::make_mapper("affine", kb.d_kb(), model.hidden_size());
  kplug::train::tuning_options options;
  options.epochs = 30;
  options.batch_size = 16;
  options.optimizer.lr = 1e-2;
  kplug::train::map_tuner tuner(model, kb, mapper, kplug::splice::planner({.format = format}), options);
  const auto meta = kplug::plugin::describe(mapper, format, kb, model, "mock-encoder");
  const std::string path = (dir / "toy.kplug").string();
  tuner.on_checkpoint([&](kplug::map::any_mapper& best, const kplug::train::evaluation&) {
    kplug::plugin::save_knowledge_plugin(path, meta, best);   // safetensors + metadata, atomic
  });
  const double before = tuner.evaluate(all.last(48)).loss;
  tuner.fit(all.first(192), all.last(48));

  // Later, in the inference engine: refused unless kb and encoder match.
  kplug::plugin::knowledge_plugin plugin = kplug::plugin::load_knowledge_plugin(path, kb, model);
  // readme-end

  kplug::train::map_tuner check(model, kb, plugin.mapper, kplug::splice::planner({.format = format}), options);
  const kplug::train::evaluation after = check.evaluate(all.last(48));
  std::printf("dev loss %.3f -> %.3f, accuracy %.2f; plugin %s (%s %lld -> %lld)\n", before, after.loss,
              after.accuracy.value_or(0), path.c_str(), plugin.metadata.mapper_kind.c_str(),
              static_cast<long long>(plugin.metadata.d_kb), static_cast<long long>(plugin.metadata.d_model));
  return after.loss < before / 2 ? 0 : 2;
} catch (const std::exception& e) {
  std::fprintf(stderr, "%s\n", e.what());
  return 1;
}
