// The mention-typing subcommands on the real all-MiniLM-L6-v2 and small
// hand-made data: train-head, eval (schema errors, unknown labels, the
// head's row, linker mode), export (the spliced rows), and tune (a plugin
// must carry the knowledge that alone decides the label).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kplug/core/random.hpp"
#include "kplug/io/npy.hpp"
#include "kplug/io/safetensors.hpp"
#include "kplug/text/wordpiece_vocab.hpp"
#include "support/model_paths.hpp"
#include "support/temp_dir.hpp"
#include "tools/cli_support.hpp"

namespace {

using kplug_test::run_kplug;
using kplug_test::temp_dir;

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string instance(const std::string& text, int start, int end, const std::string& entity,
                     const std::string& label) {
  nlohmann::json m = {{"start", start}, {"end", end}};
  if (!entity.empty()) m["entity"] = entity;
  return nlohmann::json{{"text", text}, {"mentions", {m}}, {"label", label}}.dump() + "\n";
}

// Sentences whose typed mention ("thing") says nothing about the label:
// only the entity does. Entity e<k> has label "x" for even k, "y" for odd k.
const std::vector<std::string> templates = {"the thing was here", "i saw the thing today", "a thing fell down",
                                            "they sold the thing", "where is that thing"};
constexpr int typing_entities = 12;

using kplug_test::entity_name;
std::string label_of(int k) { return k % 2 == 0 ? "x" : "y"; }

std::string knowledge_data() {
  std::string out;
  for (int k = 0; k < typing_entities; ++k)
    for (const std::string& t : templates) {
      const auto at = static_cast<int>(t.find("thing"));
      out += instance(t, at, at + 5, entity_name(k), label_of(k));
    }
  return out;
}

class TypingTools : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!kplug_test::have_minilm()) return;
    dir_ = new temp_dir();
    const std::string d = dir_->path();
    write_file(d + "/labels.txt", "x\ny\n");
    write_file(d + "/data.jsonl", knowledge_data());
    // A knowledge base of well-separated random vectors, and aliases.
    kplug::xoshiro256 rng(7);
    kplug::matrix<float> table(typing_entities, 8);
    for (kplug::index_t r = 0; r < typing_entities; ++r)
      for (float& v : table.row(r)) v = static_cast<float>(rng.uniform() * 2 - 1);
    std::filesystem::create_directories(d + "/kb");
    kplug::io::write_npy(d + "/kb/entities.npy", table.view());
    std::string ids = std::to_string(typing_entities) + "\n", aliases;
    for (int k = 0; k < typing_entities; ++k) {
      ids += entity_name(k) + "\t" + std::to_string(k) + "\n";
      aliases += "thing\t";
      aliases += entity_name(k);
      aliases += k == 3 ? "\t50\n" : "\t1\n";
    }
    write_file(d + "/kb/entity2id.txt", ids);
    write_file(d + "/aliases.tsv", aliases);
    const auto r = run_kplug({"train-head", "--model", kplug_test::minilm_dir(), "--train", d + "/data.jsonl", "--dev",
                              d + "/data.jsonl", "--labels", d + "/labels.txt", "--out", d + "/model", "--epochs",
                              "20", "--quiet"},
                             *dir_);
    train_head_ok_ = r.status == 0;
    train_head_err_ = r.err;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (!kplug_test::have_minilm()) GTEST_SKIP() << "all-MiniLM-L6-v2 not found (scripts/fetch-model.sh)";
    ASSERT_TRUE(train_head_ok_) << train_head_err_;
  }
  static std::string path(const std::string& name) { return dir_->path() + "/" + name; }
  static std::string model() { return path("model"); }

  static inline temp_dir* dir_ = nullptr;
  static inline bool train_head_ok_ = false;
  static inline std::string train_head_err_;
};

TEST_F(TypingTools, TrainHeadWritesATokenClassificationCheckpoint) {
  std::ifstream in(path("model/config.json"));
  const auto config = nlohmann::json::parse(in);
  EXPECT_EQ(config.at("architectures")[0], "BertForTokenClassification");
  EXPECT_EQ(config.at("id2label").at("0"), "x");
  EXPECT_EQ(config.at("id2label").at("1"), "y");
  const kplug::io::safetensors_file f(path("model/model.safetensors"));
  ASSERT_TRUE(f.contains("classifier.weight"));
  EXPECT_EQ(f.tensor("classifier.weight").shape()[0], 2);
  EXPECT_EQ(f.tensor("classifier.weight").shape()[1], 384);
  EXPECT_TRUE(std::filesystem::exists(path("model/vocab.txt")));
}

