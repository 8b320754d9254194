// kplug export: mention-typing data as the encoder's input rows, for
// training outside kplug (scripts/wordnet/finetune.py): per instance the
// token ids with -1 at entity slots, the knowledge-base row of each slot,
// position and segment ids, the row the head reads, and the label index.
// The splice plan is kplug's own, so a model trained on this file sees its
// knowledge exactly where kplug eval will put it.
#include <cstdio>
#include <kplug/core/error.hpp>
#include <kplug/kb/knowledge_base.hpp>
#include <kplug/link/alias_table.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "args.hpp"
#include "commands.hpp"
#include "knowledge.hpp"
#include "output_files.hpp"
#include "splice_options.hpp"
#include "typing_task.hpp"

namespace kplug::cli {
namespace {

command_line export_command_line() {
  command_line cl("kplug export",
                  "Write mention-typing data as spliced encoder input rows (JSONL) for training elsewhere.");
  cl.option("--model", "DIR", "BERT checkpoint (its vocab.txt tokenises; its size limits the length)", true)
      .option("--data", "FILE", "JSONL in the mention-typing schema", true)
      .option("--labels", "FILE", "labels.txt (default: the model's id2label)")
      .option("--out", "FILE", "JSONL to write: {\"ids\", \"positions\", \"segments\", \"entity_rows\", \"head\", \"label\"}",
              true)
      .option("--kb", "PATH", "knowledge base: splice entity slots for the mentions' entities")
      .option("--entity-ids", "FILE", "entity2id.txt of a --kb .npy table")
      .option("--aliases", "FILE", "alias table: links mentions without an entity (and all with --entities linker)")
      .option("--entities", "gold|linker", "where the typed mention's entity comes from (default gold)")
      .option("--format", "NAME", splice_format_help());
  cl.epilog("Exit status: 0 done, 1 failed (message on stderr), 2 bad command line.\n");
  return cl;
}

}  // namespace

int run_export(std::span<char* const> args) {
  command_line cl = export_command_line();
  if (!cl.parse(args)) {
    std::fputs(cl.usage().c_str(), stdout);
    return exit_ok;
  }
  const std::string entities = cl.value("--entities").value_or("gold");
  if (entities != "gold" && entities != "linker") cl.fail("--entities must be gold or linker, not " + entities);
  if (!cl.has("--kb") && (cl.has("--aliases") || cl.has("--entities") || cl.has("--format")))
    cl.fail("--aliases, --entities and --format need --kb");
  typing_model model(cl.required("--model"), 1, !cl.has("--labels"), false);
  if (cl.has("--labels")) model.labels = read_label_file(*cl.value("--labels"));
  const typing_file data = read_typing_file(cl.required("--data"));

  std::optional<kb::knowledge_base> kb;
  std::optional<link::alias_table> aliases;
  splice::planner_config config;
  config.max_length = static_cast<std::int32_t>(model.encoder->max_positions());
  knowledge_inputs inputs;
  if (cl.has("--kb")) {
    const knowledge_paths paths{*cl.value("--kb"), cl.value("--entity-ids").value_or(""), "", ""};
    kb.emplace(open_knowledge_base(paths, paths.kb));
    if (cl.has("--aliases")) aliases.emplace(link::read_alias_table(*cl.value("--aliases")));
    config.format = parse_splice_format(cl, model.tokenizer.vocab());
    inputs = {&*kb, aliases ? &*aliases : nullptr, entities == "linker" ? entity_source::linker : entity_source::gold};
  }
  example_stats stats;
  const auto examples = make_typing_examples(data, model, kb ? &inputs : nullptr, stats);
  const splice::planner planner(config);
  splice::splice_plan plan;
  staged_file out(cl.required("--out"));
  for (std::size_t i = 0; i < examples.size(); ++i) {
    const train::example& ex = examples[i];
    if (ex.targets[0].label < 0)
      throw error("export mention-typing data", at_line(data.path, data.instances[i].line) + ", field \"label\"",
                  "\"" + data.instances[i].label + "\" is not one of the " + std::to_string(model.labels.size()) +
                      " labels");
    planner.build_into(ex.tokens, ex.mentions, ex.rows, plan);
    nlohmann::json ids = nlohmann::json::array(), rows = nlohmann::json::array();
    for (std::size_t r = 0; r < plan.input_ids.size(); ++r) {
      const std::int32_t slot = plan.entity_slot_of[r];
      ids.push_back(slot >= 0 ? -1 : plan.input_ids[r]);
      if (slot >= 0) rows.push_back(plan.slots[static_cast<std::size_t>(slot)].row);
    }
    nlohmann::ordered_json rec;
    rec["ids"] = std::move(ids);
    rec["positions"] = plan.position_ids;
    rec["segments"] = plan.segment_ids;
    rec["entity_rows"] = std::move(rows);
    rec["head"] = plan.old_to_new[static_cast<std::size_t>(ex.targets[0].token)];
    rec["label"] = ex.targets[0].label;
    out.write(rec.dump() + "\n");
  }
  out.commit();
  std::fprintf(stderr, "kplug export: %zu instances -> %s", examples.size(), cl.required("--out").c_str());
  if (kb) std::fprintf(stderr, " (%zu typed mentions with an entity)", stats.typed_with_entity);
  std::fputs("\n", stderr);
  return exit_ok;
}

}  // namespace kplug::cli
