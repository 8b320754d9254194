// --format: the splice format a subcommand builds mention groups with, by the
// library's names (kplug/splice/format_names.hpp).
#pragma once

#include <kplug/splice/format.hpp>
#include <kplug/splice/format_names.hpp>
#include <kplug/text/wordpiece_vocab.hpp>
#include <string>
#include <vector>

#include "cli.hpp"

namespace kplug::cli {

// For the subcommands' help.
inline std::string splice_format_help() {
  return "splice format: " + splice::format_name_list() + " (default entity-slash-mention, the paper's 'E / m')";
}

// "replace" was this option's spelling before the names followed the
// library's; scripts written then keep working.
inline void add_format_option(CLI::App& app, std::string& into, const std::string& help) {
  std::vector<std::string> names(splice::format_names.begin(), splice::format_names.end());
  names.emplace_back("replace");
  add_value(app, "--format", into, "NAME", help)->check(one_of(std::move(names)));
}

inline splice::splice_format parse_splice_format(const std::string& name, const text::wordpiece_vocab& vocab) {
  return splice::format_named(name == "replace" ? "replace-mention" : name,
                              [&](std::string_view token) { return vocab.find(token); });
}

}  // namespace kplug::cli
