// kplug: the command-line tool. Dispatches to one subcommand and turns its
// failures into exit statuses: 2 for a bad command line (with usage), 1 for
// anything that failed while working (the kplug::error message says what,
// where and why).
#include <cstdio>
#include <exception>
#include <kplug/core/error.hpp>
#include <kplug/version.hpp>
#include <new>
#include <span>
#include <string_view>

#include "args.hpp"
#include "commands.hpp"

namespace {

struct command {
  std::string_view name;
  std::string_view summary;
  int (*run)(std::span<char* const>);
};

constexpr command commands[] = {
    {"encode", "encode JSONL text with a BERT checkpoint, optionally injecting knowledge",
     kplug::cli::run_encode},
    {"train-head", "train a linear mention-typing head over a frozen encoder (no knowledge)",
     kplug::cli::run_train_head},
    {"tune", "map-tune a knowledge plugin for a frozen mention-typing model", kplug::cli::run_tune},
    {"eval", "accuracy of a mention-typing model, optionally with knowledge", kplug::cli::run_eval},
    {"export", "write mention-typing data as spliced input rows for training elsewhere", kplug::cli::run_export},
};

void print_usage(std::FILE* to) {
  std::fputs("usage: kplug <command> [options]\n\ncommands:\n", to);
  for (const command& c : commands)
    std::fprintf(to, "  %-11.*s %.*s\n", static_cast<int>(c.name.size()), c.name.data(),
                 static_cast<int>(c.summary.size()), c.summary.data());
  std::fputs("\n'kplug <command> --help' describes a command's options.\n", to);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace kplug::cli;
  if (argc < 2) {
    print_usage(stderr);
    return exit_usage;
  }
  const std::string_view name = argv[1];
  if (name == "-h" || name == "--help" || name == "help") {
    print_usage(stdout);
    return exit_ok;
  }
  if (name == "--version") {
    std::printf("kplug %d.%d.%d\n", kplug::version_major, kplug::version_minor, kplug::version_patch);
    return exit_ok;
  }
  for (const command& c : commands) {
    if (c.name != name) continue;
    try {
      return c.run(std::span<char* const>(argv + 2, static_cast<std::size_t>(argc - 2)));
    } catch (const usage_error& e) {
      std::fprintf(stderr, "%s\n\n%s", e.what(), e.usage().c_str());
      return exit_usage;
    } catch (const kplug::error& e) {
      std::fprintf(stderr, "%s\n", e.what());
      return exit_failure;
    } catch (const std::bad_alloc&) {
      std::fprintf(stderr, "kplug %s: out of memory (try a smaller --batch-size)\n", argv[1]);
      return exit_failure;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "kplug %s: %s\n", argv[1], e.what());
      return exit_failure;
    }
  }
  std::fprintf(stderr, "kplug: unknown command '%s'\n\n", argv[1]);
  print_usage(stderr);
  return exit_usage;
}
