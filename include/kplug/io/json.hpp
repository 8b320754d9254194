// The one way kplug reads JSON documents (safetensors headers, plugin
// metadata, BERT config.json, tokenizer_config.json): a strict parse over
// nlohmann-json and typed getters, each failure a kplug::error naming the
// file and where in it.
//
// parse_json rejects what nlohmann would accept silently:
//   - a key repeated in one object (nlohmann keeps the last, so two readers
//     of one file could disagree about it);
//   - nesting deeper than the caller's format allows (optional).
// Invalid JSON is an error at the file's byte offset ("path, byte N"), or
// for one line of a JSON Lines file at the line and the byte within it; a
// number beyond double's range (1e999) is one too.
//
// The getters read a member of an object: json_required<T> / json_optional<T>
// with T one of bool, std::string, std::int64_t, double. A wrong type is an
// error naming the key path ("config.json: \"vocab_size\"") and the expected
// type, with the value found.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "kplug/core/error.hpp"
#include "kplug/core/limits.hpp"
#include "kplug/io/mapped_file.hpp"

namespace kplug::io {

struct json_parse_options {
  // Where `text` starts in its file: parse errors name file bytes.
  std::uint64_t base_offset = 0;
  // Non-zero: `text` is this line (1-based) of its file, as in JSON Lines,
  // and errors name the line, parse errors also the byte within it.
  std::uint64_t line = 0;
  // Objects and arrays may nest this deep (the document's root is depth 1).
  int max_depth = std::numeric_limits<int>::max();
  // Why deeper nesting is refused, for the error message.
  std::string_view depth_why = "the JSON nests deeper than the format allows";
  // Called for a repeated key before the default error is thrown, with the
  // depth of the object holding it (1 for the root) and the key: a format can
  // throw its own, more specific error (safetensors: a tensor listed twice).
  std::function<void(int depth, const std::string& key)> on_duplicate_key;
};

// Parses `text` strictly (see the top of this file). `what` is the operation
// and `source` the file for error messages.
nlohmann::json parse_json(std::string_view text, std::string_view what, std::string_view source,
                          const json_parse_options& options = {});

// A JSON settings file (config.json, tokenizer_config.json), mapped, refused
// above limits.max_json_file_bytes before it is parsed, then parse_json.
nlohmann::json read_json_file(const std::string& path, const char* what, const input_limits& limits = {});

// A short, printable rendering of a JSON value for messages (60 bytes at most).
std::string json_snippet(const nlohmann::json& v);

// Where a member of an object is, for messages: `where` + ": \"key\"".
std::string json_key_where(std::string_view where, std::string_view key);

// The member `key` of `object` as T; a missing member or one of another type
// is a kplug::error(`what`, key path, why). `where` names the object.
template <class T>
T json_required(const nlohmann::json& object, std::string_view key, std::string_view what, std::string_view where);
// The same, or nullopt when the member is missing or null.
template <class T>
std::optional<T> json_optional(const nlohmann::json& object, std::string_view key, std::string_view what,
                               std::string_view where);

// ---------------------------------------------------------------------------
// Implementation

namespace detail {

// nlohmann's parse error message without its "[json.exception...] parse error
// at line L, column C:" prefix, whose position would count within `text`.
inline std::string json_parse_reason(const nlohmann::json::parse_error& e) {
  const std::string_view m = e.what();
  const std::size_t column = m.find("column ");
  const std::size_t colon = column == std::string_view::npos ? column : m.find(": ", column);
  return std::string(colon == std::string_view::npos ? m : m.substr(colon + 2));
}

}  // namespace detail

inline nlohmann::json parse_json(std::string_view text, std::string_view what, std::string_view source,
                                 const json_parse_options& options) {
  const std::string op(what);
  const std::string where = options.line ? at_line(source, options.line) : at_file(source);
  std::vector<std::unordered_set<std::string>> keys;  // one set per open object
  int open = 0;
  auto callback = [&](int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) -> bool {
    using ev = nlohmann::json::parse_event_t;
    switch (event) {
      case ev::object_start:
      case ev::array_start:
        if (++open > options.max_depth) throw error(op, where, std::string(options.depth_why));
        if (event == ev::object_start) keys.emplace_back();
        break;
      case ev::object_end:
        keys.pop_back();
        --open;
        break;
      case ev::array_end: --open; break;
      case ev::key: {
        const auto& k = parsed.get_ref<const std::string&>();
        if (!keys.back().insert(k).second) {
          if (options.on_duplicate_key) options.on_duplicate_key(static_cast<int>(keys.size()), k);
          throw error(op, where, "duplicate JSON key '" + k + "'");
        }
        break;
      }
      case ev::value: break;
    }
    return true;
  };
  try {
    return nlohmann::json::parse(text.begin(), text.end(), callback);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte counts from 1 within `text`.
    if (options.line)
      throw error(op, where, "invalid JSON at byte " + std::to_string(e.byte) + ": " + detail::json_parse_reason(e));
    throw error(op, at_offset(source, options.base_offset + (e.byte > 0 ? e.byte - 1 : 0)),
                std::string("invalid JSON: ") + e.what());
  } catch (const nlohmann::json::out_of_range& e) {  // a number beyond double's range, such as 1e999
    throw error(op, where, std::string("invalid JSON: ") + e.what());
  }
}

inline nlohmann::json read_json_file(const std::string& path, const char* what, const input_limits& limits) {
  const mapped_file file(path);
  if (file.size() > limits.max_json_file_bytes)
    throw limit_exceeded(what, at_file(path), "a file of " + std::to_string(file.size()) + " bytes",
                         limits.max_json_file_bytes, "max_json_file_bytes");
  return parse_json(file.text(), what, path);
}

inline std::string json_snippet(const nlohmann::json& v) {
  std::string s = v.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

inline std::string json_key_where(std::string_view where, std::string_view key) {
  return std::string(where) + ": \"" + std::string(key) + "\"";
}

namespace detail {

template <class T>
constexpr const char* json_type_name() {
  if constexpr (std::is_same_v<T, bool>) return "true or false";
  else if constexpr (std::is_same_v<T, std::string>) return "a string";
  else if constexpr (std::is_same_v<T, std::int64_t>) return "an integer";
  else return "a number";
}

template <class T>
bool json_has_type(const nlohmann::json& v) {
  if constexpr (std::is_same_v<T, bool>) return v.is_boolean();
  else if constexpr (std::is_same_v<T, std::string>) return v.is_string();
  else if constexpr (std::is_same_v<T, std::int64_t>)
    return v.is_number_integer() && (!v.is_number_unsigned() ||
                                     v.get<std::uint64_t>() <= std::uint64_t{std::numeric_limits<std::int64_t>::max()});
  else return v.is_number();
}

template <class T>
T json_member_as(const nlohmann::json& v, std::string_view key, std::string_view what, std::string_view where) {
  static_assert(std::is_same_v<T, bool> || std::is_same_v<T, std::string> || std::is_same_v<T, std::int64_t> ||
                    std::is_same_v<T, double>,
                "json getters read bool, std::string, std::int64_t or double");
  if (!json_has_type<T>(v))
    throw error(std::string(what), json_key_where(where, key),
                std::string("must be ") + json_type_name<T>() + ", found " + json_snippet(v));
  return v.get<T>();
}

inline void require_json_object(const nlohmann::json& object, std::string_view what, std::string_view where) {
  if (!object.is_object())
    throw error(std::string(what), std::string(where), "expected a JSON object, got " + json_snippet(object));
}

}  // namespace detail

template <class T>
T json_required(const nlohmann::json& object, std::string_view key, std::string_view what, std::string_view where) {
  detail::require_json_object(object, what, where);
  const auto it = object.find(key);
  if (it == object.end()) throw error(std::string(what), std::string(where), "has no \"" + std::string(key) + "\"");
  return detail::json_member_as<T>(*it, key, what, where);
}

template <class T>
std::optional<T> json_optional(const nlohmann::json& object, std::string_view key, std::string_view what,
                               std::string_view where) {
  detail::require_json_object(object, what, where);
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::nullopt;
  return detail::json_member_as<T>(*it, key, what, where);
}

}  // namespace kplug::io
