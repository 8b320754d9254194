// knowledge_base: opening npy + entity2id (both map formats), word2vec,
// resolving mentions under each unknown-entity policy, gathering.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/temp_dir.hpp"
#include "kplug/kb/knowledge_base.hpp"

namespace {

using kplug::index_t;
using kplug::matrix;
using kplug::mention;
using kplug::row_index;
using kplug::kb::knowledge_base;
using kplug::kb::unknown_entity;
using kplug_test::temp_dir;

// 3 entities x 2 dims; row r = (r + 0.5, -r).
std::vector<float> three_rows() { return {0.5f, 0.0f, 1.5f, -1.0f, 2.5f, -2.0f}; }

mention make_mention(std::int32_t begin, std::int32_t end, std::string entity) {
  mention m;
  m.words = {begin, end};
  m.entity = std::move(entity);
  m.score = 0.25f * static_cast<float>(begin + 1);
  return m;
}

knowledge_base small_kb(const temp_dir& dir) {
  kplug::io::write_npy(dir.file("emb.npy"), {3, 2}, three_rows());
  dir.write("entity2id.txt", "3\nQ90\t2\nQ64\t0\nQ1055\t1\n");
  return kplug::kb::open_knowledge_base(dir.file("emb.npy"), dir.file("entity2id.txt"), "wikidata-mini");
}

TEST(KnowledgeBase, OpensNpyWithOpenKeMap) {
  temp_dir dir;
  const knowledge_base kb = small_kb(dir);
  EXPECT_EQ(kb.name(), "wikidata-mini");
  EXPECT_EQ(kb.d_kb(), 2);
  EXPECT_EQ(kb.size(), 3u);
  EXPECT_EQ(kb.entities().size(), 3u);
  EXPECT_EQ(kb.find("Q90"), 2);
  EXPECT_EQ(kb.find("Q5"), std::nullopt);
  EXPECT_TRUE(kb.table().is_memory_mapped());
  matrix<float> out(2, 2);
  kb.gather(std::vector<row_index>{*kb.find("Q90"), *kb.find("Q64")}, out.view());
  EXPECT_EQ(out(0, 0), 2.5f);
  EXPECT_EQ(out(0, 1), -2.0f);
  EXPECT_EQ(out(1, 0), 0.5f);
}

TEST(KnowledgeBase, OpensFloat16NpyWithTabRowsMap) {
  temp_dir dir;
  const auto v = three_rows();
  kplug::io::write_npy_float16(dir.file("emb16.npy"), kplug::matrix_view<const float>(v.data(), 3, 2));
  dir.write("rows.tsv", "paris\t1\nberlin\t2\n");
  const knowledge_base kb = kplug::kb::open_knowledge_base(dir.file("emb16.npy"), dir.file("rows.tsv"), "cities");
  EXPECT_EQ(kb.table().dtype(), kplug::io::dtype::f16);
  EXPECT_EQ(kb.size(), 2u);
  matrix<float> out(1, 2);
  kb.gather(std::vector<row_index>{*kb.find("berlin")}, out.view());
  EXPECT_EQ(out(0, 0), 2.5f);
  EXPECT_EQ(out(0, 1), -2.0f);
}

TEST(KnowledgeBase, IndexRowsBeyondTheTableAreAnErrorNamingBothFiles) {
  temp_dir dir;
  kplug::io::write_npy(dir.file("emb.npy"), {3, 2}, three_rows());
  dir.write("rows.tsv", "a\t0\nb\t3\n");
  KPLUG_EXPECT_ERROR((void)kplug::kb::open_knowledge_base(dir.file("emb.npy"), dir.file("rows.tsv"), "x"),
                     dir.file("emb.npy").c_str(), dir.file("rows.tsv").c_str(), "'b' has row 3", "only 3 rows");
  dir.write("e2id.txt", "4\na\t0\nb\t1\nc\t2\nd\t3\n");
  KPLUG_EXPECT_ERROR((void)kplug::kb::open_knowledge_base(dir.file("emb.npy"), dir.file("e2id.txt"), "x"),
                     "e2id.txt", "emb.npy", "row 3");
}

TEST(KnowledgeBase, OpenReportsBadFiles) {
  temp_dir dir;
  kplug::io::write_npy(dir.file("emb.npy"), {3, 2}, three_rows());
  dir.write("bad.txt", "3\nQ1\t0\n");
  KPLUG_EXPECT_ERROR((void)kplug::kb::open_knowledge_base(dir.file("emb.npy"), dir.file("bad.txt"), "x"),
                     "says 3 entities but the file has 1");
  dir.write("bad.npy", "not an npy");
  KPLUG_EXPECT_ERROR((void)kplug::kb::open_knowledge_base(dir.file("bad.npy"), dir.file("bad.txt"), "x"),
                     "bad magic");
  dir.write("empty.txt", "");
  KPLUG_EXPECT_ERROR((void)kplug::kb::open_knowledge_base(dir.file("emb.npy"), dir.file("empty.txt"), "x"),
                     "empty file");
}

TEST(KnowledgeBase, ResolveSkipZeroError) {
  temp_dir dir;
  const knowledge_base kb = small_kb(dir);
  const std::vector<mention> input{make_mention(0, 1, "Q90"), make_mention(2, 4, "Q_unknown"),
                                   make_mention(5, 6, "Q1055")};
  const std::vector<mention> before = input;

  const auto skipped = kb.resolve(input, unknown_entity::skip);
  ASSERT_EQ(skipped.mentions.size(), 2u);
  EXPECT_EQ(skipped.mentions[0], input[0]);
  EXPECT_EQ(skipped.mentions[1], input[2]);
  EXPECT_EQ(skipped.rows, (std::vector<row_index>{2, 1}));

  const auto zeroed = kb.resolve(input, unknown_entity::zero);
  ASSERT_EQ(zeroed.mentions.size(), 3u);
  EXPECT_EQ(zeroed.mentions, input);
  EXPECT_EQ(zeroed.rows, (std::vector<row_index>{2, kplug::no_row, 1}));
  matrix<float> out(3, 2, 9.0f);
  kb.gather(zeroed.rows, out.view());
  EXPECT_EQ(out(1, 0), 0.0f);
  EXPECT_EQ(out(1, 1), 0.0f);
  EXPECT_EQ(out(2, 0), 1.5f);

  KPLUG_EXPECT_ERROR((void)kb.resolve(input, unknown_entity::error), "mentions[1]", "unknown entity 'Q_unknown'",
                     "wikidata-mini");
  EXPECT_EQ(input, before) << "the caller's mentions are never modified";

  const auto all_known = kb.resolve(std::vector<mention>{input[2], input[0]}, unknown_entity::error);
  EXPECT_EQ(all_known.rows, (std::vector<row_index>{1, 2}));
  EXPECT_TRUE(kb.resolve({}, unknown_entity::error).mentions.empty());
}

TEST(KnowledgeBase, ResolveIntoReusedAndAliasedOutput) {
  temp_dir dir;
  const knowledge_base kb = small_kb(dir);
  kplug::kb::resolved_mentions out;
  out.mentions = {make_mention(0, 1, "Q64"), make_mention(1, 2, "nope"), make_mention(3, 4, "Q90")};
  // Resolving the output's own mentions in place must read them intact.
  kb.resolve(out.mentions, unknown_entity::skip, out);
  ASSERT_EQ(out.mentions.size(), 2u);
  EXPECT_EQ(out.mentions[0].entity, "Q64");
  EXPECT_EQ(out.mentions[1].entity, "Q90");
  EXPECT_EQ(out.rows, (std::vector<row_index>{0, 2}));

  const std::vector<mention> input{make_mention(0, 1, "nope")};
  KPLUG_EXPECT_ERROR(kb.resolve(input, unknown_entity::error, out), "mentions[0]");
  EXPECT_TRUE(out.mentions.empty());
  EXPECT_TRUE(out.rows.empty());
}

TEST(KnowledgeBase, LoadsWord2Vec) {
  temp_dir dir;
  const auto path = dir.write("w2v.txt", "2 2\nENTITY/Douglas_Adams 0.25 4\nENTITY/Deep Thought 42 -1\n");
  const knowledge_base kb = kplug::kb::load_word2vec_knowledge_base(path, "wiki2vec");
  EXPECT_EQ(kb.d_kb(), 2);
  EXPECT_FALSE(kb.table().is_memory_mapped());
  const auto r = kb.resolve(std::vector<mention>{make_mention(0, 2, "ENTITY/Deep Thought")}, unknown_entity::error);
  matrix<float> out(1, 2);
  kb.gather(r.rows, out.view());
  EXPECT_EQ(out(0, 0), 42.0f);
  EXPECT_EQ(out(0, 1), -1.0f);
  KPLUG_EXPECT_ERROR((void)kplug::kb::load_word2vec_knowledge_base(dir.write("bad.txt", "1 2\nx 1\n"), "w"),
                     "line 2");
}

}  // namespace
