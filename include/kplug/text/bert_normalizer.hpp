// The "basic tokenizer" half of BERT: text -> words, reproducing Hugging
// Face's slow BertTokenizer (transformers 4.38: PreTrainedTokenizer.tokenize
// + BasicTokenizer) step by step, while remembering for every character the
// bytes of the original text it came from.
//
// The steps, in Hugging Face's order:
//  1. Special tokens: a literal special token in the text ("[MASK]"), matched
//     case-sensitively, is a word of its own and is not normalised (unless
//     split_special_tokens, see tokenizer_options).
//  2. With lower_case, every other character is lower-cased on its own, with
//     Python's str.lower() (full mapping: U+0130 -> "i" U+0307). Hugging Face
//     lower-cases the text one regex match (one character) at a time, so
//     Greek capital sigma always becomes U+03C3, never the final form U+03C2.
//  3. Cleaning: U+0000, U+FFFD and every character of category C* (controls,
//     format characters such as U+200B and U+FEFF, private use, unassigned)
//     are dropped, except \t \n \r, which like every Zs character are spaces.
//  4. Each CJK ideograph (Hugging Face's ranges) gets spaces on both sides.
//  5. NFC.
//  6. Split at whitespace as Python's str.split() does; after cleaning that
//     is the space and U+2028 / U+2029.
//  7. Per whitespace token: a token equal to a special token is kept whole;
//     else lower-case again (the token as a whole), strip accents (NFD, then
//     drop category Mn) when asked, and, unless the token now equals a
//     special token, split off every punctuation character (ASCII 33-47,
//     58-64, 91-96, 123-126, or category P*).
//
// Unicode data come from utf8proc. Where utf8proc's Unicode version is newer
// than the Python that ran Hugging Face (utf8proc 2.8: Unicode 15.0; Python
// 3.11: 14.0), code points assigned in between are kept here but dropped as
// unassigned by that Python; everything else agrees (see
// scripts/fixtures/make_tokenizer_fixtures.py --exhaustive).
//
// Allocation: the caller owns a workspace whose buffers are reused; nothing is
// allocated per character.
#pragma once

#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kplug/text/tokenizer_options.hpp"
#include "kplug/text/utf8.hpp"

namespace kplug::text {

// One character of normalised text and the bytes [begin, end) of the
// original text it came from (a composed character spans all its sources).
struct normalized_char {
  char32_t code_point = 0;
  std::size_t begin = 0;
  std::size_t end = 0;
};

// A word as the basic tokenizer leaves it: its normalised characters, the
// original bytes [begin, end) it covers, and for a special token its index in
// the normaliser's special-token list (else -1; `chars` is then the special
// token's characters or empty).
struct normalized_word {
  std::span<const normalized_char> chars;
  std::size_t begin = 0;
  std::size_t end = 0;
  int special = -1;
};

// Character classes of Hugging Face's BERT tokenizer (tokenization_utils.py
// and tokenization_bert.py), with Unicode categories from utf8proc.
namespace bert_chars {

// _is_chinese_char: the CJK Unified Ideographs blocks, extensions A-E and the
// compatibility ideographs (not kana, not hangul).
constexpr bool is_cjk_ideograph(char32_t cp) noexcept;
// _is_punctuation: non-alphanumeric printable ASCII, or category P*.
inline bool is_punctuation(char32_t cp) noexcept;
// Python's str.lower() of the one-character string `cp`: writes 1 or 2 code
// points to `out` and returns how many.
inline int to_lower(char32_t cp, char32_t out[2]) noexcept;

}  // namespace bert_chars

class bert_normalizer {
 public:
  // Buffers reused from call to call.
  struct workspace {
    std::vector<normalized_char> token;
    std::vector<normalized_char> scratch;
    std::vector<normalized_char> word;
    std::string bytes;
  };

  // `special_tokens`: the literal special tokens (e.g. "[CLS]"), reported by
  // their index in this list. An empty string is ignored.
  explicit bert_normalizer(const tokenizer_options& options, std::vector<std::string> special_tokens = {});

  // Calls `on_word(const normalized_word&)` for each word of `text`, in order.
  // The spans passed are valid only during the call. Throws kplug::error on
  // ill-formed UTF-8 under invalid_utf8::reject.
  template <class OnWord>
  void run(std::string_view text, workspace& ws, OnWord&& on_word) const;

  const tokenizer_options& options() const noexcept { return options_; }
  const std::vector<std::string>& special_tokens() const noexcept { return specials_; }

