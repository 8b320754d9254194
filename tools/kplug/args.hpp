// The command-line parser every kplug subcommand shares: long options only
// ("--name VALUE", "--name=VALUE", flags "--name"), each given at most once,
// no positional arguments. A mistake is a usage_error, which main() reports
// with the subcommand's usage and exit status 2; everything after parsing
// (files, models) fails with kplug::error and exit status 1.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kplug::cli {

// Exit statuses of the kplug tool.
inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;  // a kplug::error or another runtime failure
inline constexpr int exit_usage = 2;    // the command line itself is wrong

// A command-line mistake; carries the short usage of the command it concerns.
class usage_error : public std::runtime_error {
 public:
  usage_error(const std::string& message, std::string usage)
      : std::runtime_error(message), usage_(std::move(usage)) {}
  const std::string& usage() const noexcept { return usage_; }

 private:
  std::string usage_;
};

class command_line {
 public:
  // `command`: "kplug encode"; `summary`: one line saying what it does.
  command_line(std::string command, std::string summary);

  // An option taking a value, shown as "--name METAVAR"; `help` may hold
  // several lines. A required option missing from the command line is a
  // usage_error at parse().
  command_line& option(std::string name, std::string metavar, std::string help, bool required = false);
  // An option without a value.
  command_line& flag(std::string name, std::string help);
  // A free-form paragraph appended to the usage text.
  command_line& epilog(std::string text);

  // Parses the arguments after the subcommand. Returns false when --help
  // (or -h) was given: the caller prints usage() to stdout and exits 0.
  bool parse(std::span<char* const> args);

  // The full help text (--help), and its first line, which a usage_error shows.
  std::string usage() const;
  std::string synopsis() const;
  // Throws usage_error(message) with the synopsis and a pointer to --help.
  [[noreturn]] void fail(const std::string& message) const;

  bool has(std::string_view name) const;
  std::optional<std::string> value(std::string_view name) const;
  // The value of an option parse() already required.
  const std::string& required(std::string_view name) const;
  // An integer in [min, max], or `fallback` when the option is absent.
  std::int64_t integer(std::string_view name, std::int64_t fallback, std::int64_t min,
                       std::int64_t max) const;

 private:
  struct spec {
    std::string name;
    std::string metavar;  // empty for a flag
    std::string help;
    bool required = false;
  };
  const spec* find(std::string_view name) const;

  std::string command_;
  std::string summary_;
  std::string epilog_;
  std::vector<spec> specs_;
  std::map<std::string, std::string, std::less<>> values_;  // flags map to ""
};

}  // namespace kplug::cli
