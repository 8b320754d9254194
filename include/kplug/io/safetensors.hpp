// safetensors files: a strict, memory-mapped, zero-copy reader and a writer.
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
// Reading maps the file and parses only the header: a multi-GB checkpoint opens
// in one mmap call and tensor bytes are paged in when touched. The reader is
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
#include <bit>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "kplug/core/error.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/detail/half.hpp"
#include "kplug/io/dtype.hpp"
#include "kplug/io/json.hpp"
#include "kplug/io/atomic_file.hpp"
#include "kplug/io/mapped_file.hpp"

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

// A read-only view of one tensor inside a file. Valid as long as the
// safetensors_file it came from (or the one that file was moved into) lives.
class tensor_view {
 public:
  tensor_view(const tensor_info& info, const std::byte* data, std::string_view source) noexcept
      : info_(&info), data_(data), source_(source) {}

  const std::string& name() const noexcept { return info_->name; }
  io::dtype dtype() const noexcept { return info_->dtype; }
  std::span<const index_t> shape() const noexcept { return info_->shape; }
  std::size_t ndim() const noexcept { return info_->shape.size(); }
  std::uint64_t element_count() const noexcept { return info_->element_count; }
  // The raw little-endian bytes (never copied; may be unaligned in files from
  // writers that do not align, such as old safetensors versions).
  std::span<const std::byte> bytes() const noexcept {
    return {data_, static_cast<std::size_t>(info_->end - info_->begin)};
  }
  // The file the tensor lives in (for messages).
  std::string_view source() const noexcept { return source_; }

  // All elements as T, without a copy. Throws unless dtype() is T's dtype and
  // the data is aligned for T (always so in files kplug or the current
  // reference writes; use to_float32() for others).
  template <dtype_element T>
  std::span<const T> values() const;
  // The tensor as a rows x cols matrix without a copy: 2-D, T's dtype, aligned.
  template <dtype_element T = float>
  matrix_view<const T> as_matrix() const;

  // Every element converted to float32 (F32 copied, F16/BF16 widened exactly,
  // F64 rounded to nearest). Other dtypes throw. `out` must hold
  // element_count() floats; any alignment is fine.
  void to_float32(std::span<float> out) const;
  std::vector<float> to_float32() const;
  // The same for a 2-D tensor, as an owned rows x cols matrix.
  matrix<float> to_float32_matrix() const;

 private:
  [[noreturn]] void fail(const char* what, const std::string& why) const;

  const tensor_info* info_;
  const std::byte* data_;
  std::string_view source_;
};

// A memory-mapped safetensors file. Move-only.
class safetensors_file {
 public:
  safetensors_file() = default;
  // Maps `path` and validates its header (see the top of this file).
  explicit safetensors_file(std::string path);

  const std::string& path() const noexcept { return state().file.path(); }
  const safetensors_header& header() const noexcept { return state().header; }
  const safetensors_metadata& metadata() const noexcept { return state().header.metadata; }
  // Number of tensors.
  std::size_t size() const noexcept { return state().header.tensors.size(); }
  // Tensor entries, sorted by name.
  std::span<const tensor_info> tensors() const noexcept { return state().header.tensors; }
  // Tensor names, sorted.
  std::vector<std::string_view> names() const;
  bool contains(std::string_view name) const noexcept { return find_info(name) != nullptr; }

  // The tensor `name`; throws naming the file and the tensor if it is absent.
  tensor_view tensor(std::string_view name) const;
  std::optional<tensor_view> find(std::string_view name) const noexcept;

  // The whole mapped file.
  std::span<const std::byte> file_bytes() const noexcept { return state().file.bytes(); }

 private:
  struct file_state {
    mapped_file file;
    safetensors_header header;
  };
  const file_state& state() const noexcept {
    static const file_state empty{};
    return state_ ? *state_ : empty;
  }
  const tensor_info* find_info(std::string_view name) const noexcept;
  tensor_view view_of(const tensor_info& info) const noexcept;

  // Heap-held so that views (which point at entries and the path) survive a
  // move of the file object.
  std::unique_ptr<const file_state> state_;
};

inline safetensors_file open_safetensors(std::string path) { return safetensors_file(std::move(path)); }

// ---------------------------------------------------------------- writing

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

// The 8-byte length and the padded JSON header the writer puts before the data.
std::string safetensors_header_bytes(std::span<const named_tensor> tensors, const safetensors_metadata& metadata = {});
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

// ---------------------------------------------------------------- tensor_view

inline void tensor_view::fail(const char* what, const std::string& why) const {
  throw error(what, detail::at_tensor(source_, info_->name), why);
}

template <dtype_element T>
std::span<const T> tensor_view::values() const {
  constexpr io::dtype wanted = dtype_of<std::remove_const_t<T>>::value;
  if (dtype() != wanted)
    fail("view tensor values",
         "the tensor holds " + std::string(safetensors_dtype_name(dtype())) + ", not " + std::string(safetensors_dtype_name(wanted)));
  if (reinterpret_cast<std::uintptr_t>(data_) % alignof(T) != 0)
    fail("view tensor values", "the data is not aligned to " + std::to_string(alignof(T)) +
                                   " bytes in the file (written without alignment); use to_float32() to copy it");
  return {reinterpret_cast<const T*>(data_), static_cast<std::size_t>(element_count())};
}

