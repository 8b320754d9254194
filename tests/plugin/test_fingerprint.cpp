// Fingerprints: the documented definitions of the matrix, encoder and
// knowledge-base fingerprints re-assembled byte by byte here (XXH64 itself is
// tested against published vectors in tests/core/test_xxh64.cpp).
#include <gtest/gtest.h>

#include <kplug/backend/mock.hpp>
#include <kplug/io/npy.hpp>
#include <kplug/kb/knowledge_base.hpp>
#include <kplug/plugin/fingerprint.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <utility>
#include <string>
#include <vector>

#include "plugin/plugin_test_support.hpp"
#include "support/temp_dir.hpp"

namespace {

using kplug::index_t;
using kplug::xxh64;

// ------------------------------------------------------------------ matrices

using kplug_test::le64;

TEST(FingerprintMatrix, IsXxh64OfRowsColsAndRowMajorBytes) {
  kplug::matrix<float> m(2, 3);
  for (index_t i = 0; i < 6; ++i) m.data()[i] = static_cast<float>(i) * 0.5f - 1.f;
  std::string bytes = le64(2) + le64(3);
  bytes.append(reinterpret_cast<const char*>(m.data()), 6 * sizeof(float));
  EXPECT_EQ(kplug::plugin::fingerprint_matrix(m), xxh64(bytes));

  // The same values seen through a strided view hash the same.
  kplug::matrix<float> wide(2, 5, 99.f);
  for (index_t r = 0; r < 2; ++r)
    for (index_t c = 0; c < 3; ++c) wide(r, c) = m(r, c);
  const kplug::matrix_view<const float> strided(wide.data(), 2, 3, 5);
  EXPECT_EQ(kplug::plugin::fingerprint_matrix(strided), kplug::plugin::fingerprint_matrix(m));

  // Same bytes, other shape: different print. One element changed: different.
  const kplug::matrix_view<const float> reshaped(m.data(), 3, 2);
  EXPECT_NE(kplug::plugin::fingerprint_matrix(reshaped), kplug::plugin::fingerprint_matrix(m));
  kplug::matrix<float> changed = m;
  changed(1, 2) = std::nextafter(changed(1, 2), 100.f);
  EXPECT_NE(kplug::plugin::fingerprint_matrix(changed), kplug::plugin::fingerprint_matrix(m));
}

// ------------------------------------------------------------------ encoders

TEST(EncoderFingerprint, IsTheFingerprintOfTheWholeWordEmbeddingMatrix) {
  const kplug::backend::mock_backend b(1000, 12, 5, 16, 3);
  std::vector<kplug::token_id> ids(1000);
  std::iota(ids.begin(), ids.end(), 0);
  kplug::matrix<float> all(1000, 12);
  b.embed_tokens(ids, all.view());
  const std::uint64_t expected = kplug::plugin::fingerprint_matrix(all);
  EXPECT_EQ(kplug::plugin::encoder_fingerprint(b), expected);
  for (const index_t chunk : {1, 7, 999, 1000, 5000}) EXPECT_EQ(kplug::plugin::encoder_fingerprint(b, chunk), expected);
  EXPECT_THROW(kplug::plugin::encoder_fingerprint(b, 0), kplug::error);
}

TEST(EncoderFingerprint, DistinguishesSeedsHiddenSizesAndVocabularies) {
  const auto fp = [](index_t vocab, index_t hidden, std::uint64_t seed) {
    return kplug::plugin::encoder_fingerprint(kplug::backend::mock_backend(vocab, hidden, 4, 8, seed));
  };
  const std::uint64_t base = fp(300, 8, 1);
  EXPECT_EQ(fp(300, 8, 1), base);
  EXPECT_NE(fp(300, 8, 2), base);
  EXPECT_NE(fp(300, 16, 1), base);
  EXPECT_NE(fp(301, 8, 1), base);
  EXPECT_NE(fp(299, 8, 1), base);
}

// ------------------------------------------------------------------ knowledge bases

kplug::kb::knowledge_base make_kb(const std::string& name, const std::vector<std::string>& names,
                                  kplug::matrix<float> table) {
  kplug::kb::entity_index idx("test");
  for (std::size_t i = 0; i < names.size(); ++i) idx.add(names[i], static_cast<kplug::row_index>(i));
  return {name, std::move(idx), kplug::kb::embedding_table(std::move(table), "test table")};
}

kplug::matrix<float> table(index_t rows, index_t dim, float shift = 0.f) {
  kplug::matrix<float> m(rows, dim);
  for (index_t r = 0; r < rows; ++r)
    for (index_t c = 0; c < dim; ++c) m(r, c) = static_cast<float>(r) + 0.125f * static_cast<float>(c) + shift;
  return m;
}

std::vector<std::string> entity_names(std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) {
    std::string name = "Q";
    name += std::to_string(i * 7 + 1);
    out.push_back(std::move(name));
  }
  return out;
}

// The definition in fingerprint.hpp, assembled by hand.
TEST(KbFingerprint, FollowsTheDocumentedDefinition) {
  const std::vector<std::string> names{"cat", "dog", "emu"};
  const kplug::matrix<float> t = table(3, 2);
  const auto kb = make_kb("animals", names, t);
  std::uint64_t names_digest = 0;
  for (std::size_t r = 0; r < names.size(); ++r) names_digest += xxh64(le64(r) + names[r]);
  std::string bytes = le64(3) + le64(3) + le64(2) + le64(4) + le64(names_digest) + le64(3);
  bytes.append(reinterpret_cast<const char*>(t.data()), 6 * sizeof(float));
  EXPECT_EQ(kplug::plugin::kb_fingerprint(kb), xxh64(bytes));
}

