// safetensors writer.
//
// Writing follows the reference writer (tensor.rs `prepare`), so the bytes
// are identical to what huggingface/safetensors produces for the same input:
//   - tensors sorted by dtype in DESCENDING order of the reference's Dtype enum
//     (U64, I64, F64, F32, U32, I32, BF16, F16, U16, I16, F8_E4M3, F8_E5M2, I8,
//     U8, BOOL), then by name (byte-wise), laid out back to back in that order;
//     since element sizes never increase along that order and the data buffer
//     starts 8-aligned, every tensor is aligned to its element size (so
//     tensor_view::values<T>() can hand out a pointer into the map);
//   - the JSON is compact: "__metadata__" first (omitted when empty; keys
//     sorted here, a hash-map order in the reference), then the tensors in
//     data order, each as {"dtype":..,"shape":[..],"data_offsets":[b,e]};
//   - the header is padded with spaces to a multiple of 8 bytes.
// The file is written through an atomic_file (io/atomic_file.hpp): a
// temporary in the same directory, flushed to disk (fsync) and renamed over
// `path`, so a crash mid-write leaves either the old file or the new one,
// never a truncated one.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "kplug/core/error.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/io/atomic_file.hpp"
#include "kplug/io/dtype.hpp"
#include "kplug/io/safetensors/format.hpp"

