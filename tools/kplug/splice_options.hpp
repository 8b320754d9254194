// --format: the splice format a subcommand builds mention groups with.
#pragma once

#include <kplug/core/error.hpp>
#include <kplug/splice/format.hpp>
#include <kplug/text/wordpiece_vocab.hpp>
#include <string>

#include "cli.hpp"

namespace kplug::cli {

inline void add_format_option(CLI::App& app, std::string& into, const std::string& help) {
  add_value(app, "--format", into, "NAME", help)
      ->check(one_of({"entity-slash-mention", "mention-slash-entity", "replace"}));
}

inline splice::splice_format parse_splice_format(const std::string& name, const text::wordpiece_vocab& vocab) {
  if (name == "replace") return splice::splice_format::replace_mention();
  const auto slash = vocab.find("/");
  if (!slash) throw error("choose the splice format", "vocab.txt", "has no \"/\" token for --format " + name);
  return name == "entity-slash-mention" ? splice::splice_format::entity_slash_mention(*slash)
                                        : splice::splice_format::mention_slash_entity(*slash);
}

}  // namespace kplug::cli