TEST(KbFingerprint, SeesNamesRowsAndValuesButNotTheLabel) {
  const auto names = entity_names(10);
  const std::uint64_t base = kplug::plugin::kb_fingerprint(make_kb("kb", names, table(10, 4)));
  EXPECT_EQ(kplug::plugin::kb_fingerprint(make_kb("renamed kb", names, table(10, 4))), base);
  auto other_names = names;
  other_names[3] = "Q-other";
  EXPECT_NE(kplug::plugin::kb_fingerprint(make_kb("kb", other_names, table(10, 4))), base);
  auto swapped = names;
  std::swap(swapped[1], swapped[2]);
  EXPECT_NE(kplug::plugin::kb_fingerprint(make_kb("kb", swapped, table(10, 4))), base);
  kplug::matrix<float> t = table(10, 4);
  t(9, 3) += 1.f;
  EXPECT_NE(kplug::plugin::kb_fingerprint(make_kb("kb", names, std::move(t))), base);
  // A table row without an entity still counts.
  EXPECT_NE(kplug::plugin::kb_fingerprint(make_kb("kb", names, table(11, 4))), base);
}

TEST(KbFingerprint, FloatSixteenTableFromNpyHashesItsStoredBytes) {
  kplug_test::temp_dir dir;
  const kplug::matrix<float> t = table(4, 3);
  kplug::io::write_npy_float16(dir.file("t16.npy"), t.view());
  kplug::io::write_npy(dir.file("t32.npy"), t.view());
  const auto names = entity_names(4);
  const auto kb_of = [&](const std::string& file) {
    kplug::kb::entity_index idx("test");
    for (std::size_t i = 0; i < names.size(); ++i) idx.add(names[i], static_cast<kplug::row_index>(i));
    return kplug::kb::knowledge_base("kb", std::move(idx), kplug::kb::open_embedding_table(dir.file(file)));
  };
  const auto kb32 = kb_of("t32.npy");
  // The memory-mapped float32 table hashes like the same table in memory.
  EXPECT_EQ(kplug::plugin::kb_fingerprint(kb32), kplug::plugin::kb_fingerprint(make_kb("kb", names, t)));
  // A float16 copy is another table (its bytes differ).
  EXPECT_NE(kplug::plugin::kb_fingerprint(kb_of("t16.npy")), kplug::plugin::kb_fingerprint(kb32));
}

// Above the size limit only the documented sample of rows is read: rows
// floor(i * (rows - 1) / (H - 1)). With 100 rows and H = 4: rows 0, 33, 66, 99.
TEST(KbFingerprint, LargeTablesHashTheDocumentedRowSample) {
  const auto names = entity_names(100);
  const auto fp = [&](const kplug::matrix<float>& t) {
    return kplug::plugin::detail::kb_fingerprint(make_kb("kb", names, t), /*full_hash_bytes=*/64, /*sample_rows=*/4);
  };
  const kplug::matrix<float> t = table(100, 4);
  const std::uint64_t base = fp(t);
  for (const index_t sampled : {0, 33, 66, 99}) {
    kplug::matrix<float> c = t;
    c(sampled, 1) = -5.f;
    EXPECT_NE(fp(c), base) << sampled;
  }
  for (const index_t skipped : {1, 32, 34, 50, 98}) {
    kplug::matrix<float> c = t;
    c(skipped, 1) = -5.f;
    EXPECT_EQ(fp(c), base) << skipped;  // the documented price of sampling
  }
  // Names are always hashed in full.
  auto other = names;
  other[50] = "renamed";
  EXPECT_NE(kplug::plugin::detail::kb_fingerprint(make_kb("kb", other, t), 64, 4), base);
  // Hand-assembled: the sample rows' bytes after the counts and the names digest.
  std::uint64_t names_digest = 0;
  for (std::size_t r = 0; r < names.size(); ++r) names_digest += xxh64(le64(r) + names[r]);
  std::string bytes = le64(100) + le64(100) + le64(4) + le64(4) + le64(names_digest) + le64(4);
  for (const index_t r : {0, 33, 66, 99}) bytes.append(reinterpret_cast<const char*>(t.row(r).data()), 16);
  EXPECT_EQ(base, xxh64(bytes));
  // Below the limit every row counts.
  kplug::matrix<float> c = t;
  c(50, 1) = -5.f;
  EXPECT_NE(kplug::plugin::kb_fingerprint(make_kb("kb", names, c)), kplug::plugin::kb_fingerprint(make_kb("kb", names, t)));
  EXPECT_EQ(kplug::plugin::kb_full_hash_bytes, 64u << 20);
  EXPECT_EQ(kplug::plugin::kb_sample_rows, 4096);
}

TEST(FingerprintText, FormatsAndParsesSixteenHexDigits) {
  EXPECT_EQ(kplug::plugin::format_fingerprint(0x00ab00cd00ef0012ULL), "0x00ab00cd00ef0012");
  EXPECT_EQ(kplug::plugin::parse_fingerprint("0x00AB00cd00ef0012"), 0x00ab00cd00ef0012ULL);
  EXPECT_EQ(kplug::plugin::parse_fingerprint(kplug::plugin::format_fingerprint(~0ULL)), ~0ULL);
  for (const char* bad : {"", "0x", "ab00cd00ef001234", "0x00ab00cd00ef001", "0x00ab00cd00ef00123", "0x00ab00cd00ef001g",
                          " 0x00ab00cd00ef0012", "1x00ab00cd00ef0012"})
    EXPECT_FALSE(kplug::plugin::parse_fingerprint(bad).has_value()) << bad;
}

}  // namespace
