// Relation triples over synsets: head<TAB>relation<TAB>tail, from every
// pointer of the loaded synsets. Lexical pointers (between two words, source
// and target word numbers non-zero: antonym, derivation, pertainym, ...)
// become synset-level triples too, since the knowledge graph's entities are
// synsets; a triple that several pointers give is kept once, at its first
// occurrence (file order, then pointer order), so the output is deterministic.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "kplug/core/error.hpp"
#include "kplug/wordnet/database.hpp"
#include "kplug/wordnet/files.hpp"
#include "kplug/wordnet/pointer_symbols.hpp"

namespace kplug::wordnet {

struct triple {
  std::string head;      // synset id
  std::string relation;  // "hypernym"
  std::string tail;      // synset id
  friend bool operator==(const triple&, const triple&) = default;
};

// The triples among synsets of `parts` (each must be loaded in `db`): a
// pointer is kept only when both its source and target synsets are of those
// parts of speech, so a noun -> adjective pointer needs both loaded and asked
// for. A target whose part of speech is loaded but whose id is not in `db` is
// a kplug::error (a dangling pointer: the files are inconsistent).
inline std::vector<triple> build_triples(const database& db,
                                         std::span<const part_of_speech> parts = default_parts);

// How many triples each relation has, in pointer_symbols order, relations
// without triples left out.
inline std::vector<std::pair<std::string, std::size_t>> count_relations(const std::vector<triple>& triples);

// Writes head<TAB>relation<TAB>tail lines (no header) atomically.
inline void write_triples(const std::string& path, const std::vector<triple>& triples);

// ---------------------------------------------------------------------------
// Implementation

inline std::vector<triple> build_triples(const database& db, std::span<const part_of_speech> parts) {
  bool wanted[4] = {false, false, false, false};
  for (const part_of_speech pos : parts) {
    if (!db.has(pos))
      throw error("build WordNet triples", "part of speech " + std::string(pos_file_suffix(pos)),
                  "its data file is not loaded");
    wanted[static_cast<std::size_t>(pos)] = true;
  }
  std::vector<triple> out;
  std::unordered_set<std::string> seen;
  std::string key;
  for (const synset& s : db.synsets()) {
    if (!wanted[static_cast<std::size_t>(s.pos)]) continue;
    for (const synset_pointer& p : s.pointers) {
      const part_of_speech target_pos = pos_from_letter(p.target[0]);
      if (!wanted[static_cast<std::size_t>(target_pos)]) continue;
      if (db.find(p.target) == nullptr)
        throw error("build WordNet triples", "synset " + s.id,
                    "pointer '" + p.symbol + "' targets " + p.target + ", which is not in the data file");
      const std::string_view relation = *relation_name(p.symbol);  // checked when parsed
      key.assign(s.id).append("\t").append(relation).append("\t").append(p.target);
      if (!seen.insert(key).second) continue;
      out.push_back(triple{s.id, std::string(relation), p.target});
    }
  }
  return out;
}

inline std::vector<std::pair<std::string, std::size_t>> count_relations(const std::vector<triple>& triples) {
  std::vector<std::pair<std::string, std::size_t>> counts;
  for (const pointer_symbol& p : pointer_symbols) counts.emplace_back(std::string(p.relation), 0);
  for (const triple& t : triples)
    for (auto& [name, n] : counts)
      if (name == t.relation) {
        ++n;
        break;
      }
  std::erase_if(counts, [](const auto& c) { return c.second == 0; });
  return counts;
}

inline void write_triples(const std::string& path, const std::vector<triple>& triples) {
  std::string out;
  for (const triple& t : triples) out.append(t.head).append("\t").append(t.relation).append("\t").append(t.tail) += '\n';
  write_file_atomically(path, out);
}

}  // namespace kplug::wordnet
