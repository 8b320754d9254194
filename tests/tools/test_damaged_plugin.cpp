// The tools refuse a damaged plugin file (one inverted weight byte: exit
// status 1 and the checksum error, not another accuracy) and warn about a
// file from before checksums (format version 1), which they still use.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kplug/core/random.hpp"
#include "kplug/io/npy.hpp"
#include "kplug/io/safetensors.hpp"
#include "support/model_paths.hpp"
#include "support/temp_dir.hpp"
#include "tools/cli_support.hpp"

namespace {

using kplug_test::run_kplug;
using kplug_test::temp_dir;

constexpr int damaged_entities = 6;

using kplug_test::entity_name;

// Typed mentions of "thing", each with its entity.
std::string typing_data() {
  std::string out;
  for (int k = 0; k < damaged_entities; ++k) {
    const nlohmann::json m = {{"start", 4}, {"end", 9}, {"entity", entity_name(k)}};
    out += nlohmann::json{{"text", "the thing was here"}, {"mentions", {m}}, {"label", k % 2 ? "y" : "x"}}.dump();
    out += "\n";
  }
  return out;
}

double accuracy(const std::string& summary) {
  std::ifstream in(summary);
  return nlohmann::json::parse(in).at("accuracy").get<double>();
}

std::string warning(const std::string& path) {
  return "warning: " + path + " has no checksum (written by an older kplug); its contents are not verified";
}

// A model with a typing head, a knowledge base and a plugin written by
// `kplug tune` (random start, no training: only its bytes matter here).
class DamagedPlugin : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!kplug_test::have_minilm()) return;
    dir_ = new temp_dir();
    dir_->write("labels.txt", "x\ny\n");
    dir_->write("data.jsonl", typing_data());
    dir_->write("in.jsonl", "{\"text\": \"the thing was here\"}\n");
    kplug::xoshiro256 rng(3);
    kplug::matrix<float> table(damaged_entities, 8);
    for (kplug::index_t r = 0; r < table.rows(); ++r)
      for (float& v : table.row(r)) v = static_cast<float>(rng.uniform() * 2 - 1);
    std::filesystem::create_directories(dir_->file("kb"));
    kplug::io::write_npy(dir_->file("kb/entities.npy"), table.view());
    std::string ids = std::to_string(damaged_entities) + "\n", aliases;
    for (int k = 0; k < damaged_entities; ++k) {
      ids += entity_name(k) + "\t" + std::to_string(k) + "\n";
      aliases += "thing\t" + entity_name(k) + "\t1\n";
    }
    dir_->write("kb/entity2id.txt", ids);
    dir_->write("aliases.tsv", aliases);
    auto r = run_kplug({"train-head", "--model", kplug_test::minilm_dir(), "--train", dir_->file("data.jsonl"),
                        "--dev", dir_->file("data.jsonl"), "--labels", dir_->file("labels.txt"), "--out", dir_->file("model"), "--epochs", "1", "--quiet"},
                       *dir_);
    setup_error_ = r.status == 0 ? "" : "train-head: " + r.err;
    if (!setup_error_.empty()) return;
    r = run_kplug({"tune", "--model", dir_->file("model"), "--kb", dir_->file("kb"), "--init", "random", "--epochs",
                   "0", "--out", dir_->file("good.kplug"), "--quiet"},
                  *dir_);
    setup_error_ = r.status == 0 ? "" : "tune: " + r.err;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (!kplug_test::have_minilm()) GTEST_SKIP() << "all-MiniLM-L6-v2 not found (scripts/fetch-model.sh)";
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
  }

  static kplug_test::cli_result eval(const std::string& plugin, const std::string& summary, const temp_dir& scratch) {
    return run_kplug({"eval", "--model", dir_->file("model"), "--data", dir_->file("data.jsonl"), "--plugin", plugin,
                      "--kb", dir_->file("kb"), "--summary", summary},
                     scratch);
  }

  static inline temp_dir* dir_ = nullptr;
  static inline std::string setup_error_;
};

TEST_F(DamagedPlugin, EvalRefusesOneInvertedWeightByte) {
  temp_dir scratch;
  auto r = eval(dir_->file("good.kplug"), scratch.file("good.json"), scratch);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;

  std::string bytes = kplug_test::read_all(dir_->file("good.kplug"));
  const kplug::io::safetensors_file f(dir_->file("good.kplug"));
  const kplug::io::tensor_info& weight = f.tensors()[1];
  ASSERT_EQ(weight.name, "weight");
  const std::size_t at = f.header().data_offset + weight.begin + (weight.end - weight.begin) / 2;
  bytes[at] = static_cast<char>(~bytes[at]);
  const std::string bad = scratch.write("bad.kplug", bytes);
  r = eval(bad, scratch.file("bad.json"), scratch);
  EXPECT_EQ(r.status, 1) << r.err;
  for (const std::string& part :
       std::vector<std::string>{"verify plugin checksum", bad + ", tensor 'weight'", "damaged or edited"})
    EXPECT_NE(r.err.find(part), std::string::npos) << "lacks: " << part << "\nstderr: " << r.err;
  EXPECT_FALSE(std::filesystem::exists(scratch.file("bad.json")));
}

// What kplug wrote before checksums: version 1, no checksum keys.
TEST_F(DamagedPlugin, AFileFromBeforeChecksumsIsUsedWithAWarning) {
  temp_dir scratch;
  const kplug::io::safetensors_file f(dir_->file("good.kplug"));
  auto md = f.metadata();
  std::erase_if(md, [](const auto& kv) { return kv.first.starts_with("kplug.checksum."); });
  md["kplug.format_version"] = "1";
  std::vector<kplug::io::named_tensor> ts;
  for (const auto& t : f.tensors()) ts.push_back({t.name, t.dtype, t.shape, f.tensor(t.name).bytes()});
  const std::string old = scratch.file("old.kplug");
  kplug::io::write_safetensors(old, ts, md);

  auto r = eval(dir_->file("good.kplug"), scratch.file("good.json"), scratch);
  ASSERT_EQ(r.status, 0) << r.err;
  r = eval(old, scratch.file("old.json"), scratch);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find(warning(old) + "\n"), std::string::npos) << r.err;
  EXPECT_EQ(accuracy(scratch.file("old.json")), accuracy(scratch.file("good.json")));

  r = run_kplug({"encode", "--model", dir_->file("model"), "--input", dir_->file("in.jsonl"), "--output",
                 scratch.file("enc"), "--kb", dir_->file("kb"), "--aliases", dir_->file("aliases.tsv"), "--plugin", old},
                scratch);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find(warning(old)), std::string::npos) << r.err;

  r = run_kplug({"tune", "--model", dir_->file("model"), "--kb", dir_->file("kb"), "--init", "plugin:" + old,
                 "--epochs", "0", "--out", scratch.file("from-old.kplug"), "--quiet"},
                scratch);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find(warning(old)), std::string::npos) << r.err;
  // What it writes is checked again: no warning when it is read back.
  r = eval(scratch.file("from-old.kplug"), scratch.file("new.json"), scratch);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;
}

}  // namespace
