// kplug encode --kb --aliases --plugin on the real all-MiniLM-L6-v2: a tiny
// knowledge base, alias table and affine plugin are written to a temporary
// directory; the entity rows must appear where the paper's format (E / m)
// puts them, carry the plugin's mapping of the right knowledge vector, and
// change the encoding only of the sequences that have mentions.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "kplug/core/random.hpp"
#include "kplug/io/npy.hpp"
#include "kplug/kb/knowledge_base.hpp"
#include "kplug/map/mapper.hpp"
#include "kplug/plugin/knowledge_plugin.hpp"
#include "kplug/splice/format.hpp"
#include "kplug/text/wordpiece_vocab.hpp"
#include "support/model_paths.hpp"
#include "support/temp_dir.hpp"
#include "tools/cli_support.hpp"
#include "tools/minilm_support.hpp"

namespace {

namespace fs = std::filesystem;
using kplug_test::run_kplug;
using kplug_test::temp_dir;

constexpr kplug::index_t d_kb = 8;
constexpr kplug::index_t hidden_size = 384;
const std::vector<std::string> entity_names = {"Q7186", "Q90", "Q142"};  // Marie Curie, Paris, France

kplug::matrix<float> random_table(std::uint64_t seed) {
  kplug::xoshiro256 rng(seed);
  kplug::matrix<float> t(static_cast<kplug::index_t>(entity_names.size()), d_kb);
  for (kplug::index_t r = 0; r < t.rows(); ++r)
    for (float& v : t.row(r)) v = static_cast<float>(rng.uniform() * 2 - 1);
  return t;
}

// entities.npy + entity2id.txt (OpenKE) in `dir`.
void write_kb(const std::string& dir, const kplug::matrix<float>& table) {
  fs::create_directories(dir);
  kplug::io::write_npy(dir + "/entities.npy", table);
  std::ofstream ids(dir + "/entity2id.txt");
  ids << entity_names.size() << '\n';
  for (std::size_t r = 0; r < entity_names.size(); ++r) ids << entity_names[r] << '\t' << r << '\n';
}

class encode_knowledge : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(kplug_test::have_minilm());
    table_ = random_table(11);
    write_kb(dir_.file("kb"), table_);
    // Warsaw's entity is not in the knowledge base: its mention is dropped.
    dir_.write("aliases.tsv",
               "Marie Curie\tQ7186\t950\nCurie\tQ7186\t400\nParis\tQ90\t9120\nFrance\tQ142\t8800\n"
               "Warsaw\tQ270\t2100\n");
    dir_.write("in.jsonl",
               "{\"text\": \"Marie Curie was born in Warsaw and worked in Paris, France.\"}\n"
               "{\"text\": \"a picturesque village\"}\n");

    // An affine plugin whose outputs are word-embedding sized, saved for
    // MiniLM's encoder fingerprint and this knowledge base.
    model_ = kplug_test::minilm_model();
    const kplug::kb::knowledge_base kb =
        kplug::kb::open_knowledge_base(dir_.file("kb/entities.npy"), dir_.file("kb/entity2id.txt"), "toy");
    kplug::map::any_mapper mapper = kplug::map::make_mapper("affine", d_kb, hidden_size);
    kplug::xoshiro256 rng(5);
    for (const kplug::map::parameter& p : mapper.parameters())
      for (kplug::index_t r = 0; r < p.value.rows(); ++r)
        for (float& v : p.value.row(r)) v = static_cast<float>((rng.uniform() * 2 - 1) * 0.1);
    weight_ = kplug::matrix<float>(hidden_size, d_kb);
    bias_.assign(static_cast<std::size_t>(hidden_size), 0.0f);
    for (const kplug::map::parameter& p : mapper.parameters()) {
      if (p.name == "weight")
        for (kplug::index_t r = 0; r < hidden_size; ++r)
          for (kplug::index_t c = 0; c < d_kb; ++c) weight_(r, c) = p.value(r, c);
      if (p.name == "bias")
        for (kplug::index_t c = 0; c < hidden_size; ++c) bias_[static_cast<std::size_t>(c)] = p.value(0, c);
    }
    const auto vocab = kplug::text::wordpiece_vocab::load(kplug_test::minilm_dir() + "/vocab.txt");
    slash_ = vocab.find("/").value();
    const auto format = kplug::splice::splice_format::entity_slash_mention(slash_);
    const auto meta = kplug::plugin::describe(mapper, format, kb, *model_, "all-MiniLM-L6-v2");
    kplug::plugin::save_knowledge_plugin(dir_.file("plugin.safetensors"), meta, mapper);
  }

  kplug_test::cli_result encode(const std::string& out, const std::vector<std::string>& extra) {
    std::vector<std::string> args{
        "encode",   "--model",     kplug_test::minilm_dir(), "--input", dir_.file("in.jsonl"),
        "--output", dir_.file(out)};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_kplug(args, dir_);
  }

  // The plugin's mapping of entity `name`'s vector, computed by hand.
  std::vector<float> mapped(const std::string& name) const {
    kplug::index_t row = 0;
    while (entity_names[static_cast<std::size_t>(row)] != name) ++row;
    std::vector<float> y(bias_);
    for (kplug::index_t r = 0; r < hidden_size; ++r) {
      double acc = y[static_cast<std::size_t>(r)];
      for (kplug::index_t c = 0; c < d_kb; ++c) acc += double(weight_(r, c)) * table_(row, c);
      y[static_cast<std::size_t>(r)] = static_cast<float>(acc);
    }
    return y;
  }

  temp_dir dir_;
  kplug::matrix<float> table_;
  kplug::matrix<float> weight_;
  std::vector<float> bias_;
  kplug::token_id slash_ = 0;
  kplug::backend::bert_cpu* model_ = nullptr;
};

