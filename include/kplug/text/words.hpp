// Splitting text into words, the way BERT's basic tokenizer does before word
// pieces, minus its Unicode punctuation tables: words are separated by
// whitespace, and every ASCII punctuation character is a word of its own
// ("U.S.-based" -> "U" "." "S" "." "-" "based"). The alias table splits alias
// text with the same rules, so a surface form matches the text it came from.
// text::bert_tokenizer (wordpiece.hpp) gives the model's exact words, with
// Unicode punctuation and CJK characters split too; this light splitter is
// for alias tables and models without a tokenizer. The two agree on text
// whose punctuation is ASCII.
//
// Whitespace: ASCII space, \t, \n, \v, \f, \r, and the Unicode space
// separators (category Zs: U+00A0, U+1680, U+2000..U+200A, U+202F, U+205F,
// U+3000) written in UTF-8. ASCII punctuation: every printable non-alphanumeric
// ASCII character (!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~). All other bytes,
// including non-ASCII letters, other Unicode punctuation and invalid UTF-8,
// belong to words. Nothing is ever read past the end of the text.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace kplug::text {

// One word: its text (a view into the input) and its byte offsets
// [begin, end) in the input.
struct word {
  std::string_view text;
  std::size_t begin = 0;
  std::size_t end = 0;
};

// The words of `text`, in order.
inline std::vector<word> split_words(std::string_view text);

// The same, into `out` (cleared first; its capacity is reused).
inline void split_words(std::string_view text, std::vector<word>& out);

// True for the ASCII punctuation characters that form words of their own.
constexpr bool is_ascii_punctuation(unsigned char c) noexcept;

// Length in bytes of the whitespace character starting at text[i], or 0 if
// text[i] does not start one.
constexpr std::size_t whitespace_length(std::string_view text, std::size_t i) noexcept;

// ---------------------------------------------------------------------------
// Implementation

constexpr bool is_ascii_punctuation(unsigned char c) noexcept {
  return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
}

constexpr std::size_t whitespace_length(std::string_view text, std::size_t i) noexcept {
  const std::size_t n = text.size();
  const auto at = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char b = at(i);
  if (b == ' ' || (b >= '\t' && b <= '\r')) return 1;
  if (b < 0xC2) return 0;
  if (b == 0xC2) return (i + 1 < n && at(i + 1) == 0xA0) ? 2 : 0;  // U+00A0
  if (i + 2 >= n) return 0;
  const unsigned char b1 = at(i + 1);
  const unsigned char b2 = at(i + 2);
  if (b == 0xE1) return (b1 == 0x9A && b2 == 0x80) ? 3 : 0;  // U+1680
  if (b == 0xE2) {
    if (b1 == 0x80 && ((b2 >= 0x80 && b2 <= 0x8A) || b2 == 0xAF)) return 3;  // U+2000..200A, U+202F
    if (b1 == 0x81 && b2 == 0x9F) return 3;                                   // U+205F
    return 0;
  }
  if (b == 0xE3) return (b1 == 0x80 && b2 == 0x80) ? 3 : 0;  // U+3000
  return 0;
}

inline void split_words(std::string_view text, std::vector<word>& out) {
  out.clear();
  const std::size_t n = text.size();
  std::size_t i = 0;
  std::size_t start = 0;
  bool in_word = false;
  const auto close = [&](std::size_t end) {
    if (in_word) out.push_back(word{text.substr(start, end - start), start, end});
    in_word = false;
  };
  while (i < n) {
    const auto b = static_cast<unsigned char>(text[i]);
    if (const std::size_t ws = whitespace_length(text, i); ws != 0) {
      close(i);
      i += ws;
      continue;
    }
    if (is_ascii_punctuation(b)) {
      close(i);
      out.push_back(word{text.substr(i, 1), i, i + 1});
      ++i;
      continue;
    }
    if (!in_word) {
      in_word = true;
      start = i;
    }
    ++i;
  }
  close(n);
}

inline std::vector<word> split_words(std::string_view text) {
  std::vector<word> out;
  split_words(text, out);
  return out;
}

}  // namespace kplug::text
