// safetensors format: the file layout, the header's validation and the limits
// both the reader and the writer follow. Reader: io/safetensors/reader.hpp;
// writer: io/safetensors/writer.hpp; io/safetensors.hpp includes all three.
//
// Format (huggingface/safetensors, docs and safetensors/src/tensor.rs):
//   bytes [0, 8)        N, the header length, u64 little-endian
//   bytes [8, 8 + N)    a UTF-8 JSON object:
//                         {"__metadata__": {"key": "value", ...},          (optional)
//                          "<name>": {"dtype": "F32", "shape": [2, 3],
//                                     "data_offsets": [begin, end]}, ...}
//                       padded at the end with spaces
//   bytes [8 + N, EOF)  the data buffer; tensor bytes are [begin, end) of it,
//                       C order, little-endian.
//
// Header validation (parse_safetensors_header, which the reader runs) is
// strict; each of these is a kplug::error naming the file, the tensor and why,
// and nothing is ever read outside the file:
//   - fewer than 8 bytes; N above safetensors_max_header_bytes (100,000,000,
//     the reference's MAX_HEADER_SIZE) or beyond the end of the file;
//   - a header that is not a JSON object starting with '{', is not valid JSON
//     (or UTF-8), repeats a key at any level, or nests deeper than the format;
//   - "__metadata__" that is not an object of string values;
//   - a tensor entry that is not an object of exactly "dtype", "shape" and
//     "data_offsets"; an unknown dtype; a shape that is not an array of
//     non-negative integers (each fitting int64); a shape whose byte size
//     overflows 64 bits; data_offsets that are not two integers begin <= end;
//     a range outside the data buffer; a range whose size is not
//     product(shape) * dtype size;
//   - tensor ranges that overlap, leave a gap, or do not reach the end of the
//     data buffer. Like the reference validator (Metadata::validate, which
//     requires each tensor to start where the previous one ends and the last
//     to end at EOF) the non-empty ranges must tile the data buffer exactly:
//     unused bytes are where a truncated or spliced file shows, and no writer
//     we know of leaves them. Empty tensors (begin == end) tile nothing and
//     may sit at any offset inside the buffer.
//   - an empty tensor name (the reference accepts it; nothing can look it up
//     usefully, so it is rejected here and by the writer).
// Files that are obviously something else (.npy, zip/PyTorch, JSON text) get
// an error saying what they look like.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "kplug/core/error.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/io/dtype.hpp"
#include "kplug/io/json.hpp"

