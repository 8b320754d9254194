// Mention-typing instances as map-tuning examples (train::example): the
// token-classification objective's target is the typed mention's first word
// piece, its label the class index; knowledge comes from the file's gold
// entities or the linker's entity for the span.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "kplug/core/error.hpp"
#include "kplug/kb/knowledge_base.hpp"
#include "kplug/link/alias_table.hpp"
#include "kplug/tasks/labels.hpp"
#include "kplug/tasks/typing_data.hpp"
#include "kplug/text/wordpiece.hpp"
#include "kplug/train/example.hpp"

namespace kplug::tasks {

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
// piece and its label the index in `labels` (-1 for a label not among them,
// counted in stats.unknown_labels). Without knowledge the examples have no
// mentions.
inline std::vector<train::example> make_typing_examples(const typing_file& file, const text::bert_tokenizer& tokenizer,
                                                        const std::vector<std::string>& labels,
                                                        const knowledge_inputs* knowledge, example_stats& stats) {
  std::vector<train::example> out;
  out.reserve(file.instances.size());
  text::tokenized_text scratch;
  tokenized_instance tok;
  for (const typing_instance& inst : file.instances) {
    tokenize_instance(tokenizer, file, inst, scratch, tok);
    train::example ex;
    ex.tokens = tok.tokens;
    const std::int32_t label = label_index(labels, inst.label);
    stats.unknown_labels += label < 0;
    ++stats.instances;
    ex.targets.push_back({tok.head_token, -1, label, {}});
    if (knowledge) stats.typed_with_entity += add_mentions(inst, tok, scratch, *knowledge, stats, ex);
    out.push_back(std::move(ex));
  }
  return out;
}

// Throws unless every example's label is one of `labels`, naming the line of
// the first that is not (for training, where an unknown label is an error).
inline void require_known_labels(std::span<const train::example> examples, const typing_file& file,
                                 const std::vector<std::string>& labels, const char* what) {
  for (std::size_t i = 0; i < examples.size(); ++i)
    if (examples[i].targets[0].label < 0)
      throw error(what, at_line(file.path, file.instances[i].line) + ", field \"label\"",
                  "\"" + file.instances[i].label + "\" is not one of the " + std::to_string(labels.size()) +
                      " labels");
}

}  // namespace kplug::tasks
