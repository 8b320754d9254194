// io::parse_json and the typed getters: strictness (duplicate keys, depth),
// errors that name the file, byte, key path and expected type.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "kplug/io/json.hpp"
#include "support/temp_dir.hpp"

namespace {

using kplug::io::json_optional;
using kplug::io::json_required;
using kplug::io::parse_json;

TEST(Json, InvalidJsonNamesTheFileByte) {
  // "{\"a\": tru}": the bad token ends at byte 9 (0-based) of the text.
  KPLUG_EXPECT_ERROR(parse_json(R"({"a": tru})", "read cfg", "c.json"), "read cfg", "c.json, byte ", "invalid JSON");
  kplug::io::json_parse_options shifted;
  shifted.base_offset = 8;
  try {
    parse_json("{,", "read", "f", {});
    FAIL();
  } catch (const kplug::error& e) {
    EXPECT_EQ(e.where(), "f, byte 1");
  }
  try {
    parse_json("{,", "read", "f", shifted);
    FAIL();
  } catch (const kplug::error& e) {
    EXPECT_EQ(e.where(), "f, byte 9");
  }
  KPLUG_EXPECT_ERROR(parse_json(R"({"a": 1e999})", "read", "f"), "invalid JSON", "number overflow");
}

TEST(Json, RepeatedKeysAreErrorsAtAnyLevel) {
  KPLUG_EXPECT_ERROR(parse_json(R"({"a": 1, "a": 2})", "read", "f"), "duplicate JSON key 'a'");
  KPLUG_EXPECT_ERROR(parse_json(R"({"x": [{"k": 1, "k": 1}]})", "read", "f"), "duplicate JSON key 'k'");
  EXPECT_EQ(parse_json(R"({"a": {"a": 1}, "b": {"a": 2}})", "read", "f")["b"]["a"], 2) << "same key, other objects";
  kplug::io::json_parse_options own;
  int seen_depth = 0;
  own.on_duplicate_key = [&](int depth, const std::string&) { seen_depth = depth; };
  EXPECT_THROW(parse_json(R"({"o": {"k": 1, "k": 2}})", "read", "f", own), kplug::error);
  EXPECT_EQ(seen_depth, 2);
}

TEST(Json, NestingBeyondTheLimitIsAnError) {
  kplug::io::json_parse_options flat;
  flat.max_depth = 2;
  flat.depth_why = "too deep for this format";
  EXPECT_NO_THROW(parse_json(R"({"a": [1]})", "read", "f", flat));
  KPLUG_EXPECT_ERROR(parse_json(R"({"a": [[1]]})", "read", "f", flat), "too deep for this format");
}

TEST(Json, GettersNameTheKeyAndTheExpectedType) {
  const auto doc = parse_json(R"({"n": 3, "s": "x", "b": true, "d": 0.5, "z": null, "big": 18446744073709551615})",
                              "read", "f");
  EXPECT_EQ(json_required<std::int64_t>(doc, "n", "read", "f"), 3);
  EXPECT_EQ(json_required<std::string>(doc, "s", "read", "f"), "x");
  EXPECT_TRUE(json_required<bool>(doc, "b", "read", "f"));
  EXPECT_EQ(json_required<double>(doc, "d", "read", "f"), 0.5);
  EXPECT_EQ(json_required<double>(doc, "n", "read", "f"), 3.0) << "an integer is a number";
  EXPECT_FALSE(json_optional<std::string>(doc, "z", "read", "f").has_value()) << "null reads as absent";
  EXPECT_FALSE(json_optional<bool>(doc, "missing", "read", "f").has_value());
  KPLUG_EXPECT_ERROR(json_required<bool>(doc, "missing", "read", "f"), "f", "has no \"missing\"");
  KPLUG_EXPECT_ERROR(json_required<std::int64_t>(doc, "s", "read", "f"), "f: \"s\"", "must be an integer",
                     "found \"x\"");
  KPLUG_EXPECT_ERROR(json_required<std::int64_t>(doc, "d", "read", "f"), "must be an integer", "found 0.5");
  KPLUG_EXPECT_ERROR(json_required<std::int64_t>(doc, "big", "read", "f"), "must be an integer");
  KPLUG_EXPECT_ERROR(json_optional<bool>(doc, "n", "read", "f"), "f: \"n\"", "must be true or false");
  KPLUG_EXPECT_ERROR(json_required<std::string>(doc["n"], "k", "read", "f: \"n\""), "expected a JSON object");
}

}  // namespace