// The head reads the typed mention's first piece: eval's predictions must
// be the arg-max of classifier(W) applied to that row of kplug encode's
// hidden states (encode is checked against PyTorch elsewhere).
TEST_F(TypingTools, EvalPredictsFromTheMentionsFirstPiece) {
  temp_dir scratch;
  // Mentions at different words: the head row is 1 + the word index (one piece each).
  const std::vector<std::pair<std::string, int>> cases = {
      {"dogs bark at night", 0}, {"the river was cold", 1}, {"she ate an apple", 3}, {"my old car broke", 2}};
  std::string data, texts;
  for (const auto& [text, word] : cases) {
    std::size_t start = 0;
    for (int w = 0; w < word; ++w) start = text.find(' ', start) + 1;
    const std::size_t end = text.find(' ', start) == std::string::npos ? text.size() : text.find(' ', start);
    data += instance(text, static_cast<int>(start), static_cast<int>(end), "", "x");
    texts += nlohmann::json{{"text", text}}.dump() + "\n";
  }
  write_file(scratch.file("data.jsonl"), data);
  write_file(scratch.file("texts.jsonl"), texts);
  auto r = run_kplug({"eval", "--model", model(), "--data", scratch.file("data.jsonl"), "--predictions",
                      scratch.file("pred.jsonl")},
                     scratch);
  ASSERT_EQ(r.status, 0) << r.err;
  r = run_kplug({"encode", "--model", model(), "--input", scratch.file("texts.jsonl"), "--output",
                 scratch.file("enc"), "--quiet"},
                scratch);
  ASSERT_EQ(r.status, 0) << r.err;
  const auto hidden = kplug::io::open_npy(scratch.file("enc/hidden.npy"));
  const auto h = hidden.as_matrix<float>();
  const auto offsets = kplug_test::read_offsets(scratch.file("enc/offsets.npy"));
  const kplug::io::safetensors_file f(model() + "/model.safetensors");
  const auto w = f.tensor("classifier.weight").values<float>();
  const auto b = f.tensor("classifier.bias").values<float>();
  std::ifstream pred(scratch.file("pred.jsonl"));
  std::string line;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    ASSERT_TRUE(std::getline(pred, line));
    const auto p = nlohmann::json::parse(line);
    const auto row = h.row(static_cast<kplug::index_t>(offsets[i]) + 1 + cases[i].second);
    double logit[2];
    for (int c = 0; c < 2; ++c) {
      logit[c] = b[static_cast<std::size_t>(c)];
      for (std::size_t k = 0; k < 384; ++k) logit[c] += double(w[static_cast<std::size_t>(c) * 384 + k]) * row[k];
    }
    EXPECT_EQ(p.at("prediction"), logit[0] >= logit[1] ? "x" : "y") << cases[i].first;
    EXPECT_EQ(p.at("correct"), p.at("prediction") == "x");
  }
}

TEST_F(TypingTools, SchemaErrorsNameTheLineAndField) {
  temp_dir scratch;
  const std::string good = instance("the dog barked", 4, 7, "", "x");
  struct bad_case {
    std::string line;
    std::vector<std::string> expected;
  };
  const std::vector<bad_case> cases = {
      {R"({"text": "the dog barked", "mentions": [{"start": 4, "end": 7}]})", {"line 2", "\"label\""}},
      {R"({"text": "the dog barked", "mentions": [{"start": 4, "end": 70}], "label": "x"})",
       {"line 2", "\"mentions\"[0]", "14 characters"}},
      {R"({"text": "the dog barked", "mentions": [{"start": 5, "end": 7}], "label": "x"})",
       {"line 2", "inside a word"}},
      {R"({"text": "the dog barked", "mentions": [{"start": "4", "end": 7}], "label": "x"})",
       {"line 2", "\"mentions\"[0].start", "integer"}},
      {R"({"text": "the dog barked", "mentions": [], "label": "x"})", {"line 2", "non-empty"}},
      {R"({"text": "the dog barked", "mentions": [{"start": 4, "end": 7, "entity": 5}], "label": "x"})",
       {"line 2", ".entity"}},
      {R"(["not", "an", "object"])", {"line 2", "JSON object"}},
  };
  for (const bad_case& c : cases) {
    write_file(scratch.file("bad.jsonl"), good + c.line + "\n");
    const auto r = run_kplug({"eval", "--model", model(), "--data", scratch.file("bad.jsonl")}, scratch);
    EXPECT_EQ(r.status, 1) << c.line;
    for (const std::string& e : c.expected) EXPECT_NE(r.err.find(e), std::string::npos) << c.line << "\n" << r.err;
  }
}

