// WordNet 3.0's parts of speech and its 45 lexicographer files (lexnames(5WN)).
// Every synset names the file it was written in (lex_filenum); for nouns and
// verbs that file is its coarse semantic class, its "supersense"
// (noun.animal, verb.motion), the label of the supersense-typing task.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "kplug/core/error.hpp"

namespace kplug::wordnet {

enum class part_of_speech { noun, verb, adjective, adverb };

inline constexpr std::array<part_of_speech, 4> all_parts_of_speech = {
    part_of_speech::noun, part_of_speech::verb, part_of_speech::adjective, part_of_speech::adverb};

// The letter of synset ids and data file pointers: n, v, a, r (satellites use 'a').
constexpr char pos_letter(part_of_speech pos) noexcept;
// "noun", "verb", "adj", "adv": the suffix of data.* , index.* and *.exc files.
constexpr std::string_view pos_file_suffix(part_of_speech pos) noexcept;
// The part of speech of an id letter or ss_type ('n', 'v', 'a', 's', 'r');
// throws kplug::error for another letter.
inline part_of_speech pos_from_letter(char letter);
// "noun", "verb", "adjective", "adverb" or "n", "v", "a", "r"; throws otherwise.
inline part_of_speech parse_part_of_speech(std::string_view name);

struct lexicographer_file {
  int number = 0;
  std::string_view name;  // "noun.animal"
  part_of_speech pos = part_of_speech::noun;
};

// lexicographer_files_table (below), indexed by file number 0..44.
inline constexpr std::size_t lexicographer_file_count = 45;

// The file with this number; throws kplug::error for a number outside 0..44.
inline const lexicographer_file& lexicographer_file_at(int number);
// The names of the files of one part of speech, in file-number order.
inline std::vector<std::string_view> lexicographer_names(part_of_speech pos);

// ---------------------------------------------------------------------------
// Implementation

constexpr char pos_letter(part_of_speech pos) noexcept {
  switch (pos) {
    case part_of_speech::noun: return 'n';
    case part_of_speech::verb: return 'v';
    case part_of_speech::adjective: return 'a';
    case part_of_speech::adverb: return 'r';
  }
  return '?';
}

constexpr std::string_view pos_file_suffix(part_of_speech pos) noexcept {
  switch (pos) {
    case part_of_speech::noun: return "noun";
    case part_of_speech::verb: return "verb";
    case part_of_speech::adjective: return "adj";
    case part_of_speech::adverb: return "adv";
  }
  return "?";
}

inline part_of_speech pos_from_letter(char letter) {
  switch (letter) {
    case 'n': return part_of_speech::noun;
    case 'v': return part_of_speech::verb;
    case 'a':
    case 's': return part_of_speech::adjective;
    case 'r': return part_of_speech::adverb;
    default: break;
  }
  throw error("read part of speech", "letter '" + std::string(1, letter) + "'",
              "expected one of n, v, a, s, r");
}

inline part_of_speech parse_part_of_speech(std::string_view name) {
  if (name == "noun" || name == "n") return part_of_speech::noun;
  if (name == "verb" || name == "v") return part_of_speech::verb;
  if (name == "adjective" || name == "adj" || name == "a") return part_of_speech::adjective;
  if (name == "adverb" || name == "adv" || name == "r") return part_of_speech::adverb;
  throw error("read part of speech", "'" + std::string(name) + "'", "expected noun, verb, adjective or adverb");
}

namespace detail {
using lf = lexicographer_file;
constexpr auto lf_adj = part_of_speech::adjective;
constexpr auto lf_adv = part_of_speech::adverb;
constexpr auto lf_n = part_of_speech::noun;
constexpr auto lf_v = part_of_speech::verb;
}  // namespace detail

inline constexpr std::array<lexicographer_file, lexicographer_file_count> lexicographer_files_table = {{
    {0, "adj.all", detail::lf_adj},          {1, "adj.pert", detail::lf_adj},
    {2, "adv.all", detail::lf_adv},          {3, "noun.Tops", detail::lf_n},
    {4, "noun.act", detail::lf_n},           {5, "noun.animal", detail::lf_n},
    {6, "noun.artifact", detail::lf_n},      {7, "noun.attribute", detail::lf_n},
    {8, "noun.body", detail::lf_n},          {9, "noun.cognition", detail::lf_n},
    {10, "noun.communication", detail::lf_n}, {11, "noun.event", detail::lf_n},
    {12, "noun.feeling", detail::lf_n},      {13, "noun.food", detail::lf_n},
    {14, "noun.group", detail::lf_n},        {15, "noun.location", detail::lf_n},
    {16, "noun.motive", detail::lf_n},       {17, "noun.object", detail::lf_n},
    {18, "noun.person", detail::lf_n},       {19, "noun.phenomenon", detail::lf_n},
    {20, "noun.plant", detail::lf_n},        {21, "noun.possession", detail::lf_n},
    {22, "noun.process", detail::lf_n},      {23, "noun.quantity", detail::lf_n},
    {24, "noun.relation", detail::lf_n},     {25, "noun.shape", detail::lf_n},
    {26, "noun.state", detail::lf_n},        {27, "noun.substance", detail::lf_n},
    {28, "noun.time", detail::lf_n},         {29, "verb.body", detail::lf_v},
    {30, "verb.change", detail::lf_v},       {31, "verb.cognition", detail::lf_v},
    {32, "verb.communication", detail::lf_v}, {33, "verb.competition", detail::lf_v},
    {34, "verb.consumption", detail::lf_v},  {35, "verb.contact", detail::lf_v},
    {36, "verb.creation", detail::lf_v},     {37, "verb.emotion", detail::lf_v},
    {38, "verb.motion", detail::lf_v},       {39, "verb.perception", detail::lf_v},
    {40, "verb.possession", detail::lf_v},   {41, "verb.social", detail::lf_v},
    {42, "verb.stative", detail::lf_v},      {43, "verb.weather", detail::lf_v},
    {44, "adj.ppl", detail::lf_adj},
}};

inline const lexicographer_file& lexicographer_file_at(int number) {
  if (number < 0 || number >= static_cast<int>(lexicographer_file_count))
    throw error("look up lexicographer file", "number " + std::to_string(number),
                "WordNet 3.0 has lexicographer files 0 to 44");
  return lexicographer_files_table[static_cast<std::size_t>(number)];
}

inline std::vector<std::string_view> lexicographer_names(part_of_speech pos) {
  std::vector<std::string_view> names;
  for (const lexicographer_file& f : lexicographer_files_table)
    if (f.pos == pos) names.push_back(f.name);
  return names;
}

}  // namespace kplug::wordnet
