// Knowledge-graph triples for embedding training: reading a
// head<TAB>relation<TAB>tail file, a seeded held-out split, and the index of
// known true triples that "filtered" link prediction ranks against.
//
// Names (entity and relation strings, e.g. WordNet "n02084071" / "hypernym")
// are interned to dense int32 ids in order of first appearance, so id i is
// row i of the embedding tables a trainer writes. A graph is a set: a triple
// repeated in the file is kept once (and counted), otherwise a held-out copy
// could still be seen in training.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <numeric>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "kplug/core/error.hpp"
#include "kplug/core/random.hpp"
#include "kplug/io/mapped_file.hpp"
#include "kplug/io/text_lines.hpp"

namespace kplug::kge {

using entity_id = std::int32_t;
using relation_id = std::int32_t;

struct triple {
  entity_id head = 0;
  relation_id relation = 0;
  entity_id tail = 0;
  friend constexpr bool operator==(const triple&, const triple&) = default;
};

// Name <-> dense id, ids in order of first appearance.
class name_table {
 public:
  // The id of `name`, adding it if new.
  std::int32_t intern(std::string_view name);
  // The id of `name`, or -1.
  std::int32_t find(std::string_view name) const noexcept;
  const std::string& name(std::int32_t id) const { return names_.at(static_cast<std::size_t>(id)); }
  std::int32_t size() const noexcept { return static_cast<std::int32_t>(names_.size()); }
  const std::vector<std::string>& names() const noexcept { return names_; }

 private:
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  std::vector<std::string> names_;
  std::unordered_map<std::string, std::int32_t, string_hash, std::equal_to<>> ids_;
};

struct triple_set {
  name_table entities;
  name_table relations;
  std::vector<triple> triples;   // distinct, in file order
  std::uint64_t duplicates = 0;  // repeated lines dropped
};

// Parses text already in memory (`path` names it in messages). Blank lines
// are skipped; a line without exactly three non-empty tab-separated fields
// is an error naming the file and line.
triple_set parse_triples(std::string_view text, const std::string& path);
triple_set read_triples(const std::string& path);

struct triple_split {
  std::vector<triple> train;
  std::vector<triple> held_out;
};

// Holds out `count` triples chosen at random by `seed`, each such that its
// head, tail and relation still occur in the remaining training triples (an
// embedding of something never trained on cannot be evaluated). Both parts
// keep the input order. Same input and seed, same split. Throws when fewer
// than `count` triples can be held out under that condition.
triple_split split_held_out(std::span<const triple> triples, std::size_t count, std::uint64_t seed);

// The set of known true triples, for filtered ranking: per (head, relation)
// the known tails and per (relation, tail) the known heads, found by hash.
class triple_filter {
 public:
  triple_filter() = default;
  explicit triple_filter(std::span<const triple> triples) { add(triples); }
  // Adds triples (rebuilds the index; call with all parts before querying).
  void add(std::span<const triple> triples);

  bool contains(const triple& t) const noexcept;
  // Sorted, distinct; empty when none.
  std::span<const entity_id> tails(entity_id head, relation_id relation) const noexcept;
  std::span<const entity_id> heads(relation_id relation, entity_id tail) const noexcept;
  std::size_t size() const noexcept { return all_.size(); }

 private:
  struct range {
    std::uint32_t begin = 0;
    std::uint32_t end = 0;
  };
  static std::uint64_t key(std::int32_t a, std::int32_t b) noexcept {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) | static_cast<std::uint32_t>(b);
  }
  static void build(std::vector<std::pair<std::uint64_t, entity_id>>& pairs, std::vector<entity_id>& values,
                    std::unordered_map<std::uint64_t, range>& index);
  static std::span<const entity_id> lookup(const std::unordered_map<std::uint64_t, range>& index,
                                           const std::vector<entity_id>& values, std::uint64_t k) noexcept;

  std::vector<triple> all_;
  std::vector<entity_id> tail_values_, head_values_;
  std::unordered_map<std::uint64_t, range> tails_of_, heads_of_;
};

// ---------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------

inline std::int32_t name_table::intern(std::string_view name) {
  if (const auto it = ids_.find(name); it != ids_.end()) return it->second;
  if (names_.size() >= static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()))
    throw error("intern name", "", "more than 2^31 - 1 distinct names");
  const auto id = static_cast<std::int32_t>(names_.size());
  names_.emplace_back(name);
  ids_.emplace(names_.back(), id);
  return id;
}

inline std::int32_t name_table::find(std::string_view name) const noexcept {
  const auto it = ids_.find(name);
  return it == ids_.end() ? -1 : it->second;
}

namespace detail {
struct triple_hash {
  std::size_t operator()(const triple& t) const noexcept {
    std::uint64_t s = static_cast<std::uint32_t>(t.head) * 0x9E3779B97F4A7C15ull;
    s ^= static_cast<std::uint32_t>(t.relation) + 0x632BE59BD9B4E019ull + (s << 6) + (s >> 2);
    s ^= static_cast<std::uint32_t>(t.tail) * 0xBF58476D1CE4E5B9ull + (s << 6) + (s >> 2);
    return static_cast<std::size_t>(s ^ (s >> 31));
  }
};
}  // namespace detail

