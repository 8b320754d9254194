// kplug eval: accuracy of a downstream mention-typing model on a JSONL file
// (kplug/tasks/typing_data.hpp), with or without knowledge injected through a
// plugin, and its per-instance predictions.
#include <cstdio>
#include <kplug/map/mapper.hpp>
#include <kplug/tasks/evaluate.hpp>
#include <kplug/tasks/typing_data.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli.hpp"
#include "json_output.hpp"
#include "knowledge.hpp"
#include "output_files.hpp"
#include "typing_options.hpp"

namespace kplug::cli {
namespace {

struct eval_settings {
  std::string model, data, entities = "gold", predictions, summary;
  knowledge_paths knowledge;
  std::int64_t batch_size = 64;
  int threads = 0;
  bool quiet = false;
  bool allow_other_encoder = false;
};

// The typed mention's entity: the mention whose words hold the head token.
nlohmann::json typed_entity(const train::example& ex) {
  const std::int32_t head_word = ex.tokens.word_of[static_cast<std::size_t>(ex.targets[0].token)];
  for (const mention& m : ex.mentions)
    if (head_word >= m.words.begin && head_word < m.words.end) return m.entity;
  return nullptr;
}

void write_predictions(const std::string& path, const tasks::typing_file& data,
                       const std::vector<train::example>& examples, const tasks::typing_evaluation& result,
                       const std::vector<std::string>& labels) {
  staged_file out(path);
  for (std::size_t i = 0; i < examples.size(); ++i) {
    const std::int32_t gold = examples[i].targets[0].label;
    const std::int32_t predicted = result.predicted[i];
    nlohmann::ordered_json rec;
    rec["line"] = data.instances[i].line;
    rec["label"] = data.instances[i].label;
    rec["prediction"] = labels[static_cast<std::size_t>(predicted)];
    rec["correct"] = gold >= 0 && predicted == gold;
    rec["entity"] = typed_entity(examples[i]);
    out.write(json_line(rec));
  }
  out.commit();
}

int run_eval(const eval_settings& s, const CLI::App& app) {
  const bool with_knowledge = given(app, "--plugin") || given(app, "--kb");
  if (with_knowledge && !(given(app, "--plugin") && given(app, "--kb")))
    fail("injecting knowledge needs both --plugin and --kb");
  if (!with_knowledge && (given(app, "--aliases") || given(app, "--entities")))
    fail("--aliases and --entities need --plugin and --kb");
  if (s.entities == "linker" && !given(app, "--aliases")) fail("--entities linker needs --aliases");

  tasks::typing_model model(s.model, s.threads, true, false);
  const tasks::typing_file data = tasks::read_typing_file(s.data);
  std::unique_ptr<knowledge> k;
  if (with_knowledge) {
    plugin::compatibility_options checks;
    checks.check_encoder_fingerprint = !s.allow_other_encoder;
    k = std::make_unique<knowledge>(s.knowledge, *model.encoder, checks);
  }
  const tasks::knowledge_inputs inputs = k ? k->inputs(entity_source_of(s.entities)) : tasks::knowledge_inputs{};
  tasks::example_stats stats;
  const std::vector<train::example> examples =
      tasks::make_typing_examples(data, model.tokenizer, model.labels, k ? &inputs : nullptr, stats);
  const splice::planner planner = planner_for(model, k ? k->plugin->metadata.splice : splice::splice_format{});
  const tasks::typing_evaluation result =
      tasks::evaluate_typing(*model.encoder, planner, k ? &k->kb : nullptr, k ? &k->plugin->mapper : nullptr,
                             std::span<const train::example>(examples), static_cast<std::size_t>(s.batch_size));
  if (given(app, "--predictions")) write_predictions(s.predictions, data, examples, result, model.labels);

  std::printf("accuracy %.4f (%zu / %zu) on %s\n", result.accuracy, result.correct, examples.size(), data.path.c_str());
  if (!s.quiet) {
    if (stats.unknown_labels > 0)
      std::printf("  %zu instances have a label the model does not know (counted as errors)\n", stats.unknown_labels);
    if (k) {
      std::printf("  knowledge: %zu of %zu typed mentions got an entity (%s)\n", stats.typed_with_entity,
                  stats.instances, s.entities.c_str());
      if (stats.linked > 0)
        std::printf("  linker: %zu spans linked, %zu equal to the file's entity\n", stats.linked,
                    stats.linked_correct);
    }
  }
  if (given(app, "--summary")) {
    nlohmann::ordered_json o;
    o["data"] = data.path;
    o["model"] = model.dir;
    o["plugin"] = k ? nlohmann::json(s.knowledge.plugin) : nlohmann::json(nullptr);
    o["entities"] = k ? nlohmann::json(s.entities) : nlohmann::json(nullptr);
    o["instances"] = examples.size();
    o["correct"] = result.correct;
    o["accuracy"] = result.accuracy;
    o["unknown_labels"] = stats.unknown_labels;
    o["typed_with_entity"] = stats.typed_with_entity;
    o["linked"] = stats.linked;
    o["linked_correct"] = stats.linked_correct;
    write_json_file(s.summary, o);
  }
  return exit_ok;
}

}  // namespace

command add_eval(CLI::App& root) {
  const auto [app, s] = add_command<eval_settings>(
      root, "eval",
      "Evaluate a mention-typing model (a token-classification checkpoint reading the typed\n"
      "mention's first word piece) on a JSONL file, optionally injecting knowledge.",
      "downstream checkpoint (config.json with id2label, model.safetensors, vocab.txt)");
  add_value(*app, "--data", s->data, "FILE",
            "JSONL: {\"text\", \"mentions\": [{\"start\", \"end\"[, \"entity\"]}], \"label\"};\n"
            "offsets in characters; the first mention is the typed one")
      ->required();
  add_value(*app, "--plugin", s->knowledge.plugin, "FILE", "knowledge plugin tuned for --kb and this model");
  add_kb_options(*app, s->knowledge);
  add_value(*app, "--aliases", s->knowledge.aliases, "FILE",
            "alias table (alias<TAB>entity<TAB>count): links mentions without an entity");
  add_entities_option(*app, s->entities,
                      "gold (default): the file's entities, the linker only where one is absent;\n"
                      "linker: ignore the file's entities and link every mention span");
  add_value(*app, "--predictions", s->predictions, "FILE",
            "write one JSON line per instance: label, prediction, entity used");
  add_value(*app, "--summary", s->summary, "FILE", "write the figures as one JSON object");
  add_value(*app, "--batch-size", s->batch_size, "N", "sequences per encoder call (default 64)")
      ->check(integer_in(1, 1 << 16));
  add_threads_option(*app, s->threads);
  app->add_flag("--quiet", s->quiet, "print only the accuracy line");
  app->add_flag("--allow-other-encoder", s->allow_other_encoder,
                "accept a --plugin tuned on another encoder of the same sizes: a general plugin,\n"
                "tuned on the base model, in a model fine-tuned from it (the knowledge base is still checked)");
  app->footer(
      "Instances whose label the model does not know are counted as errors and reported.\n" +
      std::string(exit_status_help));
  return {app, [settings = s, sub = app] { return run_eval(*settings, *sub); }};
}

}  // namespace kplug::cli
