#include "kplug/map/mapper.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "map/map_test_support.hpp"

namespace {

using kplug::index_t;
using kplug::matrix;
using kplug::matrix_view;
using namespace kplug_test;
namespace km = kplug::map;

// Near misses: each lacks one required expression.
struct no_backward {
  index_t input_dim() const { return 1; }
  index_t output_dim() const { return 1; }
  std::string_view kind() const { return "x"; }
  void forward(matrix_view<const float>, matrix_view<float>) {}
  std::vector<km::parameter> parameters() { return {}; }
};
struct no_kind {
  index_t input_dim() const { return 1; }
  index_t output_dim() const { return 1; }
  void forward(matrix_view<const float>, matrix_view<float>) {}
  void backward(matrix_view<const float>, matrix_view<const float>, matrix_view<float>) {}
  std::vector<km::parameter> parameters() { return {}; }
};
struct wrong_parameters {
  index_t input_dim() const { return 1; }
  index_t output_dim() const { return 1; }
  std::string_view kind() const { return "x"; }
  void forward(matrix_view<const float>, matrix_view<float>) {}
  void backward(matrix_view<const float>, matrix_view<const float>, matrix_view<float>) {}
  int parameters() { return 0; }
};
struct minimal {
  index_t input_dim() const { return 1; }
  index_t output_dim() const { return 1; }
  std::string_view kind() const { return "minimal"; }
  void forward(matrix_view<const float>, matrix_view<float>) {}
  void backward(matrix_view<const float>, matrix_view<const float>, matrix_view<float>) {}
  std::vector<km::parameter> parameters() { return {}; }
};
static_assert(km::mapping_network<minimal>);
static_assert(!km::mapping_network<no_backward>);
static_assert(!km::mapping_network<no_kind>);
static_assert(!km::mapping_network<wrong_parameters>);
static_assert(!km::mapping_network<int>);

std::vector<std::string> names(km::any_mapper& m) {
  std::vector<std::string> out;
  for (const auto& p : m.parameters()) out.push_back(p.name);
  return out;
}

TEST(AnyMapper, MakeMapperBuildsEachKind) {
  km::any_mapper a = km::make_mapper("affine", 8, 12);
  EXPECT_EQ(a.kind(), "affine");
  EXPECT_EQ(a.input_dim(), 8);
  EXPECT_EQ(a.output_dim(), 12);
  EXPECT_EQ(names(a), (std::vector<std::string>{"weight", "bias"}));
  ASSERT_NE(a.get_if<km::affine_mapper>(), nullptr);

  km::mapper_options o;
  o.hidden = 5;
  o.act = km::activation::tanh;
  km::any_mapper m = km::make_mapper("mlp", 8, 12, o);
  EXPECT_EQ(m.kind(), "mlp");
  EXPECT_EQ(names(m), (std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"}));
  EXPECT_EQ(m.options().hidden, 5);
  EXPECT_EQ(m.options().act, km::activation::tanh);

  km::mapper_options io;
  io.target_norm = 1.25f;
  km::any_mapper i = km::make_mapper("identity", 6, 6, io);
  EXPECT_EQ(i.kind(), "identity");
  EXPECT_TRUE(i.parameters().empty());
  ASSERT_TRUE(i.options().target_norm.has_value());
  EXPECT_EQ(*i.options().target_norm, 1.25f);

  EXPECT_EQ(km::mapper_kinds(), (std::vector<std::string_view>{"affine", "mlp", "identity"}));
}

TEST(AnyMapper, MlpHiddenZeroMeansDModel) {
  km::any_mapper m = km::make_mapper("mlp", 4, 7);
  EXPECT_EQ(m.options().hidden, 7);
}

TEST(AnyMapper, MakeMapperInitialisesDeterministically) {
  km::mapper_options o;
  o.seed = 17;
  km::any_mapper a = km::make_mapper("affine", 8, 12, o), b = km::make_mapper("affine", 8, 12, o);
  o.seed = 18;
  km::any_mapper c = km::make_mapper("affine", 8, 12, o);
  const auto pa = a.parameters(), pb = b.parameters(), pc = c.parameters();
  EXPECT_EQ(pa[0].value(3, 4), pb[0].value(3, 4));
  EXPECT_NE(pa[0].value(3, 4), pc[0].value(3, 4));
  EXPECT_NE(pa[0].value(3, 4), 0.0f);
  EXPECT_EQ(pa[1].value(0, 2), 0.0f);  // biases start at zero
}

TEST(AnyMapper, DispatchesForwardAndBackwardToTheHeldMapper) {
  km::mapper_options o;
  o.seed = 5;
  o.hidden = 6;
  km::any_mapper any = km::make_mapper("mlp", 4, 3, o);
  km::mlp_mapper direct = *any.get_if<km::mlp_mapper>();
  const matrix<float> x = random_matrix(5, 4, 1), gy = random_matrix(5, 3, 2);
  matrix<float> y1(5, 3), y2(5, 3), gx1(5, 4), gx2(5, 4);
  any.forward(x, y1);
  direct.forward(x, y2);
  any.backward(x, gy, gx1);
  direct.backward(x, gy, gx2);
  for (index_t r = 0; r < 5; ++r) {
    for (index_t c = 0; c < 3; ++c) EXPECT_EQ(y1(r, c), y2(r, c));
    for (index_t c = 0; c < 4; ++c) EXPECT_EQ(gx1(r, c), gx2(r, c));
  }
  EXPECT_EQ(any.parameters()[0].grad(1, 1), direct.parameters()[0].grad(1, 1));
}

TEST(AnyMapper, HasValueSemantics) {
  km::any_mapper a = km::make_mapper("affine", 2, 2);
  km::any_mapper b = a;
  b.parameters()[0].value(0, 0) = 123.0f;
  EXPECT_NE(a.parameters()[0].value(0, 0), 123.0f);
  EXPECT_NE(a.parameters()[0].value.data(), b.parameters()[0].value.data());
}

TEST(AnyMapper, ForwardErrorsComeFromTheHeldMapper) {
  km::any_mapper a = km::make_mapper("affine", 3, 2);
  const matrix<float> x(2, 4);
  matrix<float> y(2, 2);
  KPLUG_EXPECT_ERROR(a.forward(x, y), "affine mapper forward", "x");
  const matrix<float> x3(2, 3), gy(2, 3);
  KPLUG_EXPECT_ERROR(a.backward(x3, gy, {}), "affine mapper backward", "grad_y");
}

// --- bad input ----------------------------------------------------------------

TEST(AnyMapper, MakeMapperRejectsUnknownKind) {
  KPLUG_EXPECT_ERROR(km::make_mapper("transformer", 2, 2), "kind 'transformer'", "unknown mapper kind");
}

TEST(AnyMapper, MakeMapperRejectsIdentityWithDifferentDims) {
  KPLUG_EXPECT_ERROR(km::make_mapper("identity", 128, 768), "identity", "d_kb 128", "d_model 768");
}

TEST(AnyMapper, MakeMapperRejectsNonPositiveDims) {
  KPLUG_EXPECT_ERROR(km::make_mapper("affine", 0, 2), "d_kb");
  KPLUG_EXPECT_ERROR(km::make_mapper("mlp", 2, -1), "d_model");
}

TEST(AnyMapper, MakeMapperRejectsNegativeHidden) {
  km::mapper_options o;
  o.hidden = -4;
  KPLUG_EXPECT_ERROR(km::make_mapper("mlp", 2, 2, o), "options.hidden");
}

TEST(AnyMapper, MakeMapperRejectsBadTargetNorm) {
  km::mapper_options o;
  o.target_norm = -2.0f;
  KPLUG_EXPECT_ERROR(km::make_mapper("identity", 2, 2, o), "target_norm");
}

}  // namespace
