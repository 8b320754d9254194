// General map-tuning through the CLI: `kplug tune --objective mmlm` on the
// tiny masked-LM fixture (its vocabulary is digits and punctuation), the
// general plugin as the start of a task's tuning (--init plugin:FILE), and a
// plugin from another encoder accepted only when asked (--allow-other-encoder).
#include <gtest/gtest.h>

#include <cstdlib>
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kplug/core/random.hpp"
#include "kplug/io/npy.hpp"
#include "kplug/map/identity.hpp"
#include "kplug/map/mlp.hpp"
#include "kplug/plugin/knowledge_plugin.hpp"
#include "support/model_paths.hpp"
#include "support/temp_dir.hpp"
#include "tools/cli_support.hpp"

namespace {

using kplug_test::run_kplug;
using kplug_test::temp_dir;

constexpr int general_entities = 10;
constexpr int general_d_kb = 8;

std::string line(const std::string& text, int start, int end, const std::string& entity) {
  return nlohmann::json{{"text", text}, {"mentions", {{{"start", start}, {"end", end}, {"entity", entity}}}}}.dump() +
         "\n";
}

using kplug_test::entity_name;

// Entity e<k> is named by the digit k; the text around it says nothing about
// which digit, so only the entity's mapped row can name the masked mention.
std::string corpus() {
  const std::vector<std::string> after = {" ( ) .", " , - !", " * + ?", " # $ %", " & ; :"};
  std::string out;
  for (int k = 0; k < general_entities; ++k)
    for (const std::string& tail : after) out += line(std::to_string(k) + tail, 0, 1, entity_name(k));
  return out;
}

class GeneralTuning : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string d = dir.path();
    kplug::xoshiro256 rng(11);
    kplug::matrix<float> table(general_entities, general_d_kb);
    for (kplug::index_t r = 0; r < general_entities; ++r)
      for (float& v : table.row(r)) v = static_cast<float>(rng.uniform() * 2 - 1);
    std::filesystem::create_directories(d + "/kb");
    kplug::io::write_npy(d + "/kb/entities.npy", table.view());
    std::string ids = std::to_string(general_entities) + "\n";
    for (int k = 0; k < general_entities; ++k) ids += entity_name(k) + "\t" + std::to_string(k) + "\n";
    dir.write("kb/entity2id.txt", ids);
    dir.write("corpus.jsonl", corpus());
  }

  struct dev_figures {
    double accuracy = -1, loss = -1;
  };
  // The best dev figures tune reports after training on the corpus.
  dev_figures tune(const std::vector<std::string>& extra, const std::vector<std::string>& launcher = {}) {
    std::vector<std::string> args = {"tune", "--objective", "mmlm", "--model", mlm(), "--kb", dir.file("kb"),
                                     "--init", "random", "--train", dir.file("corpus.jsonl"), "--dev",
                                     dir.file("corpus.jsonl"), "--batch-size", "10", "--seed", "3"};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto r = run_kplug(args, dir, launcher);
    EXPECT_EQ(r.status, 0) << r.err;
    last_err = r.err;
    const auto at = r.err.find("best dev accuracy "), loss = r.err.find("(loss ", at);
    if (at == std::string::npos || loss == std::string::npos) {
      ADD_FAILURE() << r.err;
      return {};
    }
    return {std::stod(r.err.substr(at + 18)), std::stod(r.err.substr(loss + 6))};
  }

  static std::string mlm() { return kplug_test::fixture("tiny_mlm"); }
  temp_dir dir;
  std::string last_err;  // of the last tune()
};

// Without training the mapped rows name no digit; after MMLM map-tuning the
// frozen model (random, tiny: it cannot be steered all the way) puts far more
// probability on the masked mention, from its entity alone: measured 7.68 ->
// 4.49 nats (uniform over the vocabulary: 6.93), accuracy 0 -> 0.28 (a digit
// at random: 0.1).
TEST_F(GeneralTuning, MmlmTeachesThePluginToNameTheMaskedMention) {
  const dev_figures untrained = tune({"--epochs", "1", "--lr", "1e-9", "--out", dir.file("u.kplug")});
  const dev_figures tuned = tune({"--epochs", "40", "--lr", "5e-2", "--out", dir.file("g.kplug")});
  EXPECT_LT(tuned.loss, untrained.loss - 2.0);
  EXPECT_LE(untrained.accuracy, 0.1);
  EXPECT_GE(tuned.accuracy, 0.2);
  const auto p = kplug::plugin::read_knowledge_plugin(dir.file("g.kplug"));
  EXPECT_EQ(p.mapper.kind(), "affine");
  EXPECT_EQ(p.mapper.input_dim(), general_d_kb);
  EXPECT_EQ(p.mapper.output_dim(), 32);
}

