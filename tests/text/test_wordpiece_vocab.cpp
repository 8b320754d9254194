// Reading vocab.txt the way Hugging Face's load_vocab does, and its errors.
#include <gtest/gtest.h>

#include <string>

#include "kplug/text/wordpiece_vocab.hpp"
#include "support/temp_dir.hpp"
#include "text/text_test_support.hpp"

namespace {

using kplug::text::wordpiece_vocab;

constexpr const char* specials = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";

TEST(WordpieceVocab, IdsAreLineNumbers) {
  kplug_test::temp_dir dir;
  const auto v = wordpiece_vocab::load(dir.write("vocab.txt", std::string(specials) + "the\n##s\ncafé\n"));
  EXPECT_EQ(v.size(), 8);
  EXPECT_EQ(v.pad_id(), 0);
  EXPECT_EQ(v.unk_id(), 1);
  EXPECT_EQ(v.cls_id(), 2);
  EXPECT_EQ(v.sep_id(), 3);
  EXPECT_EQ(v.mask_id(), 4);
  EXPECT_EQ(v.find("the"), 5);
  EXPECT_EQ(v.find("##s"), 6);
  EXPECT_EQ(v.find("café"), 7);
  EXPECT_EQ(v.find("s"), std::nullopt);
  EXPECT_EQ(v.token(7), "café");
  EXPECT_EQ(v.longest_token_bytes(), 6u);
}

TEST(WordpieceVocab, LineEndingsAsPythonTextModeReadsThem) {
  kplug_test::temp_dir dir;
  // \r\n, a lone \r, an empty line and a last line without a newline.
  const auto v = wordpiece_vocab::load(dir.write("vocab.txt", "[UNK]\r\n[CLS]\r[SEP]\n\n[MASK]\nlast"));
  EXPECT_EQ(v.size(), 6);
  EXPECT_EQ(v.cls_id(), 1);
  EXPECT_EQ(v.sep_id(), 2);
  EXPECT_EQ(v.find(""), 3);
  EXPECT_EQ(v.mask_id(), 4);
  EXPECT_EQ(v.find("last"), 5);
  EXPECT_EQ(v.pad_id(), -1);  // optional
}

TEST(WordpieceVocab, DuplicateTokenFindsItsLastLine) {
  const auto v = wordpiece_vocab::from_tokens({"[UNK]", "[CLS]", "[SEP]", "[MASK]", "x", "y", "x"});
  EXPECT_EQ(v.find("x"), 6);
  EXPECT_EQ(v.token(4), "x");
  EXPECT_EQ(v.size(), 7);
}

TEST(WordpieceVocab, MissingFileIsNamed) {
  kplug_test::temp_dir dir;
  const std::string path = dir.file("nope/vocab.txt");
  KPLUG_EXPECT_ERROR(wordpiece_vocab::load(path), "load WordPiece vocabulary", path);
}

TEST(WordpieceVocab, EachMissingSpecialTokenIsNamed) {
  kplug_test::temp_dir dir;
  for (const std::string missing : {"[CLS]", "[SEP]", "[MASK]", "[UNK]"}) {
    std::string text;
    for (const std::string t : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "word"})
      if (t != missing) text += t + "\n";
    const std::string path = dir.write("vocab.txt", text);
    KPLUG_EXPECT_ERROR(wordpiece_vocab::load(path), path, "lacks", missing);
  }
  const std::string path = dir.write("empty.txt", "");
  KPLUG_EXPECT_ERROR(wordpiece_vocab::load(path), path, "[CLS], [SEP], [MASK], [UNK]");
}

TEST(WordpieceVocab, InvalidUtf8LineIsNamed) {
  kplug_test::temp_dir dir;
  const std::string path = dir.write("vocab.txt", std::string(specials) + "fine\nbad\xFF\n");
  KPLUG_EXPECT_ERROR(wordpiece_vocab::load(path), path + ", line 7", "not valid UTF-8", "byte 3");
}

TEST(WordpieceVocab, TokensBeyondTheLimitAreRefusedAtTheirLine) {
  kplug_test::temp_dir dir;
  const std::string path = dir.write("vocab.txt", std::string(specials) + "the\n##s\n");
  kplug::input_limits limits;
  limits.max_vocab_tokens = 6;
  KPLUG_EXPECT_ERROR(wordpiece_vocab::load(path, limits), path + ", line 7",
                     "the number of tokens exceeds the limit of 6 (input_limits::max_vocab_tokens)");
  limits.max_vocab_tokens = 7;
  EXPECT_EQ(wordpiece_vocab::load(path, limits).size(), 7);
  // The default, 2^24 tokens, stops a runaway file (here 2^24 + 10 empty
  // lines) at its first token beyond it.
  const std::string runaway = dir.write("runaway.txt", std::string(specials) + std::string((1u << 24) + 5, '\n'));
  KPLUG_EXPECT_ERROR(wordpiece_vocab::load(runaway), runaway + ", line 16777217", "input_limits::max_vocab_tokens");
}

TEST(WordpieceVocab, OutOfRangeIdIsAnError) {
  const auto v = wordpiece_vocab::from_tokens({"[UNK]", "[CLS]", "[SEP]", "[MASK]"});
  KPLUG_EXPECT_ERROR(v.token(4), "token id 4", "vocabulary of 4 tokens");
  KPLUG_EXPECT_ERROR(v.token(-1), "token id -1");
}

TEST(WordpieceVocab, MiniLmVocabularyHasBertBaseUncasedIds) {
  if (kplug_test::minilm_tokenizer() == nullptr) return;
  const auto v = wordpiece_vocab::load(kplug_test::minilm_dir() + "/vocab.txt");
  // Reference: BertTokenizer.from_pretrained(...).vocab in transformers 4.38.2.
  EXPECT_EQ(v.size(), 30522);
  EXPECT_EQ(v.pad_id(), 0);
  EXPECT_EQ(v.unk_id(), 100);
  EXPECT_EQ(v.cls_id(), 101);
  EXPECT_EQ(v.sep_id(), 102);
  EXPECT_EQ(v.mask_id(), 103);
  EXPECT_EQ(v.find("hello"), 7592);
  EXPECT_EQ(v.find("##strom"), 15687);
}

}  // namespace
