// Line-oriented reading of text tables (TSV, entity2id.txt, word2vec text)
// with 1-based line numbers for error messages. Lines are views into a memory
// map, so reading a million-line table allocates nothing per line.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kplug/core/error.hpp"
#include "kplug/io/mapped_file.hpp"

namespace kplug::io {

// Calls `fn(line, line_number)` for every line of `text`, without its "\n" or
// "\r\n". A final line without a newline is still a line; an empty file has none.
template <class Fn>
void for_each_line(std::string_view text, Fn&& fn) {
  std::uint64_t number = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    fn(line, ++number);
    pos = nl + 1;
  }
}

// Splits `line` at every `sep` (empty fields kept).
inline void split_fields(std::string_view line, char sep, std::vector<std::string_view>& out) {
  out.clear();
  std::size_t pos = 0;
  for (;;) {
    const std::size_t next = line.find(sep, pos);
    if (next == std::string_view::npos) {
      out.push_back(line.substr(pos));
      return;
    }
    out.push_back(line.substr(pos, next - pos));
    pos = next + 1;
  }
}

// Parses a whole field as a base-10 integer; throws naming file and line.
template <class Int>
Int parse_integer(std::string_view field, const std::string& path, std::uint64_t line, const char* what,
                  const char* field_name) {
  Int value{};
  const char* first = field.data();
  const char* last = field.data() + field.size();
  const auto [ptr, ec] = std::from_chars(first, last, value);
  if (ec == std::errc::result_out_of_range)
    throw error(what, at_line(path, line),
                std::string(field_name) + " '" + std::string(field) + "' is out of range");
  if (ec != std::errc() || ptr != last || field.empty())
    throw error(what, at_line(path, line),
                std::string(field_name) + " '" + std::string(field) + "' is not an integer");
  return value;
}

}  // namespace kplug::io
