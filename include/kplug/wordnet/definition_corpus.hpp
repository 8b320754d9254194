// The corpus of general map-tuning on WordNet: one sentence per noun and verb
// synset, made of its first lemma and its definition, with the lemma marked
// as a mention of the synset:
//
//   noun  "dog is a member of the genus Canis ..."        mention "dog"
//   verb  "to run is to move fast by using one's feet"    mention "run"
//
// Mention-masked language modelling on it masks the lemma and keeps the
// synset's knowledge vector, so the plugin learns to carry what names the
// entity. Definitions only: the supersense-typing task is made of the gloss
// *examples*, so no dev or test sentence of any seed's split is in here. A
// fixed 1 in `holdout` of the synsets (by a hash of the id, the same for any
// seed) goes to the held-out part, for dev loss and masked-token accuracy.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kplug/core/xxh64.hpp"
#include "kplug/wordnet/database.hpp"
#include "kplug/wordnet/lexicographer_files.hpp"
#include "kplug/wordnet/supersense_dataset.hpp"

namespace kplug::wordnet {

struct definition_corpus {
  std::vector<typing_instance> train;
  std::vector<typing_instance> held_out;
  std::size_t skipped = 0;  // synsets without a definition
};

// The sentences of every loaded noun and verb synset, in database order. The
// label of a sentence is its synset's lexicographer file (informative only).
definition_corpus build_definition_corpus(const database& db, std::uint64_t holdout = 20);

// ---------------------------------------------------------------------------
// Implementation

namespace detail {

// The definition without WordNet's trailing separators.
inline std::string_view clean_definition(std::string_view d) {
  while (!d.empty() && (d.back() == ' ' || d.back() == ';' || d.back() == ',' || d.back() == ':')) d.remove_suffix(1);
  while (!d.empty() && d.front() == ' ') d.remove_prefix(1);
  return d;
}

}  // namespace detail

inline definition_corpus build_definition_corpus(const database& db, std::uint64_t holdout) {
  definition_corpus out;
  for (const synset& s : db.synsets()) {
    if (s.pos != part_of_speech::noun && s.pos != part_of_speech::verb) continue;
    const std::string_view definition = detail::clean_definition(s.definition);
    if (definition.empty() || s.words.empty()) {
      ++out.skipped;
      continue;
    }
    const bool verb = s.pos == part_of_speech::verb;
    const std::string& lemma = s.words.front().lemma;
    typing_instance inst;
    inst.text = std::string(verb ? "to " : "") + lemma + (verb ? " is to " : " is ") + std::string(definition);
    const std::size_t start = verb ? 3 : 0;
    inst.mention = typing_mention{start, start + detail::decode_code_points(lemma).size(), s.id};
    inst.label = std::string(lexicographer_file_at(s.lex_filenum).name);
    inst.lemma = lemma;
    inst.matched = lemma;
    const bool held = holdout > 0 && xxh64(s.id, 0x6b706c7567ull) % holdout == 0;
    (held ? out.held_out : out.train).push_back(std::move(inst));
  }
  return out;
}

}  // namespace kplug::wordnet
