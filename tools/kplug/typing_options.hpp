// What the typing commands (eval, export, tune, train-head) share on the
// command line: the model, the knowledge options and where the typed
// mention's entity comes from, and opening the model with its knowledge.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <kplug/splice/planner.hpp>
#include <kplug/tasks/typing_examples.hpp>
#include <kplug/tasks/typing_model.hpp>

#include "cli.hpp"
#include "knowledge.hpp"

namespace kplug::cli {

// --entities gold|linker.
inline void add_entities_option(CLI::App& app, std::string& into, const std::string& help) {
  add_value(app, "--entities", into, "gold|linker", help)->check(one_of({"gold", "linker"}));
}

inline tasks::entity_source entity_source_of(const std::string& name) {
  return name == "linker" ? tasks::entity_source::linker : tasks::entity_source::gold;
}

// A planner for `model`'s length in `format`.
inline splice::planner planner_for(const tasks::typing_model& model, splice::splice_format format = {}) {
  splice::planner_config config;
  config.format = format;
  config.max_length = static_cast<std::int32_t>(model.encoder->max_positions());
  return splice::planner(config);
}

}  // namespace kplug::cli
