// JSON Lines input as the mention-typing reader reads it: a line longer than
// input_limits::max_jsonl_line_bytes is refused while it is read, before it is
// held in memory whole; inputs the fuzzer found are refused, not crashes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "kplug/tasks/typing_data.hpp"
#include "support/temp_dir.hpp"

namespace {

using kplug::tasks::read_typing_file;

const std::string line = R"({"text": "the dog barked", "mentions": [{"start": 4, "end": 7}], "label": "noun.animal"})";

TEST(JsonlInput, LineBeyondTheLimitIsRefusedNamingIt) {
  kplug_test::temp_dir dir;
  const std::string path = dir.write("data.jsonl", line + "\n" + line + "  \n");
  kplug::input_limits limits;
  limits.max_jsonl_line_bytes = line.size() + 1;
  KPLUG_EXPECT_ERROR(read_typing_file(path, true, limits), path + ", line 2",
                     "the line's length exceeds the limit of " + std::to_string(line.size() + 1) +
                         " (input_limits::max_jsonl_line_bytes)");
  limits.max_jsonl_line_bytes = line.size() + 2;
  EXPECT_EQ(read_typing_file(path, true, limits).instances.size(), 2u);
}

TEST(JsonlInput, GigabyteLineStopsAtTheDefaultLimit) {
  kplug_test::temp_dir dir;
  // One line of 1 GiB, sparse: only the first 16 MiB are ever read.
  const std::string path = dir.write("huge.jsonl", line + "\n{\"text\": \"");
  ASSERT_EQ(::truncate(path.c_str(), 1L << 30), 0);
  KPLUG_EXPECT_ERROR(read_typing_file(path), path + ", line 2",
                     "exceeds the limit of 16777216 (input_limits::max_jsonl_line_bytes)");
}

// tests/fuzz/regressions/typing_data-number-overflow.jsonl: "8e8888" made
// nlohmann throw out_of_range, which escaped as a non-kplug exception.
TEST(JsonlInput, NumberBeyondDoubleRangeIsInvalidJson) {
  const std::string path = KPLUG_SOURCE_DIR "/tests/fuzz/regressions/typing_data-number-overflow.jsonl";
  KPLUG_EXPECT_ERROR(read_typing_file(path), path + ", line 1", "invalid JSON", "number overflow");
}

// Parsed as strictly as every JSON kplug reads (io::parse_json): nlohmann
// alone would keep the last of two "label" values without a word.
TEST(JsonlInput, RepeatedKeyIsRefusedNamingTheLine) {
  kplug_test::temp_dir dir;
  const std::string twice = R"({"text": "a dog", "mentions": [{"start": 2, "end": 5}], "label": "x", "label": "y"})";
  const std::string path = dir.write("data.jsonl", line + "\n\n" + twice + "\n");
  KPLUG_EXPECT_ERROR(read_typing_file(path), path + ", line 3", "duplicate JSON key 'label'");
}

// A syntax error names the line and the byte within it, not nlohmann's
// "line 1, column N" of the one-line document.
TEST(JsonlInput, SyntaxErrorNamesTheLineAndByte) {
  kplug_test::temp_dir dir;
  const std::string path = dir.write("data.jsonl", line + "\n" + R"({"text": "a" "mentions": []})" + "\n");
  try {
    read_typing_file(path);
    FAIL() << "no error";
  } catch (const kplug::error& e) {
    EXPECT_EQ(e.where(), path + ", line 2");
    // The parser stops on the unexpected string "mentions", whose closing quote is the line's byte 23.
    EXPECT_NE(e.why().find("invalid JSON at byte 23: syntax error"), std::string::npos) << e.why();
    EXPECT_EQ(e.why().find("line 1"), std::string::npos) << e.why();
  }
}

}  // namespace
