// embedding_table: float32 / float16 .npy tables and owned matrices, gather
// with no_row, bad rows, bad output shapes, unsupported dtypes and shapes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <span>
#include <cstdint>
#include <vector>

#include "support/temp_dir.hpp"
#include "kplug/kb/embedding_table.hpp"

namespace {

using kplug::index_t;
using kplug::matrix;
using kplug::matrix_view;
using kplug::row_index;
using kplug::kb::embedding_table;
using kplug_test::temp_dir;

// 4 x 3 table, value(r, c) = 10 r + c + 0.5 (exact in float16 too).
std::vector<float> table_values() {
  std::vector<float> v;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 3; ++c) v.push_back(static_cast<float>(10 * r + c) + 0.5f);
  return v;
}

void expect_row(matrix_view<const float> out, index_t i, row_index table_row) {
  for (index_t c = 0; c < out.cols(); ++c)
    EXPECT_EQ(out(i, c), table_row == kplug::no_row ? 0.0f : static_cast<float>(10 * table_row + c) + 0.5f)
        << "out row " << i << " col " << c;
}

TEST(EmbeddingTable, GathersFloat32RowsWithoutCopyingTheTable) {
  temp_dir dir;
  kplug::io::write_npy(dir.file("t.npy"), {4, 3}, table_values());
  const embedding_table t = kplug::kb::open_embedding_table(dir.file("t.npy"));
  EXPECT_EQ(t.rows(), 4);
  EXPECT_EQ(t.dim(), 3);
  EXPECT_EQ(t.dtype(), kplug::io::dtype::f32);
  EXPECT_TRUE(t.is_memory_mapped());
  EXPECT_EQ(t.source(), dir.file("t.npy"));
  const std::vector<row_index> rows{3, 0, kplug::no_row, 3, 1};
  matrix<float> out(5, 3, -7.0f);
  t.gather(rows, out.view());
  for (std::size_t i = 0; i < rows.size(); ++i) expect_row(out.view(), static_cast<index_t>(i), rows[i]);
  EXPECT_EQ(t.float32_view()(2, 1), 21.5f);
  const auto bytes = t.row_bytes(2);
  ASSERT_EQ(bytes.size(), 12u);
  float first;
  std::memcpy(&first, bytes.data(), 4);
  EXPECT_EQ(first, 20.5f);
  KPLUG_EXPECT_ERROR((void)t.row_bytes(4), "row 4 is outside [0, 4)");
}

TEST(EmbeddingTable, GathersFloat16RowsAsFloat32) {
  temp_dir dir;
  const auto v = table_values();
  kplug::io::write_npy_float16(dir.file("h.npy"), matrix_view<const float>(v.data(), 4, 3));
  const embedding_table t = kplug::kb::open_embedding_table(dir.file("h.npy"));
  EXPECT_EQ(t.dtype(), kplug::io::dtype::f16);
  const std::vector<row_index> rows{2, kplug::no_row, 1, 0, 3, 3, 2, 1, 0};  // > 8 rows
  matrix<float> out(9, 3);
  t.gather(rows, out.view());
  for (std::size_t i = 0; i < rows.size(); ++i) expect_row(out.view(), static_cast<index_t>(i), rows[i]);
  KPLUG_EXPECT_ERROR((void)t.float32_view(), "float16", "use gather()");
}

TEST(EmbeddingTable, Float16ConversionOfAWideRowIsExact) {
  // 19 columns: 2 vector blocks of 8 plus a tail of 3, with hand-picked halves.
  temp_dir dir;
  const std::vector<std::uint16_t> bits{0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x0400, 0x3555, 0x8000, 0x0000, 0x3c01,
                                        0x4248, 0xfbff, 0x1400, 0x5640, 0x2e66, 0xb800, 0x7800, 0x0200, 0x3bff};
  kplug::io::write_npy(dir.file("h.npy"), kplug::io::dtype::f16, {1, 19}, std::as_bytes(std::span(bits)));
  const embedding_table t = kplug::kb::open_embedding_table(dir.file("h.npy"));
  matrix<float> out(1, 19);
  t.gather(std::vector<row_index>{0}, out.view());
  const std::vector<float> expected{1.0f, -2.0f, 65504.0f, std::ldexp(1.0f, -24), std::ldexp(1023.0f, -24),
                                    std::ldexp(1.0f, -14), 0.333251953125f, -0.0f, 0.0f, 1.0009765625f,
                                    3.140625f, -65504.0f, std::ldexp(1.0f, -10), 100.0f, 0.0999755859375f, -0.5f,
                                    32768.0f, std::ldexp(512.0f, -24), 0.99951171875f};
  for (index_t c = 0; c < 19; ++c) EXPECT_EQ(out(0, c), expected[static_cast<std::size_t>(c)]) << c;
  EXPECT_TRUE(std::signbit(out(0, 7)));
}