namespace kplug::io {

static_assert(std::endian::native == std::endian::little,
              "kplug's safetensors reader maps little-endian data directly and needs a little-endian host");

// Element types are io::dtype (io/dtype.hpp), spelled "F32", "BF16", ... in
// files (safetensors_dtype_name); dtypes without a C++ type (F16, BF16, F8)
// are reached through tensor_view::bytes() and to_float32().

// The reference's MAX_HEADER_SIZE.
inline constexpr std::uint64_t safetensors_max_header_bytes = 100'000'000;

// String metadata of a file ("__metadata__"), sorted by key.
using safetensors_metadata = std::map<std::string, std::string, std::less<>>;

// One tensor entry of a parsed header. Offsets are validated.
struct tensor_info {
  std::string name;
  io::dtype dtype = io::dtype::f32;
  std::vector<index_t> shape;      // empty for a scalar
  std::uint64_t begin = 0;         // byte range in the data buffer
  std::uint64_t end = 0;
  std::uint64_t element_count = 0; // product of shape (1 for a scalar)
};

// A parsed, validated header.
struct safetensors_header {
  std::uint64_t header_bytes = 0;  // N
  std::uint64_t data_offset = 0;   // 8 + N: where the data buffer starts in the file
  std::uint64_t data_bytes = 0;    // size of the data buffer
  std::vector<tensor_info> tensors;  // sorted by name
  safetensors_metadata metadata;
};

// Parses and validates the header of a complete safetensors file held in
// `file` (all of it: ranges are checked against its size); `path` names it in
// messages. Touches only the first 8 + N bytes.
safetensors_header parse_safetensors_header(std::span<const std::byte> file, std::string_view path);

// ---------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------

namespace detail {

inline std::string at_tensor(std::string_view path, std::string_view name) {
  return std::string(path) + ", tensor '" + std::string(name) + "'";
}

inline std::string shape_text(std::span<const index_t> shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

inline std::string range_text(std::uint64_t b, std::uint64_t e) {
  std::string s = "[";
  s += std::to_string(b);
  s += ", ";
  s += std::to_string(e);
  s += ")";
  return s;
}

// What a file that is not safetensors looks like, from its first bytes.
inline std::string foreign_format_hint(std::span<const std::byte> file) {
  const std::string_view t(reinterpret_cast<const char*>(file.data()), std::min<std::size_t>(file.size(), 8));
  if (t.starts_with("\x93NUMPY")) return " (this is a NumPy .npy file)";
  if (t.starts_with("PK\x03\x04")) return " (this is a zip archive, e.g. a PyTorch .bin/.pt checkpoint)";
  if (!t.empty() && static_cast<unsigned char>(t[0]) == 0x80) return " (this looks like a Python pickle)";
  if (!t.empty() && (t[0] == '{' || t[0] == '[')) return " (this looks like a JSON text file)";
  if (t.starts_with("\x89HDF")) return " (this is an HDF5 file)";
  return "";
}

inline std::uint64_t read_u64_le(const std::byte* p) noexcept {
  std::uint64_t v = 0;
  std::memcpy(&v, p, 8);  // little-endian host (asserted above)
  return v;
}

// Parses the header JSON strictly (io/json.hpp): duplicate keys at any level
// (nlohmann would silently keep the last) and nesting deeper than the
// format's root { entry { shape [ ] } } are errors.
inline nlohmann::json parse_header_json(std::string_view text, std::string_view path) {
  constexpr const char* what = "read safetensors header";
  json_parse_options options;
  options.base_offset = 8;  // the header follows its 8-byte length
  options.max_depth = 3;
  options.depth_why =
      "the header nests deeper than a safetensors header can (root object > tensor entry > shape array)";
  options.on_duplicate_key = [&](int depth, const std::string& key) {
    if (depth == 1) throw error(what, at_tensor(path, key), "the header lists this name twice (duplicate JSON key)");
  };
  return parse_json(text, what, path, options);
}

// A JSON value that must be a non-negative integer.
inline std::optional<std::uint64_t> json_uint(const nlohmann::json& v) noexcept {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number_integer() && v.get<std::int64_t>() >= 0) return static_cast<std::uint64_t>(v.get<std::int64_t>());
  return std::nullopt;
}

inline tensor_info parse_tensor_entry(const std::string& name, const nlohmann::json& entry, std::uint64_t data_bytes,
                                      std::string_view path) {
  constexpr const char* what = "read safetensors header";
  const std::string where = at_tensor(path, name);
  if (name.empty()) throw error(what, at_file(path), "a tensor has an empty name");
  if (!entry.is_object())
    throw error(what, where, "the entry is not an object with dtype, shape and data_offsets (got " +
                                 json_snippet(entry) + ")");
  for (const auto& [key, value] : entry.items()) {
    (void)value;
    if (key != "dtype" && key != "shape" && key != "data_offsets")
      throw error(what, where, "unexpected field '" + key + "' (an entry has dtype, shape and data_offsets only)");
  }
  for (const char* field : {"dtype", "shape", "data_offsets"})
    if (!entry.contains(field)) throw error(what, where, std::string("the entry has no '") + field + "'");

  tensor_info t;
  t.name = name;
  const auto& dt = entry["dtype"];
  if (!dt.is_string()) throw error(what, where, "dtype is not a string (got " + json_snippet(dt) + ")");
  const auto parsed = parse_safetensors_dtype(dt.get_ref<const std::string&>());
  if (!parsed) {
    std::string known;
    for (const io::dtype k : all_dtypes) known += (known.empty() ? "" : ", ") + std::string(safetensors_dtype_name(k));
    throw error(what, where, "unknown dtype " + json_snippet(dt) + " (known: " + known + ")");
  }
  t.dtype = *parsed;

  const auto& shape = entry["shape"];
  if (!shape.is_array()) throw error(what, where, "shape is not an array (got " + json_snippet(shape) + ")");
  std::uint64_t bytes = dtype_size(t.dtype);
  std::uint64_t count = 1;
  bool overflow = false;
  bool zero = false;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    const auto d = json_uint(shape[i]);
    if (!d)
      throw error(what, where,
                  "shape[" + std::to_string(i) + "] is not a non-negative integer (got " + json_snippet(shape[i]) +
                      ")");
    if (*d > static_cast<std::uint64_t>(std::numeric_limits<index_t>::max()))
      throw error(what, where, "shape[" + std::to_string(i) + "] = " + std::to_string(*d) + " does not fit int64");
    t.shape.push_back(static_cast<index_t>(*d));
    if (*d == 0) zero = true;
    if (zero || overflow) continue;
    if (bytes > std::numeric_limits<std::uint64_t>::max() / *d) {
      overflow = true;
      continue;
    }
    bytes *= *d;
    count *= *d;  // count <= bytes: cannot overflow when bytes did not
  }
  if (zero) {
    count = 0;
    bytes = 0;
  }
  // A zero dimension anywhere makes the tensor empty, whatever the others say.
  if (overflow && !zero)
    throw error(what, where, "shape " + shape_text(t.shape) + " of " + std::string(safetensors_dtype_name(t.dtype)) +
                                 " overflows: its size in bytes exceeds 64 bits");
  t.element_count = count;