TEST_F(GeneralTuning, MmlmNeedsAMaskedLmCheckpoint) {
  const auto r = run_kplug({"tune", "--objective", "mmlm", "--model", kplug_test::fixture("tiny_cls"), "--kb",
                            dir.file("kb"), "--init", "random", "--train", dir.file("corpus.jsonl"), "--out",
                            dir.file("p.kplug")},
                           dir);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("has no masked-LM head"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.file("p.kplug")));
}

TEST_F(GeneralTuning, AMaskedMentionTruncatedAwayIsAnErrorNamingTheLine) {
  std::string text;
  for (int i = 0; i < 80; ++i) text += ". ";  // the fixture has 64 positions
  dir.write("long.jsonl", line("1 ( )", 0, 1, "e1") + line(text + "7", static_cast<int>(text.size()),
                                                             static_cast<int>(text.size()) + 1, "e7"));
  const auto r = run_kplug({"tune", "--objective", "mmlm", "--model", mlm(), "--kb", dir.file("kb"), "--init",
                            "random", "--train", dir.file("long.jsonl"), "--out", dir.file("p.kplug")},
                           dir);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("long.jsonl, line 2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("beyond the model's 64 rows"), std::string::npos) << r.err;
}

// "replace" is the option's spelling from before it followed the library's
// format names; both must still reach the check.
TEST_F(GeneralTuning, MmlmRefusesAFormatThatDropsTheMention) {
  for (const char* name : {"replace-mention", "replace"}) {
    const auto r = run_kplug(
        {"tune", "--objective", "mmlm", "--model", mlm(), "--kb", dir.file("kb"), "--init", "random",
         "--format", name, "--train", dir.file("corpus.jsonl"), "--out", dir.file("p.kplug")},
        dir);
    EXPECT_EQ(r.status, 2) << name;
    EXPECT_NE(r.err.find("--format replace-mention drops them"), std::string::npos) << name << ": " << r.err;
  }
}

// --init plugin:FILE starts from the plugin's mapper exactly (with --epochs 0
// the output is that mapper), on another encoder of the same sizes.
TEST_F(GeneralTuning, InitFromAPluginCopiesItsMapper) {
  ASSERT_GE(tune({"--epochs", "2", "--lr", "1e-2", "--out", dir.file("g.kplug")}).accuracy, 0.0);
  // The same sizes, other weights: the classification fixture.
  const std::string cls = kplug_test::fixture("tiny_cls");
  auto r = run_kplug({"tune", "--model", cls, "--kb", dir.file("kb"), "--init", "plugin:" + dir.file("g.kplug"),
                      "--epochs", "0", "--out", dir.file("start.kplug")},
                     dir);
  ASSERT_EQ(r.status, 0) << r.err;
  const auto general = kplug::plugin::read_knowledge_plugin(dir.file("g.kplug"));
  const auto start = kplug::plugin::read_knowledge_plugin(dir.file("start.kplug"));
  auto a = general.mapper;
  auto b = start.mapper;
  const auto pa = a.parameters(), pb = b.parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (std::size_t k = 0; k < pa.size(); ++k)
    for (kplug::index_t i = 0; i < pa[k].value.rows(); ++i)
      for (kplug::index_t j = 0; j < pa[k].value.cols(); ++j) EXPECT_EQ(pa[k].value(i, j), pb[k].value(i, j));
  EXPECT_NE(general.metadata.encoder.fingerprint, start.metadata.encoder.fingerprint);

  // A plugin for another knowledge base is refused as a start.
  const kplug::matrix<float> other(general_entities, general_d_kb, 0.5f);
  std::filesystem::create_directories(dir.file("kb2"));
  kplug::io::write_npy(dir.file("kb2/entities.npy"), other.view());
  std::filesystem::copy_file(dir.file("kb/entity2id.txt"), dir.file("kb2/entity2id.txt"));
  r = run_kplug({"tune", "--model", cls, "--kb", dir.file("kb2"), "--init", "plugin:" + dir.file("g.kplug"),
                 "--epochs", "0", "--out", dir.file("bad.kplug")},
                dir);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("g.kplug"), std::string::npos) << r.err;
}

