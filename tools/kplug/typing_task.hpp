// The mention-typing task as the tune, eval, train-head and export
// subcommands share it: a downstream model (a BERT checkpoint whose
// token-classification head reads the typed mention's first piece), its
// labels, and how instances become map-tuning examples with or without
// knowledge (gold entities from the file, or the linker's for the span).
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <kplug/backend/bert_cpu.hpp>
#include <kplug/bert/checkpoint.hpp>
#include <kplug/core/error.hpp>
#include <kplug/kb/knowledge_base.hpp>
#include <kplug/link/alias_table.hpp>
#include <kplug/map/mapper.hpp>
#include <kplug/splice/batch.hpp>
#include <kplug/splice/planner.hpp>
#include <kplug/text/wordpiece.hpp>
#include <kplug/train/example.hpp>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "typing_data.hpp"

namespace kplug::cli {

// Label names by class index, from a checkpoint's config.json id2label.
inline std::vector<std::string> read_model_labels(const std::string& model_dir) {
  const std::string path = (std::filesystem::path(model_dir) / "config.json").string();
  std::ifstream in(path);
  if (!in) throw error("read the model's labels", at_file(path), "cannot open");
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw error("read the model's labels", at_file(path), e.what());
  }
  const auto it = doc.find("id2label");
  if (it == doc.end() || !it->is_object() || it->empty())
    throw error("read the model's labels", at_file(path),
                "has no id2label: the model is not a trained classifier (train one with kplug train-head)");
  std::vector<std::string> labels(it->size());
  for (const auto& [key, value] : it->items()) {
    std::size_t used = 0;
    long index = -1;
    try {
      index = std::stol(key, &used);
    } catch (const std::exception&) {
    }
    if (used != key.size() || index < 0 || static_cast<std::size_t>(index) >= labels.size() || !value.is_string())
      throw error("read the model's labels", at_file(path),
                  "id2label key \"" + key + "\" is not a class index in [0, " + std::to_string(labels.size()) +
                      ") with a string name");
    labels[static_cast<std::size_t>(index)] = value.get<std::string>();
  }
  return labels;
}

// labels.txt: one label per line, in class order.
inline std::vector<std::string> read_label_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw error("read labels", at_file(path), "cannot open");
  std::vector<std::string> labels;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) labels.push_back(line);
  }
  if (labels.empty()) throw error("read labels", at_file(path), "holds no label");
  return labels;
}

// A checkpoint, its tokenizer and its labels, opened once.
struct typing_model {
  std::string dir;
  std::unique_ptr<backend::bert_cpu> encoder;
  text::bert_tokenizer tokenizer;
  std::vector<std::string> labels;

  // keep_activations: the model will be asked for input gradients (tuning).
  typing_model(const std::string& model_dir, int threads, bool need_labels, bool keep_activations)
      : dir(model_dir),
        encoder(std::make_unique<backend::bert_cpu>(
            bert::load_checkpoint(model_dir),
            backend::bert_cpu_options{.threads = threads, .keep_activations = keep_activations})),
        tokenizer(text::bert_tokenizer::from_directory(model_dir)) {
    if (need_labels) {
      labels = read_model_labels(model_dir);
      if (encoder->output_kind() != "classifier" || encoder->output_size() != static_cast<index_t>(labels.size()))
        throw error("open the downstream model", model_dir,
                    "is not a token-classification checkpoint with " + std::to_string(labels.size()) +
                        " labels (its output is " + std::string(encoder->output_kind()) + ")");
    }
  }

  std::int32_t label_index(const std::string& name) const {
    const auto it = std::find(labels.begin(), labels.end(), name);
    return it == labels.end() ? -1 : static_cast<std::int32_t>(it - labels.begin());
  }
};

// Where the typed mention's entity comes from.
enum class entity_source { gold, linker };

struct knowledge_inputs {
  const kb::knowledge_base* kb = nullptr;
  const link::alias_table* aliases = nullptr;  // needed for entity_source::linker
  entity_source source = entity_source::gold;
};

struct example_stats {
  std::size_t instances = 0;
  std::size_t unknown_labels = 0;     // label not among the model's: target label -1
  std::size_t typed_with_entity = 0;  // the typed mention got a knowledge-base row
  std::size_t linked = 0;             // linker mode: the span had a candidate
  std::size_t linked_correct = 0;     // linker mode: ... equal to the file's gold entity
  std::size_t with_gold = 0;
};

// The linker's entity for exactly the words of `span`: the alias with the
// highest prior count (the default disambiguation).
inline std::optional<std::string> link_span(const link::alias_table& aliases, const text::tokenized_text& words,
                                            word_span span) {
  std::string alias;
  for (std::int32_t w = span.begin; w < span.end; ++w) {
    if (!alias.empty()) alias += ' ';
    alias += words.words[static_cast<std::size_t>(w)].text;
  }
  const link::candidate_list c = aliases.candidates(alias);
  if (c.empty()) return std::nullopt;
  return std::string(c[0].entity);
}

