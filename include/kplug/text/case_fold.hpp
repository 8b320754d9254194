// Case folding for matching words case-insensitively (the alias table and the
// linker). This is the built-in folding until the full Unicode folding
// (utf8proc) arrives with the WordPiece tokenizer; the alias table takes the
// folding as a customisation point (link::fold_function), so that one can be
// swapped in without touching the linker.
//
// Coverage (derived from UnicodeData.txt and CaseFolding.txt):
//   * ASCII: 'A'..'Z' -> 'a'..'z' (fast path, no decoding).
//   * Latin-1 Supplement, Latin Extended-A, Greek and Coptic, Cyrillic
//     (U+0080..U+04FF): Unicode *simple case folding* (CaseFolding.txt
//     statuses C and S). For capital letters this is their simple lower-case
//     mapping; in addition the lower-case variants fold together:
//     U+00B5 µ -> U+03BC μ, U+017F ſ -> 's', U+03C2 ς -> U+03C3 σ,
//     ϐ ϑ ϕ ϖ ϰ ϱ ϵ -> β θ φ π κ ρ ε. One deliberate departure: U+0130 İ has
//     no simple folding in Unicode; it maps to its lower case 'i' (what BERT
//     uncased ends with after lower-casing and accent stripping).
//   * Everything else (other scripts, ß, ı, combining marks) is copied as is.
//     No normalisation (NFC/NFD) is done.
// Invalid UTF-8 (stray continuation bytes, truncated or overlong sequences,
// bytes F5..FF) is copied through byte for byte; folding never reads past the
// end of the input. The output is never longer than the input.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace kplug::text {

// Writes the folding of `in` into `out` (replacing its contents; its capacity
// is reused, so folding word after word into one string does not allocate).
inline void case_fold(std::string_view in, std::string& out);

// Returns the folding of `in`.
inline std::string case_fold(std::string_view in);

// The folding of one code point in U+0080..U+07FF (the two-byte range, which
// holds every non-ASCII code point this folding changes).
constexpr char32_t fold_code_point(char32_t c) noexcept;

// ---------------------------------------------------------------------------
// Implementation

namespace detail {

inline constexpr std::array<char, 256> ascii_lower_table = [] {
  std::array<char, 256> t{};
  for (int i = 0; i < 256; ++i) t[static_cast<std::size_t>(i)] = static_cast<char>(i);
  for (int i = 'A'; i <= 'Z'; ++i) t[static_cast<std::size_t>(i)] = static_cast<char>(i + 32);
  return t;
}();

}  // namespace detail

