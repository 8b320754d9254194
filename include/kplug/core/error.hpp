// The one exception type of kplug. Every failure says what failed, where
// (file, line, byte offset, tensor name, argument) and why, so that a bad
// input file or a misused API is diagnosable from the message alone.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace kplug {

class error : public std::runtime_error {
 public:
  // `what_failed`: the operation ("open .npy table"); `where`: the place
  // ("/data/e.npy, byte 10"); `why`: the reason ("shape is larger than the file").
  error(std::string what_failed, std::string where, std::string why)
      : std::runtime_error(compose(what_failed, where, why)),
        what_failed_(std::move(what_failed)),
        where_(std::move(where)),
        why_(std::move(why)) {}

  const std::string& what_failed() const noexcept { return what_failed_; }
  const std::string& where() const noexcept { return where_; }
  const std::string& why() const noexcept { return why_; }

 private:
  static std::string compose(const std::string& w, const std::string& at, const std::string& why) {
    std::string s = "kplug: " + w;
    if (!at.empty()) s += " (" + at + ")";
    s += ": " + why;
    return s;
  }

  std::string what_failed_;
  std::string where_;
  std::string why_;
};

// Builders for the `where` part, so messages read the same everywhere.
inline std::string at_file(std::string_view path) { return std::string(path); }
inline std::string at_line(std::string_view path, std::uint64_t line) {
  return std::string(path) + ", line " + std::to_string(line);
}
inline std::string at_offset(std::string_view path, std::uint64_t offset) {
  return std::string(path) + ", byte " + std::to_string(offset);
}

}  // namespace kplug
