// The tokenizer against Hugging Face's slow BertTokenizer: every line of
// tests/fixtures/minilm/tokenizer.jsonl (made by
// scripts/fixtures/make_tokenizer_fixtures.py) must give the same ids, and
// every result must be well aligned with its text.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <random>

#include <nlohmann/json.hpp>

#include "kplug/text/wordpiece.hpp"
#include "text/text_test_support.hpp"

namespace {

using kplug::text::bert_tokenizer;
using kplug::text::tokenized_text;
using kplug::text::tokenizer_options;

struct fixture_line {
  std::string text;
  tokenizer_options options;
  std::string options_json;  // for messages; empty for the model's own settings
  std::vector<kplug::token_id> ids;
};

std::vector<fixture_line> read_fixture(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot open " << path;
  std::vector<fixture_line> lines;
  std::string raw;
  while (std::getline(in, raw)) {
    const auto j = nlohmann::json::parse(raw);
    fixture_line line;
    line.text = j.at("text").get<std::string>();
    line.ids = j.at("ids").get<std::vector<kplug::token_id>>();
    if (const auto o = j.find("options"); o != j.end()) {
      line.options_json = o->dump();
      line.options.lower_case = o->value("do_lower_case", true);
      if (o->contains("strip_accents")) line.options.strip_accents = o->at("strip_accents").get<bool>();
      line.options.tokenize_chinese_chars = o->value("tokenize_chinese_chars", true);
      line.options.split_special_tokens = o->value("split_special_tokens", false);
    }
    lines.push_back(std::move(line));
  }
  return lines;
}

// Tokenizers over the MiniLM vocabulary, one per setting a fixture line uses.
class tokenizer_cache {
 public:
  explicit tokenizer_cache(const bert_tokenizer& model) : model_(model) {}
  const bert_tokenizer& get(const fixture_line& line) {
    if (line.options_json.empty()) return model_;
    auto& slot = by_options_[line.options_json];
    if (!slot) slot = std::make_unique<bert_tokenizer>(model_.vocab(), line.options);
    return *slot;
  }