inline triple_set parse_triples(std::string_view text, const std::string& path) {
  constexpr const char* what = "read triples";
  triple_set out;
  std::unordered_set<triple, detail::triple_hash> seen;
  seen.reserve(text.size() / 24);
  out.triples.reserve(text.size() / 24);
  std::vector<std::string_view> fields;
  io::for_each_line(text, [&](std::string_view line, std::uint64_t lineno) {
    if (line.find_first_not_of(" \t") == std::string_view::npos) return;  // blank
    io::split_fields(line, '\t', fields);
    if (fields.size() != 3)
      throw error(what, at_line(path, lineno),
                  "expected 'head<TAB>relation<TAB>tail', found " + std::to_string(fields.size()) +
                      " tab-separated field" + (fields.size() == 1 ? "" : "s"));
    static constexpr const char* field_names[] = {"head", "relation", "tail"};
    for (std::size_t i = 0; i < 3; ++i)
      if (fields[i].empty()) throw error(what, at_line(path, lineno), std::string("empty ") + field_names[i]);
    triple t;
    t.head = out.entities.intern(fields[0]);
    t.relation = out.relations.intern(fields[1]);
    t.tail = out.entities.intern(fields[2]);
    if (seen.insert(t).second)
      out.triples.push_back(t);
    else
      ++out.duplicates;
  });
  if (out.triples.empty()) throw error(what, at_file(path), "no triples (the file is empty or blank)");
  return out;
}

inline triple_set read_triples(const std::string& path) {
  const io::mapped_file file(path);
  return parse_triples(file.text(), path);
}

inline triple_split split_held_out(std::span<const triple> triples, std::size_t count, std::uint64_t seed) {
  constexpr const char* what = "split off held-out triples";
  std::int32_t entities = 0, relations = 0;
  for (const triple& t : triples) {
    if (t.head < 0 || t.tail < 0 || t.relation < 0) throw error(what, "", "negative id in a triple");
    entities = std::max({entities, t.head + 1, t.tail + 1});
    relations = std::max(relations, t.relation + 1);
  }
  // Occurrences left in training; a triple may go only if it is not the last
  // occurrence of any of its parts.
  std::vector<std::uint32_t> entity_uses(static_cast<std::size_t>(entities), 0);
  std::vector<std::uint32_t> relation_uses(static_cast<std::size_t>(relations), 0);
  for (const triple& t : triples) {
    ++entity_uses[static_cast<std::size_t>(t.head)];
    ++entity_uses[static_cast<std::size_t>(t.tail)];
    ++relation_uses[static_cast<std::size_t>(t.relation)];
  }
  std::vector<std::size_t> order(triples.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  xoshiro256 rng(seed);
  for (std::size_t i = order.size(); i > 1; --i)  // Fisher-Yates
    std::swap(order[i - 1], order[static_cast<std::size_t>(rng.next() % i)]);

  std::vector<char> held(triples.size(), 0);
  std::size_t taken = 0;
  for (std::size_t k = 0; k < order.size() && taken < count; ++k) {
    const triple& t = triples[order[k]];
    auto& h = entity_uses[static_cast<std::size_t>(t.head)];
    auto& tl = entity_uses[static_cast<std::size_t>(t.tail)];
    auto& r = relation_uses[static_cast<std::size_t>(t.relation)];
    const std::uint32_t need = t.head == t.tail ? 3 : 2;  // a self-loop uses its entity twice
    if (r < 2 || h < need || tl < need) continue;
    --h;
    --tl;
    --r;
    held[order[k]] = 1;
    ++taken;
  }
  if (taken < count)
    throw error(what, "",
                "asked for " + std::to_string(count) + " held-out triples but only " + std::to_string(taken) +
                    " of " + std::to_string(triples.size()) +
                    " can be held out with every entity and relation still in training");
  triple_split out;
  out.train.reserve(triples.size() - taken);
  out.held_out.reserve(taken);
  for (std::size_t i = 0; i < triples.size(); ++i) (held[i] ? out.held_out : out.train).push_back(triples[i]);
  return out;
}

inline void triple_filter::build(std::vector<std::pair<std::uint64_t, entity_id>>& pairs,
                                 std::vector<entity_id>& values, std::unordered_map<std::uint64_t, range>& index) {
  std::sort(pairs.begin(), pairs.end());
  pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
  if (pairs.size() > std::numeric_limits<std::uint32_t>::max())
    throw error("build triple filter", "", "more than 2^32 - 1 triples");
  values.clear();
  values.reserve(pairs.size());
  index.clear();
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    values.push_back(pairs[i].second);
    range& r = index[pairs[i].first];
    if (r.end == 0) r.begin = static_cast<std::uint32_t>(i);
    r.end = static_cast<std::uint32_t>(i + 1);
  }
}

inline void triple_filter::add(std::span<const triple> triples) {
  all_.insert(all_.end(), triples.begin(), triples.end());
  std::vector<std::pair<std::uint64_t, entity_id>> pairs;
  pairs.reserve(all_.size());
  for (const triple& t : all_) pairs.emplace_back(key(t.head, t.relation), t.tail);
  build(pairs, tail_values_, tails_of_);
  pairs.clear();
  for (const triple& t : all_) pairs.emplace_back(key(t.relation, t.tail), t.head);
  build(pairs, head_values_, heads_of_);
}

inline std::span<const entity_id> triple_filter::lookup(const std::unordered_map<std::uint64_t, range>& index,
                                                        const std::vector<entity_id>& values,
                                                        std::uint64_t k) noexcept {
  const auto it = index.find(k);
  if (it == index.end()) return {};
  return std::span<const entity_id>(values).subspan(it->second.begin, it->second.end - it->second.begin);
}

inline std::span<const entity_id> triple_filter::tails(entity_id head, relation_id relation) const noexcept {
  return lookup(tails_of_, tail_values_, key(head, relation));
}

inline std::span<const entity_id> triple_filter::heads(relation_id relation, entity_id tail) const noexcept {
  return lookup(heads_of_, head_values_, key(relation, tail));
}

inline bool triple_filter::contains(const triple& t) const noexcept {
  const auto ts = tails(t.head, t.relation);
  return std::binary_search(ts.begin(), ts.end(), t.tail);
}

}  // namespace kplug::kge
