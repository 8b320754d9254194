// The supersense-typing task built from WordNet: each example sentence of a
// synset's gloss, with the synset's lemma marked in it, labelled with the
// synset's lexicographer file ("noun.animal", "verb.motion").
//
// Matching: the synset's lemmas and their inflected forms (morphology.hpp)
// are searched case-insensitively (per code point, utf8proc's simple lower
// case) on word boundaries (no letter, mark or digit right before or after);
// the match that starts first wins, and at one start the longest form (ties:
// the form's lemma's order in the synset, then the form's text). Examples
// with no match are dropped and counted.
//
// Offsets are CHARACTER (Unicode code point) offsets into the text, [start,
// end), what Python's str indexing uses, so a JSONL consumer can slice the
// text directly.
//
// Splits are entity-disjoint: the distinct synsets with instances are
// shuffled (Fisher-Yates with kplug's xoshiro256 seeded by `seed`), the first
// round(0.8 n) go to train, the next round(0.1 n) to dev, the rest to test;
// every instance of a synset goes to its synset's split. The rare subset of
// test holds the instances whose matched lemma's tag count is 0 or 1 (an
// unseen or once-seen sense) or whose mention the model's tokenizer splits
// into 3 or more word pieces (counted by a callable, so the library does not
// depend on a tokenizer here).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <utf8proc.h>

#include "kplug/core/error.hpp"
#include "kplug/core/random.hpp"
#include "kplug/text/utf8.hpp"
#include "kplug/wordnet/database.hpp"
#include "kplug/wordnet/files.hpp"
#include "kplug/wordnet/lexicographer_files.hpp"
#include "kplug/wordnet/morphology.hpp"
#include "kplug/wordnet/sense_index.hpp"

namespace kplug::wordnet {

struct typing_mention {
  std::size_t start = 0;  // code points
  std::size_t end = 0;
  std::string entity;     // synset id
};

struct typing_instance {
  std::string text;  // the example sentence (UTF-8)
  typing_mention mention;
  std::string label;  // lexicographer file name
  // Not written to JSONL; used to select the rare subset.
  std::string lemma;             // the synset lemma whose form matched
  std::string matched;           // the matched text, as in `text`
  std::uint32_t tag_count = 0;   // index.sense tag_cnt of (lemma, synset); 0 if absent
};

struct typing_instances {
  std::vector<typing_instance> instances;
  std::size_t examples = 0;  // example sentences seen
  std::size_t dropped = 0;   // of those, without a match
};

// The instances of every synset of part of speech `pos` in `db`, in database
// order. `senses` gives the tag counts.
inline typing_instances build_typing_instances(const database& db, const morphology& morph,
                                               const std::vector<sense_entry>& senses, part_of_speech pos);

// Where the first form occurs in `text`, as code point offsets [start, end),
// under the matching rules above; `forms` in priority order for equal starts
// and lengths. Returns false if none occurs; `which` is the form's index.
inline bool find_first_form(std::string_view text, const std::vector<std::string>& forms, std::size_t& start,
                            std::size_t& end, std::size_t& which);

// Code points [start, end) of UTF-8 `text` (for checking offsets).
inline std::string substr_code_points(std::string_view text, std::size_t start, std::size_t end);

using piece_counter = std::function<std::size_t(std::string_view)>;

struct typing_splits {
  std::vector<typing_instance> train, dev, test, test_rare;
  std::size_t train_synsets = 0, dev_synsets = 0, test_synsets = 0;
};

// Entity-disjoint split of `instances` (see above). Throws kplug::error if
// the fractions are negative or sum above 1.
inline typing_splits split_by_entity(const std::vector<typing_instance>& instances, std::uint64_t seed,
                                     const piece_counter& pieces, double train_fraction = 0.8,
                                     double dev_fraction = 0.1);

// One JSONL line (without newline), keys in this order:
// {"text": ..., "mentions": [{"start": s, "end": e, "entity": id}], "label": ...}
inline std::string to_jsonl(const typing_instance& instance);
// Writes the instances as JSONL, atomically.
inline void write_jsonl(const std::string& path, const std::vector<typing_instance>& instances);
// Writes the lexicographer file names of `pos`, one per line, in file-number order.
inline void write_labels(const std::string& path, part_of_speech pos);

// ---------------------------------------------------------------------------
// Implementation

namespace detail {

inline std::vector<char32_t> decode_code_points(std::string_view s, std::vector<std::size_t>* byte_at = nullptr) {
  std::vector<char32_t> out;
  out.reserve(s.size());
  if (byte_at) byte_at->clear();
  for (std::size_t i = 0; i < s.size();) {
    const text::utf8_char c = text::decode_utf8(s, i);
    if (byte_at) byte_at->push_back(i);
    out.push_back(c.code_point);
    i += c.length;
  }
  if (byte_at) byte_at->push_back(s.size());
  return out;
}

inline char32_t lower(char32_t cp) noexcept {
  return static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp)));
}

