// kplug export: mention-typing data as the encoder's input rows, for
// training outside kplug (scripts/wordnet/finetune.py): per instance the
// token ids with -1 at entity slots, the knowledge-base row of each slot,
// position and segment ids, the row the head reads, and the label index.
// The splice plan is kplug's own, so a model trained on this file sees its
// knowledge exactly where kplug eval will put it.
#include <cstdio>
#include <kplug/tasks/labels.hpp>
#include <kplug/tasks/typing_data.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli.hpp"
#include "json_output.hpp"
#include "knowledge.hpp"
#include "output_files.hpp"
#include "splice_options.hpp"
#include "typing_options.hpp"

namespace kplug::cli {
namespace {

struct export_settings {
  std::string model, data, labels, out, entities = "gold", format = "entity-slash-mention";
  knowledge_paths knowledge;
};

// One instance's spliced rows.
nlohmann::ordered_json export_record(const train::example& ex, const splice::splice_plan& plan) {
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
  return rec;
}

int run_export(const export_settings& s, const CLI::App& app) {
  if (!given(app, "--kb") && (given(app, "--aliases") || given(app, "--entities") || given(app, "--format")))
    fail("--aliases, --entities and --format need --kb");
  tasks::typing_model model(s.model, 1, !given(app, "--labels"), false);
  if (given(app, "--labels")) model.labels = tasks::read_label_file(s.labels);
  const tasks::typing_file data = tasks::read_typing_file(s.data);

  std::unique_ptr<knowledge> k;
  if (given(app, "--kb")) k = std::make_unique<knowledge>(s.knowledge, *model.encoder);
  const tasks::knowledge_inputs inputs = k ? k->inputs(entity_source_of(s.entities)) : tasks::knowledge_inputs{};
  tasks::example_stats stats;
  const auto examples = tasks::make_typing_examples(data, model.tokenizer, model.labels, k ? &inputs : nullptr, stats);
  tasks::require_known_labels(std::span<const train::example>(examples), data, model.labels,
                              "export mention-typing data");
  const splice::planner planner =
      planner_for(model, k ? parse_splice_format(s.format, model.tokenizer.vocab()) : splice::splice_format{});
  splice::splice_plan plan;
  staged_file out(s.out);
  for (const train::example& ex : examples) {
    planner.build_into(ex.tokens, ex.mentions, ex.rows, plan);
    out.write(export_record(ex, plan).dump() + "\n");
  }
  out.commit();
  std::fprintf(stderr, "kplug export: %zu instances -> %s", examples.size(), s.out.c_str());
  if (k) std::fprintf(stderr, " (%zu typed mentions with an entity)", stats.typed_with_entity);
  std::fputs("\n", stderr);
  return exit_ok;
}

}  // namespace

command add_export(CLI::App& root) {
  const auto [app, s] = add_command<export_settings>(
      root, "export",
      "Write mention-typing data as spliced encoder input rows (JSONL) for training elsewhere.",
      "BERT checkpoint (its vocab.txt tokenises; its size limits the length)");
  add_value(*app, "--data", s->data, "FILE", "JSONL in the mention-typing schema")->required();
  add_value(*app, "--labels", s->labels, "FILE", "labels.txt (default: the model's id2label)");
  add_value(*app, "--out", s->out, "FILE",
            "JSONL to write: {\"ids\", \"positions\", \"segments\", \"entity_rows\", \"head\", \"label\"}")
      ->required();
  add_kb_options(*app, s->knowledge);
  add_value(*app, "--aliases", s->knowledge.aliases, "FILE",
            "alias table: links mentions without an entity (and all with --entities linker)");
  add_entities_option(*app, s->entities, "where the typed mention's entity comes from (default gold)");
  add_format_option(*app, s->format, splice_format_help());
  app->footer(exit_status_help);
  return {app, [settings = s, sub = app] { return run_export(*settings, *sub); }};
}

}  // namespace kplug::cli