 private:
  int match_special(std::string_view text, std::size_t i) const noexcept;
  int equals_special(std::span<const normalized_char> chars, std::string& bytes) const;
  template <class OnWord>
  void finish_token(workspace& ws, OnWord& on_word) const;

  tokenizer_options options_;
  std::vector<std::string> specials_;
  std::array<bool, 256> special_first_byte_{};
  std::size_t longest_special_chars_ = 0;
};

// ---------------------------------------------------------------------------
// Implementation

namespace bert_chars {

constexpr bool is_cjk_ideograph(char32_t cp) noexcept {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
         (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) ||
         (cp >= 0x2B820 && cp <= 0x2CEAF) || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

namespace detail {
inline utf8proc_category_t category(char32_t cp) noexcept {
  return utf8proc_category(static_cast<utf8proc_int32_t>(cp));
}
inline int combining_class(char32_t cp) noexcept {
  return utf8proc_get_property(static_cast<utf8proc_int32_t>(cp))->combining_class;
}
constexpr bool is_ascii_punctuation(char32_t cp) noexcept {
  return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126);
}
}  // namespace detail

inline bool is_punctuation(char32_t cp) noexcept {
  if (cp < 0x80) return detail::is_ascii_punctuation(cp);
  const utf8proc_category_t c = detail::category(cp);
  return c >= UTF8PROC_CATEGORY_PC && c <= UTF8PROC_CATEGORY_PO;
}

inline int to_lower(char32_t cp, char32_t out[2]) noexcept {
  if (cp < 0x80) {
    out[0] = (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
    return 1;
  }
  // The one unconditional multi-character lower-case mapping (SpecialCasing.txt).
  if (cp == 0x130) {
    out[0] = 'i';
    out[1] = 0x307;
    return 2;
  }
  out[0] = static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp)));
  return 1;
}

}  // namespace bert_chars

namespace detail {

// Canonical decomposition of `cp` (Hangul included), at most 4 code points
// in every Unicode version so far; returns how many were written.
inline int canonical_decomposition(char32_t cp, std::array<utf8proc_int32_t, 8>& out) noexcept {
  int boundclass = UTF8PROC_BOUNDCLASS_START;
  const utf8proc_ssize_t n = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(cp), out.data(),
                                                     static_cast<utf8proc_ssize_t>(out.size()),
                                                     UTF8PROC_DECOMPOSE, &boundclass);
  if (n < 1 || n > static_cast<utf8proc_ssize_t>(out.size())) {  // not a scalar value: leave it as it is
    out[0] = static_cast<utf8proc_int32_t>(cp);
    return 1;
  }
  return static_cast<int>(n);
}

// Appends the canonical decomposition of every character of `in` to `out`,
// each part keeping its source's byte range, then puts every run of
// combining marks in canonical order (stable by combining class).
inline void decompose_canonical(std::span<const normalized_char> in, std::vector<normalized_char>& out) {
  std::array<utf8proc_int32_t, 8> parts{};
  for (const normalized_char& c : in) {
    if (c.code_point < 0xC0) {  // nothing below U+00C0 decomposes
      out.push_back(c);
      continue;
    }
    const int n = canonical_decomposition(c.code_point, parts);
    for (int k = 0; k < n; ++k) out.push_back({static_cast<char32_t>(parts[static_cast<std::size_t>(k)]), c.begin, c.end});
  }
  for (std::size_t i = 1; i < out.size(); ++i) {
    const int cc = bert_chars::detail::combining_class(out[i].code_point);
    if (cc == 0) continue;
    for (std::size_t j = i; j > 0 && bert_chars::detail::combining_class(out[j - 1].code_point) > cc; --j)
      std::swap(out[j], out[j - 1]);
  }
}

// The primary composite of starter `a` and `b`, or 0 if there is none.
inline char32_t compose_pair(char32_t a, char32_t b) noexcept {
  utf8proc_int32_t pair[2] = {static_cast<utf8proc_int32_t>(a), static_cast<utf8proc_int32_t>(b)};
  return utf8proc_normalize_utf32(pair, 2, UTF8PROC_COMPOSE) == 1 ? static_cast<char32_t>(pair[0]) : 0;
}

