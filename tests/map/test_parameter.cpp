#include "kplug/map/parameter.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "map/map_test_support.hpp"

namespace {

using kplug::matrix;
using kplug::map::parameter;

TEST(Parameter, GlobalGradNormSpansAllParameters) {
  matrix<float> v1(1, 2), g1(1, 2), v2(2, 1), g2(2, 1);
  g1(0, 0) = 3.0f, g1(0, 1) = 4.0f;   // 25
  g2(0, 0) = 12.0f, g2(1, 0) = 0.0f;  // 144 -> sqrt(169) = 13
  const std::vector<parameter> ps{{"a", v1.view(), g1.view()}, {"b", v2.view(), g2.view()}};
  EXPECT_DOUBLE_EQ(kplug::map::global_grad_norm(ps), 13.0);
  kplug::map::zero_grad(ps);
  EXPECT_EQ(g1(0, 1), 0.0f);
  EXPECT_EQ(g2(0, 0), 0.0f);
  EXPECT_EQ(kplug::map::global_grad_norm(ps), 0.0);
}

TEST(Parameter, FirstNonFiniteFindsTheFirstInRowMajorOrder) {
  matrix<float> m(3, 3, 1.0f);
  EXPECT_FALSE(kplug::map::first_non_finite(m.view()).has_value());
  m(2, 0) = std::numeric_limits<float>::infinity();
  m(1, 2) = std::numeric_limits<float>::quiet_NaN();
  const auto bad = kplug::map::first_non_finite(m.view());
  ASSERT_TRUE(bad.has_value());
  EXPECT_EQ(bad->first, 1);
  EXPECT_EQ(bad->second, 2);
}

TEST(Parameter, CheckParametersRejectsShapeMismatchAndMissingStorage) {
  matrix<float> v(2, 2), g(3, 2);
  const std::vector<parameter> ps{{"w", v.view(), g.view()}};
  KPLUG_EXPECT_ERROR(kplug::map::check_parameters(ps, "test"), "parameter 'w' (#0)", "2 x 2", "3 x 2");
  const std::vector<parameter> no_storage{{"w", kplug::matrix_view<float>(nullptr, 2, 2), v.view()}};
  KPLUG_EXPECT_ERROR(kplug::map::check_parameters(no_storage, "test"), "no storage");
}

}  // namespace
