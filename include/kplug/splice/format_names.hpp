// The splice formats by name: each factory of splice_format, spelled in
// kebab-case, as the command line, the examples and the docs write them.
//
//   entity-slash-mention   E / m      the paper's format (the usual default)
//   mention-slash-entity   m / E      E-BERT
//   replace-mention        E          the mention's pieces are dropped
//   mention-paren-entity   m ( E )    PELT, E at the position of "("
//
// Markers are not part of the name: add them with splice_format::with_markers.
// Plugin files store the format's elements, not its name (docs/plugin-file.md),
// so these names are a spelling for people and can change without breaking files.
#pragma once

#include <array>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "kplug/core/error.hpp"
#include "kplug/core/types.hpp"
#include "kplug/splice/format.hpp"

namespace kplug::splice {

inline constexpr std::array<std::string_view, 4> format_names{"entity-slash-mention", "mention-slash-entity",
                                                              "replace-mention", "mention-paren-entity"};

// The names above, comma-separated, for usage lines and messages.
std::string format_name_list();

bool is_format_name(std::string_view name) noexcept;

// The id of a literal token ("/", "(", ")") in the caller's vocabulary, or
// nullopt where it has none.
using token_lookup = std::function<std::optional<token_id>(std::string_view token)>;

// The format called `name`, its literal tokens found through `find_token`.
// Throws kplug::error for an unknown name, or a vocabulary without a token
// the format needs (naming the token).
splice_format format_named(std::string_view name, const token_lookup& find_token);

// ---------------------------------------------------------------- implementation

inline std::string format_name_list() {
  std::string list;
  for (const std::string_view n : format_names) list += (list.empty() ? "" : ", ") + std::string(n);
  return list;
}

inline bool is_format_name(std::string_view name) noexcept {
  for (const std::string_view n : format_names)
    if (n == name) return true;
  return false;
}

inline splice_format format_named(std::string_view name, const token_lookup& find_token) {
  constexpr const char* what = "choose the splice format";
  const std::string where = "format '" + std::string(name) + "'";
  if (!is_format_name(name)) throw error(what, where, "is not a format name (" + format_name_list() + ")");
  if (name == "replace-mention") return splice_format::replace_mention();
  auto token = [&](std::string_view literal) {
    const std::optional<token_id> id = find_token(literal);
    if (!id)
      throw error(what, where,
                  "the vocabulary has no \"" + std::string(literal) + "\" token, which this format needs");
    return *id;
  };
  if (name == "entity-slash-mention") return splice_format::entity_slash_mention(token("/"));
  if (name == "mention-slash-entity") return splice_format::mention_slash_entity(token("/"));
  const token_id open = token("(");
  return splice_format::mention_paren_entity(open, token(")"));
}

}  // namespace kplug::splice
