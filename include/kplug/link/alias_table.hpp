// The alias table: surface forms ("new york city", "NYC") -> candidate
// entities with prior counts (how often the form referred to each entity,
// e.g. Wikipedia anchor counts or WordNet sense counts).
//
// Keys are word sequences: alias text is split with text::split_words and each
// word is case-folded with the table's folding function (default
// text::case_fold; a customisation point so the full Unicode folding can be
// swapped in), so "New York", "new  york" and "NEW YORK" are one alias.
//
// Storage, designed for millions of aliases:
//   * each distinct folded alias word is interned once into a dense word handle;
//   * aliases form a trie over word handles: the root's children are a flat array
//     indexed by word handle, deeper edges live in one open-addressing hash map
//     keyed by (node, word handle);
//   * each alias node owns a contiguous range of one flat candidate array,
//     kept sorted by descending count, then entity id string (so the order,
//     and therefore the default choice, does not depend on row order);
//   * entity id strings are interned once; candidates refer to them by handle.
// Adding the same (alias, entity) pair again adds the counts (TSV files that
// list one pair per source document can be read as they are). Counts are
// 32-bit per (alias, entity) pair (a larger value or sum is an error); totals
// per alias are 64-bit and cannot overflow.
//
// Two ways to fill a table:
//   * alias_table::add keeps the table query-ready after every call; it costs
//     O(candidates of that alias), fine for incremental or small tables;
//   * alias_table_builder (and read_alias_table, which loads the same way) appends rows
//     in O(1) and merges and sorts every candidate list once in build():
//     use it for bulk loading (a 1M-alias table in seconds).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kplug/core/error.hpp"
#include "kplug/core/limits.hpp"
#include "kplug/io/mapped_file.hpp"
#include "kplug/io/text_lines.hpp"
#include "kplug/link/detail/flat_tables.hpp"
#include "kplug/text/case_fold.hpp"
#include "kplug/text/words.hpp"

namespace kplug::link {

// Folds one word into `out` (replacing its contents). Must be deterministic;
// the table and every linker over it use the same one.
using fold_function = std::function<void(std::string_view word, std::string& out)>;

// text::case_fold as a fold_function.
inline fold_function default_fold();

// Handles are the dense numbers a table interns strings as: not knowledge-base
// rows, and meaningful only within the table that issued them.
using entity_handle = std::uint32_t;  // an interned entity id string
using word_handle = std::uint32_t;    // an interned folded alias word
using node_index = std::uint32_t;     // a trie node (an alias or a prefix of one)
inline constexpr std::uint32_t no_index = detail::npos32;

// One stored candidate: the interned entity and its prior count.
struct candidate {
  entity_handle entity = 0;
  std::uint32_t count = 0;
};

// A candidate as the disambiguation hook sees it.
struct candidate_ref {
  std::string_view entity;
  std::uint64_t count = 0;
};

class alias_table;
class alias_table_builder;
class linker;

// The candidates of one alias, best prior first. A view into the table:
// valid until the table is next modified or moved.
class candidate_list {
 public:
  candidate_list() = default;

  std::size_t size() const noexcept { return entries_.size(); }
  bool empty() const noexcept { return entries_.empty(); }
  // Unchecked (i < size()); at() checks.
  candidate_ref operator[](std::size_t i) const noexcept;
  candidate_ref at(std::size_t i) const;
  // Sum of the counts of all candidates of the alias.
  std::uint64_t total_count() const noexcept { return total_; }
  // count(i) / total_count(); 0 when every count is 0.
  float score(std::size_t i) const noexcept;
  std::span<const candidate> entries() const noexcept { return entries_; }

 private:
  friend class alias_table;
  candidate_list(const alias_table* table, std::span<const candidate> entries, std::uint64_t total) noexcept
      : table_(table), entries_(entries), total_(total) {}

  const alias_table* table_ = nullptr;
  std::span<const candidate> entries_;
  std::uint64_t total_ = 0;
};

class alias_table {
 public:
  alias_table() : alias_table(default_fold()) {}
  explicit alias_table(fold_function fold);

  // Adds `count` to the prior of `entity` for `alias`. Throws kplug::error if
  // the alias or entity is empty, the alias has no words (only whitespace),
  // or the pair's count (with earlier adds) exceeds 2^32 - 1. On error the
  // table stays valid and its aliases and candidates are unchanged.
  void add(std::string_view alias, std::string_view entity, std::uint64_t count);

  // Whether the folding is text::case_fold (the linker then calls it directly).
  bool uses_default_fold() const noexcept;

