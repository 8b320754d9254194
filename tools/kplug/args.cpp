#include "args.hpp"

#include <charconv>
#include <system_error>
#include <utility>

namespace kplug::cli {

command_line::command_line(std::string command, std::string summary)
    : command_(std::move(command)), summary_(std::move(summary)) {}

command_line& command_line::option(std::string name, std::string metavar, std::string help, bool required) {
  specs_.push_back({std::move(name), std::move(metavar), std::move(help), required});
  return *this;
}

command_line& command_line::flag(std::string name, std::string help) {
  specs_.push_back({std::move(name), "", std::move(help), false});
  return *this;
}

command_line& command_line::epilog(std::string text) {
  epilog_ = std::move(text);
  return *this;
}

const command_line::spec* command_line::find(std::string_view name) const {
  for (const spec& s : specs_)
    if (s.name == name) return &s;
  return nullptr;
}

std::string command_line::synopsis() const {
  std::string out = "usage: " + command_;
  for (const spec& s : specs_)
    if (s.required) {
      out += ' ';
      out += s.name;
      out += ' ';
      out += s.metavar;
    }
  out += " [options]\n";
  return out;
}

std::string command_line::usage() const {
  std::string out = synopsis();
  out += '\n';
  out += summary_;
  out += "\n\noptions:\n";
  constexpr std::size_t column = 26;
  auto add = [&](const std::string& left, const std::string& help) {
    std::string line = "  " + left;
    line +=
        line.size() + 2 <= column ? std::string(column - line.size(), ' ') : "\n" + std::string(column, ' ');
    // Continuation lines of a multi-line help text line up under the first.
    for (const char c : help) {
      line += c;
      if (c == '\n') line += std::string(column, ' ');
    }
    out += line;
    out += '\n';
  };
  for (const spec& s : specs_) {
    std::string left = s.name;
    if (!s.metavar.empty()) {
      left += ' ';
      left += s.metavar;
    }
    add(left, s.help);
  }
  add("-h, --help", "show this help and exit");
  if (!epilog_.empty()) {
    out += '\n';
    out += epilog_;
    if (epilog_.back() != '\n') out += '\n';
  }
  return out;
}

void command_line::fail(const std::string& message) const {
  throw usage_error(command_ + ": " + message,
                    synopsis() + "Run '" + command_ + " --help' for the options.\n");
}

bool command_line::parse(std::span<char* const> args) {
  values_.clear();
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (arg == "-h" || arg == "--help") return false;
    if (!arg.starts_with("--"))
      fail("unexpected argument '" + std::string(arg) + "' (options start with --)");
    const std::size_t eq = arg.find('=');
    const std::string_view name = arg.substr(0, eq);
    const spec* s = find(name);
    if (s == nullptr) fail("unknown option '" + std::string(name) + "'");
    if (values_.contains(name)) fail(std::string(name) + " is given twice");
    std::string value;
    if (s->metavar.empty()) {
      if (eq != std::string_view::npos) fail(std::string(name) + " takes no value");
    } else if (eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
    } else {
      // A following option is a forgotten value, not a value: "--output --quiet".
      if (i + 1 >= args.size() || std::string_view(args[i + 1]).starts_with("--"))
        fail(std::string(name) + " needs a value " + s->metavar + " (write " + std::string(name) +
             "=VALUE for a value starting with --)");
      value = args[++i];
    }
    if (!s->metavar.empty() && value.empty()) fail(std::string(name) + " has an empty value");
    values_.emplace(std::string(name), std::move(value));
  }
  for (const spec& s : specs_)
    if (s.required && !values_.contains(s.name)) fail("missing " + s.name + " " + s.metavar);
  return true;
}

bool command_line::has(std::string_view name) const { return values_.find(name) != values_.end(); }

std::optional<std::string> command_line::value(std::string_view name) const {
  const auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

const std::string& command_line::required(std::string_view name) const {
  const auto it = values_.find(name);
  if (it == values_.end()) fail("missing " + std::string(name));
  return it->second;
}

std::int64_t command_line::integer(std::string_view name, std::int64_t fallback, std::int64_t min,
                                   std::int64_t max) const {
  const auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  const std::string& text = it->second;
  std::int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || v < min || v > max) {
    std::string why = std::string(name) + " '" + text + "' is not an integer in [";
    why += std::to_string(min);
    why += ", ";
    why += std::to_string(max);
    why += "]";
    fail(why);
  }
  return v;
}

}  // namespace kplug::cli
