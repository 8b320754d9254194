// Reading a JSON Lines file one object at a time, streamed (a file larger than
// memory is fine), with errors naming the file and the 1-based line number.
// Blank lines are skipped; every other line must be one JSON object, parsed
// as strictly as any JSON kplug reads (io/json.hpp: no repeated key). A line is
// read whole before parsing, so one longer than limits.max_jsonl_line_bytes is
// refused as soon as the reader passes the limit.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "kplug/core/error.hpp"
#include "kplug/core/limits.hpp"
#include "kplug/io/json.hpp"

namespace kplug::tasks {

class jsonl_reader {
 public:
  explicit jsonl_reader(std::string path, const input_limits& limits = {})
      : path_(std::move(path)), in_(path_, std::ios::binary), max_line_bytes_(limits.max_jsonl_line_bytes) {
    if (!in_)
      throw error("read JSONL input", at_file(path_), std::string("cannot open: ") + std::strerror(errno));
  }

  const std::string& path() const noexcept { return path_; }
  // The line of the object next() returned last.
  std::uint64_t line() const noexcept { return line_number_; }

  // The next non-blank line's object into `out`; false at the end of the file.
  bool next(nlohmann::json& out) {
    while (read_line()) {
      if (!line_.empty() && line_.back() == '\r') line_.pop_back();
      if (line_.find_first_not_of(" \t\f\v") == std::string::npos) continue;
      io::json_parse_options options;
      options.line = line_number_;
      out = io::parse_json(line_, "read JSONL input", path_, options);
      if (!out.is_object())
        throw error("read JSONL input", at_line(path_, line_number_),
                    std::string("expected a JSON object, got ") + out.type_name());
      return true;
    }
    if (in_.bad())
      throw error("read JSONL input", at_file(path_), std::string("read failed: ") + std::strerror(errno));
    return false;
  }

  // `obj[key]` as a string, or an error naming the line.
  const std::string& string_field(const nlohmann::json& obj, std::string_view key) const {
    const auto it = obj.find(std::string(key));
    if (it == obj.end())
      throw error("read JSONL input", at_line(path_, line_number_),
                  "the object has no \"" + std::string(key) + "\" key");
    if (!it->is_string())
      throw error("read JSONL input", at_line(path_, line_number_),
                  "\"" + std::string(key) + "\" is " + it->type_name() + ", expected a string");
    return it->get_ref<const std::string&>();
  }

 private:
  // The next line into line_ (without its '\n'), never holding more than
  // max_line_bytes_ + 1 bytes of it; false at the end of the file.
  bool read_line() {
    line_.clear();
    std::streambuf& in = *in_.rdbuf();
    for (int c = in.sbumpc(); c != '\n'; c = in.sbumpc()) {
      if (c == std::char_traits<char>::eof()) {
        in_.setstate(std::ios::eofbit);
        if (line_.empty()) return false;
        break;
      }
      if (line_.size() == max_line_bytes_)
        throw limit_exceeded("read JSONL input", at_line(path_, line_number_ + 1), "the line's length",
                             max_line_bytes_, "max_jsonl_line_bytes");
      line_.push_back(static_cast<char>(c));
    }
    ++line_number_;
    return true;
  }

  std::string path_;
  std::ifstream in_;
  std::string line_;
  std::uint64_t line_number_ = 0;
  std::uint64_t max_line_bytes_;
};

}  // namespace kplug::tasks
