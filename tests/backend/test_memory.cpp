// mirrored_matrix: one buffer on a host backend, a host and a device copy on
// a backend with memory of its own, moved only by upload and download.
#include <gtest/gtest.h>

#include <memory>

#include "backend/foreign_memory.hpp"
#include "kplug/backend/memory.hpp"
#include "kplug/backend/mock.hpp"

namespace {

using kplug::index_t;
using kplug::backend::mock_backend;
using foreign = kplug::test::foreign_memory_backend<mock_backend>;

TEST(MirroredMatrix, OnAHostBackendTheDeviceCopyIsTheHostBuffer) {
  mock_backend m(10, 4, 3, 8);
  kplug::mirrored_matrix<mock_backend> x;
  static_assert(kplug::mirrored_matrix<mock_backend>::on_host);
  x.resize(m, 3, 4);
  EXPECT_EQ(x.rows(), 3);
  EXPECT_EQ(x.cols(), 4);
  EXPECT_EQ(x.device().data(), x.host().data());
  x.host()(2, 3) = 5.0f;
  x.upload(m);
  x.download(m);
  EXPECT_EQ(x.host()(2, 3), 5.0f);
}

TEST(MirroredMatrix, OnAForeignBackendOnlyTransfersMoveData) {
  foreign f(std::make_unique<mock_backend>(10, 4, 3, 8));
  kplug::mirrored_matrix<foreign> x;
  static_assert(!kplug::mirrored_matrix<foreign>::on_host);
  x.resize(f, 2, 3);
  ASSERT_NE(x.device().data(), x.host().data());
  for (index_t r = 0; r < 2; ++r)
    for (index_t c = 0; c < 3; ++c) x.host()(r, c) = float(10 * r + c);
  x.upload(f);
  EXPECT_EQ(f.uploads, 1u);
  for (index_t r = 0; r < 2; ++r)
    for (float& v : x.host().row(r)) v = -1.0f;
  x.download(f);
  EXPECT_EQ(f.downloads, 1u);
  EXPECT_EQ(x.host()(1, 2), 12.0f);
  EXPECT_EQ(x.host()(0, 1), 1.0f);
  // A second resize reuses the device matrix and takes the new shape.
  x.resize(f, 5, 3);
  EXPECT_EQ(x.device().rows(), 5);
  EXPECT_EQ(x.device().cols(), 3);
}

}  // namespace