template <dtype_element T>
matrix_view<const T> tensor_view::as_matrix() const {
  if (ndim() != 2)
    fail("view tensor as a matrix", "expected a 2-D tensor, got shape " + detail::shape_text(shape()));
  const std::span<const T> v = values<T>();
  return {v.data(), shape()[0], shape()[1]};
}

inline void tensor_view::to_float32(std::span<float> out) const {
  constexpr const char* what = "convert tensor to float32";
  const auto n = static_cast<std::size_t>(element_count());
  if (out.size() != n)
    fail(what, "the output holds " + std::to_string(out.size()) + " floats, the tensor " + std::to_string(n));
  const std::byte* p = data_;
  switch (dtype()) {
    case io::dtype::f32:
      if (n != 0) std::memcpy(out.data(), p, n * 4);
      return;
    case io::dtype::f16: {
      // Convert through an aligned buffer: the file's data may be unaligned.
      std::uint16_t buf[1024];
      for (std::size_t i = 0; i < n; i += 1024) {
        const std::size_t k = std::min<std::size_t>(1024, n - i);
        std::memcpy(buf, p + 2 * i, 2 * k);
        kplug::detail::half_to_float_row(buf, out.data() + i, k);
      }
      return;
    }
    case io::dtype::bf16:
      // bfloat16 is the top half of a binary32: widening is exact.
      for (std::size_t i = 0; i < n; ++i) {
        std::uint16_t h = 0;
        std::memcpy(&h, p + 2 * i, 2);
        out[i] = std::bit_cast<float>(static_cast<std::uint32_t>(h) << 16);
      }
      return;
    case io::dtype::f64:
      for (std::size_t i = 0; i < n; ++i) {
        double d = 0;
        std::memcpy(&d, p + 8 * i, 8);
        out[i] = static_cast<float>(d);
      }
      return;
    default:
      fail(what, "dtype " + std::string(safetensors_dtype_name(dtype())) + " is not a floating-point type (F32, F16, BF16, F64)");
  }
}

inline std::vector<float> tensor_view::to_float32() const {
  std::vector<float> out(static_cast<std::size_t>(element_count()));
  to_float32(out);
  return out;
}

inline matrix<float> tensor_view::to_float32_matrix() const {
  if (ndim() != 2)
    fail("convert tensor to a float32 matrix", "expected a 2-D tensor, got shape " + detail::shape_text(shape()));
  matrix<float> m(shape()[0], shape()[1]);
  to_float32(std::span<float>(m.data(), static_cast<std::size_t>(element_count())));
  return m;
}

// ---------------------------------------------------------------- safetensors_file

inline safetensors_file::safetensors_file(std::string path) {
  mapped_file file(std::move(path));
  safetensors_header header = parse_safetensors_header(file.bytes(), file.path());
  state_ = std::make_unique<const file_state>(file_state{std::move(file), std::move(header)});
}

inline std::vector<std::string_view> safetensors_file::names() const {
  std::vector<std::string_view> out;
  out.reserve(size());
  for (const auto& t : tensors()) out.emplace_back(t.name);
  return out;
}

inline const tensor_info* safetensors_file::find_info(std::string_view name) const noexcept {
  const auto ts = tensors();
  const auto it = std::lower_bound(ts.begin(), ts.end(), name,
                                   [](const tensor_info& t, std::string_view n) { return t.name < n; });
  return it != ts.end() && it->name == name ? &*it : nullptr;
}

inline tensor_view safetensors_file::view_of(const tensor_info& info) const noexcept {
  const std::byte* base = state().file.data();
  // An empty tensor at the end of an empty data buffer may point one past the map.
  const std::byte* p = base == nullptr ? nullptr : base + header().data_offset + info.begin;
  return tensor_view(info, p, path());
}

inline std::optional<tensor_view> safetensors_file::find(std::string_view name) const noexcept {
  const tensor_info* info = find_info(name);
  if (info == nullptr) return std::nullopt;
  return view_of(*info);
}

inline tensor_view safetensors_file::tensor(std::string_view name) const {
  if (const tensor_info* info = find_info(name)) return view_of(*info);
  std::string have;
  std::size_t shown = 0;
  for (const auto& t : tensors()) {
    if (shown == 8) {
      have += ", ...";
      break;
    }
    have += (shown++ ? ", '" : "'") + t.name + "'";
  }
  throw error("look up tensor", detail::at_tensor(path(), name),
              "the file has no such tensor (it holds " + std::to_string(size()) + ": " +
                  (have.empty() ? std::string("none") : have) + ")");
}

// ---------------------------------------------------------------- writer

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

inline std::string safetensors_header_bytes(std::span<const named_tensor> tensors,
                                            const safetensors_metadata& metadata) {
  return detail::header_bytes_for(tensors, metadata, detail::layout_tensors(tensors, metadata));
}

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
