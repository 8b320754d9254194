// kplug: the command-line tool. Parses the command line (CLI11), runs one
// subcommand and turns its failures into exit statuses: 2 for a bad command
// line (with the command's synopsis), 1 for anything that failed while
// working (the kplug::error message says what, where and why).
#include <cstdio>
#include <exception>
#include <kplug/core/error.hpp>
#include <kplug/version.hpp>
#include <new>
#include <string>
#include <vector>

#include "cli.hpp"

namespace {

using namespace kplug::cli;

// The message, then how to get it right.
int usage_failure(const std::string& message, const CLI::App* app) {
  if (app != nullptr)
    std::fprintf(stderr, "kplug %s: %s\n\n%sRun 'kplug %s --help' for the options.\n", app->get_name().c_str(),
                 message.c_str(), synopsis(*app).c_str(), app->get_name().c_str());
  else
    std::fprintf(stderr, "kplug: %s\n\nusage: kplug <command> [options]\nRun 'kplug --help' for the commands.\n",
                 message.c_str());
  return exit_usage;
}

int run_guarded(const command& c) {
  const std::string name = c.app->get_name();
  try {
    return c.run();
  } catch (const usage_error& e) {
    return usage_failure(e.what(), c.app);
  } catch (const kplug::error& e) {
    std::fprintf(stderr, "%s\n", e.what());
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "kplug %s: out of memory (try a smaller --batch-size)\n", name.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kplug %s: %s\n", name.c_str(), e.what());
  }
  return exit_failure;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App root("kplug: plug-and-play knowledge injection into frozen BERT encoders (docs/cli.md).\n"
                "'kplug <command> --help' describes a command's options.",
                "kplug");
  root.require_subcommand(1);
  root.set_version_flag("--version", "kplug " + std::to_string(kplug::version_major) + "." +
                                         std::to_string(kplug::version_minor) + "." +
                                         std::to_string(kplug::version_patch));
  root.footer(exit_status_help);
  const std::vector<command> commands = {add_encode(root), add_train_head(root), add_tune(root), add_eval(root),
                                         add_export(root)};
  const CLI::App* named = nullptr;  // the command argv[1] names
  for (const command& c : commands)
    if (argc > 1 && c.app->get_name() == argv[1]) named = c.app;
  // CLI11 would report a missing subcommand; the word given is the mistake.
  if (argc > 1 && argv[1][0] != '-' && named == nullptr)
    return usage_failure(std::string("unknown command '") + argv[1] + "'", nullptr);
  try {
    root.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --version
    return root.exit(e);
  } catch (const CLI::ParseError& e) {
    return usage_failure(e.what(), named);
  }
  for (const command& c : commands)
    if (c.app->parsed()) return run_guarded(c);
  return usage_failure("no command", nullptr);
}
