// The tokenizer's words, pieces and offsets on hand-checked sentences (word
// lists as Hugging Face's BasicTokenizer gives them, byte offsets counted by
// hand), encode() with truncation, options, and from_directory.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "kplug/text/wordpiece.hpp"
#include "support/temp_dir.hpp"
#include "text/text_test_support.hpp"

namespace {

using kplug::text::bert_tokenizer;
using kplug::text::tokenizer_options;
using kplug::text::wordpiece_vocab;

struct expected_word {
  std::string text;
  std::size_t begin;
  std::size_t end;
};

void expect_words(const bert_tokenizer& tok, std::string_view text, const std::vector<expected_word>& expected) {
  const auto t = tok.tokenize(text);
  ASSERT_EQ(t.words.size(), expected.size()) << text;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(t.words[i].text, expected[i].text) << text << " word " << i;
    EXPECT_EQ(t.words[i].begin, expected[i].begin) << text << " word " << i;
    EXPECT_EQ(t.words[i].end, expected[i].end) << text << " word " << i;
  }
}

wordpiece_vocab tiny_vocab() {
  return wordpiece_vocab::from_tokens({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "hello",
                                       ",", "world", "!", "cafe", "abcdef", "a", "##b", "##c", "i"});
}

TEST(BertTokenizer, WordsOfHandCheckedSentences) {
  const bert_tokenizer tok(tiny_vocab());
  expect_words(tok, "Hello, world!", {{"Hello", 0, 5}, {",", 5, 6}, {"world", 7, 12}, {"!", 12, 13}});
  expect_words(tok, "U.S.-based caf\xC3\xA9",
               {{"U", 0, 1}, {".", 1, 2}, {"S", 2, 3}, {".", 3, 4}, {"-", 4, 5}, {"based", 5, 10},
                {"caf\xC3\xA9", 11, 16}});
  expect_words(tok, "\xE5\x8C\x97\xE4\xBA\xAC\xE5\xA4\xA7\xE5\xAD\xA6",  // 北京大学: one word per ideograph
               {{"\xE5\x8C\x97", 0, 3}, {"\xE4\xBA\xAC", 3, 6}, {"\xE5\xA4\xA7", 6, 9}, {"\xE5\xAD\xA6", 9, 12}});
  // A literal special token is a word; its lower-case spelling is not special.
  expect_words(tok, "a[MASK]b [mask]",
               {{"a", 0, 1}, {"[MASK]", 1, 7}, {"b", 7, 8}, {"[", 9, 10}, {"mask", 10, 14}, {"]", 14, 15}});
  // A dropped zero-width space stays inside its word's range.
  expect_words(tok, "na\xC3\xAFve\xE2\x80\x8Bly", {{"na\xC3\xAFve\xE2\x80\x8Bly", 0, 11}});
  // Only whitespace, or nothing: no words.
  expect_words(tok, " \t\n\xC2\xA0\xE3\x80\x80", {});
  expect_words(tok, "", {});
  // Controls vanish without splitting; U+2028 splits.
  expect_words(tok, "ab\x01" "cd\xE2\x80\xA8" "ef", {{"ab\x01" "cd", 0, 5}, {"ef", 8, 10}});
}

TEST(BertTokenizer, PiecesTileTheirWord) {
  const bert_tokenizer tok(tiny_vocab());
  const auto t = tok.tokenize("unaffable abc");  // the docstring example of Hugging Face's WordpieceTokenizer
  ASSERT_EQ(t.pieces.size(), 6u);
  const std::vector<std::string_view> tokens = {"un", "##aff", "##able", "a", "##b", "##c"};
  const std::vector<std::pair<std::size_t, std::size_t>> ranges = {{0, 2}, {2, 5}, {5, 9}, {10, 11}, {11, 12}, {12, 13}};
  for (std::size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(tok.vocab().token(t.pieces[i].id), tokens[i]);
    EXPECT_EQ(t.pieces[i].word, i < 3 ? 0 : 1);
    EXPECT_EQ(t.pieces[i].begin, ranges[i].first);
    EXPECT_EQ(t.pieces[i].end, ranges[i].second);
  }
}

TEST(BertTokenizer, NormalisedWordsKeepTheirOriginalBytes) {
  const bert_tokenizer tok(tiny_vocab());
  // "Café", "CAFE" + combining acute (NFC composes, stripping drops it again).
  for (const std::string text : {"Caf\xC3\xA9", "CAFE\xCC\x81"}) {
    const auto t = tok.tokenize(text);
    ASSERT_EQ(t.pieces.size(), 1u) << text;
    EXPECT_EQ(tok.vocab().token(t.pieces[0].id), "cafe");
    EXPECT_EQ(t.words[0].text, text);
    EXPECT_EQ(t.pieces[0].end, text.size());
  }
  // İ lower-cases to i + U+0307: two characters from one, both its bytes.
  const auto t = tok.tokenize("x \xC4\xB0");
  ASSERT_EQ(t.words.size(), 2u);
  EXPECT_EQ(t.words[1].begin, 2u);
  EXPECT_EQ(t.words[1].end, 4u);
  EXPECT_EQ(tok.vocab().token(t.pieces[1].id), "i");  // accent stripping dropped the U+0307
}

