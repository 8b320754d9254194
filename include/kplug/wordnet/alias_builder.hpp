// The WordNet alias table: every lemma of index.sense and its inflected forms
// (morphology.hpp) -> the lemma's synsets, written in the format
// link::read_alias_table reads (alias<TAB>entity<TAB>count, no header).
//
// count = tag_cnt + 1. tag_cnt is the sense's frequency in the semantic
// concordances and is 0 for most senses; the linker ranks candidates by
// count and a count of 0 scores 0, so add-one smoothing keeps every sense a
// candidate with a small prior while tagged senses still rank first.
//
// Aliases are stored as the words a tokenizer sees, joined by single spaces:
// the linker matches aliases word by word against the model tokenizer's words,
// and text::bert_tokenizer splits Unicode punctuation too (text::split_words
// does not), so the splitting is the caller's: "rock 'n' roll" becomes
// "rock ' n ' roll" under BERT's splitting. An alias with no words is dropped.
// When several lemmas or forms give the same (alias, synset) pair, the pair
// keeps the largest count (it is one sense, not several).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kplug/text/words.hpp"
#include "kplug/wordnet/database.hpp"
#include "kplug/wordnet/files.hpp"
#include "kplug/wordnet/morphology.hpp"
#include "kplug/wordnet/sense_index.hpp"

namespace kplug::wordnet {

struct alias_entry {
  std::string alias;   // words joined by single spaces
  std::string entity;  // synset id
  std::uint64_t count = 0;
};

// Splits text into words (each a copy of the word's text).
using word_splitter = std::function<std::vector<std::string>(std::string_view)>;

// text::split_words as a word_splitter (ASCII punctuation split only).
inline word_splitter split_words_splitter();

// The words of `text` under `split`, joined by single spaces.
inline std::string join_words(std::string_view text, const word_splitter& split);

// The aliases of the senses of `parts`, in index.sense order (first
// appearance of each pair).
inline std::vector<alias_entry> build_aliases(const std::vector<sense_entry>& senses, const morphology& morph,
                                              const word_splitter& split,
                                              std::span<const part_of_speech> parts = default_parts);

// Writes alias<TAB>entity<TAB>count lines atomically. Throws kplug::error for
// an alias containing a tab or newline (it could not be read back).
inline void write_aliases(const std::string& path, const std::vector<alias_entry>& entries);

// ---------------------------------------------------------------------------
// Implementation

inline word_splitter split_words_splitter() {
  return [](std::string_view s) {
    std::vector<std::string> out;
    for (const text::word& w : text::split_words(s)) out.emplace_back(w.text);
    return out;
  };
}

inline std::string join_words(std::string_view s, const word_splitter& split) {
  std::string out;
  for (const std::string& w : split(s)) {
    if (w.empty()) continue;
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out;
}

inline std::vector<alias_entry> build_aliases(const std::vector<sense_entry>& senses, const morphology& morph,
                                              const word_splitter& split, std::span<const part_of_speech> parts) {
  bool wanted[4] = {false, false, false, false};
  for (const part_of_speech pos : parts) wanted[static_cast<std::size_t>(pos)] = true;
  std::vector<alias_entry> out;
  std::unordered_map<std::string, std::size_t> index;  // alias \t entity -> position in out
  std::unordered_map<std::string, std::string> joined;  // form -> its split alias (forms repeat across senses)
  std::string key;
  for (const sense_entry& s : senses) {
    if (!wanted[static_cast<std::size_t>(s.pos)]) continue;
    const std::uint64_t count = std::uint64_t{s.tag_count} + 1;
    for (const std::string& form : morph.forms(s.lemma, s.pos)) {
      auto it = joined.find(form);
      if (it == joined.end()) it = joined.emplace(form, join_words(form, split)).first;
      const std::string& alias = it->second;
      if (alias.empty()) continue;
      key.assign(alias).append("\t").append(s.synset);
      const auto [slot, inserted] = index.emplace(key, out.size());
      if (inserted)
        out.push_back(alias_entry{alias, s.synset, count});
      else if (out[slot->second].count < count)
        out[slot->second].count = count;
    }
  }
  return out;
}

inline void write_aliases(const std::string& path, const std::vector<alias_entry>& entries) {
  std::string out;
  for (const alias_entry& e : entries) {
    if (e.alias.find_first_of("\t\n\r") != std::string::npos || e.entity.find_first_of("\t\n\r") != std::string::npos)
      throw error("write alias table", at_file(path), "alias '" + e.alias + "' or its entity contains a tab or newline");
    out.append(e.alias).append("\t").append(e.entity).append("\t").append(std::to_string(e.count)) += '\n';
  }
  write_file_atomically(path, out);
}

}  // namespace kplug::wordnet