// kplug tune writes every mapper kind: --mapper mlp (trained, with its
// width and activation), identity (vectors as wide as the encoder's rows,
// optionally rescaled); each plugin loads with its kind, and eval uses it.
// An unknown kind, or tuning the parameterless identity, is a command-line
// mistake.
TEST_F(GeneralTuning, TuneWritesEveryMapperKind) {
  std::string typed;
  for (int k = 0; k < general_entities; ++k) {
    std::string label = "LABEL_";
    label += std::to_string(k % 3);
    typed += nlohmann::json{{"text", std::to_string(k) + " ( ) ."},
                            {"mentions", {{{"start", 0}, {"end", 1}, {"entity", entity_name(k)}}}},
                            {"label", label}}
                 .dump() +
             "\n";
  }
  dir.write("typed.jsonl", typed);
  const std::string cls = kplug_test::fixture("tiny_cls");
  auto r = run_kplug({"tune", "--model", cls, "--kb", dir.file("kb"), "--mapper", "mlp", "--mlp-hidden", "16",
                      "--activation", "relu", "--train", dir.file("typed.jsonl"), "--epochs", "1", "--out",
                      dir.file("mlp.kplug")},
                     dir);
  ASSERT_EQ(r.status, 0) << r.err;
  auto mlp = kplug::plugin::read_knowledge_plugin(dir.file("mlp.kplug")).mapper;
  EXPECT_EQ(mlp.kind(), "mlp");
  const auto* net = mlp.get_if<kplug::map::mlp_mapper>();
  ASSERT_NE(net, nullptr);
  EXPECT_EQ(net->input_dim(), general_d_kb);
  EXPECT_EQ(net->hidden_dim(), 16);
  EXPECT_EQ(net->output_dim(), 32);
  EXPECT_EQ(net->activation_kind(), kplug::map::activation::relu);

  // Vectors as wide as the encoder's rows (32).
  kplug::matrix<float> wide(general_entities, 32, 0.25f);
  std::filesystem::create_directories(dir.file("kb32"));
  kplug::io::write_npy(dir.file("kb32/entities.npy"), wide.view());
  std::filesystem::copy_file(dir.file("kb/entity2id.txt"), dir.file("kb32/entity2id.txt"));
  r = run_kplug({"tune", "--model", cls, "--kb", dir.file("kb32"), "--mapper", "identity", "--target-norm", "2",
                 "--epochs", "0", "--out", dir.file("id.kplug")},
                dir);
  ASSERT_EQ(r.status, 0) << r.err;
  auto identity = kplug::plugin::read_knowledge_plugin(dir.file("id.kplug")).mapper;
  EXPECT_EQ(identity.kind(), "identity");
  const auto* id = identity.get_if<kplug::map::identity_mapper>();
  ASSERT_NE(id, nullptr);
  EXPECT_EQ(id->input_dim(), 32);
  EXPECT_EQ(id->target_norm(), 2.0f);
  r = run_kplug({"eval", "--model", cls, "--data", dir.file("typed.jsonl"), "--plugin", dir.file("id.kplug"), "--kb",
                 dir.file("kb32")},
                dir);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("10 of 10 typed mentions got an entity"), std::string::npos) << r.out;

  // 8-wide vectors cannot pass unchanged into 32-wide rows.
  r = run_kplug({"tune", "--model", cls, "--kb", dir.file("kb"), "--mapper", "identity", "--epochs", "0", "--out",
                 dir.file("bad.kplug")},
                dir);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("the identity mapper needs them equal"), std::string::npos) << r.err;
  r = run_kplug({"tune", "--model", cls, "--kb", dir.file("kb32"), "--mapper", "identity", "--train",
                 dir.file("typed.jsonl"), "--out", dir.file("bad.kplug")},
                dir);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("no parameters to tune"), std::string::npos) << r.err;
  r = run_kplug({"tune", "--model", cls, "--kb", dir.file("kb"), "--mapper", "linear", "--epochs", "0", "--out",
                 dir.file("bad.kplug")},
                dir);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--mapper: must be one of affine, mlp, identity, not linear"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.file("bad.kplug")));
}

