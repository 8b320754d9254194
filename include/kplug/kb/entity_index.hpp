// entity id string <-> knowledge-base row.
//
// Lookups take a std::string_view and allocate nothing (transparent hash),
// because the linker resolves every mention of every input through here.
//
// File formats:
// - OpenKE entity2id.txt: first line the entity count N, then N lines
//   "name<TAB>id" with ids a permutation of [0, N). A single space is also
//   accepted as the separator (some OpenKE files use it) but then the name
//   cannot contain a space: a line without a tab must have exactly two
//   space-separated fields. With a tab, names may contain spaces.
// - entity-rows TSV: lines "name<TAB>row", no count line; rows are any
//   distinct non-negative integers (a table may have unnamed rows).
// Lines end in "\n" or "\r\n"; empty lines, empty names, extra fields and
// duplicates are errors naming the file and line.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "kplug/core/error.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/core/types.hpp"
#include "kplug/io/mapped_file.hpp"
#include "kplug/io/text_lines.hpp"

namespace kplug::kb {

class entity_index {
 public:
  entity_index() = default;
  // `source`: where the entries came from (a path), used in messages.
  explicit entity_index(std::string source) : source_(std::move(source)) {}
  entity_index(const entity_index& other);
  entity_index& operator=(const entity_index& other);
  entity_index(entity_index&&) noexcept = default;
  entity_index& operator=(entity_index&&) noexcept = default;
  ~entity_index() = default;

  // Adds `name` -> `row`; throws on an empty name, a negative row, or a name
  // or row already present.
  void add(std::string name, row_index row);
  void reserve(std::size_t n);

  std::optional<row_index> find(std::string_view name) const noexcept;
  bool contains(std::string_view name) const noexcept { return find(name).has_value(); }
  // The row of `name`; throws naming the entity if it is unknown.
  row_index at(std::string_view name) const;
  // The name of `row`, or nullopt where no entity has that row.
  std::optional<std::string_view> name_of(row_index row) const noexcept;

  std::size_t size() const noexcept { return by_name_.size(); }
  bool empty() const noexcept { return by_name_.empty(); }
  // One past the largest row (0 when empty): the table needs at least this many rows.
  row_index rows_needed() const noexcept { return max_row_ + 1; }
  const std::string& source() const noexcept { return source_; }

  // Throws unless every row is < `table_rows`; the message names the
  // offending entity, this index's source and `table_path`.
  void check_against(index_t table_rows, std::string_view table_path) const;

  // Visits every (name, row) pair in unspecified order.
  template <class Fn>
  void for_each(Fn&& fn) const {
    for (const auto& [name, row] : by_name_) fn(std::string_view(name), row);
  }

 private:
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  using name_map = std::unordered_map<std::string, row_index, string_hash, std::equal_to<>>;

  void rebuild_rows();