TEST_F(encode_knowledge, splices_mapped_entities_where_the_format_puts_them) {
  const auto plain = encode("plain", {"--quiet"});
  ASSERT_EQ(plain.status, 0) << plain.err;
  const auto spliced = encode("spliced", {"--kb", dir_.file("kb"), "--aliases", dir_.file("aliases.tsv"),
                                          "--plugin", dir_.file("plugin.safetensors")});
  ASSERT_EQ(spliced.status, 0) << spliced.err;
  EXPECT_NE(spliced.err.find("3 entity rows"), std::string::npos) << spliced.err;

  const auto p_tokens = kplug_test::read_tokens_jsonl(dir_.file("plain/tokens.jsonl"));
  const auto s_tokens = kplug_test::read_tokens_jsonl(dir_.file("spliced/tokens.jsonl"));
  const auto p_offsets = kplug_test::read_offsets(dir_.file("plain/offsets.npy"));
  const auto s_offsets = kplug_test::read_offsets(dir_.file("spliced/offsets.npy"));
  ASSERT_EQ(p_tokens.size(), 2u);
  ASSERT_EQ(s_tokens.size(), 2u);
  ASSERT_EQ(s_offsets.size(), 3u);

  // Sentence 0: "[CLS] E / marie cu ##rie was born in warsaw and worked in E / paris , E / france . [SEP]".
  const auto& s0 = s_tokens[0];
  ASSERT_TRUE(s0.has_entity);
  ASSERT_EQ(s0.entity.size(), s0.tokens.size());
  ASSERT_EQ(s0.ids.size(), s0.tokens.size());
  std::vector<std::pair<std::size_t, std::string>> entity_rows;
  std::vector<std::string> without_groups;  // the tokens with every "E /" removed
  for (std::size_t r = 0; r < s0.tokens.size(); ++r) {
    if (s0.entity[r].empty()) {
      without_groups.push_back(s0.tokens[r]);
      continue;
    }
    entity_rows.emplace_back(r, s0.entity[r]);
    EXPECT_EQ(s0.tokens[r], "[ENTITY]");
    EXPECT_EQ(s0.ids[r], -1);
    ASSERT_LT(r + 2, s0.tokens.size());
    EXPECT_EQ(s0.ids[r + 1], slash_);
    ++r;  // the "/" belongs to the group
  }
  ASSERT_EQ(entity_rows.size(), 3u);
  EXPECT_EQ(entity_rows[0], (std::pair<std::size_t, std::string>{1, "Q7186"}));
  EXPECT_EQ(s0.tokens[3], "marie");  // the mention's own pieces follow "E /"
  EXPECT_EQ(entity_rows[1].second, "Q90");
  EXPECT_EQ(s0.tokens[entity_rows[1].first + 2], "paris");
  EXPECT_EQ(entity_rows[2].second, "Q142");
  EXPECT_EQ(s0.tokens[entity_rows[2].first + 2], "france");
  EXPECT_EQ(without_groups, p_tokens[0].tokens);

  // Sentence 1 has no mention: unchanged, all entity entries null.
  EXPECT_EQ(s_tokens[1].tokens, p_tokens[1].tokens);
  EXPECT_EQ(s_tokens[1].entity, std::vector<std::string>(p_tokens[1].tokens.size()));

  // Offsets grow by the two rows of each group.
  EXPECT_EQ(s_offsets[1] - s_offsets[0], p_offsets[1] - p_offsets[0] + 6);
  EXPECT_EQ(s_offsets[2] - s_offsets[1], p_offsets[2] - p_offsets[1]);

  // The rows equal bert_cpu run in-process on word embeddings with the
  // entity rows replaced by the mapped vectors computed by hand.
  const kplug::io::npy_array s_hidden = kplug::io::open_npy(dir_.file("spliced/hidden.npy"));
  const kplug::io::npy_array p_hidden = kplug::io::open_npy(dir_.file("plain/hidden.npy"));
  ASSERT_EQ(s_hidden.shape()[0], s_offsets.back());
  std::vector<std::pair<std::size_t, std::vector<float>>> inputs;
  for (const auto& [row, name] : entity_rows) inputs.emplace_back(row, mapped(name));
  const kplug::matrix<float> want = kplug_test::encode_in_process(*model_, {s0.ids, s_tokens[1].ids}, inputs);
  const auto got = s_hidden.values<float>();
  ASSERT_EQ(got.size(), static_cast<std::size_t>(want.rows() * want.cols()));
  EXPECT_LE(kplug_test::max_rel_diff(got.data(), want.data(), got.size()), 1e-5f);

  // Knowledge changed the first sentence's rows ("marie" differs from the
  // plain run) and left the second sentence's alone.
  const auto plain_rows = p_hidden.values<float>();
  const std::size_t marie_plain = 1, marie_spliced = 3;
  EXPECT_GT(kplug_test::max_abs_diff(got.data() + marie_spliced * hidden_size,
                                     plain_rows.data() + marie_plain * hidden_size, hidden_size),
            1e-2f);
  const auto s1 = static_cast<std::size_t>(s_offsets[1]) * hidden_size;
  const auto p1 = static_cast<std::size_t>(p_offsets[1]) * hidden_size;
  EXPECT_LE(kplug_test::max_rel_diff(got.data() + s1, plain_rows.data() + p1, plain_rows.size() - p1), 1e-5f);
}

