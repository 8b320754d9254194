// Inflected forms of a lemma: the generating direction of WordNet's morphy
// (morphy(7WN)). Used for alias strings and for finding a synset's lemma in
// its example sentences, so over-generation is acceptable (a form that is not
// English matches nothing) while a missed form loses a match.
//
// The forms of a lemma are, deterministically:
//   1. the exception lists <pos>.exc (lines "inflected base [base...]"),
//      inverted to base -> inflected forms, looked up with the whole lemma
//      ("attorney general" -> "attorneys general");
//   2. for the head word (the LAST word of a noun, "hot dog" -> "hot dogs";
//      the FIRST word of a verb, "take off" -> "takes off", "took off"): its
//      own exceptions and the regular rules below, the other words unchanged.
// Regular rules, applied to a word ending in a letter (an ASCII letter or a
// non-ASCII character: "café" -> "cafés"), also when exceptions exist
// ("mouse" -> "mice" and "mouses", "go" -> "went" and "goes"):
//   noun:      +s; +es after s, x, z, ch, sh; consonant+y -> ies; after
//              consonant+o both +s and +es (pianos, potatoes: morphy's "es"
//              -> "" rule); -man -> -men too (morphy's "men" -> "man" rule);
//   verb:      third person as the noun plural; past +ed (e-final +d,
//              consonant+y -> ied); +ing (a final e is dropped unless the
//              word ends in ee, ye or oe);
//   adjective: +er, +est (e-final +r, +st; consonant+y -> ier, iest);
//   adverb:    exceptions only.
// Doubled consonants (stopped, running) and other irregular forms come from
// the exception lists, as in morphy. Exception keys are matched in lower
// case; rules keep the lemma's case.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kplug/core/error.hpp"
#include "kplug/io/text_lines.hpp"
#include "kplug/wordnet/database.hpp"
#include "kplug/wordnet/files.hpp"
#include "kplug/wordnet/lexicographer_files.hpp"

namespace kplug::wordnet {

// The regular inflections of one word (no exceptions), in rule order.
inline std::vector<std::string> regular_inflections(std::string_view word, part_of_speech pos);

class morphology {
 public:
  morphology() = default;

  // Reads <pos>.exc from `dir` for each part of speech (noun.exc, verb.exc,
  // adj.exc, adv.exc); a missing file names the package wordnet-base.
  static morphology load(const std::string& dir = default_directory,
                         std::span<const part_of_speech> parts = default_parts);

  // Adds the lines of an exception file's text; `path` is for errors.
  void add_exception_file(part_of_speech pos, std::string_view text, const std::string& path);
  // Records that `inflected` is a form of `base` ('_' read as ' ').
  void add_exception(part_of_speech pos, std::string_view inflected, std::string_view base);

  // The inflected forms of `lemma`, sorted and unique, without the lemma itself.
  std::vector<std::string> inflections(std::string_view lemma, part_of_speech pos) const;
  // The lemma followed by its inflections.
  std::vector<std::string> forms(std::string_view lemma, part_of_speech pos) const;