 private:
  const bert_tokenizer& model_;
  std::map<std::string, std::unique_ptr<bert_tokenizer>> by_options_;
};

std::string escaped(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string show(const std::vector<kplug::token_id>& ids, const kplug::text::wordpiece_vocab& vocab) {
  std::ostringstream out;
  for (const auto id : ids) {
    out << id;
    if (id >= 0 && id < vocab.size()) out << ':' << vocab.token(id);
    out << ' ';
  }
  return out.str();
}

// Alignment checks that hold for every text; returns the first violation.
std::string alignment_error(const std::string& text, const tokenized_text& t) {
  std::ostringstream err;
  std::size_t next_piece = 0;
  for (std::size_t w = 0; w < t.words.size(); ++w) {
    const auto& word = t.words[w];
    if (!(word.begin < word.end && word.end <= text.size())) return err << "word " << w << " has a bad range", err.str();
    if (word.text != std::string_view(text).substr(word.begin, word.end - word.begin))
      return err << "word " << w << " text is not its range", err.str();
    if (w > 0 && t.words[w - 1].end > word.begin) return err << "word " << w << " overlaps the one before", err.str();
    std::size_t at = word.begin;
    bool any = false;
    while (next_piece < t.pieces.size() && t.pieces[next_piece].word == static_cast<std::int32_t>(w)) {
      const auto& p = t.pieces[next_piece];
      if (p.begin != at || p.end < p.begin || p.end > word.end)
        return err << "piece " << next_piece << " [" << p.begin << "," << p.end << ") does not continue word " << w
                   << " [" << word.begin << "," << word.end << ") at " << at,
               err.str();
      at = p.end;
      any = true;
      ++next_piece;
    }
    if (!any) return err << "word " << w << " has no piece", err.str();
    if (at != word.end) return err << "pieces of word " << w << " stop at " << at << " before its end", err.str();
  }
  if (next_piece != t.pieces.size()) return err << "piece " << next_piece << " is out of word order", err.str();
  return {};
}

bool plain_lowercase_ascii(const std::string& text) {
  for (const char c : text)
    if (c < 0x20 || c > 0x7E || (c >= 'A' && c <= 'Z') || c == '[') return false;
  return true;
}

void check_fixture_file(const std::string& path) {
  const bert_tokenizer* model = kplug_test::minilm_tokenizer();
  if (model == nullptr) return;
  const auto lines = read_fixture(path);
  ASSERT_FALSE(lines.empty()) << path;
  tokenizer_cache cache(*model);
  std::size_t mismatches = 0;
  std::size_t misaligned = 0;
  std::size_t ascii_checked = 0;
  for (const auto& line : lines) {
    const bert_tokenizer& tok = cache.get(line);
    const auto got = tok.encode(line.text, 1 << 30).ids;
    if (got != line.ids && ++mismatches <= 5) {
      ADD_FAILURE() << "ids differ from Hugging Face for " << escaped(line.text)
                    << (line.options_json.empty() ? "" : " with " + line.options_json)
                    << "\n  expected: " << show(line.ids, tok.vocab()) << "\n  got:      " << show(got, tok.vocab());
    }
    const tokenized_text t = tok.tokenize(line.text);
    if (const std::string e = alignment_error(line.text, t); !e.empty() && ++misaligned <= 5)
      ADD_FAILURE() << "misaligned pieces for " << escaped(line.text) << ": " << e;
    if (line.options_json.empty() && plain_lowercase_ascii(line.text)) {
      ++ascii_checked;
      for (const auto& p : t.pieces) {
        if (p.id == tok.vocab().unk_id()) continue;
        std::string_view piece = tok.vocab().token(p.id);
        if (piece.starts_with("##")) piece.remove_prefix(2);
        ASSERT_EQ(piece, std::string_view(line.text).substr(p.begin, p.end - p.begin)) << escaped(line.text);
      }
    }
  }
  EXPECT_EQ(mismatches, 0u) << "of " << lines.size() << " lines in " << path;
  EXPECT_EQ(misaligned, 0u) << "of " << lines.size() << " lines in " << path;
  if (path == kplug_test::tokenizer_fixture()) {
    EXPECT_GT(ascii_checked, 1000u);
  }
}

TEST(TokenizerFixture, IdsMatchHuggingFaceOnEveryLine) { check_fixture_file(kplug_test::tokenizer_fixture()); }

// The exhaustive per-code-point file is too large for the tree; when
// scripts/fixtures/make_tokenizer_fixtures.py --exhaustive has written one,
// KPLUG_TOKENIZER_EXHAUSTIVE names it and it is checked the same way.
TEST(TokenizerFixture, ExhaustiveFileWhenGiven) {
  const char* path = std::getenv("KPLUG_TOKENIZER_EXHAUSTIVE");
  if (path == nullptr || *path == '\0')
    GTEST_SKIP() << "opt-in: set KPLUG_TOKENIZER_EXHAUSTIVE to a file from make_tokenizer_fixtures.py --exhaustive";
  check_fixture_file(path);
}

// Random byte soup (ASCII, UTF-8 fragments of many scripts and marks,
// special tokens, ill-formed bytes): replaced, it stays well aligned;
// rejected, it fails with kplug::error, never otherwise.
TEST(TokenizerFixture, RandomBytesStayAligned) {
  const bert_tokenizer* model = kplug_test::minilm_tokenizer();
  if (model == nullptr) return;
  tokenizer_options replace_options;
  replace_options.on_invalid_utf8 = kplug::text::invalid_utf8::replace;
  const bert_tokenizer replacing(model->vocab(), replace_options);
  const std::vector<std::string> fragments = {
      "a", "Z", " ", "\t", ".", "[MASK]", "[CLS", "\xC3\xA9", "e\xCC\x81", "\xCC\xA3", "\xC4\xB0", "\xCE\xA3",
      "\xE4\xB8\xAD", "\xE1\x84\x80", "\xE1\x85\xA1", "\xEA\xB0\x80", "\xE2\x80\x8B", "\xE2\x80\xA8",
      "\xF0\x9F\x98\x80", "\xEF\xBF\xBD", "\x80", "\xFF", "\xE2\x82", "\xED\xA0\x80", "\xC0\xAF", "\x00"};
  std::mt19937 rng(20240604);
  std::uniform_int_distribution<std::size_t> pick(0, fragments.size() - 1);
  std::uniform_int_distribution<int> length(0, 40);
  for (int round = 0; round < 3000; ++round) {
    std::string text;
    for (int k = length(rng); k > 0; --k) text += fragments[pick(rng)];
    const tokenized_text t = replacing.tokenize(text);
    const std::string e = alignment_error(text, t);
    ASSERT_TRUE(e.empty()) << escaped(text) << ": " << e;
    try {
      (void)model->tokenize(text);
    } catch (const kplug::error& err) {
      EXPECT_NE(std::string(err.what()).find("invalid UTF-8"), std::string::npos) << err.what();
    }
  }
}

TEST(TokenizerFixture, HasTheExpectedSize) {
  const auto lines = read_fixture(kplug_test::tokenizer_fixture());
  EXPECT_GT(lines.size(), 3000u);
  std::size_t with_options = 0;
  for (const auto& l : lines) with_options += !l.options_json.empty();
  EXPECT_GT(with_options, 500u);
}

}  // namespace
