// word2vec / Wikipedia2Vec text format:
//   line 1: "<count> <dim>"
//   then count lines: "<name> <v1> ... <vdim>"
// Names may contain spaces (Wikipedia2Vec writes entities as
// "ENTITY/Barack_Obama", and titles with spaces exist): the LAST dim fields of
// a line are the vector and everything before them (minus the separating
// blanks) is the name. Consequence: a line with too MANY values cannot be told
// from a name ending in numbers, so only too few values are detectable.
// Fields are separated by spaces or tabs; trailing blanks (word2vec.c writes a
// space after the last value) are ignored. Values are parsed with
// std::from_chars (locale-free) and must be finite.
#pragma once

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "kplug/core/error.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/io/mapped_file.hpp"
#include "kplug/io/text_lines.hpp"
#include "kplug/kb/embedding_table.hpp"
#include "kplug/kb/entity_index.hpp"

namespace kplug::kb {

struct word2vec_table {
  entity_index index;     // name -> row (row = order in the file)
  embedding_table table;  // owned float32, count x dim
};

word2vec_table parse_word2vec_text(std::string_view text, const std::string& path);
word2vec_table read_word2vec_text(const std::string& path);

// ---------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------

namespace detail {

constexpr bool is_blank(char c) noexcept { return c == ' ' || c == '\t'; }

inline std::string_view trim_blanks_right(std::string_view s) noexcept {
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace detail

inline word2vec_table parse_word2vec_text(std::string_view text, const std::string& path) {
  constexpr const char* what = "read word2vec text";
  if (text.empty()) throw error(what, at_file(path), "empty file (expected '<count> <dim>' on line 1)");

  std::int64_t count = -1;
  std::int64_t dim = -1;
  matrix<float> values;
  entity_index index(path);
  std::int64_t row = 0;
  io::for_each_line(text, [&](std::string_view raw, std::uint64_t lineno) {
    const std::string_view line = detail::trim_blanks_right(raw);
    if (lineno == 1) {
      const std::size_t cut = line.find(' ');
      if (line.empty() || cut == std::string_view::npos || line.find(' ', cut + 1) != std::string_view::npos)
        throw error(what, at_line(path, 1), "line 1 must be '<count> <dim>', found '" + std::string(line) + "'");
      count = io::parse_integer<std::int64_t>(line.substr(0, cut), path, 1, what, "count");
      dim = io::parse_integer<std::int64_t>(line.substr(cut + 1), path, 1, what, "dim");
      if (count < 0 || dim <= 0)
        throw error(what, at_line(path, 1),
                    "count must be >= 0 and dim > 0, got " + std::to_string(count) + " and " + std::to_string(dim));
      // A lying header must not make us allocate: every value takes at least
      // two bytes of text ("0 "), so count * dim is bounded by the file size.
      const auto cap = static_cast<std::int64_t>(text.size() / 2);
      if (count > 0 && (dim > cap || count > cap / dim))
        throw error(what, at_line(path, 1),
                    "header promises " + std::to_string(count) + " x " + std::to_string(dim) +
                        " values, more than the " + std::to_string(text.size()) + "-byte file can hold");
      values = matrix<float>(count, dim);
      index.reserve(static_cast<std::size_t>(count));
      return;
    }
    if (line.empty()) throw error(what, at_line(path, lineno), "empty line");
    if (row >= count)
      throw error(what, at_line(path, lineno),
                  "more vectors than the count " + std::to_string(count) + " on line 1");
    // Take `dim` fields from the end.
    std::size_t end = line.size();
    float* out = values.row(row).data();
    for (std::int64_t k = dim - 1; k >= 0; --k) {
      std::size_t begin = end;
      while (begin > 0 && !detail::is_blank(line[begin - 1])) --begin;
      if (begin == 0)
        throw error(what, at_line(path, lineno),
                    "expected a name and " + std::to_string(dim) + " values, found " +
                        (begin == end ? std::to_string(dim - 1 - k) : std::to_string(dim - k)) +
                        " fields in all");
      const char* first = line.data() + begin;
      const char* last = line.data() + end;
      float v = 0.0f;
      const auto [ptr, ec] = std::from_chars(first, last, v);
      if (ec == std::errc::result_out_of_range || (ec == std::errc() && ptr == last && !std::isfinite(v)))
        throw error(what, at_line(path, lineno),
                    "value " + std::to_string(k + 1) + " '" + std::string(first, last) + "' is not a finite float");
      if (ec != std::errc() || ptr != last)
        throw error(what, at_line(path, lineno),
                    "value " + std::to_string(k + 1) + " '" + std::string(first, last) + "' is not a number");
      out[k] = v;
      end = begin;
      while (end > 0 && detail::is_blank(line[end - 1])) --end;
    }
    const std::string_view name = line.substr(0, end);
    if (name.empty())
      throw error(what, at_line(path, lineno),
                  "the line has " + std::to_string(dim) + " values but no name");
    if (const auto existing = index.find(name))
      throw error(what, at_line(path, lineno),
                  "duplicate name '" + std::string(name) + "' (first on line " + std::to_string(*existing + 2) + ")");
    index.add(std::string(name), row);
    ++row;
  });
  if (row != count)
    throw error(what, at_file(path),
                "line 1 says " + std::to_string(count) + " vectors but the file has " + std::to_string(row));
  return {std::move(index), embedding_table(std::move(values), path)};
}

inline word2vec_table read_word2vec_text(const std::string& path) {
  const io::mapped_file file(path);
  return parse_word2vec_text(file.text(), path);
}

}  // namespace kplug::kb