inline bool is_word_char(char32_t cp) noexcept {
  if (cp < 0x80) return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9');
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME: case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
      return true;
    default:
      return false;
  }
}

inline std::string lower_utf8(std::string_view s) {
  std::string out;
  for (const char32_t cp : decode_code_points(s)) text::append_utf8(lower(cp), out);
  return out;
}

// Uniform on [0, bound) without modulo bias (rejection of the short last range).
inline std::uint64_t bounded(xoshiro256& rng, std::uint64_t bound) {
  const std::uint64_t limit = (0 - bound) % bound;  // 2^64 mod bound
  for (;;) {
    const std::uint64_t x = rng.next();
    if (x >= limit) return x % bound;
  }
}

}  // namespace detail

inline bool find_first_form(std::string_view text, const std::vector<std::string>& forms, std::size_t& start,
                            std::size_t& end, std::size_t& which) {
  std::vector<char32_t> t = detail::decode_code_points(text);
  for (char32_t& c : t) c = detail::lower(c);
  struct candidate {
    std::vector<char32_t> cps;
    std::size_t index;
  };
  std::vector<candidate> cands;
  for (std::size_t k = 0; k < forms.size(); ++k) {
    candidate c{detail::decode_code_points(forms[k]), k};
    for (char32_t& cp : c.cps) cp = detail::lower(cp);
    if (!c.cps.empty()) cands.push_back(std::move(c));
  }
  // Longest first; equal lengths keep the caller's priority order.
  std::stable_sort(cands.begin(), cands.end(),
                   [](const candidate& a, const candidate& b) { return a.cps.size() > b.cps.size(); });
  for (std::size_t i = 0; i < t.size(); ++i) {
    const bool word_before = i > 0 && detail::is_word_char(t[i - 1]);
    for (const candidate& c : cands) {
      const std::size_t n = c.cps.size();
      if (i + n > t.size()) continue;
      if (word_before && detail::is_word_char(c.cps.front())) continue;
      if (!std::equal(c.cps.begin(), c.cps.end(), t.begin() + static_cast<std::ptrdiff_t>(i))) continue;
      if (i + n < t.size() && detail::is_word_char(t[i + n]) && detail::is_word_char(c.cps.back())) continue;
      start = i;
      end = i + n;
      which = c.index;
      return true;
    }
  }
  return false;
}

inline std::string substr_code_points(std::string_view text, std::size_t start, std::size_t end) {
  std::vector<std::size_t> byte_at;
  detail::decode_code_points(text, &byte_at);
  const std::size_t n = byte_at.size() - 1;
  if (start > end || end > n)
    throw error("slice text", "code points [" + std::to_string(start) + ", " + std::to_string(end) + ")",
                "the text has " + std::to_string(n) + " code points");
  return std::string(text.substr(byte_at[start], byte_at[end] - byte_at[start]));
}

