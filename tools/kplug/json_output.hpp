// JSON written by the typing commands: one record per line of a JSONL file,
// or a whole file holding one object; staged, so a failed run leaves no
// partial file.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "output_files.hpp"

namespace kplug::cli {

// One JSONL line; invalid UTF-8 in the data is replaced, not an exception.
inline std::string json_line(const nlohmann::ordered_json& record) {
  return record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

inline void write_json_file(const std::string& path, const nlohmann::ordered_json& object) {
  staged_file f(path);
  f.write(json_line(object));
  f.commit();
}

}  // namespace kplug::cli
