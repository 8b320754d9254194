// A mention-typing model as the CPU backend runs it: a BERT checkpoint whose
// token-classification head reads the typed mention's first word piece, its
// tokenizer and its labels, opened and checked once.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "kplug/backend/bert_cpu.hpp"
#include "kplug/bert/checkpoint.hpp"
#include "kplug/core/error.hpp"
#include "kplug/tasks/labels.hpp"
#include "kplug/text/wordpiece.hpp"

namespace kplug::tasks {

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

};

}  // namespace kplug::tasks
