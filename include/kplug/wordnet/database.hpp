// WordNet 3.0's data files (data.noun, data.verb, data.adj, data.adv; format
// in wndb(5WN)) parsed into synsets.
//
// A synset's id is the letter of its file's part of speech (n, v, a, r;
// adjective satellites keep 'a', so an id is unique across files and a
// pointer's target id is the same string) and its 8-digit byte offset:
// "n02084071" is dog. Lemmas have '_' replaced by ' ' and adjective markers
// ("(p)", "(a)", "(ip)") stripped. The gloss is split into the definition
// (the text before the first '"', without the trailing ';' or ':') and the
// examples (every double-quoted part; an unpaired final quote is ignored).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "kplug/core/error.hpp"
#include "kplug/io/text_lines.hpp"
#include "kplug/wordnet/files.hpp"
#include "kplug/wordnet/lexicographer_files.hpp"
#include "kplug/wordnet/pointer_symbols.hpp"

namespace kplug::wordnet {

struct synset_word {
  std::string lemma;  // "domestic dog"
  int lex_id = 0;     // 0..15, distinguishes senses of the lemma in one lexicographer file
};

struct synset_pointer {
  std::string symbol;     // "@", "#m", ...
  std::string target;     // target synset id, "n02083346"
  int source_word = 0;    // 1-based word of this synset, 0 for a semantic (synset) pointer
  int target_word = 0;    // 1-based word of the target synset, 0 likewise
};

struct synset {
  std::string id;  // "n02084071"
  part_of_speech pos = part_of_speech::noun;
  bool satellite = false;  // ss_type 's'
  int lex_filenum = 0;
  std::vector<synset_word> words;
  std::vector<synset_pointer> pointers;
  std::string definition;
  std::vector<std::string> examples;
};

// The synsets of the loaded files, in file order, with lookup by id.
class database {
 public:
  database() = default;
  // Appends (ids must be new; throws otherwise).
  void add(synset s);
  const std::vector<synset>& synsets() const noexcept { return synsets_; }
  std::size_t size() const noexcept { return synsets_.size(); }
  // nullptr if there is no such synset.
  const synset* find(std::string_view id) const;
  // Whether the data file of `pos` was loaded.
  bool has(part_of_speech pos) const noexcept { return loaded_[static_cast<std::size_t>(pos)]; }
  void mark_loaded(part_of_speech pos) noexcept { loaded_[static_cast<std::size_t>(pos)] = true; }
  std::size_t count(part_of_speech pos) const noexcept;

 private:
  std::vector<synset> synsets_;
  std::unordered_map<std::string, std::size_t> by_id_;
  bool loaded_[4] = {false, false, false, false};
};

// The synset id of a part-of-speech letter and an 8-digit offset.
inline std::string synset_id(part_of_speech pos, std::string_view offset);

// Parses one synset line of a data file of part of speech `pos` (not a
// license line). `path` and `line_number` are for errors.
inline synset parse_data_line(std::string_view line, part_of_speech pos, const std::string& path,
                              std::uint64_t line_number);

// Parses a whole data file's text (license lines, which start with two
// spaces, are skipped) and appends its synsets to `db`.
inline void parse_data_file(std::string_view text, part_of_speech pos, const std::string& path, database& db);

// Loads data.<pos> from `dir` for each part of speech asked for. Throws
// kplug::error naming the Debian package wordnet-base when the directory or a
// file is missing, and the file and line of a malformed line.
inline constexpr std::array<part_of_speech, 2> default_parts = {part_of_speech::noun, part_of_speech::verb};
inline database load_database(const std::string& dir = default_directory,
                              std::span<const part_of_speech> parts = default_parts);

// ---------------------------------------------------------------------------
// Implementation

inline void database::add(synset s) {
  const auto [it, inserted] = by_id_.emplace(s.id, synsets_.size());
  if (!inserted) throw error("add synset", "id " + s.id, "the id is already in the database");
  synsets_.push_back(std::move(s));
}

inline const synset* database::find(std::string_view id) const {
  const auto it = by_id_.find(std::string(id));
  return it == by_id_.end() ? nullptr : &synsets_[it->second];
}

inline std::size_t database::count(part_of_speech pos) const noexcept {
  std::size_t n = 0;
  for (const synset& s : synsets_) n += s.pos == pos ? 1 : 0;
  return n;
}

inline std::string synset_id(part_of_speech pos, std::string_view offset) {
  std::string id(1, pos_letter(pos));
  id += offset;
  return id;
}

namespace detail {

// Cursor over the space-separated fields of a data line.
class field_reader {
 public:
  field_reader(std::string_view line, const std::string& path, std::uint64_t line_number)
      : line_(line), path_(path), number_(line_number) {}