TEST(BertTokenizer, UnknownAndOverlongWordsAreOneUnk) {
  tokenizer_options o;
  o.max_chars_per_word = 5;
  const bert_tokenizer tok(tiny_vocab(), o);
  const auto t = tok.tokenize("abcdef abx hello");
  ASSERT_EQ(t.pieces.size(), 3u);
  EXPECT_EQ(t.pieces[0].id, tok.vocab().unk_id());  // 6 characters > 5, though in the vocabulary
  EXPECT_EQ(t.pieces[1].id, tok.vocab().unk_id());  // "a" "##b" then nothing for "x": the whole word
  EXPECT_EQ(t.pieces[1].begin, 7u);
  EXPECT_EQ(t.pieces[1].end, 10u);
  EXPECT_EQ(tok.vocab().token(t.pieces[2].id), "hello");
  o.max_chars_per_word = 0;
  KPLUG_EXPECT_ERROR(bert_tokenizer(tiny_vocab(), o), "max_chars_per_word is 0");
}

TEST(BertTokenizer, SplitSpecialTokensOption) {
  tokenizer_options o;
  o.split_special_tokens = true;
  const bert_tokenizer tok(tiny_vocab(), o);
  // Reference: BertTokenizer(vocab, split_special_tokens=True).tokenize("x[MASK]y [MASK] z")
  //   == ['x', '[', 'mask', ']', 'y', '[MASK]', 'z'].
  expect_words(tok, "x[MASK]y [MASK] z",
               {{"x", 0, 1}, {"[", 1, 2}, {"MASK", 2, 6}, {"]", 6, 7}, {"y", 7, 8}, {"[MASK]", 9, 15}, {"z", 16, 17}});
  EXPECT_EQ(tok.tokenize("[MASK]").pieces.at(0).id, tok.vocab().mask_id());
}

TEST(BertTokenizer, EncodeAddsClsAndSep) {
  const bert_tokenizer tok(tiny_vocab());
  const auto seq = tok.encode("hello, world! unaffable", 512);
  const std::vector<kplug::token_id> ids = {2, 8, 9, 10, 11, 5, 6, 7, 3};
  EXPECT_EQ(seq.ids, ids);
  const std::vector<std::int32_t> word_of = {-1, 0, 1, 2, 3, 4, 4, 4, -1};
  EXPECT_EQ(seq.word_of, word_of);
  EXPECT_EQ(seq.segment_ids, std::vector<std::int32_t>(9, 0));
  EXPECT_TRUE(seq.is_special(0));
  EXPECT_TRUE(seq.is_special(8));
  const auto empty = tok.encode("", 2);
  EXPECT_EQ(empty.ids, (std::vector<kplug::token_id>{2, 3}));
}

TEST(BertTokenizer, EncodeTruncatesKeepingSep) {
  const bert_tokenizer tok(tiny_vocab());
  const std::string text = "hello, world! unaffable";
  const auto full = tok.encode(text, 512).ids;
  for (kplug::index_t max_length = 2; max_length <= 12; ++max_length) {
    const auto seq = tok.encode(text, max_length);
    const auto n = std::min<std::size_t>(full.size(), static_cast<std::size_t>(max_length));
    ASSERT_EQ(seq.ids.size(), n);
    ASSERT_EQ(seq.word_of.size(), n);
    EXPECT_EQ(seq.ids.front(), tok.vocab().cls_id());
    EXPECT_EQ(seq.ids.back(), tok.vocab().sep_id());
    EXPECT_EQ(seq.word_of.back(), -1);
    // Hugging Face's truncation=True: the first max_length - 2 pieces.
    EXPECT_TRUE(std::equal(seq.ids.begin(), seq.ids.end() - 1, full.begin()));
  }
  KPLUG_EXPECT_ERROR(tok.encode(text, 1), "max_length is 1", "at least 2");
  KPLUG_EXPECT_ERROR(tok.encode(text, -5), "max_length is -5");
}

