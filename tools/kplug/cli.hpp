// The kplug tool's command line, over CLI11 (Debian libcli11-dev): one
// CLI::App with a subcommand per command; long options only ("--name VALUE"
// or "--name=VALUE"), each at most once. A mistake CLI11 finds while parsing,
// or a usage_error a command throws for options that need each other, is
// reported by main() with the command's synopsis and exit status 2;
// everything after parsing (files, models) fails with kplug::error and exit
// status 1.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace kplug::cli {

// Exit statuses of the kplug tool.
inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;  // a kplug::error or another runtime failure
inline constexpr int exit_usage = 2;    // the command line itself is wrong

// A command-line mistake found after parsing, e.g. an option that needs another.
class usage_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
[[noreturn]] inline void fail(const std::string& message) { throw usage_error(message); }

// A subcommand: its CLI11 app (options bound to the command's settings) and
// what runs the command once the command line parsed.
struct command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

command add_encode(CLI::App& root);
command add_train_head(CLI::App& root);
command add_tune(CLI::App& root);
command add_eval(CLI::App& root);
command add_export(CLI::App& root);

// Checks on an option's value, reported as "--name: why".
CLI::Validator integer_in(std::int64_t min, std::int64_t max);
CLI::Validator positive_number(bool allow_zero = false);
CLI::Validator one_of(std::vector<std::string> names);

// An option with a value shown as `metavar`; an empty value is refused.
template <class T>
CLI::Option* add_value(CLI::App& app, const std::string& name, T& into, const std::string& metavar,
                       const std::string& help) {
  CLI::Option* o = app.add_option(name, into, help)->type_name(metavar);
  if constexpr (std::is_same_v<T, std::string>) o->check(CLI::Validator(
      [](const std::string& v) { return v.empty() ? std::string("has an empty value") : std::string(); }, ""));
  return o;
}

// --threads, the same in every command that runs the encoder.
inline void add_threads_option(CLI::App& app, int& threads) {
  add_value(app, "--threads", threads, "N", "encoder threads (default: one per hardware thread)")
      ->check(integer_in(0, 4096));
}

// The last line of every command's help.
inline constexpr const char* exit_status_help = "Exit status: 0 done, 1 failed (message on stderr), 2 bad command line.";

// A new subcommand of `root`, the settings its options fill, and its
// --model DIR (every command opens a model).
template <class Settings>
std::pair<CLI::App*, std::shared_ptr<Settings>> add_command(CLI::App& root, const std::string& name,
                                                            const std::string& description,
                                                            const std::string& model_help) {
  auto settings = std::make_shared<Settings>();
  CLI::App* app = root.add_subcommand(name, description);
  add_value(*app, "--model", settings->model, "DIR", model_help)->required();
  return {app, settings};
}

inline bool given(const CLI::App& app, const std::string& name) { return app.count(name) > 0; }

// "usage: kplug encode --model DIR ... [options]": the required options.
std::string synopsis(const CLI::App& app);

}  // namespace kplug::cli