  const auto& off = entry["data_offsets"];
  if (!off.is_array() || off.size() != 2)
    throw error(what, where, "data_offsets is not an array of two integers (got " + json_snippet(off) + ")");
  const auto b = json_uint(off[0]);
  const auto e = json_uint(off[1]);
  if (!b || !e)
    throw error(what, where, "data_offsets must be two non-negative integers (got " + json_snippet(off) + ")");
  if (*b > *e)
    throw error(what, where, "data_offsets " + range_text(*b, *e) + " end before they begin");
  if (*e > data_bytes)
    throw error(what, where,
                "data_offsets " + range_text(*b, *e) + " reach beyond the data buffer of " +
                    std::to_string(data_bytes) + " bytes (truncated file or lying header)");
  if (*e - *b != bytes)
    throw error(what, where,
                "shape " + shape_text(t.shape) + " of " + std::string(safetensors_dtype_name(t.dtype)) + " needs " +
                    std::to_string(bytes) + " bytes but data_offsets " + range_text(*b, *e) + " hold " +
                    std::to_string(*e - *b));
  t.begin = *b;
  t.end = *e;
  return t;
}

}  // namespace detail

inline safetensors_header parse_safetensors_header(std::span<const std::byte> file, std::string_view path) {
  constexpr const char* what = "read safetensors header";
  const std::uint64_t size = file.size();
  if (size == 0) throw error(what, at_file(path), "the file is empty (0 bytes)");
  if (size < 8)
    throw error(what, at_file(path),
                "the file has only " + std::to_string(size) +
                    " bytes; a safetensors file starts with an 8-byte header length" +
                    detail::foreign_format_hint(file));
  safetensors_header h;
  h.header_bytes = detail::read_u64_le(file.data());
  if (h.header_bytes > safetensors_max_header_bytes)
    throw error(what, at_offset(path, 0),
                "header length " + std::to_string(h.header_bytes) + " exceeds the limit of " +
                    std::to_string(safetensors_max_header_bytes) + " bytes" + detail::foreign_format_hint(file) +
                    (h.header_bytes > size - 8 ? " and the file itself" : ""));
  if (h.header_bytes > size - 8)
    throw error(what, at_offset(path, 0),
                "header length " + std::to_string(h.header_bytes) + " reaches beyond the end of the " +
                    std::to_string(size) + "-byte file (truncated, or not a safetensors file" +
                    detail::foreign_format_hint(file) + ")");
  if (h.header_bytes < 2)
    throw error(what, at_offset(path, 0),
                "header length " + std::to_string(h.header_bytes) + " cannot hold a JSON object");
  h.data_offset = 8 + h.header_bytes;
  h.data_bytes = size - h.data_offset;
  const std::string_view text(reinterpret_cast<const char*>(file.data()) + 8,
                              static_cast<std::size_t>(h.header_bytes));
  if (text.front() != '{')
    throw error(what, at_offset(path, 8), "the header does not start with '{'" + detail::foreign_format_hint(file));

  const nlohmann::json root = detail::parse_header_json(text, path);
  if (!root.is_object()) throw error(what, at_offset(path, 8), "the header is not a JSON object");

  for (const auto& [key, value] : root.items()) {
    if (key == "__metadata__") {
      if (!value.is_object())
        throw error(what, at_file(path) + ", __metadata__",
                    "__metadata__ is not an object of strings (got " + json_snippet(value) + ")");
      for (const auto& [mk, mv] : value.items()) {
        if (!mv.is_string())
          throw error(what, at_file(path) + ", __metadata__['" + mk + "']",
                      "metadata values must be strings (got " + json_snippet(mv) + ")");
        h.metadata.emplace(mk, mv.get<std::string>());
      }
      continue;
    }
    h.tensors.push_back(detail::parse_tensor_entry(key, value, h.data_bytes, path));
  }

  // The non-empty ranges must tile [0, data_bytes) exactly.
  std::vector<const tensor_info*> by_offset;
  by_offset.reserve(h.tensors.size());
  for (const auto& t : h.tensors)
    if (t.end > t.begin) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(), [](const tensor_info* a, const tensor_info* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  std::uint64_t covered = 0;
  const tensor_info* previous = nullptr;
  for (const tensor_info* t : by_offset) {
    if (t->begin < covered)
      throw error(what, detail::at_tensor(path, t->name),
                  "data_offsets " + detail::range_text(t->begin, t->end) + " overlap tensor '" + previous->name +
                      "' at " + detail::range_text(previous->begin, previous->end));
    if (t->begin > covered)
      throw error(what, detail::at_tensor(path, t->name),
                  "bytes " + detail::range_text(covered, t->begin) + " of the data buffer before this tensor " +
                      (previous ? "(after tensor '" + previous->name + "') " : std::string()) +
                      "belong to no tensor (the ranges must tile the data buffer)");
    covered = t->end;
    previous = t;
  }
  if (covered != h.data_bytes)
    throw error(what, at_offset(path, h.data_offset + covered),
                "the data buffer holds " + std::to_string(h.data_bytes) + " bytes but the tensors cover only " +
                    std::to_string(covered) + " (trailing bytes that belong to no tensor)");

  std::sort(h.tensors.begin(), h.tensors.end(),
            [](const tensor_info& a, const tensor_info& b) { return a.name < b.name; });
  return h;
}

}  // namespace kplug::io