// NFC of `in` into `out` (cleared first), `scratch` holding the
// decomposition. A composed character spans the bytes of all its parts.
inline void nfc(std::span<const normalized_char> in, std::vector<normalized_char>& out,
                std::vector<normalized_char>& scratch) {
  scratch.clear();
  decompose_canonical(in, scratch);
  out.clear();
  // Canonical composition (UAX #15): a mark composes with the last starter
  // unless a mark of the same or a higher class, or a starter, came between.
  std::size_t starter = static_cast<std::size_t>(-1);
  int last_class = -1;
  for (const normalized_char& c : scratch) {
    const int cc = bert_chars::detail::combining_class(c.code_point);
    if (starter != static_cast<std::size_t>(-1) && cc > last_class) {
      if (const char32_t composite = compose_pair(out[starter].code_point, c.code_point); composite != 0) {
        normalized_char& s = out[starter];
        s.code_point = composite;
        s.begin = std::min(s.begin, c.begin);
        s.end = std::max(s.end, c.end);
        continue;
      }
    }
    out.push_back(c);
    if (cc == 0) {
      starter = out.size() - 1;
      last_class = -1;
    } else {
      last_class = std::max(last_class, cc);
    }
  }
}

// The word made of `chars` (not empty), spanning all their source bytes
// (canonical reordering can put a later source first).
inline normalized_word make_word(std::span<const normalized_char> chars, int special) noexcept {
  normalized_word w{chars, chars.front().begin, chars.front().end, special};
  for (const normalized_char& c : chars) {
    w.begin = std::min(w.begin, c.begin);
    w.end = std::max(w.end, c.end);
  }
  return w;
}

}  // namespace detail

inline bert_normalizer::bert_normalizer(const tokenizer_options& options, std::vector<std::string> special_tokens)
    : options_(options), specials_(std::move(special_tokens)) {
  for (const std::string& s : specials_) {
    if (s.empty()) continue;
    special_first_byte_[static_cast<unsigned char>(s.front())] = true;
    std::size_t chars = 0;
    for (const char b : s) chars += (static_cast<unsigned char>(b) & 0xC0) != 0x80;
    longest_special_chars_ = std::max(longest_special_chars_, chars);
  }
}

inline int bert_normalizer::match_special(std::string_view text, std::size_t i) const noexcept {
  // Longest match, as Hugging Face's token trie does.
  int best = -1;
  for (std::size_t s = 0; s < specials_.size(); ++s) {
    const std::string& tok = specials_[s];
    if (tok.empty() || text.compare(i, tok.size(), tok) != 0) continue;
    if (best < 0 || tok.size() > specials_[static_cast<std::size_t>(best)].size()) best = static_cast<int>(s);
  }
  return best;
}

inline int bert_normalizer::equals_special(std::span<const normalized_char> chars, std::string& bytes) const {
  if (chars.size() > longest_special_chars_) return -1;
  if (const char32_t first = chars.front().code_point; first < 0x80 && !special_first_byte_[first]) return -1;
  bytes.clear();
  for (const normalized_char& c : chars) append_utf8(c.code_point, bytes);
  for (std::size_t s = 0; s < specials_.size(); ++s)
    if (!specials_[s].empty() && bytes == specials_[s]) return static_cast<int>(s);
  return -1;
}