  std::string_view next(const char* name) {
    while (pos_ < line_.size() && line_[pos_] == ' ') ++pos_;
    if (pos_ >= line_.size()) fail(std::string("the line ends before the ") + name);
    const std::size_t end = line_.find(' ', pos_);
    const std::size_t stop = end == std::string_view::npos ? line_.size() : end;
    const std::string_view f = line_.substr(pos_, stop - pos_);
    pos_ = stop;
    return f;
  }
  // The rest of the line after the current position, leading spaces removed.
  std::string_view rest() {
    while (pos_ < line_.size() && line_[pos_] == ' ') ++pos_;
    return line_.substr(pos_);
  }
  int number(const char* name, int base, std::size_t digits) {
    const std::string_view f = next(name);
    return parse(f, name, base, digits);
  }
  int parse(std::string_view f, const char* name, int base, std::size_t digits) const {
    if (f.empty() || (digits != 0 && f.size() != digits)) bad(f, name, base, digits);
    int v = 0;
    for (const char c : f) {
      int d = -1;
      if (c >= '0' && c <= '9') d = c - '0';
      else if (base == 16 && c >= 'a' && c <= 'f') d = c - 'a' + 10;
      else if (base == 16 && c >= 'A' && c <= 'F') d = c - 'A' + 10;
      if (d < 0 || v > 10000000) bad(f, name, base, digits);
      v = v * base + d;
    }
    return v;
  }
  [[noreturn]] void fail(const std::string& why) const {
    throw error("parse WordNet data file", at_line(path_, number_), why);
  }

 private:
  [[noreturn]] void bad(std::string_view f, const char* name, int base, std::size_t digits) const {
    std::string why = std::string(name) + " '" + std::string(f) + "' is not a";
    if (digits != 0) why += " " + std::to_string(digits) + "-digit";
    why += base == 16 ? " hexadecimal number" : " decimal number";
    fail(why);
  }