// Offsets count characters (code points), not bytes.
TEST_F(TypingTools, OffsetsAreCharacters) {
  temp_dir scratch;
  // "café" is 4 characters, 5 bytes: "dog" starts at character 5, byte 6.
  write_file(scratch.file("d.jsonl"), instance("café dog", 5, 8, "", "x"));
  const auto r = run_kplug({"eval", "--model", model(), "--data", scratch.file("d.jsonl")}, scratch);
  EXPECT_EQ(r.status, 0) << r.err;
  write_file(scratch.file("d.jsonl"), instance("café dog", 6, 9, "", "x"));  // byte offsets: past the end
  EXPECT_EQ(run_kplug({"eval", "--model", model(), "--data", scratch.file("d.jsonl")}, scratch).status, 1);
}

// A typed mention beyond the model's 512 positions cannot be read: an
// error, not the prediction of some other row.
TEST_F(TypingTools, AMentionTruncatedAwayIsAnError) {
  temp_dir scratch;
  std::string text;
  for (int i = 0; i < 600; ++i) text += "word ";
  const auto start = static_cast<int>(text.size());
  text += "dog";
  write_file(scratch.file("d.jsonl"), instance(text, start, start + 3, "", "x"));
  const auto r = run_kplug({"eval", "--model", model(), "--data", scratch.file("d.jsonl")}, scratch);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("beyond the model's 512 rows"), std::string::npos) << r.err;
}

TEST_F(TypingTools, UnknownLabelsAreCountedNotFatal) {
  temp_dir scratch;
  write_file(scratch.file("d.jsonl"), instance("the dog barked", 4, 7, "", "x") +
                                          instance("the cat sat", 4, 7, "", "noun.unicorn"));
  const auto r = run_kplug({"eval", "--model", model(), "--data", scratch.file("d.jsonl"), "--summary",
                            scratch.file("s.json")},
                           scratch);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("1 instances have a label the model does not know"), std::string::npos) << r.out;
  std::ifstream in(scratch.file("s.json"));
  const auto s = nlohmann::json::parse(in);
  EXPECT_EQ(s.at("instances"), 2);
  EXPECT_EQ(s.at("unknown_labels"), 1);
  EXPECT_LE(s.at("correct").get<int>(), 1);
}

// export: the paper's format puts [entity] / mention; the head moves to
// the mention's first piece after the two inserted rows. --format takes the
// library's format names: PELT's mention ( E ) gives the entity row the
// position of "(" and leaves the head on the mention.
TEST_F(TypingTools, ExportWritesTheSplicedRows) {
  temp_dir scratch;
  write_file(scratch.file("d.jsonl"), instance("i saw the thing today", 10, 15, "e5", "y"));
  const auto export_with = [&](std::vector<std::string> format_args) {
    std::vector<std::string> args{"export", "--model", model(),   "--data", scratch.file("d.jsonl"),
                                  "--kb",   path("kb"), "--out", scratch.file("x.jsonl")};
    args.insert(args.end(), format_args.begin(), format_args.end());
    const auto r = run_kplug(args, scratch);
    EXPECT_EQ(r.status, 0) << r.err;
    std::ifstream in(scratch.file("x.jsonl"));
    return nlohmann::json::parse(in);
  };
  const auto vocab = kplug::text::wordpiece_vocab::load(kplug_test::minilm_dir() + "/vocab.txt");
  const auto id = [&](const char* t) { return *vocab.find(t); };

  const auto x = export_with({});
  const std::vector<std::int32_t> want = {id("[CLS]"), id("i"),     id("saw"),   id("the"),
                                          -1,          id("/"),     id("thing"), id("today"), id("[SEP]")};
  EXPECT_EQ(x.at("ids").get<std::vector<std::int32_t>>(), want);
  EXPECT_EQ(x.at("entity_rows"), nlohmann::json::array({5}));
  EXPECT_EQ(x.at("head"), 6);
  EXPECT_EQ(x.at("label"), 1);
  EXPECT_EQ(x.at("positions"), nlohmann::json::array({0, 1, 2, 3, 4, 5, 6, 7, 8}));

  const auto pelt = export_with({"--format", "mention-paren-entity"});
  const std::vector<std::int32_t> want_pelt = {id("[CLS]"), id("i"), id("saw"), id("the"),   id("thing"),
                                               id("("),     -1,      id(")"),   id("today"), id("[SEP]")};
  EXPECT_EQ(pelt.at("ids").get<std::vector<std::int32_t>>(), want_pelt);
  EXPECT_EQ(pelt.at("entity_rows"), nlohmann::json::array({5}));
  EXPECT_EQ(pelt.at("head"), 4);
  EXPECT_EQ(pelt.at("positions"), nlohmann::json::array({0, 1, 2, 3, 4, 5, 5, 6, 7, 8}));
}