TEST_F(encode_knowledge, truncation_drops_whole_groups) {
  // Five "E / paris" groups of 3 rows; 12 rows leave room for [CLS], [SEP] and three groups.
  dir_.write("in.jsonl", "{\"text\": \"Paris Paris Paris Paris Paris\"}\n");
  const auto r = encode("out", {"--kb", dir_.file("kb"), "--aliases", dir_.file("aliases.tsv"), "--plugin",
                                dir_.file("plugin.safetensors"), "--max-length", "12", "--quiet"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("1 of 1 sequences were longer than 12 rows"), std::string::npos) << r.err;
  const auto tokens = kplug_test::read_tokens_jsonl(dir_.file("out/tokens.jsonl"));
  ASSERT_EQ(tokens.size(), 1u);
  const std::vector<std::string> want = {"[CLS]", "[ENTITY]", "/", "paris", "[ENTITY]", "/",
                                         "paris", "[ENTITY]", "/", "paris", "[SEP]"};
  EXPECT_EQ(tokens[0].tokens, want);
  EXPECT_EQ(tokens[0].entity,
            (std::vector<std::string>{"", "Q90", "", "", "Q90", "", "", "Q90", "", "", ""}));
  EXPECT_EQ(kplug_test::read_offsets(dir_.file("out/offsets.npy")), (std::vector<std::int64_t>{0, 11}));

  // "E / marie cu ##rie" (5 rows) cannot fit in 6 rows with [CLS] and [SEP]: an error naming the line.
  dir_.write("in.jsonl", "{\"text\": \"a\"}\n{\"text\": \"Marie Curie\"}\n");
  const auto too_long = encode("out2", {"--kb", dir_.file("kb"), "--aliases", dir_.file("aliases.tsv"),
                                        "--plugin", dir_.file("plugin.safetensors"), "--max-length", "6"});
  EXPECT_EQ(too_long.status, 1);
  EXPECT_NE(too_long.err.find(dir_.file("in.jsonl") + ", line 2"), std::string::npos) << too_long.err;
  EXPECT_NE(too_long.err.find("longer than the maximum length"), std::string::npos) << too_long.err;
}

TEST_F(encode_knowledge, refuses_a_plugin_tuned_for_another_knowledge_base) {
  // Same entities, other vectors: the fingerprint differs. Given as a .npy
  // table with --entity-ids.
  write_kb(dir_.file("other"), random_table(12));
  const auto r = encode(
      "out", {"--kb", dir_.file("other/entities.npy"), "--entity-ids", dir_.file("other/entity2id.txt"),
              "--aliases", dir_.file("aliases.tsv"), "--plugin", dir_.file("plugin.safetensors")});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find(dir_.file("plugin.safetensors")), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("differs in: fingerprint"), std::string::npos) << r.err;

  const auto missing_ids =
      encode("out", {"--kb", dir_.file("other/entities.npy"), "--aliases", dir_.file("aliases.tsv"),
                     "--plugin", dir_.file("plugin.safetensors")});
  EXPECT_EQ(missing_ids.status, 1);
  EXPECT_NE(missing_ids.err.find("needs --entity-ids"), std::string::npos) << missing_ids.err;
}

}  // namespace
