#include <gtest/gtest.h>

#include <kplug/core/eigen.hpp>
#include <kplug/core/matrix_view.hpp>
#include <vector>

namespace {

TEST(MatrixView, IndexesRowMajorWithStride) {
  std::vector<float> buf(12);
  for (std::size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<float>(i);
  const kplug::matrix_view<float> v(buf.data(), 3, 3, 4);  // 3x3 inside a 3x4 buffer
  EXPECT_EQ(v(1, 0), 4.0f);
  EXPECT_EQ(v(2, 2), 10.0f);
  EXPECT_FALSE(v.contiguous());
  EXPECT_EQ(v.row(2).size(), 3u);
  EXPECT_EQ(v.row(2)[1], 9.0f);
  const auto mid = v.middle_rows(1, 2);
  EXPECT_EQ(mid.rows(), 2);
  EXPECT_EQ(mid(0, 0), 4.0f);
}

TEST(MatrixView, ConvertsToConstView) {
  kplug::matrix<float> m(2, 3, 1.5f);
  kplug::matrix_view<const float> c = m.view();
  EXPECT_EQ(c.rows(), 2);
  EXPECT_EQ(c.cols(), 3);
  EXPECT_EQ(c(1, 2), 1.5f);
  static_assert(!std::is_convertible_v<kplug::matrix_view<const float>, kplug::matrix_view<float>>);
}

TEST(MatrixView, EigenMapSharesMemoryAndHonoursStride) {
  std::vector<float> buf(8, 0.0f);
  kplug::matrix_view<float> v(buf.data(), 2, 3, 4);
  auto e = kplug::as_eigen(v);
  e.setConstant(2.0f);
  EXPECT_EQ(buf[0], 2.0f);
  EXPECT_EQ(buf[3], 0.0f);  // the stride gap is untouched
  EXPECT_EQ(buf[4], 2.0f);
  e(1, 2) = 7.0f;
  EXPECT_EQ(v(1, 2), 7.0f);
  const kplug::matrix_view<const float> c = v;
  EXPECT_FLOAT_EQ(kplug::as_eigen(c).sum(), 2.0f * 5 + 7.0f);
}

TEST(MatrixView, RequireShapeNamesTheArgument) {
  kplug::matrix<float> m(2, 3);
  EXPECT_NO_THROW(kplug::require_shape(m.view(), 2, 3, "op", "out"));
  try {
    kplug::require_shape(m.view(), 4, 3, "gather rows", "out");
    FAIL() << "expected a kplug::error";
  } catch (const kplug::error& e) {
    EXPECT_EQ(e.where(), "out");
    EXPECT_NE(std::string(e.why()).find("4 x 3"), std::string::npos);
    EXPECT_NE(std::string(e.why()).find("2 x 3"), std::string::npos);
  }
}

}  // namespace
