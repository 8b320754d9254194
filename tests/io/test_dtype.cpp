// io::dtype: each type's size and its spelling in .npy and safetensors files,
// checked against the formats' documentation (numpy's array-interface descr,
// huggingface safetensors' Dtype names), not against another table of ours.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "kplug/io/dtype.hpp"

namespace {

using kplug::io::dtype;

TEST(Dtype, SpellingsFollowEachFormat) {
  struct row {
    dtype t;
    std::size_t size;
    const char* name;
    const char* npy;
    const char* safetensors;
  };
  const row rows[] = {
      {dtype::boolean, 1, "bool", "", "BOOL"},      {dtype::u8, 1, "uint8", "|u1", "U8"},
      {dtype::i8, 1, "int8", "|i1", "I8"},          {dtype::f8_e5m2, 1, "float8_e5m2", "", "F8_E5M2"},
      {dtype::f8_e4m3, 1, "float8_e4m3", "", "F8_E4M3"}, {dtype::i16, 2, "int16", "<i2", "I16"},
      {dtype::u16, 2, "uint16", "<u2", "U16"},      {dtype::f16, 2, "float16", "<f2", "F16"},
      {dtype::bf16, 2, "bfloat16", "", "BF16"},     {dtype::i32, 4, "int32", "<i4", "I32"},
      {dtype::u32, 4, "uint32", "<u4", "U32"},      {dtype::f32, 4, "float32", "<f4", "F32"},
      {dtype::f64, 8, "float64", "<f8", "F64"},     {dtype::i64, 8, "int64", "<i8", "I64"},
      {dtype::u64, 8, "uint64", "<u8", "U64"},
  };
  ASSERT_EQ(std::size(rows), std::size(kplug::io::all_dtypes));
  for (std::size_t i = 0; i < std::size(rows); ++i) {
    const row& r = rows[i];
    SCOPED_TRACE(r.name);
    EXPECT_EQ(kplug::io::all_dtypes[i], r.t) << "enum order is the reference's Dtype order";
    EXPECT_EQ(kplug::io::dtype_size(r.t), r.size);
    EXPECT_EQ(kplug::io::dtype_name(r.t), r.name);
    EXPECT_EQ(kplug::io::npy_descr(r.t), r.npy);
    EXPECT_EQ(kplug::io::safetensors_dtype_name(r.t), r.safetensors);
    EXPECT_EQ(kplug::io::parse_safetensors_dtype(r.safetensors), r.t);
  }
  EXPECT_FALSE(kplug::io::parse_safetensors_dtype("f32").has_value()) << "case-sensitive";
}

TEST(Dtype, CppTypesMapToTheirDtype) {
  static_assert(kplug::io::dtype_of<float>::value == dtype::f32);
  static_assert(kplug::io::dtype_of<std::int64_t>::value == dtype::i64);
  static_assert(kplug::io::dtype_of<bool>::value == dtype::boolean);
  static_assert(!kplug::io::dtype_element<long double>);
  SUCCEED();
}

}  // namespace