  std::size_t alias_count() const noexcept { return terminals_.size(); }
  std::size_t entity_count() const noexcept { return entities_.size(); }
  std::size_t word_count() const noexcept { return words_.size(); }
  std::size_t max_alias_words() const noexcept { return max_alias_words_; }
  bool empty() const noexcept { return terminals_.empty(); }

  // The candidates of `alias_text` (split and folded like added aliases);
  // empty if it is not an alias. For inspection; the linker walks the trie.
  candidate_list candidates(std::string_view alias_text) const;

  // The id string of an interned entity (checked).
  std::string_view entity_name(entity_handle entity) const;
  // The handle of an entity id string, or no_index.
  entity_handle find_entity(std::string_view entity) const noexcept { return entities_.find(entity); }

  const fold_function& fold() const noexcept { return fold_; }

  // Approximate heap bytes held by the table.
  std::size_t memory_bytes() const noexcept;
  // Compacts the candidate array and releases spare capacity (read_alias_table
  // calls it when done).
  void shrink_to_fit();

  // --- Trie access: what the linker walks (and what a custom linker may use).
  static constexpr node_index root = 0;
  // The handle of an already folded word, or no_index if no alias contains it.
  word_handle find_word(std::string_view folded_word) const noexcept { return words_.find(folded_word); }
  // The node reached from `node` by `word`, or no_index.
  node_index child(node_index node, word_handle word) const noexcept;
  bool is_alias(node_index node) const noexcept { return (node_info_[node] & terminal_mask) != terminal_mask; }
  bool has_children(node_index node) const noexcept { return (node_info_[node] & children_bit) != 0; }
  // The candidates of the alias ending at `node`; empty for a mere prefix.
  candidate_list candidates_at(node_index node) const noexcept;

 private:
  // node_info_: the low 31 bits index terminals_ (all ones: not an alias);
  // the top bit says whether the node has children (lets the linker stop
  // without a hash lookup at leaf aliases, the most common case).
  static constexpr std::uint32_t terminal_mask = 0x7FFFFFFFu;
  static constexpr std::uint32_t children_bit = 0x80000000u;
  static constexpr std::uint64_t max_count = 0xFFFFFFFFu;

  struct terminal {
    std::uint64_t total = 0;   // sum of counts
    std::uint32_t begin = 0;   // range in arena_
    std::uint32_t size = 0;
    std::uint32_t capacity = 0;
  };

  // `bulk`: append without merging or sorting (alias_table_builder), else
  // keep the candidate list merged and sorted.
  template <class Where>
  void add_impl(std::string_view alias, std::string_view entity, std::uint64_t count, bool bulk,
                const char* what, const Where& where);
  // Merges duplicate entities and sorts every candidate list (after bulk adds).
  template <class Where>
  void merge_and_sort(const char* what, const Where& where);
  bool before(const candidate& a, const candidate& b) const noexcept;
  void reserve_slot(terminal& t);
  void compact(bool exact);

  friend class candidate_list;
  friend class alias_table_builder;
  friend class linker;  // walks the internals stage by stage, with prefetches
  friend alias_table read_alias_table(const std::string& path, fold_function fold, const input_limits& limits);

  fold_function fold_;
  detail::string_interner words_;
  detail::string_interner entities_;
  std::vector<node_index> root_child_;   // indexed by word handle
  detail::edge_map edges_;               // deeper edges
  std::vector<std::uint32_t> node_info_;
  std::vector<terminal> terminals_;
  std::vector<candidate> arena_;
  std::size_t garbage_ = 0;              // arena slots left behind by relocation
  std::size_t max_alias_words_ = 0;

  // Scratch for add(), so reading a million rows does not allocate per row.
  std::vector<text::word> split_;
  std::string folded_;
  std::vector<word_handle> ids_;
};

// Bulk loading: add() appends a row in O(1) (no merging or sorting yet);
// build() merges duplicate (alias, entity) rows, sorts every candidate list
// once and returns the query-ready table. Errors as alias_table::add, except
// that a pair whose summed count exceeds 2^32 - 1 is reported by build().
class alias_table_builder {
 public:
  alias_table_builder() = default;
  explicit alias_table_builder(fold_function fold) : table_(std::move(fold)) {}

  void add(std::string_view alias, std::string_view entity, std::uint64_t count) {
    table_.add_impl(alias, entity, count, true, "add alias", [] { return std::string("alias_table_builder::add"); });
  }
  std::size_t alias_count() const noexcept { return table_.alias_count(); }
  // The finished table; the builder is left empty.
  alias_table build();