// The label depends only on the entity: without knowledge the frozen
// model is at chance; a map-tuned plugin must carry the label through the
// frozen encoder to the frozen head.
TEST_F(TypingTools, MapTuningInjectsTheKnowledgeThatDecidesTheLabel) {
  temp_dir scratch;
  auto r = run_kplug({"eval", "--model", model(), "--data", path("data.jsonl"), "--summary", scratch.file("none.json")},
                     scratch);
  ASSERT_EQ(r.status, 0) << r.err;
  std::ifstream none_in(scratch.file("none.json"));
  const double none = nlohmann::json::parse(none_in).at("accuracy");
  EXPECT_LE(none, 0.6);  // 5 templates x 12 typing_entities, half of each label: no text cue

  r = run_kplug({"tune", "--model", model(), "--kb", path("kb"), "--init", "random", "--train", path("data.jsonl"),
                 "--epochs", "8", "--lr", "3e-2", "--batch-size", "12", "--out", scratch.file("p.kplug"), "--quiet"},
                scratch);
  ASSERT_EQ(r.status, 0) << r.err;
  r = run_kplug({"eval", "--model", model(), "--data", path("data.jsonl"), "--plugin", scratch.file("p.kplug"), "--kb",
                 path("kb"), "--summary", scratch.file("tuned.json")},
                scratch);
  ASSERT_EQ(r.status, 0) << r.err;
  std::ifstream tuned_in(scratch.file("tuned.json"));
  const auto tuned = nlohmann::json::parse(tuned_in);
  EXPECT_GE(tuned.at("accuracy").get<double>(), 0.9) << "no knowledge: " << none;
  EXPECT_EQ(tuned.at("typed_with_entity"), typing_entities * static_cast<int>(templates.size()));

  // Linker mode ignores the file's typing_entities: "thing" links to e3 (prior 50)
  // everywhere, so only e3's own instances keep their entity.
  r = run_kplug({"eval", "--model", model(), "--data", path("data.jsonl"), "--plugin", scratch.file("p.kplug"), "--kb",
                 path("kb"), "--aliases", path("aliases.tsv"), "--entities", "linker", "--summary",
                 scratch.file("linked.json")},
                scratch);
  ASSERT_EQ(r.status, 0) << r.err;
  std::ifstream linked_in(scratch.file("linked.json"));
  const auto linked = nlohmann::json::parse(linked_in);
  EXPECT_EQ(linked.at("linked"), typing_entities * static_cast<int>(templates.size()));
  EXPECT_EQ(linked.at("linked_correct"), static_cast<int>(templates.size()));
  EXPECT_LE(linked.at("accuracy").get<double>(), 0.65);  // one entity's label for all: about half right
}

TEST_F(TypingTools, BadCommandLinesAreUsageErrors) {
  temp_dir scratch;
  EXPECT_EQ(run_kplug({"eval", "--model", model(), "--data", path("data.jsonl"), "--kb", path("kb")}, scratch).status,
            2);
  EXPECT_EQ(run_kplug({"eval", "--model", model(), "--data", path("data.jsonl"), "--entities", "oracle"}, scratch)
                .status,
            2);
  EXPECT_EQ(run_kplug({"tune", "--model", model(), "--kb", path("kb"), "--out", scratch.file("p"), "--init", "magic"},
                      scratch)
                .status,
            2);
  const auto r = run_kplug({"tune", "--model", kplug_test::minilm_dir(), "--kb", path("kb"), "--init", "random",
                            "--epochs", "0", "--out", scratch.file("p")},
                           scratch);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("id2label"), std::string::npos) << r.err;
}

}  // namespace
