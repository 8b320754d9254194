// --format: the splice format a subcommand builds mention groups with.
#pragma once

#include <kplug/core/error.hpp>
#include <kplug/splice/format.hpp>
#include <kplug/text/wordpiece_vocab.hpp>
#include <string>

#include "args.hpp"

namespace kplug::cli {

inline splice::splice_format parse_splice_format(const command_line& cl, const text::wordpiece_vocab& vocab) {
  const std::string name = cl.value("--format").value_or("entity-slash-mention");
  if (name == "replace") return splice::splice_format::replace_mention();
  if (name != "entity-slash-mention" && name != "mention-slash-entity")
    cl.fail("unknown --format " + name + " (entity-slash-mention, mention-slash-entity or replace)");
  const auto slash = vocab.find("/");
  if (!slash) throw error("choose the splice format", "vocab.txt", "has no \"/\" token for --format " + name);
  return name == "entity-slash-mention" ? splice::splice_format::entity_slash_mention(*slash)
                                        : splice::splice_format::mention_slash_entity(*slash);
}

}  // namespace kplug::cli
