// --format: the splice format a subcommand builds mention groups with, by the
// library's names (kplug/splice/format_names.hpp).
#pragma once

#include <kplug/splice/format.hpp>
#include <kplug/splice/format_names.hpp>
#include <kplug/text/wordpiece_vocab.hpp>
#include <string>

#include "args.hpp"

namespace kplug::cli {

// For the subcommands' help.
inline std::string splice_format_help() {
  return "splice format: " + splice::format_name_list() +
         " (default entity-slash-mention, the paper's 'E / m')";
}

inline splice::splice_format parse_splice_format(const command_line& cl, const text::wordpiece_vocab& vocab) {
  std::string name = cl.value("--format").value_or("entity-slash-mention");
  // "replace" was this option's spelling before the names followed the
  // library's; scripts written then keep working.
  if (name == "replace") name = "replace-mention";
  if (!splice::is_format_name(name))
    cl.fail("unknown --format " + name + " (" + splice::format_name_list() + ")");
  return splice::format_named(name, [&](std::string_view token) { return vocab.find(token); });
}

}  // namespace kplug::cli
