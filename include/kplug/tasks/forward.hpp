// Running a frozen classifier over mention-typing (or any single-target)
// examples in batches, knowledge spliced in through a mapper: the outputs at
// each example's target row, for evaluation or for features.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "kplug/core/error.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/kb/knowledge_base.hpp"
#include "kplug/splice/batch.hpp"
#include "kplug/splice/planner.hpp"
#include "kplug/train/example.hpp"

namespace kplug::tasks {

// Runs the frozen model over `examples` in batches and hands each batch's
// outputs at the target rows (one row per example) to `consume(first, rows)`.
// Knowledge rows go through `mapper` when the examples have mentions.
template <class Backend, class Mapper>
void forward_examples(Backend& encoder, const splice::planner& planner, const kb::knowledge_base* kb,
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

}  // namespace kplug::tasks
