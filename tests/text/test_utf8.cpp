// UTF-8 decoding, and what the tokenizer does with ill-formed UTF-8: reject
// it naming the byte, or replace it by U+FFFD (which BERT's cleaner drops).
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "kplug/text/utf8.hpp"
#include "kplug/text/wordpiece.hpp"
#include "support/temp_dir.hpp"

namespace {

using kplug::text::decode_utf8;
using kplug::text::invalid_utf8;

struct ill_formed_case {
  std::string bytes;
  int python_replacements;  // len of bytes.decode("utf-8", "replace") U+FFFD run, from CPython 3.11
  const char* defect;       // what the first one is reported as
};

const std::vector<ill_formed_case>& ill_formed() {
  static const std::vector<ill_formed_case> cases = {
      {"\xC0\xAF", 2, "overlong"},
      {"\xE0\x80\xAF", 3, "overlong"},
      {"\xF0\x80\x80\xAF", 4, "overlong"},
      {"\xED\xA0\x80", 3, "surrogate"},
      {"\xED\xBF\xBF", 3, "surrogate"},
      {"\xE2\x82", 1, "truncated"},
      {"\xF0\x9F\x98", 1, "truncated"},
      {"\xC3", 1, "truncated"},
      {"\xFE", 1, "never occurs"},
      {"\xFF", 1, "never occurs"},
      {"\xF4\x90\x80\x80", 4, "above U+10FFFF"},
      {"\xF5\x80\x80\x80", 4, "never occurs"},
      {"\x80", 1, "continuation"},
  };
  return cases;
}

TEST(Utf8, DecodesWellFormedCharacters) {
  const std::string text = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF";  // a é € 😀 U+10FFFF
  const std::vector<char32_t> expected = {U'a', 0xE9, 0x20AC, 0x1F600, 0x10FFFF};
  std::vector<char32_t> got;
  for (std::size_t i = 0; i < text.size();) {
    const auto c = decode_utf8(text, i);
    EXPECT_EQ(c.defect, nullptr);
    got.push_back(c.code_point);
    i += c.length;
  }
  EXPECT_EQ(got, expected);
}

TEST(Utf8, IllFormedSequencesAreConsumedAsPythonReplacesThem) {
  for (const auto& c : ill_formed()) {
    int replacements = 0;
    std::string first_defect;
    for (std::size_t i = 0; i < c.bytes.size();) {
      const auto d = decode_utf8(c.bytes, i);
      ASSERT_NE(d.defect, nullptr);
      EXPECT_EQ(d.code_point, kplug::text::replacement_character);
      if (first_defect.empty()) first_defect = d.defect;
      ASSERT_GE(d.length, 1u);
      i += d.length;
      ++replacements;
    }
    EXPECT_EQ(replacements, c.python_replacements) << testing::PrintToString(c.bytes);
    EXPECT_NE(first_defect.find(c.defect), std::string::npos) << first_defect;
  }
}

TEST(Utf8, TruncationByAnotherCharacterKeepsThatCharacter) {
  const std::string text = "\xF0\x9F\x98x\xE2\x82\xAC";  // Python: "\ufffdx€"
  auto c = decode_utf8(text, 0);
  EXPECT_EQ(c.length, 3u);
  EXPECT_NE(c.defect, nullptr);
  c = decode_utf8(text, 3);
  EXPECT_EQ(c.code_point, U'x');
  c = decode_utf8(text, 4);
  EXPECT_EQ(c.code_point, 0x20ACu);
}

TEST(Utf8, AppendEncodesEveryLength) {
  std::string out;
  for (const char32_t cp : {U'a', char32_t{0xE9}, char32_t{0x20AC}, char32_t{0x1F600}}) kplug::text::append_utf8(cp, out);
  EXPECT_EQ(out, "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
}

kplug::text::bert_tokenizer tiny_tokenizer(invalid_utf8 policy) {
  kplug::text::tokenizer_options o;
  o.on_invalid_utf8 = policy;
  return kplug::text::bert_tokenizer(
      kplug::text::wordpiece_vocab::from_tokens({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "ok", "ab", "a", "##b"}),
      o);
}

TEST(Utf8, TokenizerRejectsIllFormedTextNamingTheByte) {
  const auto tok = tiny_tokenizer(invalid_utf8::reject);
  for (const auto& c : ill_formed()) {
    const std::string text = "ok " + c.bytes + " ok";
    KPLUG_EXPECT_ERROR(tok.tokenize(text), "tokenize text", "byte 3", "invalid UTF-8", c.defect);
  }
  KPLUG_EXPECT_ERROR(tok.encode("ok ok \xFF", 16), "byte 6", "FF");
}

TEST(Utf8, TokenizerReplacesIllFormedTextByDroppedReplacementCharacters) {
  const auto replacing = tiny_tokenizer(invalid_utf8::replace);
  const auto strict = tiny_tokenizer(invalid_utf8::reject);
  for (const auto& c : ill_formed()) {
    const std::string text = "a" + c.bytes + "b ok";
    std::string replaced = "a";
    for (int k = 0; k < c.python_replacements; ++k) replaced += "\xEF\xBF\xBD";
    replaced += "b ok";
    EXPECT_EQ(replacing.encode(text, 64).ids, strict.encode(replaced, 64).ids) << testing::PrintToString(c.bytes);
    const auto t = replacing.tokenize(text);
    ASSERT_EQ(t.words.size(), 2u);
    EXPECT_EQ(t.words[0].text, "a" + c.bytes + "b");  // the dropped bytes stay inside the word
    EXPECT_EQ(t.words[1].begin, text.size() - 2);
  }
}

}  // namespace
