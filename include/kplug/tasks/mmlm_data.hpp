// General map-tuning's data (`kplug tune --objective mmlm`): text
// with entity mentions (the mention-typing JSONL schema; a "label" is allowed
// and ignored) becomes mention-masked language-modelling examples
// (train::mmlm_examples): the mentions that have a knowledge-base row are
// masked, their mapped entity rows stay, and the frozen masked-LM model must
// predict the mentions' word pieces.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "kplug/core/error.hpp"
#include "kplug/splice/planner.hpp"
#include "kplug/train/example.hpp"

#include "kplug/tasks/typing_data.hpp"
#include "kplug/tasks/typing_examples.hpp"
#include "kplug/text/wordpiece.hpp"

namespace kplug::tasks {

struct mmlm_stats {
  std::size_t instances = 0;
  std::size_t without_knowledge = 0;  // no mention with a knowledge-base row: no example
  std::size_t examples = 0;
  std::size_t targets = 0;  // masked word pieces
  example_stats mentions;   // linking figures
};

// The examples of `file`. A masked piece that the splice plan would truncate
// away is an error naming the line: the loss would silently lose it.
inline std::vector<train::example> make_mmlm_examples(const typing_file& file, const text::bert_tokenizer& tokenizer,
                                                      const knowledge_inputs& knowledge,
                                                      const splice::planner& planner, mmlm_stats& stats) {
  std::vector<train::example> out;
  text::tokenized_text scratch;
  tokenized_instance tok;
  splice::splice_plan plan;
  const token_id mask = tokenizer.vocab().mask_id();
  for (const typing_instance& inst : file.instances) {
    ++stats.instances;
    tokenize_instance(tokenizer, file, inst, scratch, tok);
    train::example linked;
    add_mentions(inst, tok, scratch, knowledge, stats.mentions, linked);
    if (linked.mentions.empty()) {
      ++stats.without_knowledge;
      continue;
    }
    for (train::example& ex : train::mmlm_examples(tok.tokens, linked.mentions, linked.rows, mask)) {
      planner.build_into(ex.tokens, ex.mentions, ex.rows, plan);
      for (const train::target& t : ex.targets)
        if (plan.old_to_new[static_cast<std::size_t>(t.token)] < 0)
          throw error("read MMLM data", at_line(file.path, inst.line) + ", field \"mentions\"",
                      "a masked mention lies beyond the model's " + std::to_string(planner.config().max_length) +
                          " rows once spliced; shorten the text");
      stats.targets += ex.targets.size();
      ++stats.examples;
      out.push_back(std::move(ex));
    }
  }
  return out;
}

}  // namespace kplug::tasks