inline typing_instances build_typing_instances(const database& db, const morphology& morph,
                                               const std::vector<sense_entry>& senses, part_of_speech pos) {
  if (!db.has(pos))
    throw error("build supersense instances", "part of speech " + std::string(pos_file_suffix(pos)),
                "its data file is not loaded");
  std::unordered_map<std::string, std::uint32_t> tags;  // lower-case lemma \t synset -> tag_cnt
  for (const sense_entry& s : senses)
    if (s.pos == pos) tags[detail::lower_utf8(s.lemma) + "\t" + s.synset] = s.tag_count;

  typing_instances out;
  std::vector<std::string> forms;
  std::vector<std::size_t> lemma_of;  // form -> word index
  for (const synset& s : db.synsets()) {
    if (s.pos != pos || s.examples.empty()) continue;
    const lexicographer_file& file = lexicographer_file_at(s.lex_filenum);
    forms.clear();
    lemma_of.clear();
    for (std::size_t w = 0; w < s.words.size(); ++w)
      for (std::string& f : morph.forms(s.words[w].lemma, pos)) {
        forms.push_back(std::move(f));
        lemma_of.push_back(w);
      }
    for (const std::string& example : s.examples) {
      ++out.examples;
      std::size_t start = 0, end = 0, which = 0;
      if (!find_first_form(example, forms, start, end, which)) {
        ++out.dropped;
        continue;
      }
      typing_instance inst;
      inst.text = example;
      inst.mention = typing_mention{start, end, s.id};
      inst.label = std::string(file.name);
      inst.lemma = s.words[lemma_of[which]].lemma;
      inst.matched = substr_code_points(example, start, end);
      const auto it = tags.find(detail::lower_utf8(inst.lemma) + "\t" + s.id);
      inst.tag_count = it == tags.end() ? 0 : it->second;
      out.instances.push_back(std::move(inst));
    }
  }
  return out;
}

inline typing_splits split_by_entity(const std::vector<typing_instance>& instances, std::uint64_t seed,
                                     const piece_counter& pieces, double train_fraction, double dev_fraction) {
  if (!(train_fraction >= 0.0) || !(dev_fraction >= 0.0) || train_fraction + dev_fraction > 1.0)
    throw error("split supersense instances", "fractions",
                "train " + std::to_string(train_fraction) + " and dev " + std::to_string(dev_fraction) +
                    " must be non-negative and sum to at most 1");
  std::vector<std::string> synsets;
  std::unordered_set<std::string> seen;
  for (const typing_instance& i : instances)
    if (seen.insert(i.mention.entity).second) synsets.push_back(i.mention.entity);
  xoshiro256 rng(seed);
  for (std::size_t k = synsets.size(); k > 1; --k) std::swap(synsets[k - 1], synsets[detail::bounded(rng, k)]);
  const double n = static_cast<double>(synsets.size());
  const auto n_train = std::min(synsets.size(), static_cast<std::size_t>(std::llround(n * train_fraction)));
  const auto n_dev = std::min(synsets.size() - n_train, static_cast<std::size_t>(std::llround(n * dev_fraction)));
  std::unordered_map<std::string, int> split_of;
  for (std::size_t k = 0; k < synsets.size(); ++k) split_of[synsets[k]] = k < n_train ? 0 : k < n_train + n_dev ? 1 : 2;
  typing_splits out;
  out.train_synsets = n_train;
  out.dev_synsets = n_dev;
  out.test_synsets = synsets.size() - n_train - n_dev;
  for (const typing_instance& i : instances) {
    switch (split_of[i.mention.entity]) {
      case 0: out.train.push_back(i); break;
      case 1: out.dev.push_back(i); break;
      default:
        out.test.push_back(i);
        if (i.tag_count <= 1 || (pieces && pieces(i.matched) >= 3)) out.test_rare.push_back(i);
        break;
    }
  }
  return out;
}

inline std::string to_jsonl(const typing_instance& i) {
  nlohmann::ordered_json j;
  j["text"] = i.text;
  nlohmann::ordered_json m;
  m["start"] = i.mention.start;
  m["end"] = i.mention.end;
  m["entity"] = i.mention.entity;
  j["mentions"] = nlohmann::ordered_json::array({m});
  j["label"] = i.label;
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

inline void write_jsonl(const std::string& path, const std::vector<typing_instance>& instances) {
  std::string out;
  for (const typing_instance& i : instances) out.append(to_jsonl(i)) += '\n';
  write_file_atomically(path, out);
}

inline void write_labels(const std::string& path, part_of_speech pos) {
  std::string out;
  for (const std::string_view name : lexicographer_names(pos)) out.append(name) += '\n';
  write_file_atomically(path, out);
}

}  // namespace kplug::wordnet