  std::string source_;
  name_map by_name_;
  // Points at keys of by_name_ (node-based: stable across rehash and move).
  std::unordered_map<row_index, const std::string*> by_row_;
  row_index max_row_ = -1;
};

// Parsers over text already in memory (`path` names it in messages) and the
// file readers (which memory-map the file; nothing is read twice).
entity_index parse_openke_entity2id(std::string_view text, const std::string& path);
entity_index parse_entity_rows_tsv(std::string_view text, const std::string& path);
entity_index read_openke_entity2id(const std::string& path);
entity_index read_entity_rows_tsv(const std::string& path);

// True when the first line of `text` is a lone integer: an OpenKE entity2id
// file rather than an entity<TAB>row table.
bool looks_like_openke(std::string_view text) noexcept;

// ---------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------

inline entity_index::entity_index(const entity_index& other)
    : source_(other.source_), by_name_(other.by_name_), max_row_(other.max_row_) {
  rebuild_rows();
}

inline entity_index& entity_index::operator=(const entity_index& other) {
  if (this != &other) {
    entity_index copy(other);
    *this = std::move(copy);
  }
  return *this;
}

inline void entity_index::rebuild_rows() {
  by_row_.clear();
  by_row_.reserve(by_name_.size());
  for (const auto& kv : by_name_) by_row_.emplace(kv.second, &kv.first);
}

inline void entity_index::reserve(std::size_t n) {
  by_name_.reserve(n);
  by_row_.reserve(n);
}

inline void entity_index::add(std::string name, row_index row) {
  constexpr const char* what = "add entity to index";
  if (name.empty()) throw error(what, source_, "empty entity name");
  if (row < 0) throw error(what, source_, "entity '" + name + "' has negative row " + std::to_string(row));
  if (const auto r = by_row_.find(row); r != by_row_.end())
    throw error(what, source_,
                "row " + std::to_string(row) + " given to '" + name + "' already belongs to '" + *r->second + "'");
  const auto [it, inserted] = by_name_.try_emplace(std::move(name), row);
  if (!inserted)
    throw error(what, source_,
                "duplicate entity '" + it->first + "' (rows " + std::to_string(it->second) + " and " +
                    std::to_string(row) + ")");
  by_row_.emplace(row, &it->first);
  if (row > max_row_) max_row_ = row;
}

inline std::optional<row_index> entity_index::find(std::string_view name) const noexcept {
  const auto it = by_name_.find(name);
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

inline row_index entity_index::at(std::string_view name) const {
  const auto it = by_name_.find(name);
  if (it == by_name_.end())
    throw error("look up entity", source_, "unknown entity '" + std::string(name) + "'");
  return it->second;
}

inline std::optional<std::string_view> entity_index::name_of(row_index row) const noexcept {
  const auto it = by_row_.find(row);
  if (it == by_row_.end()) return std::nullopt;
  return std::string_view(*it->second);
}

inline void entity_index::check_against(index_t table_rows, std::string_view table_path) const {
  if (max_row_ < table_rows) return;
  throw error("check entity index against table", source_ + " vs " + std::string(table_path),
              "entity '" + std::string(*by_row_.at(max_row_)) + "' has row " + std::to_string(max_row_) +
                  " but the table has only " + std::to_string(table_rows) + " rows");
}

namespace detail {

// Splits "name<TAB>row" (or, when `allow_space`, "name row") into its two
// fields; throws naming the line on anything else.
inline std::pair<std::string_view, std::string_view> split_name_row(std::string_view line, const std::string& path,
                                                                    std::uint64_t lineno, bool allow_space,
                                                                    const char* what) {
  if (line.empty()) throw error(what, at_line(path, lineno), "empty line");
  char sep = '\t';
  std::size_t cut = line.find('\t');
  if (cut == std::string_view::npos) {
    if (!allow_space) throw error(what, at_line(path, lineno), "expected 'name<TAB>row', found no tab");
    sep = ' ';
    cut = line.find(' ');
    if (cut == std::string_view::npos)
      throw error(what, at_line(path, lineno), "expected 'name<TAB>id', found no tab or space separator");
  }
  const std::string_view name = line.substr(0, cut);
  const std::string_view row = line.substr(cut + 1);
  if (name.empty()) throw error(what, at_line(path, lineno), "empty entity name");
  if (row.find(sep) != std::string_view::npos)
    throw error(what, at_line(path, lineno),
                sep == '\t' ? std::string("trailing fields after 'name<TAB>row'")
                            : std::string("more than two space-separated fields; a name containing spaces "
                                          "needs a tab before the id"));
  if (row.empty()) throw error(what, at_line(path, lineno), "missing row after the separator");
  return {name, row};
}

inline std::string_view first_line(std::string_view text) noexcept {
  std::string_view line = text.substr(0, text.find('\n'));
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// Adds (name, row) read from line `lineno`, unless the name or the row is
// already in `index`: that throws, calling the number `noun` ("id", "row").
inline void add_unique(entity_index& index, std::string_view name, row_index row, const char* noun,
                       const char* what, const std::string& path, std::uint64_t lineno) {
  if (const auto existing = index.find(name))
    throw error(what, at_line(path, lineno),
                "duplicate entity '" + std::string(name) + "' (already has " + noun + " " +
                    std::to_string(*existing) + ")");
  if (const auto other = index.name_of(row))
    throw error(what, at_line(path, lineno),
                "duplicate " + std::string(noun) + " " + std::to_string(row) + ": '" + std::string(name) +
                    "' and '" + std::string(*other) + "'");
  index.add(std::string(name), row);
}

}  // namespace detail

inline bool looks_like_openke(std::string_view text) noexcept {
  const std::string_view line = detail::first_line(text);
  if (line.empty()) return false;
  for (const char c : line)
    if (c < '0' || c > '9') return false;
  return true;
}

inline entity_index parse_openke_entity2id(std::string_view text, const std::string& path) {
  constexpr const char* what = "read OpenKE entity2id";
  if (text.empty()) throw error(what, at_file(path), "empty file (expected the entity count on line 1)");
  entity_index index(path);
  std::int64_t count = -1;
  std::uint64_t entries = 0;
  io::for_each_line(text, [&](std::string_view line, std::uint64_t lineno) {
    if (lineno == 1) {
      if (line.empty()) throw error(what, at_line(path, 1), "line 1 must be the entity count, found an empty line");
      if (line.find_first_of("\t ") != std::string_view::npos)
        throw error(what, at_line(path, 1),
                    "line 1 must be the entity count alone (OpenKE format), found an entry; "
                    "use read_entity_rows_tsv for tables without a count line");
      count = io::parse_integer<std::int64_t>(line, path, 1, what, "entity count");
      if (count < 0) throw error(what, at_line(path, 1), "negative entity count " + std::to_string(count));
      // Never trust the count for allocation beyond what the file can hold
      // (each entry takes at least 4 bytes: "a\t0\n").
      index.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(static_cast<std::uint64_t>(count),
                                                                      text.size() / 4)));
      return;
    }
    const auto [name, row_text] = detail::split_name_row(line, path, lineno, true, what);
    const auto row = io::parse_integer<std::int64_t>(row_text, path, lineno, what, "entity id");
    if (++entries > static_cast<std::uint64_t>(count))
      throw error(what, at_line(path, lineno),
                  "more entries than the count " + std::to_string(count) + " on line 1");
    if (row < 0 || row >= count)
      throw error(what, at_line(path, lineno),
                  "id " + std::to_string(row) + " of '" + std::string(name) + "' is outside [0, " +
                      std::to_string(count) + ")");
    detail::add_unique(index, name, row, "id", what, path, lineno);
  });
  if (entries != static_cast<std::uint64_t>(count))
    throw error(what, at_file(path),
                "line 1 says " + std::to_string(count) + " entities but the file has " + std::to_string(entries));
  return index;
}

inline entity_index parse_entity_rows_tsv(std::string_view text, const std::string& path) {
  constexpr const char* what = "read entity<TAB>row table";
  if (text.empty()) throw error(what, at_file(path), "empty file (expected 'entity<TAB>row' lines)");
  entity_index index(path);
  index.reserve(text.size() / 16);
  io::for_each_line(text, [&](std::string_view line, std::uint64_t lineno) {
    const auto [name, row_text] = detail::split_name_row(line, path, lineno, false, what);
    const auto row = io::parse_integer<std::int64_t>(row_text, path, lineno, what, "row");
    if (row < 0)
      throw error(what, at_line(path, lineno),
                  "row " + std::to_string(row) + " of '" + std::string(name) + "' is negative");
    detail::add_unique(index, name, row, "row", what, path, lineno);
  });
  return index;
}

inline entity_index read_openke_entity2id(const std::string& path) {
  const io::mapped_file file(path);
  return parse_openke_entity2id(file.text(), path);
}

inline entity_index read_entity_rows_tsv(const std::string& path) {
  const io::mapped_file file(path);
  return parse_entity_rows_tsv(file.text(), path);
}

}  // namespace kplug::kb
