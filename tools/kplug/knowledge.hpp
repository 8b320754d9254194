// The knowledge a subcommand injects, from the command line: a knowledge base
// (--kb, --entity-ids), the alias table mentions are linked with (--aliases)
// and the knowledge plugin tuned for that knowledge base and this encoder
// (--plugin), whose mapper turns knowledge vectors into input rows and whose
// splice format says where those rows go. Opened with the library's readers.
#pragma once

#include <cstdio>
#include <filesystem>
#include <kplug/backend/concepts.hpp>
#include <kplug/core/error.hpp>
#include <kplug/kb/knowledge_base.hpp>
#include <kplug/link/alias_table.hpp>
#include <kplug/plugin/knowledge_plugin.hpp>
#include <kplug/tasks/typing_examples.hpp>
#include <optional>
#include <string>

#include "cli.hpp"

namespace kplug::cli {

struct knowledge_paths {
  std::string kb;          // directory, .npy table, or word2vec text file
  std::string entity_ids;  // entity2id file of a .npy table
  std::string aliases;
  std::string plugin;
};

// --kb and --entity-ids, the same in every command.
inline void add_kb_options(CLI::App& app, knowledge_paths& paths) {
  add_value(app, "--kb", paths.kb, "PATH",
            "knowledge base: a directory with entities.npy and entity2id.txt,\n"
            "a .npy table (with --entity-ids), or a word2vec text file");
  add_value(app, "--entity-ids", paths.entity_ids, "FILE",
            "entity2id.txt of a --kb .npy table (OpenKE, or entity<TAB>row)");
}

// Shows what the library reports without printing, e.g. that a plugin from
// before checksums loaded unverified.
inline void print_plugin_warnings(const plugin::knowledge_plugin& p) {
  for (const std::string& w : p.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
}

inline kb::knowledge_base open_knowledge_base(const knowledge_paths& p) {
  namespace fs = std::filesystem;
  constexpr const char* what = "open knowledge base";
  const fs::path path(p.kb);
  if (fs::is_directory(path)) {
    if (!p.entity_ids.empty())
      throw error(what, "--entity-ids",
                  "is for a .npy table; the directory " + p.kb + " supplies its own entity2id.txt");
    return kb::open_knowledge_base((path / "entities.npy").string(), (path / "entity2id.txt").string(), p.kb);
  }
  if (path.extension() == ".npy") {
    if (p.entity_ids.empty()) throw error(what, at_file(p.kb), "a .npy table needs --entity-ids FILE");
    return kb::open_knowledge_base(p.kb, p.entity_ids, p.kb);
  }
  if (!p.entity_ids.empty())
    throw error(what, "--entity-ids", "is for a .npy table; " + p.kb + " is read as word2vec text");
  return kb::load_word2vec_knowledge_base(p.kb, p.kb);
}

// Everything opened and checked: the knowledge base, the alias table when
// given, and the plugin when given, refused unless it was tuned for this
// knowledge base and (unless `checks` says otherwise) this encoder.
// Not movable: a linker or knowledge_inputs keeps pointers into it.
class knowledge {
 public:
  template <token_embedder Encoder>
  knowledge(const knowledge_paths& paths, const Encoder& encoder, plugin::compatibility_options checks = {})
      : kb(open_knowledge_base(paths)) {
    if (!paths.plugin.empty()) {
      plugin.emplace(plugin::load_knowledge_plugin(paths.plugin, kb, encoder, checks));
      print_plugin_warnings(*plugin);
    }
    if (!paths.aliases.empty()) aliases.emplace(link::read_alias_table(paths.aliases));
  }
  knowledge(const knowledge&) = delete;
  knowledge& operator=(const knowledge&) = delete;

  tasks::knowledge_inputs inputs(tasks::entity_source source) const {
    return {&kb, aliases ? &*aliases : nullptr, source};
  }

  kb::knowledge_base kb;
  std::optional<plugin::knowledge_plugin> plugin;
  std::optional<link::alias_table> aliases;
};

}  // namespace kplug::cli