constexpr char32_t fold_code_point(char32_t c) noexcept {
  if (c < 0x100) {  // Latin-1 Supplement
    if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 0x20;
    if (c == 0xB5) return 0x3BC;  // micro sign folds to Greek mu
    if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 0x20 : c;
    return c;
  }
  if (c < 0x180) {  // Latin Extended-A: upper/lower pairs with a few singletons
    if (c <= 0x12F) return c | 1;                  // even = capital
    if (c == 0x130) return U'i';                   // İ (see header comment)
    if (c == 0x131) return c;                      // ı dotless i
    if (c <= 0x137) return c | 1;                  // Ĳ Ĵ Ķ
    if (c == 0x138) return c;                      // ĸ kra
    if (c <= 0x148) return (c & 1) ? c + 1 : c;    // odd = capital
    if (c == 0x149) return c;                      // ŉ
    if (c <= 0x177) return c | 1;                  // even = capital
    if (c == 0x178) return 0xFF;                   // Ÿ -> ÿ
    if (c <= 0x17E) return (c & 1) ? c + 1 : c;    // Ź Ż Ž
    return U's';                                   // ſ long s folds to s
  }
  if (c >= 0x370 && c < 0x400) {  // Greek and Coptic
    if (c <= 0x373) return c | 1;                      // Ͱ Ͳ
    if (c == 0x376) return 0x377;                      // Ͷ
    if (c == 0x37F) return 0x3F3;                      // Ϳ
    if (c == 0x386) return 0x3AC;                      // Ά
    if (c >= 0x388 && c <= 0x38A) return c + 0x25;     // Έ Ή Ί
    if (c == 0x38C) return 0x3CC;                      // Ό
    if (c == 0x38E || c == 0x38F) return c + 0x3F;     // Ύ Ώ
    if (c >= 0x391 && c <= 0x3AB && c != 0x3A2) return c + 0x20;  // Α..Ω, Ϊ Ϋ
    switch (c) {
      case 0x3C2: return 0x3C3;  // final sigma
      case 0x3CF: return 0x3D7;  // Ϗ
      case 0x3D0: return 0x3B2;  // ϐ
      case 0x3D1: return 0x3B8;  // ϑ
      case 0x3D5: return 0x3C6;  // ϕ
      case 0x3D6: return 0x3C0;  // ϖ
      case 0x3F0: return 0x3BA;  // ϰ
      case 0x3F1: return 0x3C1;  // ϱ
      case 0x3F4: return 0x3B8;  // ϴ
      case 0x3F5: return 0x3B5;  // ϵ
      case 0x3F7: return 0x3F8;  // Ϸ
      case 0x3F9: return 0x3F2;  // Ϲ lunate sigma
      case 0x3FA: return 0x3FB;  // Ϻ
      default: break;
    }
    if (c >= 0x3D8 && c <= 0x3EF) return c | 1;        // archaic letters, Coptic
    if (c >= 0x3FD) return c - 0x82;                   // Ͻ Ͼ Ͽ -> ͻ ͼ ͽ
    return c;
  }
  if (c >= 0x400 && c < 0x500) {  // Cyrillic
    if (c <= 0x40F) return c + 0x50;                   // Ѐ..Џ
    if (c <= 0x42F) return c + 0x20;                   // А..Я
    if (c >= 0x460 && c <= 0x481) return c | 1;        // Ѡ..Ҁ
    if (c >= 0x48A && c <= 0x4BF) return c | 1;        // Ҋ..Ҿ
    if (c == 0x4C0) return 0x4CF;                      // Ӏ palochka
    if (c >= 0x4C1 && c <= 0x4CE) return (c & 1) ? c + 1 : c;
    if (c >= 0x4D0) return c | 1;                      // Ӑ..Ӿ
    return c;
  }
  return c;
}

inline void case_fold(std::string_view in, std::string& out) {
  // Folding never lengthens the text, so one resize up front suffices.
  out.resize(in.size());
  char* dst = out.data();
  const auto* src = reinterpret_cast<const unsigned char*>(in.data());
  const std::size_t n = in.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned char b = src[i];
    if (b < 0x80) {
      *dst++ = detail::ascii_lower_table[b];
      ++i;
      continue;
    }
    // Only two-byte sequences (lead C2..DF) can change. Any other byte,
    // valid or not, is copied: a continuation byte is never a C2..DF lead,
    // so this resynchronises exactly like a validating decoder would.
    if (b >= 0xC2 && b <= 0xDF && i + 1 < n && (src[i + 1] & 0xC0) == 0x80) {
      const char32_t c = (static_cast<char32_t>(b & 0x1F) << 6) | static_cast<char32_t>(src[i + 1] & 0x3F);
      const char32_t f = fold_code_point(c);
      if (f < 0x80) {
        *dst++ = static_cast<char>(f);
      } else {
        *dst++ = static_cast<char>(0xC0 | (f >> 6));
        *dst++ = static_cast<char>(0x80 | (f & 0x3F));
      }
      i += 2;
      continue;
    }
    *dst++ = static_cast<char>(b);
    ++i;
  }
  out.resize(static_cast<std::size_t>(dst - out.data()));
}

inline std::string case_fold(std::string_view in) {
  std::string out;
  case_fold(in, out);
  return out;
}

}  // namespace kplug::text
