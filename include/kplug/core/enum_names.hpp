// An enum's values and their names in one list, read both ways: the name of
// a value (for messages and files), the value of a name (for options and
// files), and the list of names in an error. Each name is written once.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "kplug/core/error.hpp"

namespace kplug {

template <class Enum, std::size_t N>
struct enum_names {
  std::array<std::pair<Enum, std::string_view>, N> entries;

  // The name of `e`; "?" for a value outside the list (a cast integer).
  constexpr std::string_view name(Enum e) const noexcept {
    for (const auto& [value, text] : entries)
      if (value == e) return text;
    return "?";
  }

  // The value called `text`, if any.
  constexpr std::optional<Enum> find(std::string_view text) const noexcept {
    for (const auto& [value, spelled] : entries)
      if (spelled == text) return value;
    return std::nullopt;
  }

  constexpr bool contains(Enum e) const noexcept {
    for (const auto& entry : entries)
      if (entry.first == e) return true;
    return false;
  }

  // The names as a sentence: "a, b or c".
  std::string listing() const {
    std::string out;
    for (std::size_t i = 0; i < N; ++i) {
      if (i > 0) out += i + 1 == N ? " or " : ", ";
      out += entries[i].second;
    }
    return out;
  }

  // The value called `text`; otherwise throws kplug::error naming `text` and
  // listing the names: "<what>: '<text>': unknown <noun>; expected a, b or c".
  Enum parse(std::string_view text, const char* what, const char* noun) const {
    if (const std::optional<Enum> e = find(text)) return *e;
    throw error(what, "'" + std::string(text) + "'", "unknown " + std::string(noun) + "; expected " + listing());
  }
};

}  // namespace kplug
