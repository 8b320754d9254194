// Evaluating a mention-typing classifier: the arg-max class at each
// example's target row, and the accuracy over all examples (an example whose
// label the classifier does not know, label -1, counts as an error).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "kplug/core/matrix_view.hpp"
#include "kplug/kb/knowledge_base.hpp"
#include "kplug/splice/planner.hpp"
#include "kplug/tasks/forward.hpp"
#include "kplug/train/example.hpp"

namespace kplug::tasks {

struct typing_evaluation {
  std::vector<std::int32_t> predicted;  // class index per example
  std::size_t correct = 0;
  double accuracy = 0.0;  // correct / examples; 0 without examples
};

// Knowledge rows go through `mapper` (null without knowledge).
template <class Backend, class Mapper>
typing_evaluation evaluate_typing(Backend& encoder, const splice::planner& planner, const kb::knowledge_base* kb,
                                  Mapper* mapper, std::span<const train::example> examples,
                                  std::size_t batch_size) {
  typing_evaluation out;
  out.predicted.assign(examples.size(), -1);
  forward_examples(encoder, planner, kb, mapper, examples, batch_size,
                   [&](std::size_t first, matrix_view<const float> logits) {
                     for (index_t r = 0; r < logits.rows(); ++r) {
                       const auto row = logits.row(r);
                       out.predicted[first + static_cast<std::size_t>(r)] =
                           static_cast<std::int32_t>(std::max_element(row.begin(), row.end()) - row.begin());
                     }
                   });
  for (std::size_t i = 0; i < examples.size(); ++i) {
    const std::int32_t gold = examples[i].targets[0].label;
    out.correct += gold >= 0 && out.predicted[i] == gold;
  }
  if (!examples.empty()) out.accuracy = static_cast<double>(out.correct) / static_cast<double>(examples.size());
  return out;
}

}  // namespace kplug::tasks
