// kplug eval: accuracy of a downstream mention-typing model on a JSONL file
// (typing_data.hpp), with or without knowledge injected through a plugin,
// and its per-instance predictions.
#include <cstdio>
#include <kplug/core/error.hpp>
#include <kplug/kb/knowledge_base.hpp>
#include <kplug/link/alias_table.hpp>
#include <kplug/plugin/knowledge_plugin.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "args.hpp"
#include "commands.hpp"
#include "knowledge.hpp"
#include "output_files.hpp"
#include "typing_task.hpp"

namespace kplug::cli {
namespace {

command_line eval_command_line() {
  command_line cl("kplug eval",
                  "Evaluate a mention-typing model (a token-classification checkpoint reading the typed\n"
                  "mention's first word piece) on a JSONL file, optionally injecting knowledge.");
  cl.option("--model", "DIR", "downstream checkpoint (config.json with id2label, model.safetensors, vocab.txt)",
            true)
      .option("--data", "FILE",
              "JSONL: {\"text\", \"mentions\": [{\"start\", \"end\"[, \"entity\"]}], \"label\"};\n"
              "offsets in characters; the first mention is the typed one",
              true)
      .option("--plugin", "FILE", "knowledge plugin tuned for --kb and this model")
      .option("--kb", "PATH", "knowledge base (directory with entities.npy + entity2id.txt, or .npy)")
      .option("--entity-ids", "FILE", "entity2id.txt of a --kb .npy table")
      .option("--aliases", "FILE", "alias table (alias<TAB>entity<TAB>count): links mentions without an entity")
      .option("--entities", "gold|linker",
              "gold (default): the file's entities, the linker only where one is absent;\n"
              "linker: ignore the file's entities and link every mention span")
      .option("--predictions", "FILE", "write one JSON line per instance: label, prediction, entity used")
      .option("--summary", "FILE", "write the figures as one JSON object")
      .option("--batch-size", "N", "sequences per encoder call (default 64)")
      .option("--threads", "N", "encoder threads (default: one per hardware thread)");
  cl.flag("--quiet", "print only the accuracy line")
      .flag("--allow-other-encoder",
            "accept a --plugin tuned on another encoder of the same sizes: a general plugin,\n"
            "tuned on the base model, in a model fine-tuned from it (the knowledge base is still checked)");
  cl.epilog(
      "Instances whose label the model does not know are counted as errors and reported.\n"
      "Exit status: 0 done, 1 failed (message on stderr), 2 bad command line.\n");
  return cl;
}

}  // namespace

int run_eval(std::span<char* const> args) {
  command_line cl = eval_command_line();
  if (!cl.parse(args)) {
    std::fputs(cl.usage().c_str(), stdout);
    return exit_ok;
  }
  const bool with_knowledge = cl.has("--plugin") || cl.has("--kb");
  if (with_knowledge && !(cl.has("--plugin") && cl.has("--kb")))
    cl.fail("injecting knowledge needs both --plugin and --kb");
  if (!with_knowledge && (cl.has("--aliases") || cl.has("--entities")))
    cl.fail("--aliases and --entities need --plugin and --kb");
  const std::string entities = cl.value("--entities").value_or("gold");
  if (entities != "gold" && entities != "linker") cl.fail("--entities must be gold or linker, not " + entities);
  if (entities == "linker" && !cl.has("--aliases")) cl.fail("--entities linker needs --aliases");
  const auto batch = static_cast<std::size_t>(cl.integer("--batch-size", 64, 1, 1 << 16));
  const int threads = static_cast<int>(cl.integer("--threads", 0, 0, 4096));
  const bool quiet = cl.has("--quiet");

  typing_model model(cl.required("--model"), threads, true, false);
  const typing_file data = read_typing_file(cl.required("--data"));

  std::optional<kb::knowledge_base> kb;
  std::optional<link::alias_table> aliases;
  std::optional<plugin::knowledge_plugin> plugin;
  splice::planner_config config;
  config.max_length = static_cast<std::int32_t>(model.encoder->max_positions());
  knowledge_inputs inputs;
  if (with_knowledge) {
    const knowledge_paths paths{*cl.value("--kb"), cl.value("--entity-ids").value_or(""), "", *cl.value("--plugin")};
    kb.emplace(open_knowledge_base(paths, paths.kb));
    plugin::compatibility_options checks;
    checks.check_encoder_fingerprint = !cl.has("--allow-other-encoder");
    plugin.emplace(plugin::load_knowledge_plugin(paths.plugin, *kb, *model.encoder, checks));
    print_plugin_warnings(*plugin);
    if (cl.has("--aliases")) aliases.emplace(link::read_alias_table(*cl.value("--aliases")));
    config.format = plugin->metadata.splice;
    inputs = {&*kb, aliases ? &*aliases : nullptr, entities == "linker" ? entity_source::linker : entity_source::gold};
  }
  example_stats stats;
  const std::vector<train::example> examples =
      make_typing_examples(data, model, with_knowledge ? &inputs : nullptr, stats);

  std::vector<std::int32_t> predicted(examples.size(), -1);
  const splice::planner planner(config);
  forward_examples(*model.encoder, planner, kb ? &*kb : nullptr, plugin ? &plugin->mapper : nullptr,
                   std::span<const train::example>(examples), batch,
                   [&](std::size_t first, matrix_view<const float> logits) {
                     for (index_t r = 0; r < logits.rows(); ++r) {
                       const auto row = logits.row(r);
                       predicted[first + static_cast<std::size_t>(r)] =
                           static_cast<std::int32_t>(std::max_element(row.begin(), row.end()) - row.begin());
                     }
                   });

  std::size_t correct = 0;
  std::optional<staged_file> out;
  if (const auto p = cl.value("--predictions")) out.emplace(*p);
  for (std::size_t i = 0; i < examples.size(); ++i) {
    const std::int32_t gold = examples[i].targets[0].label;
    correct += gold >= 0 && predicted[i] == gold;
    if (!out) continue;
    nlohmann::ordered_json rec;
    rec["line"] = data.instances[i].line;
    rec["label"] = data.instances[i].label;
    rec["prediction"] = model.labels[static_cast<std::size_t>(predicted[i])];
    rec["correct"] = gold >= 0 && predicted[i] == gold;
    // The typed mention's entity: the mention whose words hold the head token.
    rec["entity"] = nullptr;
    const std::int32_t head_word = examples[i].tokens.word_of[static_cast<std::size_t>(examples[i].targets[0].token)];
    for (const mention& m : examples[i].mentions)
      if (head_word >= m.words.begin && head_word < m.words.end) rec["entity"] = m.entity;
    out->write(rec.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  }
  if (out) out->commit();

  const double accuracy = examples.empty() ? 0.0 : static_cast<double>(correct) / static_cast<double>(examples.size());
  std::printf("accuracy %.4f (%zu / %zu) on %s\n", accuracy, correct, examples.size(), data.path.c_str());
  if (!quiet) {
    if (stats.unknown_labels > 0)
      std::printf("  %zu instances have a label the model does not know (counted as errors)\n", stats.unknown_labels);
    if (with_knowledge) {
      std::printf("  knowledge: %zu of %zu typed mentions got an entity (%s)\n", stats.typed_with_entity,
                  stats.instances, entities.c_str());
      if (stats.linked > 0)
        std::printf("  linker: %zu spans linked, %zu equal to the file's entity\n", stats.linked,
                    stats.linked_correct);
    }
  }
  if (const auto p = cl.value("--summary")) {
    nlohmann::ordered_json s;
    s["data"] = data.path;
    s["model"] = model.dir;
    s["plugin"] = plugin ? nlohmann::json(*cl.value("--plugin")) : nlohmann::json(nullptr);
    s["entities"] = with_knowledge ? nlohmann::json(entities) : nlohmann::json(nullptr);
    s["instances"] = examples.size();
    s["correct"] = correct;
    s["accuracy"] = accuracy;
    s["unknown_labels"] = stats.unknown_labels;
    s["typed_with_entity"] = stats.typed_with_entity;
    s["linked"] = stats.linked;
    s["linked_correct"] = stats.linked_correct;
    staged_file f(*p);
    f.write(s.dump() + "\n");
    f.commit();
  }
  return exit_ok;
}

}  // namespace kplug::cli