  std::string_view line_;
  const std::string& path_;
  std::uint64_t number_;
  std::size_t pos_ = 0;
};

inline bool is_offset(std::string_view f) {
  if (f.size() != 8) return false;
  for (const char c : f)
    if (c < '0' || c > '9') return false;
  return true;
}

inline std::string lemma_text(std::string_view word) {
  // Adjective markers: "(p)", "(a)", "(ip)" right after the word.
  if (word.size() > 2 && word.back() == ')') {
    const std::size_t open = word.rfind('(');
    if (open != std::string_view::npos && open > 0) {
      const std::string_view marker = word.substr(open);
      if (marker == "(p)" || marker == "(a)" || marker == "(ip)") word = word.substr(0, open);
    }
  }
  std::string out = to_utf8(word);
  for (char& c : out)
    if (c == '_') c = ' ';
  return out;
}

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

inline void split_gloss(std::string_view gloss, synset& s) {
  gloss = trim(gloss);
  const std::size_t quote = gloss.find('"');
  std::string_view def = gloss.substr(0, quote);
  def = trim(def);
  while (!def.empty() && (def.back() == ';' || def.back() == ':' || def.back() == ' ')) def.remove_suffix(1);
  s.definition = to_utf8(def);
  std::size_t pos = quote;
  while (pos != std::string_view::npos) {
    const std::size_t close = gloss.find('"', pos + 1);
    if (close == std::string_view::npos) break;
    const std::string_view example = trim(gloss.substr(pos + 1, close - pos - 1));
    if (!example.empty()) s.examples.push_back(to_utf8(example));
    pos = gloss.find('"', close + 1);
  }
}

}  // namespace detail

inline synset parse_data_line(std::string_view line, part_of_speech pos, const std::string& path,
                              std::uint64_t line_number) {
  detail::field_reader r(line, path, line_number);
  synset s;
  const std::string_view offset = r.next("synset offset");
  if (!detail::is_offset(offset)) r.fail("synset offset '" + std::string(offset) + "' is not 8 decimal digits");
  s.pos = pos;
  s.id = synset_id(pos, offset);
  s.lex_filenum = r.number("lex_filenum", 10, 2);
  if (s.lex_filenum >= static_cast<int>(lexicographer_file_count))
    r.fail("lex_filenum " + std::to_string(s.lex_filenum) + " is not a WordNet 3.0 lexicographer file (0 to 44)");
  const std::string_view ss_type = r.next("ss_type");
  const bool type_ok = ss_type.size() == 1 && (ss_type[0] == pos_letter(pos) ||
                                               (pos == part_of_speech::adjective && ss_type[0] == 's'));
  if (!type_ok)
    r.fail("ss_type '" + std::string(ss_type) + "' does not belong in data." + std::string(pos_file_suffix(pos)));
  s.satellite = ss_type[0] == 's';
  const int w_cnt = r.number("w_cnt", 16, 2);
  if (w_cnt == 0) r.fail("w_cnt is 0: a synset has at least one word");
  s.words.reserve(static_cast<std::size_t>(w_cnt));
  for (int k = 0; k < w_cnt; ++k) {
    const std::string_view word = r.next("word");
    synset_word w;
    w.lemma = detail::lemma_text(word);
    if (w.lemma.empty()) r.fail("word " + std::to_string(k + 1) + " is empty");
    w.lex_id = r.number("lex_id", 16, 1);
    s.words.push_back(std::move(w));
  }
  const int p_cnt = r.number("p_cnt", 10, 3);
  s.pointers.reserve(static_cast<std::size_t>(p_cnt));
  for (int k = 0; k < p_cnt; ++k) {
    synset_pointer p;
    p.symbol = std::string(r.next("pointer symbol"));
    if (!relation_name(p.symbol)) r.fail("unknown pointer symbol '" + p.symbol + "'");
    const std::string_view target = r.next("pointer offset");
    if (!detail::is_offset(target)) r.fail("pointer offset '" + std::string(target) + "' is not 8 decimal digits");
    const std::string_view target_pos = r.next("pointer part of speech");
    if (target_pos.size() != 1 || std::string_view("nvasr").find(target_pos[0]) == std::string_view::npos)
      r.fail("pointer part of speech '" + std::string(target_pos) + "' is not one of n, v, a, s, r");
    p.target = synset_id(pos_from_letter(target_pos[0]), target);
    const std::string_view st = r.next("pointer source/target");
    const int both = r.parse(st, "pointer source/target", 16, 4);
    p.source_word = both >> 8;
    p.target_word = both & 0xFF;
    if (p.source_word > w_cnt)
      r.fail("pointer source word " + std::to_string(p.source_word) + " but the synset has " +
             std::to_string(w_cnt) + " words");
    s.pointers.push_back(std::move(p));
  }
  std::string_view field = r.next("gloss separator '|'");
  if (pos == part_of_speech::verb && field != "|") {  // frames: f_cnt, then "+ f_num w_num" each
    const int f_cnt = r.parse(field, "f_cnt", 10, 2);
    for (int k = 0; k < f_cnt; ++k) {
      if (r.next("frame '+'") != "+") r.fail("frame " + std::to_string(k + 1) + " does not start with '+'");
      r.number("frame number", 10, 2);
      r.number("frame word number", 16, 2);
    }
    field = r.next("gloss separator '|'");
  }
  if (field != "|") r.fail("expected '|' before the gloss, found '" + std::string(field) + "'");
  detail::split_gloss(r.rest(), s);
  return s;
}

inline void parse_data_file(std::string_view text, part_of_speech pos, const std::string& path, database& db) {
  io::for_each_line(text, [&](std::string_view line, std::uint64_t number) {
    if (line.empty() || line.starts_with("  ")) return;  // license header
    synset s = parse_data_line(line, pos, path, number);
    if (db.find(s.id) != nullptr)
      throw error("parse WordNet data file", at_line(path, number), "synset " + s.id + " appears twice");
    db.add(std::move(s));
  });
  db.mark_loaded(pos);
}

inline database load_database(const std::string& dir, std::span<const part_of_speech> parts) {
  database db;
  for (const part_of_speech pos : parts) {
    if (db.has(pos)) continue;
    const std::string name = "data." + std::string(pos_file_suffix(pos));
    const std::string text = read_wordnet_file(dir, name, "wordnet-base");
    parse_data_file(text, pos, (std::filesystem::path(dir) / name).string(), db);
  }
  return db;
}

}  // namespace kplug::wordnet
