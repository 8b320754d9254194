// The settings of a BERT tokenizer, named after (and defaulting like) the
// arguments of Hugging Face's BertTokenizer, plus how to treat bad UTF-8.
#pragma once

#include <optional>

#include "kplug/core/matrix_view.hpp"
#include "kplug/text/utf8.hpp"

namespace kplug::text {

struct tokenizer_options {
  // Lower-case the text (do_lower_case).
  bool lower_case = true;
  // Remove accents (strip_accents). Unset: strip exactly when lower-casing,
  // as the original BERT did; true/false: strip or not, whatever lower_case is.
  std::optional<bool> strip_accents;
  // Put every CJK ideograph in a word of its own (tokenize_chinese_chars).
  bool tokenize_chinese_chars = true;
  // Words longer than this many code points become [UNK] (max_input_chars_per_word).
  index_t max_chars_per_word = 100;
  invalid_utf8 on_invalid_utf8 = invalid_utf8::reject;
  // false (Hugging Face's default): a literal "[MASK]", "[CLS]", "[SEP]",
  // "[UNK]" or "[PAD]" in the text, matched case-sensitively, is that special
  // token. true: the text is split like any other, except that a
  // whitespace-delimited word equal to a special token still maps to it, as
  // in Hugging Face's split_special_tokens=True.
  bool split_special_tokens = false;

  // Whether accents are stripped under these settings.
  constexpr bool strips_accents() const noexcept { return strip_accents.value_or(lower_case); }
};

}  // namespace kplug::text