template <class OnWord>
void bert_normalizer::finish_token(workspace& ws, OnWord& on_word) const {
  if (ws.token.empty()) return;
  std::span<const normalized_char> chars(ws.token);
  char32_t top = 0;
  for (const normalized_char& c : chars) top = std::max(top, c.code_point);
  const bool ascii = top < 0x80;
  // Below U+0300 every character is its own NFC and composes with nothing
  // before it; skipping the work there keeps Latin text on the fast path.
  if (top >= 0x300) {
    detail::nfc(chars, ws.word, ws.scratch);
    ws.token.swap(ws.word);
    chars = ws.token;
  }

  // Hugging Face keeps a whitespace token equal to a special token whole
  // (BasicTokenizer's never_split, which PreTrainedTokenizer fills with the
  // special tokens).
  if (const int s = equals_special(chars, ws.bytes); s >= 0) {
    on_word(detail::make_word(chars, s));
    ws.token.clear();
    return;
  }

  if (options_.lower_case) {
    if (ascii) {
      for (normalized_char& c : ws.token)
        if (c.code_point >= 'A' && c.code_point <= 'Z') c.code_point += 32;
    } else {
      ws.word.clear();
      char32_t lower[2];
      for (const normalized_char& c : ws.token) {
        const int n = bert_chars::to_lower(c.code_point, lower);
        for (int k = 0; k < n; ++k) ws.word.push_back({lower[k], c.begin, c.end});
      }
      ws.token.swap(ws.word);
    }
  }
  if (options_.strips_accents() && !ascii) {
    ws.scratch.clear();
    detail::decompose_canonical(ws.token, ws.scratch);
    ws.token.clear();
    for (const normalized_char& c : ws.scratch)
      if (bert_chars::detail::category(c.code_point) != UTF8PROC_CATEGORY_MN) ws.token.push_back(c);
  }

  // A token that lower-casing or accent stripping has made equal to a special
  // token is not split either (_run_split_on_punc checks never_split again):
  // "[MASK\u0301]" composes to "[MASḰ]" and strips to "[MASK]".
  if (!ws.token.empty()) {
    if (const int s = equals_special(ws.token, ws.bytes); s >= 0) {
      on_word(detail::make_word(ws.token, s));
      ws.token.clear();
      return;
    }
  }

  // Punctuation split: every punctuation character is a word; so is every
  // run of other characters.
  const auto emit = [&](std::size_t first, std::size_t last) {
    if (first < last) on_word(detail::make_word({ws.token.data() + first, last - first}, -1));
  };
  std::size_t start = 0;
  for (std::size_t k = 0; k < ws.token.size(); ++k) {
    if (!bert_chars::is_punctuation(ws.token[k].code_point)) continue;
    emit(start, k);
    emit(k, k + 1);
    start = k + 1;
  }
  emit(start, ws.token.size());
  ws.token.clear();
}

template <class OnWord>
void bert_normalizer::run(std::string_view text, workspace& ws, OnWord&& on_word) const {
  ws.token.clear();
  const bool lower = options_.lower_case;
  const bool cjk = options_.tokenize_chinese_chars;

  // Cleaning and whitespace splitting of one (possibly lower-cased) character.
  const auto admit = [&](char32_t cp, std::size_t begin, std::size_t end) {
    if (cp < 0x80) {
      if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r') {
        finish_token(ws, on_word);
      } else if (cp >= 0x20 && cp != 0x7F) {  // other ASCII controls are dropped
        ws.token.push_back({cp, begin, end});
      }
      return;
    }
    if (cp == replacement_character) return;
    switch (bert_chars::detail::category(cp)) {
      case UTF8PROC_CATEGORY_CN:
      case UTF8PROC_CATEGORY_CC:
      case UTF8PROC_CATEGORY_CF:
      case UTF8PROC_CATEGORY_CS:
      case UTF8PROC_CATEGORY_CO:
        return;
      case UTF8PROC_CATEGORY_ZS:
      case UTF8PROC_CATEGORY_ZL:  // Python's str.split() splits at U+2028 and U+2029 too
      case UTF8PROC_CATEGORY_ZP:
        finish_token(ws, on_word);
        return;
      default:
        break;
    }
    if (cjk && bert_chars::is_cjk_ideograph(cp)) {
      finish_token(ws, on_word);
      ws.token.push_back({cp, begin, end});
      finish_token(ws, on_word);
      return;
    }
    ws.token.push_back({cp, begin, end});
  };

  std::size_t unlowered_end = 0;  // end of a literal special token left as it is
  std::size_t i = 0;
  while (i < text.size()) {
    const auto b = static_cast<unsigned char>(text[i]);
    if (special_first_byte_[b] && i >= unlowered_end) {
      if (const int s = match_special(text, i); s >= 0) {
        const std::size_t len = specials_[static_cast<std::size_t>(s)].size();
        if (!options_.split_special_tokens) {
          finish_token(ws, on_word);
          on_word(normalized_word{{}, i, i + len, s});
          i += len;
          continue;
        }
        unlowered_end = i + len;
      }
    }
    utf8_char c{b, 1, nullptr};
    if (b >= 0x80) {
      c = decode_utf8(text, i);
      if (c.defect != nullptr && options_.on_invalid_utf8 == invalid_utf8::reject)
        throw_invalid_utf8("tokenize text", text, i, c);
    }
    const std::size_t begin = i;
    i += c.length;
    if (lower && begin >= unlowered_end) {
      char32_t lowered[2];
      const int n = bert_chars::to_lower(c.code_point, lowered);
      for (int k = 0; k < n; ++k) admit(lowered[k], begin, i);
    } else {
      admit(c.code_point, begin, i);
    }
  }
  finish_token(ws, on_word);
}

}  // namespace kplug::text