// A plugin tuned on one encoder is refused by a model with other word
// embeddings unless --allow-other-encoder says it is meant (a general plugin
// in a fine-tuned model); a plugin for another knowledge base never is.
TEST_F(GeneralTuning, EvalTakesAPluginOfAnotherEncoderOnlyWhenAllowed) {
  ASSERT_GE(tune({"--epochs", "1", "--lr", "1e-2", "--out", dir.file("g.kplug")}).accuracy, 0.0);
  dir.write("typed.jsonl", nlohmann::json{{"text", "3 ( ) ."},
                                          {"mentions", {{{"start", 0}, {"end", 1}, {"entity", "e3"}}}},
                                          {"label", "LABEL_1"}}
                                   .dump() +
                               "\n");
  const std::string cls = kplug_test::fixture("tiny_cls");
  std::vector<std::string> args = {"eval", "--model", cls, "--data", dir.file("typed.jsonl"), "--plugin",
                                   dir.file("g.kplug"), "--kb", dir.file("kb")};
  auto r = run_kplug(args, dir);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("fingerprint"), std::string::npos) << r.err;
  args.push_back("--allow-other-encoder");
  r = run_kplug(args, dir);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("1 of 1 typed mentions got an entity"), std::string::npos) << r.out;

  const kplug::matrix<float> other(general_entities, general_d_kb, 0.5f);
  std::filesystem::create_directories(dir.file("kb2"));
  kplug::io::write_npy(dir.file("kb2/entities.npy"), other.view());
  std::filesystem::copy_file(dir.file("kb/entity2id.txt"), dir.file("kb2/entity2id.txt"));
  args[8] = dir.file("kb2");
  EXPECT_EQ(run_kplug(args, dir).status, 1);
}

#ifdef KPLUG_TEST_MPIRUN
// `kplug tune --data-parallel` on two ranks (mpirun on this machine) ends
// with the plugin one process trains on the same global batches, and only
// rank 0 reports and writes.
TEST_F(GeneralTuning, DataParallelTuneOnTwoRanksMatchesOneProcess) {
  std::vector<std::string> mpirun;
  std::istringstream words(KPLUG_TEST_MPIRUN);
  for (std::string w; words >> w;) mpirun.push_back(w);
  // The launcher's environment (NAME=value, or nothing).
  if (const std::string env = KPLUG_TEST_MPI_ENV; env.find('=') != std::string::npos)
    ::setenv(env.substr(0, env.find('=')).c_str(), env.substr(env.find('=') + 1).c_str(), 1);

  const std::vector<std::string> common = {"--epochs", "3", "--lr", "5e-2", "--threads", "1"};
  auto with = [&](std::vector<std::string> v, std::initializer_list<std::string> more) {
    v.insert(v.end(), more);
    return v;
  };
  const dev_figures one = tune(with(common, {"--out", dir.file("one.kplug")}));
  const dev_figures two = tune(with(common, {"--data-parallel", "--out", dir.file("two.kplug")}), mpirun);
  EXPECT_NEAR(two.loss, one.loss, 1e-4);
  EXPECT_NE(last_err.find("on 2 ranks"), std::string::npos) << last_err;
  EXPECT_EQ(last_err.find("best dev accuracy"), last_err.rfind("best dev accuracy")) << "more than one rank reported";

  auto a = kplug::plugin::read_knowledge_plugin(dir.file("one.kplug")).mapper;
  auto b = kplug::plugin::read_knowledge_plugin(dir.file("two.kplug")).mapper;
  const auto pa = a.parameters(), pb = b.parameters();
  ASSERT_EQ(pa.size(), pb.size());
  float largest = 0;
  for (std::size_t k = 0; k < pa.size(); ++k)
    for (kplug::index_t i = 0; i < pa[k].value.rows(); ++i)
      for (kplug::index_t j = 0; j < pa[k].value.cols(); ++j)
        largest = std::max(largest, std::abs(pa[k].value(i, j) - pb[k].value(i, j)));
  EXPECT_LE(largest, 1e-5f);

  // An error on the ranks stops the job with the rank named; nothing is written.
  const auto r = run_kplug({"tune", "--objective", "mmlm", "--model", mlm(), "--kb", dir.file("kb"), "--init",
                            "random", "--train", dir.file("missing.jsonl"), "--data-parallel", "--out",
                            dir.file("bad.kplug")},
                           dir, mpirun);
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("[kplug rank "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("missing.jsonl"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.file("bad.kplug")));
}
#endif

}  // namespace
