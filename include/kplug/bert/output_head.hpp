// What a BERT backend puts on top of the encoder: nothing (the hidden states
// are the output), a masked-LM head, or a classification head, as the
// checkpoint's config says. Generic over the head types, so that the CPU
// backend (host heads) and the CUDA one (device heads) share the choice.
#pragma once

#include <optional>
#include <string_view>
#include <variant>

#include "kplug/bert/config.hpp"
#include "kplug/core/types.hpp"

namespace kplug::bert {

template <class MaskedLmHead, class ClassificationHead>
using output_head = std::variant<std::monostate, MaskedLmHead, ClassificationHead>;

// The head config.head names, built from the checkpoint's weights (host or
// device copies: anything with masked_lm(), pooler() and classifier()).
template <class MaskedLmHead, class ClassificationHead, class Weights>
output_head<MaskedLmHead, ClassificationHead> make_output_head(const bert_config& c, const Weights& weights) {
  switch (c.head) {
    case head_kind::masked_lm:
      return MaskedLmHead(*weights.masked_lm(), c.hidden_act, c.layer_norm_eps);
    case head_kind::sequence_classification:
      return ClassificationHead(weights.pooler(), *weights.classifier());
    case head_kind::token_classification:
      return ClassificationHead(std::nullopt, *weights.classifier());
    case head_kind::none:
      break;
  }
  return std::monostate{};
}

// The width of an output row: the head's, or the hidden size without a head.
template <class M, class C>
index_t output_size(const output_head<M, C>& head, index_t hidden_size) noexcept {
  if (const auto* m = std::get_if<1>(&head)) return m->output_size();
  if (const auto* c = std::get_if<2>(&head)) return c->output_size();
  return hidden_size;
}

// "hidden", "masked_lm" or "classifier".
template <class M, class C>
std::string_view output_kind(const output_head<M, C>& head) noexcept {
  constexpr std::string_view kinds[] = {"hidden", "masked_lm", "classifier"};
  return kinds[head.index()];
}

}  // namespace kplug::bert