 private:
  alias_table table_;
};

// Reads a TSV file of `alias<TAB>entity<TAB>count` lines (count: a
// non-negative base-10 integer). Empty lines are skipped; an empty file gives
// an empty, usable table (linking against it finds nothing). Errors name the
// file and line: wrong number of fields, empty alias or entity, a count that
// is not a non-negative integer, an alias with no words, a count above
// 2^32 - 1, a line longer than limits.max_alias_line_bytes; a pair whose
// counts sum above 2^32 - 1 names the file and entity.
inline alias_table read_alias_table(const std::string& path, fold_function fold = default_fold(),
                                    const input_limits& limits = {});

// The rows of such a file, checked as read_alias_table checks them (line
// length, fields, count): row(alias, entity, count, line) for each non-empty
// line, in file order. For readers that want the rows as written (the alias
// table keeps folded aliases only).
template <class Row>
void for_each_alias_row(const std::string& path, const input_limits& limits, Row&& row);

// ---------------------------------------------------------------------------
// Implementation

namespace detail {
inline void default_fold_function(std::string_view word, std::string& out);
}  // namespace detail

inline fold_function default_fold() { return &detail::default_fold_function; }

inline candidate_ref candidate_list::operator[](std::size_t i) const noexcept {
  return candidate_ref{table_->entities_.get(entries_[i].entity), entries_[i].count};
}

inline candidate_ref candidate_list::at(std::size_t i) const {
  if (i >= entries_.size())
    throw error("read candidate", "index " + std::to_string(i),
                "the alias has only " + std::to_string(entries_.size()) + " candidates");
  return (*this)[i];
}

inline float candidate_list::score(std::size_t i) const noexcept {
  if (total_ == 0) return 0.0f;
  return static_cast<float>(static_cast<double>(entries_[i].count) / static_cast<double>(total_));
}

inline alias_table::alias_table(fold_function fold) : fold_(std::move(fold)) {
  if (!fold_) throw error("create alias table", "argument 'fold'", "the folding function is empty");
  node_info_.push_back(terminal_mask);  // the root: never an alias itself
}

inline void alias_table::add(std::string_view alias, std::string_view entity, std::uint64_t count) {
  add_impl(alias, entity, count, false, "add alias", [] { return std::string("alias_table::add"); });
}

namespace detail {
inline void default_fold_function(std::string_view word, std::string& out) { text::case_fold(word, out); }
}  // namespace detail

inline bool alias_table::uses_default_fold() const noexcept {
  using fn = void (*)(std::string_view, std::string&);
  const fn* target = fold_.target<fn>();
  return target != nullptr && *target == &detail::default_fold_function;
}

inline bool alias_table::before(const candidate& a, const candidate& b) const noexcept {
  if (a.count != b.count) return a.count > b.count;
  return entities_.get(a.entity) < entities_.get(b.entity);
}

template <class Where>
void alias_table::add_impl(std::string_view alias, std::string_view entity, std::uint64_t count, bool bulk,
                           const char* what, const Where& where) {
  if (alias.empty()) throw error(what, where(), "alias (field 1) is empty");
  if (entity.empty()) throw error(what, where(), "entity (field 2) is empty");
  if (count > max_count)
    throw error(what, where(), "count " + std::to_string(count) + " is larger than 2^32 - 1");
  text::split_words(alias, split_);
  if (split_.empty())
    throw error(what, where(), "alias '" + std::string(alias) + "' has no words (only whitespace)");

  // Find the alias node, if it exists, without changing anything, so that
  // the checks below fail with the table untouched.
  ids_.clear();
  node_index node = root;
  for (const text::word& w : split_) {
    fold_(w.text, folded_);
    const word_handle id = words_.find(folded_);
    ids_.push_back(id);
    if (node != no_index) node = id == no_index ? no_index : child(node, id);
  }
  const entity_handle existing_entity = entities_.find(entity);
  std::size_t pos = no_index;  // the pair's position in its sorted list (not bulk)
  if (!bulk && node != no_index && is_alias(node) && existing_entity != no_index) {
    const terminal& t = terminals_[node_info_[node] & terminal_mask];
    for (std::size_t k = 0; k < t.size; ++k)
      if (arena_[t.begin + k].entity == existing_entity) {
        pos = k;
        if (count > max_count - arena_[t.begin + k].count)
          throw error(what, where(),
                      "the counts of alias '" + std::string(alias) + "' for entity '" + std::string(entity) +
                          "' sum to more than 2^32 - 1");
        break;
      }
  }
  if ((node == no_index || !is_alias(node)) && terminals_.size() >= terminal_mask)
    throw error(what, where(), "more than 2^31 - 1 aliases");

  // Create the missing words and trie nodes.
  if (node == no_index) {
    node = root;
    for (std::size_t k = 0; k < split_.size(); ++k) {
      word_handle id = ids_[k];
      if (id == no_index) {
        fold_(split_[k].text, folded_);
        id = words_.insert(folded_);
        if (id >= root_child_.size()) root_child_.resize(std::size_t{id} + 1, no_index);
      }
      node_index next = child(node, id);
      if (next == no_index) {
        if (node_info_.size() >= no_index) throw error(what, where(), "more than 2^32 - 1 trie nodes");
        next = static_cast<node_index>(node_info_.size());
        node_info_.push_back(terminal_mask);
        if (node == root)
          root_child_[id] = next;
        else
          edges_.insert(node, id, next);
        node_info_[node] |= children_bit;
      }
      node = next;
    }
  }
  if (!is_alias(node)) {
    node_info_[node] = (node_info_[node] & children_bit) | static_cast<std::uint32_t>(terminals_.size());
    terminals_.push_back(terminal{0, static_cast<std::uint32_t>(arena_.size()), 0, 0});
    if (split_.size() > max_alias_words_) max_alias_words_ = split_.size();
  }
  const std::size_t t_index = node_info_[node] & terminal_mask;
  const entity_handle e = existing_entity != no_index ? existing_entity : entities_.insert(entity);
  const auto c = static_cast<std::uint32_t>(count);

  terminal* t = &terminals_[t_index];
  if (pos != no_index) {
    arena_[t->begin + pos].count += c;
  } else {
    reserve_slot(*t);
    t = &terminals_[t_index];
    pos = t->size;
    arena_[t->begin + pos] = candidate{e, c};
    ++t->size;
  }
  // At most 2^32 - 1 entries of at most 2^32 - 1 each: the total fits 64 bits.
  t->total += c;
  if (bulk) return;
  // The changed entry only moves towards the front (its count grew, or it is
  // new at the back): one insertion-sort pass keeps the list sorted.
  candidate* range = arena_.data() + t->begin;
  while (pos > 0 && before(range[pos], range[pos - 1])) {
    std::swap(range[pos], range[pos - 1]);
    --pos;
  }
}

template <class Where>
void alias_table::merge_and_sort(const char* what, const Where& where) {
  for (terminal& t : terminals_) {
    candidate* range = arena_.data() + t.begin;
    std::sort(range, range + t.size,
              [](const candidate& a, const candidate& b) { return a.entity < b.entity; });
    std::size_t out = 0;
    for (std::size_t k = 0; k < t.size; ++k) {
      if (out > 0 && range[out - 1].entity == range[k].entity) {
        if (range[k].count > max_count - range[out - 1].count)
          throw error(what, where(),
                      "the counts for entity '" + std::string(entities_.get(range[k].entity)) +
                          "' of one alias sum to more than 2^32 - 1");
        range[out - 1].count += range[k].count;
      } else {
        range[out++] = range[k];
      }
    }
    t.size = static_cast<std::uint32_t>(out);
    std::sort(range, range + out, [this](const candidate& a, const candidate& b) { return before(a, b); });
  }
}

inline alias_table alias_table_builder::build() {
  table_.merge_and_sort("build alias table", [] { return std::string("alias_table_builder::build"); });
  table_.shrink_to_fit();
  alias_table out(std::move(table_));
  table_ = alias_table(out.fold());
  return out;
}

inline void alias_table::reserve_slot(terminal& t) {
  if (t.size < t.capacity) return;
  if (std::size_t{t.begin} + t.capacity == arena_.size()) {  // last range: grow in place
    if (arena_.size() >= no_index) throw error("add alias", "candidate array", "more than 2^32 - 1 candidates");
    arena_.emplace_back();
    ++t.capacity;
    return;
  }
  // Move the range to the end with doubled capacity, like a vector would.
  const std::size_t new_capacity = t.capacity < 2 ? 2 : std::size_t{t.capacity} * 2;
  const std::size_t new_begin = arena_.size();
  if (new_begin + new_capacity >= no_index)
    throw error("add alias", "candidate array", "more than 2^32 - 1 candidates");
  arena_.resize(new_begin + new_capacity);
  for (std::size_t k = 0; k < t.size; ++k) arena_[new_begin + k] = arena_[t.begin + k];
  garbage_ += t.capacity;
  t.begin = static_cast<std::uint32_t>(new_begin);
  t.capacity = static_cast<std::uint32_t>(new_capacity);
  if (garbage_ > 4096 && garbage_ * 2 > arena_.size()) compact(false);
}

inline void alias_table::compact(bool exact) {
  std::vector<candidate> packed;
  std::size_t needed = 0;
  for (const terminal& t : terminals_) needed += exact ? t.size : t.capacity;
  packed.reserve(needed);
  for (terminal& t : terminals_) {
    const auto begin = static_cast<std::uint32_t>(packed.size());
    packed.insert(packed.end(), arena_.begin() + t.begin, arena_.begin() + t.begin + t.size);
    if (!exact) packed.resize(packed.size() + (t.capacity - t.size));
    t.begin = begin;
    if (exact) t.capacity = t.size;
  }
  arena_.swap(packed);
  garbage_ = 0;
}

inline void alias_table::shrink_to_fit() {
  compact(true);
  arena_.shrink_to_fit();
  terminals_.shrink_to_fit();
  node_info_.shrink_to_fit();
  root_child_.shrink_to_fit();
  words_.shrink_to_fit();
  entities_.shrink_to_fit();
}

inline node_index alias_table::child(node_index node, word_handle word) const noexcept {
  if (node == root) return word < root_child_.size() ? root_child_[word] : no_index;
  if (!has_children(node)) return no_index;
  return edges_.find(node, word);
}

inline candidate_list alias_table::candidates_at(node_index node) const noexcept {
  if (node >= node_info_.size() || !is_alias(node)) return {};
  const terminal& t = terminals_[node_info_[node] & terminal_mask];
  return candidate_list(this, std::span<const candidate>(arena_.data() + t.begin, t.size), t.total);
}

inline candidate_list alias_table::candidates(std::string_view alias_text) const {
  const std::vector<text::word> words = text::split_words(alias_text);
  if (words.empty()) return {};
  std::string folded;
  node_index node = root;
  for (const text::word& w : words) {
    fold_(w.text, folded);
    const word_handle id = words_.find(folded);
    if (id == no_index) return {};
    node = child(node, id);
    if (node == no_index) return {};
  }
  return candidates_at(node);
}

inline std::string_view alias_table::entity_name(entity_handle entity) const {
  if (entity >= entities_.size())
    throw error("look up entity", "index " + std::to_string(entity),
                "the table has " + std::to_string(entities_.size()) + " entities");
  return entities_.get(entity);
}

inline std::size_t alias_table::memory_bytes() const noexcept {
  return words_.memory_bytes() + entities_.memory_bytes() + root_child_.capacity() * sizeof(node_index) +
         edges_.memory_bytes() + node_info_.capacity() * sizeof(std::uint32_t) +
         terminals_.capacity() * sizeof(terminal) + arena_.capacity() * sizeof(candidate);
}

namespace detail {
inline constexpr const char* read_alias_table_what = "read alias table";
}  // namespace detail

template <class Row>
void for_each_alias_row(const std::string& path, const input_limits& limits, Row&& row) {
  constexpr const char* what = detail::read_alias_table_what;
  const io::mapped_file file(path);
  std::vector<std::string_view> fields;
  io::for_each_line(file.text(), [&](std::string_view line, std::uint64_t number) {
    if (line.empty()) return;
    if (line.size() > limits.max_alias_line_bytes)
      throw limit_exceeded(what, at_line(path, number), "a line of " + std::to_string(line.size()) + " bytes",
                           limits.max_alias_line_bytes, "max_alias_line_bytes");
    io::split_fields(line, '\t', fields);
    if (fields.size() != 3)
      throw error(what, at_line(path, number),
                  "expected 3 tab-separated fields (alias, entity, count), found " +
                      std::to_string(fields.size()));
    const std::string_view count_field = fields[2];
    if (count_field.size() > 1 && count_field[0] == '-' &&
        count_field.find_first_not_of("0123456789", 1) == std::string_view::npos)
      throw error(what, at_line(path, number), "count '" + std::string(count_field) + "' is negative");
    row(fields[0], fields[1], io::parse_integer<std::uint64_t>(count_field, path, number, what, "count"), number);
  });
}

inline alias_table read_alias_table(const std::string& path, fold_function fold, const input_limits& limits) {
  constexpr const char* what = detail::read_alias_table_what;
  alias_table table(std::move(fold));
  for_each_alias_row(path, limits,
                     [&](std::string_view alias, std::string_view entity, std::uint64_t count, std::uint64_t line) {
                       table.add_impl(alias, entity, count, true, what, [&] { return at_line(path, line); });
                     });
  table.merge_and_sort(what, [&] { return at_file(path); });
  table.shrink_to_fit();
  return table;
}

}  // namespace kplug::link