TEST(BertTokenizer, EncodeTruncationMatchesHuggingFaceOnMiniLm) {
  const bert_tokenizer* tok = kplug_test::minilm_tokenizer();
  if (tok == nullptr) return;
  // Reference: tokenizer("The capital of France is [MASK].", max_length=6, truncation=True)["input_ids"].
  const auto seq = tok->encode("The capital of France is [MASK].", 6);
  EXPECT_EQ(seq.ids, (std::vector<kplug::token_id>{101, 1996, 3007, 1997, 2605, 102}));
  // Untruncated: [101, 1996, 3007, 1997, 2605, 2003, 103, 1012, 102].
  const auto full = tok->encode("The capital of France is [MASK].", 512);
  EXPECT_EQ(full.ids, (std::vector<kplug::token_id>{101, 1996, 3007, 1997, 2605, 2003, 103, 1012, 102}));
  EXPECT_EQ(full.word_of[6], 5);  // [MASK] is word 5
}

TEST(BertTokenizer, CopiesShareNothingMutable) {
  bert_tokenizer a(tiny_vocab());
  const bert_tokenizer b = a;  // NOLINT(performance-unnecessary-copy-initialization)
  a = bert_tokenizer(wordpiece_vocab::from_tokens({"[UNK]", "[CLS]", "[SEP]", "[MASK]"}));
  EXPECT_EQ(b.vocab().token(b.tokenize("hello").pieces.at(0).id), "hello");
  EXPECT_EQ(a.tokenize("hello").pieces.at(0).id, a.vocab().unk_id());
}

TEST(BertTokenizer, FromDirectoryReadsTokenizerConfig) {
  kplug_test::temp_dir dir;
  dir.write("vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nHello\n");
  EXPECT_TRUE(bert_tokenizer::from_directory(dir.path()).options().lower_case);  // no config: defaults
  dir.write("tokenizer_config.json",
            R"({"do_lower_case": false, "strip_accents": null, "tokenize_chinese_chars": false, "never_split": null})");
  const auto cased = bert_tokenizer::from_directory(dir.path());
  EXPECT_FALSE(cased.options().lower_case);
  EXPECT_FALSE(cased.options().strip_accents.has_value());
  EXPECT_FALSE(cased.options().tokenize_chinese_chars);
  EXPECT_EQ(cased.vocab().token(cased.tokenize("Hello").pieces.at(0).id), "Hello");
  dir.write("tokenizer_config.json", R"({"strip_accents": true})");
  EXPECT_EQ(bert_tokenizer::from_directory(dir.path()).options().strip_accents, true);

  const std::string config = dir.file("tokenizer_config.json");
  dir.write("tokenizer_config.json", R"({"do_lower_case": "yes"})");
  KPLUG_EXPECT_ERROR(bert_tokenizer::from_directory(dir.path()), config, "\"do_lower_case\"", "must be true or false");
  dir.write("tokenizer_config.json", R"({"do_basic_tokenize": false})");
  KPLUG_EXPECT_ERROR(bert_tokenizer::from_directory(dir.path()), config, "do_basic_tokenize");
  dir.write("tokenizer_config.json", R"({"never_split": ["foo"]})");
  KPLUG_EXPECT_ERROR(bert_tokenizer::from_directory(dir.path()), config, "never_split");
  dir.write("tokenizer_config.json", "{not json");
  KPLUG_EXPECT_ERROR(bert_tokenizer::from_directory(dir.path()), config, "invalid JSON");
  dir.write("tokenizer_config.json", R"({"model_max_length": 1e999})");  // out_of_range, not parse_error
  KPLUG_EXPECT_ERROR(bert_tokenizer::from_directory(dir.path()), config, "invalid JSON", "number overflow");

  // The settings file is bounded before it is parsed; the limit also reaches vocab.txt.
  const std::string settings = R"({"do_lower_case": false})";
  dir.write("tokenizer_config.json", settings);
  kplug::input_limits limits;
  limits.max_json_file_bytes = settings.size();
  EXPECT_FALSE(bert_tokenizer::from_directory(dir.path(), limits).options().lower_case);
  limits.max_json_file_bytes = settings.size() - 1;
  KPLUG_EXPECT_ERROR(bert_tokenizer::from_directory(dir.path(), limits), config,
                     "a file of " + std::to_string(settings.size()) + " bytes exceeds the limit of " +
                         std::to_string(settings.size() - 1) + " (input_limits::max_json_file_bytes)");
  limits = {};
  limits.max_vocab_tokens = 6;  // vocab.txt above holds 7
  KPLUG_EXPECT_ERROR(bert_tokenizer::from_directory(dir.path(), limits), dir.file("vocab.txt"),
                     "input_limits::max_vocab_tokens");

  kplug_test::temp_dir empty;
  KPLUG_EXPECT_ERROR(bert_tokenizer::from_directory(empty.path()), empty.file("vocab.txt"));
}

}  // namespace