// Appends to `ex` each mention of `inst` that gets an entity (the file's, or
// the linker's) with a knowledge-base row; returns whether the first did.
inline bool add_mentions(const typing_instance& inst, const tokenized_instance& tok,
                         const text::tokenized_text& words, const knowledge_inputs& knowledge, example_stats& stats,
                         train::example& ex) {
  bool first = false;
  for (std::size_t k = 0; k < inst.mentions.size(); ++k) {
    const typed_mention& m = inst.mentions[k];
    std::optional<std::string> entity;
    if (m.entity) ++stats.with_gold;
    if (knowledge.source == entity_source::gold && m.entity) {
      entity = m.entity;
    } else if (knowledge.aliases) {
      entity = link_span(*knowledge.aliases, words, tok.spans[k]);
      stats.linked += entity.has_value();
      stats.linked_correct += entity && m.entity && *entity == *m.entity;
    }
    if (!entity) continue;
    const std::optional<row_index> row = knowledge.kb->find(*entity);
    if (!row) continue;  // not in the knowledge base: no knowledge for this mention
    first = first || k == 0;
    ex.mentions.push_back({tok.spans[k], *entity});
    ex.rows.push_back(*row);
  }
  return first;
}

// One map-tuning example per instance, its target the typed mention's first
// piece. Without knowledge the examples have no mentions.
inline std::vector<train::example> make_typing_examples(const typing_file& file, const typing_model& model,
                                                        const knowledge_inputs* knowledge, example_stats& stats) {
  std::vector<train::example> out;
  out.reserve(file.instances.size());
  text::tokenized_text scratch;
  tokenized_instance tok;
  for (const typing_instance& inst : file.instances) {
    tokenize_instance(model.tokenizer, file, inst, scratch, tok);
    train::example ex;
    ex.tokens = tok.tokens;
    const std::int32_t label = model.label_index(inst.label);
    stats.unknown_labels += label < 0;
    ++stats.instances;
    ex.targets.push_back({tok.head_token, -1, label, {}});
    if (knowledge) stats.typed_with_entity += add_mentions(inst, tok, scratch, *knowledge, stats, ex);
    out.push_back(std::move(ex));
  }
  return out;
}

// Runs the frozen model over `examples` in batches and hands each batch's
// outputs at the target rows (one row per example) to `consume(first, rows)`.
// Knowledge rows go through `mapper` when the examples have mentions.
template <class Mapper>
void forward_examples(backend::bert_cpu& encoder, const splice::planner& planner, const kb::knowledge_base* kb,
                      Mapper* mapper, std::span<const train::example> examples, std::size_t batch_size,
                      const std::function<void(std::size_t, matrix_view<const float>)>& consume) {
  std::vector<splice::splice_plan> plans(batch_size);
  splice::packed_plan packed;
  std::vector<std::int32_t> positions;
  matrix<float> knowledge, mapped, outputs;
  for (std::size_t first = 0; first < examples.size(); first += batch_size) {
    const std::size_t count = std::min(batch_size, examples.size() - first);
    positions.clear();
    std::int32_t offset = 0;
    for (std::size_t b = 0; b < count; ++b) {
      const train::example& ex = examples[first + b];
      planner.build_into(ex.tokens, ex.mentions, ex.rows, plans[b]);
      const std::int32_t row = plans[b].old_to_new[static_cast<std::size_t>(ex.targets[0].token)];
      if (row < 0)  // truncated away: reading any other row would be a silent wrong answer
        throw error("run the downstream model", "instance " + std::to_string(first + b + 1) + " of the data",
                    "its typed mention lies beyond the model's " + std::to_string(planner.config().max_length) +
                        " rows; shorten the text");
      positions.push_back(offset + row);
      offset += plans[b].length();
    }
    splice::pack_into(std::span<const splice::splice_plan>(plans).first(count), packed);
    const auto n = static_cast<index_t>(packed.entities());
    mapped.resize(n, encoder.hidden_size());
    if (n > 0) {
      if (!kb || !mapper) throw error("run the downstream model", "examples", "have mentions but no plugin is loaded");
      knowledge.resize(n, kb->d_kb());
      kb->gather(packed.distinct_rows[0], knowledge.view());
      mapper->forward(knowledge.view(), mapped.view());
    }
    outputs.resize(static_cast<index_t>(positions.size()), encoder.output_size());
    encoder.forward(packed.input(), mapped.view(), positions, outputs.view());
    consume(first, outputs.view());
  }
}

}  // namespace kplug::cli
