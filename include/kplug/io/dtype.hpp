// The element types of the tensor files kplug reads and writes, shared by
// .npy (io/npy.hpp) and safetensors (io/safetensors.hpp): one enum, each
// type's size, a readable name, and each format's spelling of it.
//
// The enumerators follow the safetensors reference's Dtype enum: its writer
// lays tensors out in descending order of that enum, so the order is part of
// the format (see io/safetensors/writer.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <type_traits>

namespace kplug::io {

enum class dtype : std::uint8_t {
  boolean,  // bool (1 byte); safetensors only
  u8,
  i8,
  f8_e5m2,  // 1 byte; safetensors only, bytes only
  f8_e4m3,  // 1 byte; safetensors only, bytes only
  i16,
  u16,
  f16,   // IEEE binary16
  bf16,  // bfloat16; safetensors only
  i32,
  u32,
  f32,
  f64,
  i64,
  u64,
};

// Every dtype, in enum order.
inline constexpr dtype all_dtypes[] = {
    dtype::boolean, dtype::u8,  dtype::i8,  dtype::f8_e5m2, dtype::f8_e4m3, dtype::i16, dtype::u16, dtype::f16,
    dtype::bf16,    dtype::i32, dtype::u32, dtype::f32,     dtype::f64,     dtype::i64, dtype::u64,
};

// Bytes per element.
constexpr std::size_t dtype_size(dtype t) noexcept;
// numpy's name: "float32", "bfloat16", "bool", ...
constexpr std::string_view dtype_name(dtype t) noexcept;
// The safetensors spelling: "F32", "BF16", "BOOL", ...
constexpr std::string_view safetensors_dtype_name(dtype t) noexcept;
// The dtype a safetensors file spells `name` (case-sensitive), or nullopt.
constexpr std::optional<dtype> parse_safetensors_dtype(std::string_view name) noexcept;
// The little-endian numpy descr written to .npy files ("<f4", "|u1"), or
// empty for the types kplug's .npy code does not handle (bool, bfloat16, F8).
constexpr std::string_view npy_descr(dtype t) noexcept;

// The dtype of a C++ element type. F16, BF16 and F8 have none: they are
// reached as bytes (npy_array::bytes(), tensor_view::bytes()) and converted.
template <class T>
struct dtype_of;
template <class T>
concept dtype_element = requires { dtype_of<std::remove_const_t<T>>::value; };

// ---------------------------------------------------------------------------
// Implementation

constexpr std::size_t dtype_size(dtype t) noexcept {
  switch (t) {
    case dtype::boolean:
    case dtype::u8:
    case dtype::i8:
    case dtype::f8_e5m2:
    case dtype::f8_e4m3: return 1;
    case dtype::i16:
    case dtype::u16:
    case dtype::f16:
    case dtype::bf16: return 2;
    case dtype::i32:
    case dtype::u32:
    case dtype::f32: return 4;
    case dtype::f64:
    case dtype::i64:
    case dtype::u64: return 8;
  }
  return 0;
}

constexpr std::string_view dtype_name(dtype t) noexcept {
  switch (t) {
    case dtype::boolean: return "bool";
    case dtype::u8: return "uint8";
    case dtype::i8: return "int8";
    case dtype::f8_e5m2: return "float8_e5m2";
    case dtype::f8_e4m3: return "float8_e4m3";
    case dtype::i16: return "int16";
    case dtype::u16: return "uint16";
    case dtype::f16: return "float16";
    case dtype::bf16: return "bfloat16";
    case dtype::i32: return "int32";
    case dtype::u32: return "uint32";
    case dtype::f32: return "float32";
    case dtype::f64: return "float64";
    case dtype::i64: return "int64";
    case dtype::u64: return "uint64";
  }
  return "?";
}

constexpr std::string_view safetensors_dtype_name(dtype t) noexcept {
  switch (t) {
    case dtype::boolean: return "BOOL";
    case dtype::u8: return "U8";
    case dtype::i8: return "I8";
    case dtype::f8_e5m2: return "F8_E5M2";
    case dtype::f8_e4m3: return "F8_E4M3";
    case dtype::i16: return "I16";
    case dtype::u16: return "U16";
    case dtype::f16: return "F16";
    case dtype::bf16: return "BF16";
    case dtype::i32: return "I32";
    case dtype::u32: return "U32";
    case dtype::f32: return "F32";
    case dtype::f64: return "F64";
    case dtype::i64: return "I64";
    case dtype::u64: return "U64";
  }
  return "?";
}

constexpr std::optional<dtype> parse_safetensors_dtype(std::string_view name) noexcept {
  for (const dtype t : all_dtypes)
    if (safetensors_dtype_name(t) == name) return t;
  return std::nullopt;
}

constexpr std::string_view npy_descr(dtype t) noexcept {
  switch (t) {
    case dtype::f16: return "<f2";
    case dtype::f32: return "<f4";
    case dtype::f64: return "<f8";
    case dtype::i8: return "|i1";
    case dtype::i16: return "<i2";
    case dtype::i32: return "<i4";
    case dtype::i64: return "<i8";
    case dtype::u8: return "|u1";
    case dtype::u16: return "<u2";
    case dtype::u32: return "<u4";
    case dtype::u64: return "<u8";
    case dtype::boolean:
    case dtype::f8_e5m2:
    case dtype::f8_e4m3:
    case dtype::bf16: return "";
  }
  return "";
}

#define KPLUG_DETAIL_DTYPE_OF(type, tag)                         \
  template <>                                                    \
  struct dtype_of<type> {                                        \
    static constexpr dtype value = dtype::tag;                   \
    static_assert(sizeof(type) == dtype_size(dtype::tag), #type); \
  };
KPLUG_DETAIL_DTYPE_OF(bool, boolean)
KPLUG_DETAIL_DTYPE_OF(std::uint8_t, u8)
KPLUG_DETAIL_DTYPE_OF(std::int8_t, i8)
KPLUG_DETAIL_DTYPE_OF(std::int16_t, i16)
KPLUG_DETAIL_DTYPE_OF(std::uint16_t, u16)
KPLUG_DETAIL_DTYPE_OF(std::int32_t, i32)
KPLUG_DETAIL_DTYPE_OF(std::uint32_t, u32)
KPLUG_DETAIL_DTYPE_OF(float, f32)
KPLUG_DETAIL_DTYPE_OF(double, f64)
KPLUG_DETAIL_DTYPE_OF(std::int64_t, i64)
KPLUG_DETAIL_DTYPE_OF(std::uint64_t, u64)
#undef KPLUG_DETAIL_DTYPE_OF

}  // namespace kplug::io