TEST(EmbeddingTable, GatherIntoStridedOutput) {
  matrix<float> values(4, 3);
  const auto v = table_values();
  std::copy(v.begin(), v.end(), values.data());
  const embedding_table t(std::move(values), "inline table");
  EXPECT_FALSE(t.is_memory_mapped());
  std::vector<float> storage(2 * 5, 9.0f);
  const matrix_view<float> out(storage.data(), 2, 3, 5);
  t.gather(std::vector<row_index>{1, 2}, out);
  expect_row(out, 0, 1);
  expect_row(out, 1, 2);
  EXPECT_EQ(storage[3], 9.0f);  // padding columns untouched
  EXPECT_EQ(storage[4], 9.0f);
}

TEST(EmbeddingTable, BadRowsAreErrorsAndLeaveTheBufferUntouched) {
  matrix<float> values(4, 3, 1.0f);
  const embedding_table t(std::move(values), "inline table");
  matrix<float> out(3, 3, 5.0f);
  KPLUG_EXPECT_ERROR(t.gather(std::vector<row_index>{0, 1, 4}, out.view()), "rows[2]", "row 4 is outside [0, 4)",
                     "inline table");
  KPLUG_EXPECT_ERROR(t.gather(std::vector<row_index>{0, -2, 1}, out.view()), "rows[1]", "row -2");
  for (index_t r = 0; r < 3; ++r)
    for (index_t c = 0; c < 3; ++c) EXPECT_EQ(out(r, c), 5.0f);
  KPLUG_EXPECT_ERROR(t.gather(std::vector<row_index>{0, 1}, out.view()), "out", "expected a 2 x 3 matrix, got 3 x 3");
  matrix<float> narrow(1, 2);
  KPLUG_EXPECT_ERROR(t.gather(std::vector<row_index>{0}, narrow.view()), "expected a 1 x 3 matrix");
}

TEST(EmbeddingTable, EmptyRequestAndEmptyTable) {
  const embedding_table t(matrix<float>(0, 8), "empty");
  matrix<float> out(0, 8);
  EXPECT_NO_THROW(t.gather({}, out.view()));
  matrix<float> one(1, 8, 3.0f);
  t.gather(std::vector<row_index>{kplug::no_row}, one.view());
  EXPECT_EQ(one(0, 7), 0.0f);
  KPLUG_EXPECT_ERROR(t.gather(std::vector<row_index>{0}, one.view()), "outside [0, 0)");
}

TEST(EmbeddingTable, RejectsOtherDtypesAndShapes) {
  temp_dir dir;
  kplug::io::write_npy(dir.file("i.npy"), {2, 2}, std::vector<std::int32_t>{1, 2, 3, 4});
  KPLUG_EXPECT_ERROR((void)kplug::kb::open_embedding_table(dir.file("i.npy")), "int32", "float32 or float16",
                     dir.file("i.npy").c_str());
  kplug::io::write_npy(dir.file("d.npy"), {2, 2}, std::vector<double>{1, 2, 3, 4});
  KPLUG_EXPECT_ERROR((void)kplug::kb::open_embedding_table(dir.file("d.npy")), "float64");
  kplug::io::write_npy(dir.file("v.npy"), {4}, std::vector<float>{1, 2, 3, 4});
  KPLUG_EXPECT_ERROR((void)kplug::kb::open_embedding_table(dir.file("v.npy")), "2-D", "1 dimensions");
  kplug::io::write_npy(dir.file("c.npy"), {1, 2, 2}, std::vector<float>{1, 2, 3, 4});
  KPLUG_EXPECT_ERROR((void)kplug::kb::open_embedding_table(dir.file("c.npy")), "2-D", "3 dimensions");
}

}  // namespace
