// UTF-8 decoding and encoding for the tokenizer. Decoding follows the
// Unicode standard's table of well-formed byte sequences (Table 3-7), so
// overlong forms, encoded surrogates (U+D800..U+DFFF), code points above
// U+10FFFF, truncated sequences, stray continuation bytes and the bytes
// C0, C1, F5..FF are all ill-formed. An ill-formed sequence is consumed as
// its "maximal subpart" (what Python's errors="replace" does), so decoding
// always advances and never reads past the end of the text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "kplug/core/error.hpp"

namespace kplug::text {

// What to do with ill-formed UTF-8 in text to tokenize.
//   reject:  throw kplug::error naming the byte offset and the defect.
//   replace: each ill-formed sequence becomes U+FFFD, which the BERT cleaner
//            then drops, exactly as Hugging Face drops U+FFFD.
enum class invalid_utf8 { reject, replace };

inline constexpr char32_t replacement_character = 0xFFFD;

// One decoded character: its code point (U+FFFD when ill-formed), how many
// bytes it took, and, when ill-formed, why (a static string, else nullptr).
struct utf8_char {
  char32_t code_point = 0;
  std::uint32_t length = 1;
  const char* defect = nullptr;
};

// Decodes the character starting at text[i]; requires i < text.size().
constexpr utf8_char decode_utf8(std::string_view text, std::size_t i) noexcept;

// Appends the UTF-8 form of `cp` (a Unicode scalar value) to `out`.
inline void append_utf8(char32_t cp, std::string& out);

// Throws the error `invalid_utf8::reject` asks for: `what` failed at byte
// `offset` of the text because of `c.defect`.
[[noreturn]] inline void throw_invalid_utf8(const char* what, std::string_view text, std::size_t offset,
                                            const utf8_char& c);

// ---------------------------------------------------------------------------
// Implementation

constexpr utf8_char decode_utf8(std::string_view text, std::size_t i) noexcept {
  const auto at = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char b0 = at(i);
  if (b0 < 0x80) return {b0, 1, nullptr};
  if (b0 < 0xC0) return {replacement_character, 1, "unexpected continuation byte"};
  if (b0 < 0xC2) return {replacement_character, 1, "overlong encoding"};
  if (b0 > 0xF4) return {replacement_character, 1, "byte that never occurs in UTF-8"};

  // Number of continuation bytes and the allowed range of the first one
  // (Table 3-7); the narrowed ranges exclude overlong forms (E0, F0),
  // surrogates (ED) and code points above U+10FFFF (F4).
  std::uint32_t need = 1;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  const char* narrowed = nullptr;
  char32_t cp = 0;
  if (b0 < 0xE0) {
    cp = b0 & 0x1Fu;
  } else if (b0 < 0xF0) {
    need = 2;
    cp = b0 & 0x0Fu;
    if (b0 == 0xE0) lo = 0xA0, narrowed = "overlong encoding";
    if (b0 == 0xED) hi = 0x9F, narrowed = "encoded UTF-16 surrogate";
  } else {
    need = 3;
    cp = b0 & 0x07u;
    if (b0 == 0xF0) lo = 0x90, narrowed = "overlong encoding";
    if (b0 == 0xF4) hi = 0x8F, narrowed = "code point above U+10FFFF";
  }
  for (std::uint32_t k = 1; k <= need; ++k) {
    if (i + k >= text.size()) return {replacement_character, k, "sequence truncated by the end of the text"};
    const unsigned char b = at(i + k);
    const unsigned char first_lo = k == 1 ? lo : static_cast<unsigned char>(0x80);
    const unsigned char first_hi = k == 1 ? hi : static_cast<unsigned char>(0xBF);
    if (b < first_lo || b > first_hi) {
      const bool is_continuation = b >= 0x80 && b <= 0xBF;
      return {replacement_character, k,
              (k == 1 && is_continuation) ? narrowed : "sequence truncated by a byte that is not a continuation"};
    }
    cp = (cp << 6) | (b & 0x3Fu);
  }
  return {cp, need + 1, nullptr};
}

inline void append_utf8(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

[[noreturn]] inline void throw_invalid_utf8(const char* what, std::string_view text, std::size_t offset,
                                            const utf8_char& c) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string why = "invalid UTF-8: ";
  why += c.defect;
  why += " (bytes";
  for (std::size_t k = offset; k < offset + c.length && k < text.size(); ++k) {
    const auto b = static_cast<unsigned char>(text[k]);
    why += ' ';
    why += hex[b >> 4];
    why += hex[b & 15];
  }
  why += ')';
  std::string where = "byte ";
  where += std::to_string(offset);
  throw error(what, where, why);
}

}  // namespace kplug::text
