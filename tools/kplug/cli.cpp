#include "cli.hpp"

#include <charconv>
#include <system_error>
#include <utility>

namespace kplug::cli {

CLI::Validator integer_in(std::int64_t min, std::int64_t max) {
  return CLI::Validator(
      [min, max](const std::string& text) {
        std::int64_t v = 0;
        const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec == std::errc() && ptr == text.data() + text.size() && v >= min && v <= max) return std::string();
        return "'" + text + "' is not an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
      },
      "");
}

CLI::Validator positive_number(bool allow_zero) {
  return CLI::Validator(
      [allow_zero](const std::string& text) {
        double x = 0;
        const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), x);
        if (ec == std::errc() && ptr == text.data() + text.size() && (x > 0 || (allow_zero && x == 0)))
          return std::string();
        return std::string(allow_zero ? "must be a number >= 0, not " : "must be a positive number, not ") + text;
      },
      "");
}

CLI::Validator one_of(std::vector<std::string> names) {
  return CLI::Validator(
      [names = std::move(names)](const std::string& text) {
        std::string list;
        for (const std::string& n : names) {
          if (n == text) return std::string();
          list += list.empty() ? n : ", " + n;
        }
        return "must be one of " + list + ", not " + text;
      },
      "");
}

std::string synopsis(const CLI::App& app) {
  std::string out = "usage: kplug " + app.get_name();
  for (const CLI::Option* o : app.get_options())
    if (o->get_required()) out += " " + o->get_name() + " " + o->get_type_name();
  return out + " [options]\n";
}

}  // namespace kplug::cli
