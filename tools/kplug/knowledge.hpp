// The knowledge a subcommand injects, from the command line: a knowledge base
// (--kb, --entity-ids), the alias table mentions are linked with (--aliases)
// and the knowledge plugin tuned for that knowledge base and this encoder
// (--plugin), whose mapper turns knowledge vectors into input rows and whose
// splice format says where those rows go. Shared by the subcommands that
// inject knowledge.
#pragma once

#include <cstdio>
#include <filesystem>
#include <kplug/backend/concepts.hpp>
#include <kplug/core/error.hpp>
#include <kplug/kb/knowledge_base.hpp>
#include <kplug/link/alias_table.hpp>
#include <kplug/plugin/knowledge_plugin.hpp>
#include <optional>
#include <string>

#include "args.hpp"

namespace kplug::cli {

struct knowledge_paths {
  std::string kb;          // directory, .npy table, or word2vec text file
  std::string entity_ids;  // entity2id file of a .npy table
  std::string aliases;
  std::string plugin;
};

inline void add_knowledge_options(command_line& cl) {
  cl.option("--kb", "PATH",
            "knowledge base: a directory with entities.npy and entity2id.txt,\n"
            "a .npy table (with --entity-ids), or a word2vec text file")
      .option("--entity-ids", "FILE", "entity2id.txt of a --kb .npy table (OpenKE, or entity<TAB>row)")
      .option("--aliases", "FILE", "alias table, alias<TAB>entity<TAB>count per line, to link mentions")
      .option("--plugin", "FILE", "knowledge plugin tuned for this knowledge base and this model");
}

// The paths when knowledge was asked for; --kb, --aliases and --plugin come
// together or not at all.
inline std::optional<knowledge_paths> read_knowledge_paths(const command_line& cl) {
  const bool any = cl.has("--kb") || cl.has("--aliases") || cl.has("--plugin") || cl.has("--entity-ids");
  if (!any) return std::nullopt;
  for (const char* name : {"--kb", "--aliases", "--plugin"})
    if (!cl.has(name))
      cl.fail(std::string("injecting knowledge needs --kb, --aliases and --plugin; ") + name + " is missing");
  return knowledge_paths{*cl.value("--kb"), cl.value("--entity-ids").value_or(""), *cl.value("--aliases"),
                         *cl.value("--plugin")};
}

// Shows what the library reports without printing, e.g. that a plugin from
// before checksums loaded unverified.
inline void print_plugin_warnings(const plugin::knowledge_plugin& p) {
  for (const std::string& w : p.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
}

inline kb::knowledge_base open_knowledge_base(const knowledge_paths& p, std::string name) {
  namespace fs = std::filesystem;
  constexpr const char* what = "open knowledge base";
  const fs::path path(p.kb);
  if (fs::is_directory(path)) {
    if (!p.entity_ids.empty())
      throw error(what, "--entity-ids",
                  "is for a .npy table; the directory " + p.kb + " supplies its own entity2id.txt");
    return kb::open_knowledge_base((path / "entities.npy").string(), (path / "entity2id.txt").string(),
                                   std::move(name));
  }
  if (path.extension() == ".npy") {
    if (p.entity_ids.empty()) throw error(what, at_file(p.kb), "a .npy table needs --entity-ids FILE");
    return kb::open_knowledge_base(p.kb, p.entity_ids, std::move(name));
  }
  if (!p.entity_ids.empty())
    throw error(what, "--entity-ids", "is for a .npy table; " + p.kb + " is read as word2vec text");
  return kb::load_word2vec_knowledge_base(p.kb, std::move(name));
}

// Everything opened and checked: the plugin is refused unless it was tuned
// for this knowledge base and this encoder (dimensions and fingerprints).
// Not movable: a linker keeps a pointer to `aliases`.
class knowledge {
 public:
  template <token_embedder Encoder>
  knowledge(const knowledge_paths& paths, const Encoder& encoder)
      : plugin(plugin::read_knowledge_plugin(paths.plugin)),
        kb(open_knowledge_base(paths, paths.kb)),
        aliases(link::read_alias_table(paths.aliases)) {
    plugin::check_compatible(plugin.metadata, kb, encoder, {}, paths.plugin);
    print_plugin_warnings(plugin);
  }
  knowledge(const knowledge&) = delete;
  knowledge& operator=(const knowledge&) = delete;

  plugin::knowledge_plugin plugin;
  kb::knowledge_base kb;
  link::alias_table aliases;
};

}  // namespace kplug::cli