namespace kplug::io {

// One tensor to write: its bytes are borrowed (little-endian, C order) and
// must hold product(shape) * dtype_size(dtype) bytes.
struct named_tensor {
  std::string name;
  io::dtype dtype = io::dtype::f32;
  std::vector<index_t> shape;
  std::span<const std::byte> bytes;
};

// A tensor of `values` with `shape` (the caller keeps `values` alive; the
// writer checks that the sizes agree).
template <dtype_element T, std::size_t E>
named_tensor make_tensor(std::string name, std::vector<index_t> shape, std::span<T, E> values);
template <dtype_element T, class Alloc>
  requires(!std::is_same_v<T, bool>)
named_tensor make_tensor(std::string name, std::vector<index_t> shape, const std::vector<T, Alloc>& values);
// A rows x cols tensor of a dense matrix (view); throws for a strided view.
template <dtype_element T>
named_tensor make_tensor(std::string name, matrix_view<T> m);
template <dtype_element T>
named_tensor make_tensor(std::string name, const matrix<T>& m);

// The whole file in memory.
std::string serialize_safetensors(std::span<const named_tensor> tensors, const safetensors_metadata& metadata = {});
// Writes the file atomically (temporary file, fsync, rename). Throws, leaving
// any existing file at `path` untouched and no temporary file behind, on
// invalid input (empty, duplicate or "__metadata__" names; negative dims;
// byte counts that disagree with the shape; metadata that is not valid UTF-8)
// or an I/O failure.
void write_safetensors(const std::string& path, std::span<const named_tensor> tensors,
                       const safetensors_metadata& metadata = {});

// ---------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------

template <dtype_element T, std::size_t E>
named_tensor make_tensor(std::string name, std::vector<index_t> shape, std::span<T, E> values) {
  return {std::move(name), dtype_of<std::remove_const_t<T>>::value, std::move(shape), std::as_bytes(values)};
}

template <dtype_element T, class Alloc>
  requires(!std::is_same_v<T, bool>)
named_tensor make_tensor(std::string name, std::vector<index_t> shape, const std::vector<T, Alloc>& values) {
  return make_tensor(std::move(name), std::move(shape), std::span<const T>(values));
}

template <dtype_element T>
named_tensor make_tensor(std::string name, const matrix<T>& m) {
  return make_tensor(std::move(name), m.view());
}

template <dtype_element T>
named_tensor make_tensor(std::string name, matrix_view<T> m) {
  if (!m.contiguous() && m.rows() > 1)
    throw error("make tensor", name, "the matrix view is strided (row stride " + std::to_string(m.row_stride()) +
                                         ", cols " + std::to_string(m.cols()) + "); copy it into a dense matrix");
  if (m.rows() < 0 || m.cols() < 0) throw error("make tensor", name, "negative matrix extent");
  using value = std::remove_const_t<T>;
  const auto n = static_cast<std::size_t>(m.rows() * m.cols());
  return {std::move(name), dtype_of<value>::value, {m.rows(), m.cols()},
          std::as_bytes(std::span<const value>(m.data(), n))};
}

namespace detail {

// The JSON text of a string, escaped as serde_json does (", \ and control
// characters; everything else, UTF-8 included, verbatim).
inline std::string json_string(const std::string& s, const char* what, const std::string& where) {
  try {
    return nlohmann::json(s).dump();
  } catch (const nlohmann::json::type_error&) {
    throw error(what, where, "the string is not valid UTF-8");
  }
}

// The order and data offsets the reference writer gives the tensors.
struct tensor_layout {
  std::vector<std::size_t> order;  // indices into the input, in data order
  std::vector<std::uint64_t> begin;  // by input index
  std::uint64_t data_bytes = 0;
};

inline tensor_layout layout_tensors(std::span<const named_tensor> tensors, const safetensors_metadata& metadata) {
  constexpr const char* what = "write safetensors file";
  tensor_layout l;
  l.order.resize(tensors.size());
  for (std::size_t i = 0; i < tensors.size(); ++i) l.order[i] = i;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const named_tensor& t = tensors[i];
    const std::string where = "tensors[" + std::to_string(i) + "] '" + t.name + "'";
    if (t.name.empty()) throw error(what, "tensors[" + std::to_string(i) + "]", "empty tensor name");
    if (t.name == "__metadata__") throw error(what, where, "'__metadata__' is reserved for the metadata");
    if (parse_safetensors_dtype(safetensors_dtype_name(t.dtype)) != t.dtype) throw error(what, where, "invalid dtype value");
    std::uint64_t bytes = dtype_size(t.dtype);
    bool overflow = false;
    bool zero = false;
    for (std::size_t k = 0; k < t.shape.size(); ++k) {
      if (t.shape[k] < 0)
        throw error(what, where, "shape[" + std::to_string(k) + "] = " + std::to_string(t.shape[k]) + " is negative");
      const auto d = static_cast<std::uint64_t>(t.shape[k]);
      if (d == 0) zero = true;
      if (zero || overflow) continue;
      if (bytes > std::numeric_limits<std::uint64_t>::max() / d) overflow = true;
      bytes *= d;
    }
    if (zero) bytes = 0;
    if (overflow && !zero) throw error(what, where, "shape " + shape_text(t.shape) + " overflows 64 bits");
    if (bytes != t.bytes.size())
      throw error(what, where,
                  "shape " + shape_text(t.shape) + " of " + std::string(safetensors_dtype_name(t.dtype)) + " needs " +
                      std::to_string(bytes) + " bytes, got " + std::to_string(t.bytes.size()));
  }
  // Descending dtype (alignment), then name: the reference's order.
  std::sort(l.order.begin(), l.order.end(), [&](std::size_t a, std::size_t b) {
    if (tensors[a].dtype != tensors[b].dtype) return tensors[a].dtype > tensors[b].dtype;
    return tensors[a].name < tensors[b].name;
  });
  {
    std::vector<std::string_view> names;
    names.reserve(tensors.size());
    for (const auto& t : tensors) names.emplace_back(t.name);
    std::sort(names.begin(), names.end());
    if (const auto dup = std::adjacent_find(names.begin(), names.end()); dup != names.end())
      throw error(what, "tensor '" + std::string(*dup) + "'", "the name appears twice");
  }
  for (const auto& [k, v] : metadata) {
    json_string(k, what, "metadata key '" + k + "'");
    json_string(v, what, "metadata['" + k + "']");
  }
  l.begin.resize(tensors.size());
  for (const std::size_t i : l.order) {
    l.begin[i] = l.data_bytes;
    l.data_bytes += tensors[i].bytes.size();
  }
  return l;
}

inline std::string header_bytes_for(std::span<const named_tensor> tensors, const safetensors_metadata& metadata,
                                    const tensor_layout& l) {
  constexpr const char* what = "write safetensors file";
  std::string json = "{";
  if (!metadata.empty()) {
    json += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [k, v] : metadata) {
      if (!first) json += ',';
      first = false;
      json += json_string(k, what, "metadata key") + ":" + json_string(v, what, "metadata['" + k + "']");
    }
    json += "}";
  }
  for (std::size_t n = 0; n < l.order.size(); ++n) {
    const named_tensor& t = tensors[l.order[n]];
    if (n > 0 || !metadata.empty()) json += ',';
    json += json_string(t.name, what, "tensor name") + ":{\"dtype\":\"" + std::string(safetensors_dtype_name(t.dtype)) +
            "\",\"shape\":[";
    for (std::size_t k = 0; k < t.shape.size(); ++k) {
      if (k > 0) json += ',';
      json += std::to_string(t.shape[k]);
    }
    const std::uint64_t b = l.begin[l.order[n]];
    json += "],\"data_offsets\":[";
    json += std::to_string(b);
    json += ',';
    json += std::to_string(b + t.bytes.size());
    json += "]}";
  }
  json += "}";
  json.append((8 - json.size() % 8) % 8, ' ');
  if (json.size() > safetensors_max_header_bytes)
    throw error(what, "header", "the header would be " + std::to_string(json.size()) + " bytes, above the " +
                                    std::to_string(safetensors_max_header_bytes) + "-byte limit readers enforce");
  std::string out(8, '\0');
  const std::uint64_t n = json.size();
  std::memcpy(out.data(), &n, 8);  // little-endian host
  return out + json;
}

}  // namespace detail

inline std::string serialize_safetensors(std::span<const named_tensor> tensors, const safetensors_metadata& metadata) {
  const detail::tensor_layout l = detail::layout_tensors(tensors, metadata);
  std::string out = detail::header_bytes_for(tensors, metadata, l);
  out.reserve(out.size() + l.data_bytes);
  for (const std::size_t i : l.order)
    out.append(reinterpret_cast<const char*>(tensors[i].bytes.data()), tensors[i].bytes.size());
  return out;
}

inline void write_safetensors(const std::string& path, std::span<const named_tensor> tensors,
                              const safetensors_metadata& metadata) {
  const detail::tensor_layout l = detail::layout_tensors(tensors, metadata);
  const std::string header = detail::header_bytes_for(tensors, metadata, l);
  write_file_atomically(path, "write safetensors file", [&](auto& put) {
    put(header.data(), header.size());
    for (const std::size_t i : l.order) put(tensors[i].bytes.data(), tensors[i].bytes.size());
  });
}

}  // namespace kplug::io
