// WordNet's sense index (index.sense, senseidx(5WN)): one line per sense,
//   sense_key synset_offset sense_number tag_cnt
// with sense_key = lemma%ss_type:lex_filenum:lex_id:head_word:head_id.
// ss_type is 1 noun, 2 verb, 3 adjective, 4 adverb, 5 adjective satellite
// (whose synset id takes the prefix 'a', as in the data files); tag_cnt is
// how often the sense was tagged in the semantic concordances: the prior
// the alias table and the rare-sense split use.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kplug/core/error.hpp"
#include "kplug/io/text_lines.hpp"
#include "kplug/wordnet/database.hpp"
#include "kplug/wordnet/files.hpp"
#include "kplug/wordnet/lexicographer_files.hpp"

namespace kplug::wordnet {

struct sense_key {
  std::string lemma;  // '_' -> ' ', as written (lower case in WordNet)
  int ss_type = 1;    // 1..5
  part_of_speech pos = part_of_speech::noun;
  bool satellite = false;
  int lex_filenum = 0;
  int lex_id = 0;
  std::string head_word;  // satellites only, else empty
  int head_id = -1;       // satellites only, else -1
};

struct sense_entry {
  std::string key;       // the sense key as written
  std::string lemma;     // '_' -> ' '
  std::string synset;    // "n02084071"
  part_of_speech pos = part_of_speech::noun;
  bool satellite = false;
  int lex_filenum = 0;
  int sense_number = 0;
  std::uint32_t tag_count = 0;
};

// Parses a sense key; throws kplug::error (naming `where`) if malformed.
inline sense_key parse_sense_key(std::string_view key, const std::string& where = "sense key");

// Parses index.sense text; `path` is for errors (file and line).
inline std::vector<sense_entry> parse_sense_index(std::string_view text, const std::string& path);

// Reads `dir`/index.sense; a missing file names the Debian package
// wordnet-sense-index.
inline std::vector<sense_entry> load_sense_index(const std::string& dir = default_directory);

// ---------------------------------------------------------------------------
// Implementation

namespace detail {
inline int small_number(std::string_view f, const char* name, const std::string& where, int base) {
  if (f.empty() || f.size() > 4)
    throw error("parse sense key", where, std::string(name) + " '" + std::string(f) + "' is not a number");
  int v = 0;
  for (const char c : f) {
    int d = -1;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (base == 16 && c >= 'a' && c <= 'f') d = c - 'a' + 10;
    if (d < 0) throw error("parse sense key", where, std::string(name) + " '" + std::string(f) + "' is not a number");
    v = v * base + d;
  }
  return v;
}
}  // namespace detail

inline sense_key parse_sense_key(std::string_view key, const std::string& where) {
  const char* what = "parse sense key";
  const std::size_t percent = key.rfind('%');
  if (percent == std::string_view::npos || percent == 0)
    throw error(what, where, "'" + std::string(key) + "' has no 'lemma%' part");
  sense_key k;
  k.lemma = to_utf8(key.substr(0, percent));
  for (char& c : k.lemma)
    if (c == '_') c = ' ';
  std::vector<std::string_view> parts;
  io::split_fields(key.substr(percent + 1), ':', parts);
  if (parts.size() != 5)
    throw error(what, where,
                "'" + std::string(key) + "' has " + std::to_string(parts.size()) +
                    " ':'-separated fields after '%', expected 5 (ss_type:lex_filenum:lex_id:head_word:head_id)");
  k.ss_type = detail::small_number(parts[0], "ss_type", where, 10);
  if (k.ss_type < 1 || k.ss_type > 5)
    throw error(what, where, "ss_type " + std::to_string(k.ss_type) + " is not 1 to 5");
  static constexpr part_of_speech by_type[5] = {part_of_speech::noun, part_of_speech::verb,
                                                part_of_speech::adjective, part_of_speech::adverb,
                                                part_of_speech::adjective};
  k.pos = by_type[k.ss_type - 1];
  k.satellite = k.ss_type == 5;
  k.lex_filenum = detail::small_number(parts[1], "lex_filenum", where, 10);
  if (k.lex_filenum >= static_cast<int>(lexicographer_file_count))
    throw error(what, where, "lex_filenum " + std::to_string(k.lex_filenum) + " is not 0 to 44");
  k.lex_id = detail::small_number(parts[2], "lex_id", where, 10);
  if (k.satellite) {
    if (parts[3].empty() || parts[4].empty())
      throw error(what, where, "'" + std::string(key) + "' is a satellite without head_word and head_id");
    k.head_word = std::string(parts[3]);
    k.head_id = detail::small_number(parts[4], "head_id", where, 10);
  } else if (!parts[3].empty() || !parts[4].empty()) {
    throw error(what, where, "'" + std::string(key) + "' has a head word but is not a satellite (ss_type 5)");
  }
  return k;
}

inline std::vector<sense_entry> parse_sense_index(std::string_view text, const std::string& path) {
  const char* what = "parse index.sense";
  std::vector<sense_entry> out;
  std::vector<std::string_view> fields;
  io::for_each_line(text, [&](std::string_view line, std::uint64_t number) {
    if (line.empty()) return;
    io::split_fields(line, ' ', fields);
    if (fields.size() != 4)
      throw error(what, at_line(path, number),
                  "expected 4 space-separated fields (sense_key synset_offset sense_number tag_cnt), found " +
                      std::to_string(fields.size()));
    const sense_key k = parse_sense_key(fields[0], at_line(path, number));
    if (!detail::is_offset(fields[1]))
      throw error(what, at_line(path, number), "synset offset '" + std::string(fields[1]) + "' is not 8 decimal digits");
    sense_entry e;
    e.key = std::string(fields[0]);
    e.lemma = k.lemma;
    e.synset = synset_id(k.pos, fields[1]);
    e.pos = k.pos;
    e.satellite = k.satellite;
    e.lex_filenum = k.lex_filenum;
    e.sense_number = io::parse_integer<int>(fields[2], path, number, what, "sense_number");
    e.tag_count = io::parse_integer<std::uint32_t>(fields[3], path, number, what, "tag_cnt");
    out.push_back(std::move(e));
  });
  return out;
}

inline std::vector<sense_entry> load_sense_index(const std::string& dir) {
  const std::string text = read_wordnet_file(dir, "index.sense", "wordnet-sense-index");
  return parse_sense_index(text, (std::filesystem::path(dir) / "index.sense").string());
}

}  // namespace kplug::wordnet