 private:
  const std::vector<std::string>* exceptions_of(std::string_view base, part_of_speech pos) const;
  std::array<std::unordered_map<std::string, std::vector<std::string>>, 4> exceptions_;
};

// ---------------------------------------------------------------------------
// Implementation

namespace detail {

inline char ascii_lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}
inline bool is_ascii_letter(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline bool is_vowel(char c) noexcept {
  c = ascii_lower(c);
  return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
}
inline bool ends_with_ci(std::string_view w, std::string_view suffix) noexcept {
  if (w.size() < suffix.size()) return false;
  for (std::size_t k = 0; k < suffix.size(); ++k)
    if (ascii_lower(w[w.size() - suffix.size() + k]) != suffix[k]) return false;
  return true;
}
inline bool consonant_y(std::string_view w) noexcept {
  return w.size() >= 2 && ascii_lower(w.back()) == 'y' && is_ascii_letter(w[w.size() - 2]) && !is_vowel(w[w.size() - 2]);
}
inline bool sibilant(std::string_view w) noexcept {
  return ends_with_ci(w, "s") || ends_with_ci(w, "x") || ends_with_ci(w, "z") || ends_with_ci(w, "ch") ||
         ends_with_ci(w, "sh");
}
inline std::string plural_s(std::string_view w) {
  if (consonant_y(w)) return std::string(w.substr(0, w.size() - 1)) + "ies";
  if (sibilant(w)) return std::string(w) + "es";
  return std::string(w) + "s";
}
inline bool consonant_o(std::string_view w) noexcept {
  return w.size() >= 2 && ascii_lower(w.back()) == 'o' && is_ascii_letter(w[w.size() - 2]) && !is_vowel(w[w.size() - 2]);
}

}  // namespace detail

inline std::vector<std::string> regular_inflections(std::string_view w, part_of_speech pos) {
  std::vector<std::string> out;
  if (w.empty() || !(detail::is_ascii_letter(w.back()) || static_cast<unsigned char>(w.back()) >= 0x80)) return out;
  const std::string_view stem = w.substr(0, w.size() - 1);
  const bool e_final = detail::ascii_lower(w.back()) == 'e';
  switch (pos) {
    case part_of_speech::noun:
      out.push_back(detail::plural_s(w));
      if (detail::consonant_o(w)) out.push_back(std::string(w) + "es");
      if (detail::ends_with_ci(w, "man")) out.push_back(std::string(w.substr(0, w.size() - 2)) + "en");
      break;
    case part_of_speech::verb:
      out.push_back(detail::plural_s(w));
      if (detail::consonant_o(w)) out.push_back(std::string(w) + "es");
      if (e_final) out.push_back(std::string(w) + "d");
      else if (detail::consonant_y(w)) out.push_back(std::string(stem) + "ied");
      else out.push_back(std::string(w) + "ed");
      if (e_final && w.size() > 1 && !detail::ends_with_ci(w, "ee") && !detail::ends_with_ci(w, "ye") &&
          !detail::ends_with_ci(w, "oe"))
        out.push_back(std::string(stem) + "ing");
      else
        out.push_back(std::string(w) + "ing");
      break;
    case part_of_speech::adjective:
      if (e_final) {
        out.push_back(std::string(w) + "r");
        out.push_back(std::string(w) + "st");
      } else if (detail::consonant_y(w)) {
        out.push_back(std::string(stem) + "ier");
        out.push_back(std::string(stem) + "iest");
      } else {
        out.push_back(std::string(w) + "er");
        out.push_back(std::string(w) + "est");
      }
      break;
    case part_of_speech::adverb: break;
  }
  return out;
}

inline morphology morphology::load(const std::string& dir, std::span<const part_of_speech> parts) {
  morphology m;
  for (const part_of_speech pos : parts) {
    const std::string name = std::string(pos_file_suffix(pos)) + ".exc";
    const std::string text = read_wordnet_file(dir, name, "wordnet-base");
    m.add_exception_file(pos, text, (std::filesystem::path(dir) / name).string());
  }
  return m;
}

inline void morphology::add_exception_file(part_of_speech pos, std::string_view text, const std::string& path) {
  std::vector<std::string_view> fields;
  io::for_each_line(text, [&](std::string_view line, std::uint64_t number) {
    if (line.empty()) return;
    io::split_fields(line, ' ', fields);
    std::erase_if(fields, [](std::string_view f) { return f.empty(); });
    if (fields.size() < 2)
      throw error("parse WordNet exception list", at_line(path, number),
                  "expected 'inflected base [base...]', found " + std::to_string(fields.size()) + " field(s)");
    for (std::size_t k = 1; k < fields.size(); ++k) add_exception(pos, to_utf8(fields[0]), to_utf8(fields[k]));
  });
}

inline void morphology::add_exception(part_of_speech pos, std::string_view inflected, std::string_view base) {
  std::string key = detail::ascii_lower(base);
  std::string form(inflected);
  for (char& c : key)
    if (c == '_') c = ' ';
  for (char& c : form)
    if (c == '_') c = ' ';
  if (form.empty() || key.empty() || form == key) return;
  std::vector<std::string>& list = exceptions_[static_cast<std::size_t>(pos)][key];
  if (std::find(list.begin(), list.end(), form) == list.end()) list.push_back(std::move(form));
}

inline const std::vector<std::string>* morphology::exceptions_of(std::string_view base, part_of_speech pos) const {
  const auto& map = exceptions_[static_cast<std::size_t>(pos)];
  const auto it = map.find(detail::ascii_lower(base));
  return it == map.end() ? nullptr : &it->second;
}

inline std::vector<std::string> morphology::inflections(std::string_view lemma, part_of_speech pos) const {
  std::vector<std::string> out;
  if (const auto* whole = exceptions_of(lemma, pos)) out.insert(out.end(), whole->begin(), whole->end());
  // The head word: last for nouns (and adjectives, adverbs), first for verbs.
  std::size_t begin = 0;
  std::size_t end = lemma.size();
  if (pos == part_of_speech::verb) {
    const std::size_t space = lemma.find(' ');
    if (space != std::string_view::npos) end = space;
  } else {
    const std::size_t space = lemma.rfind(' ');
    if (space != std::string_view::npos) begin = space + 1;
  }
  const std::string_view head = lemma.substr(begin, end - begin);
  const std::string_view before = lemma.substr(0, begin);
  const std::string_view after = lemma.substr(end);
  const auto add = [&](std::string_view inflected_head) {
    std::string form(before);
    form += inflected_head;
    form += after;
    out.push_back(std::move(form));
  };
  if (head.size() != lemma.size())
    if (const auto* own = exceptions_of(head, pos))
      for (const std::string& f : *own) add(f);
  for (const std::string& f : regular_inflections(head, pos)) add(f);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  std::erase_if(out, [&](const std::string& f) { return f == lemma; });
  return out;
}

inline std::vector<std::string> morphology::forms(std::string_view lemma, part_of_speech pos) const {
  std::vector<std::string> out{std::string(lemma)};
  for (std::string& f : inflections(lemma, pos)) out.push_back(std::move(f));
  return out;
}

}  // namespace kplug::wordnet
