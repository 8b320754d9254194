// NumPy .npy files: a strict header parser, a memory-mapped read-only array
// and a writer.
//
// Reading never copies or touches the data: open_npy() maps the file and
// parses only the header (a few hundred bytes), so a table larger than RAM
// opens in one mmap call and pages come in when rows are read. Every number
// taken from the file is checked (header length against the file, shape
// product against overflow and against the bytes actually present), so a
// truncated or lying file is an error naming the file and byte offset, never
// an out-of-bounds read.
//
// Format (numpy/lib/format.py): "\x93NUMPY", major, minor (1.0, 2.0 or 3.0),
// header length (u16 LE for 1.0, u32 LE for 2.0/3.0), then a Python dict
// literal {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
// padded with spaces and '\n', then the data in C order.
#pragma once

#include <bit>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "kplug/core/error.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/detail/half.hpp"
#include "kplug/io/atomic_file.hpp"
#include "kplug/io/dtype.hpp"
#include "kplug/io/mapped_file.hpp"

namespace kplug::io {

static_assert(std::endian::native == std::endian::little,
              "kplug's .npy reader maps little-endian data directly and needs a little-endian host");

// .npy files hold the io::dtype elements with a numpy descr (npy_descr(t) not
// empty), always little-endian on disk.
template <class T>
concept npy_element = dtype_element<T> && !npy_descr(dtype_of<std::remove_const_t<T>>::value).empty();

// What the header says, validated against the file it came from.
struct npy_header {
  int major_version = 1;
  int minor_version = 0;
  io::dtype dtype = io::dtype::f32;
  bool fortran_order = false;
  std::vector<index_t> shape;       // empty for a 0-d (scalar) array
  std::uint64_t data_offset = 0;    // byte of the file where the data starts
  std::uint64_t element_count = 0;  // product of shape (1 for 0-d)
  std::uint64_t data_bytes = 0;     // element_count * item size == file size - data_offset
};

// Parses and validates the header of a complete .npy file held in `file`
// (all of it, so the data size can be checked); `path` is used in messages.
// Reads only the preamble and header bytes.
npy_header parse_npy_header(std::span<const std::byte> file, std::string_view path);

// A read-only memory-mapped .npy array. Move-only; views into it live as
// long as it does.
class npy_array {
 public:
  npy_array() = default;
  explicit npy_array(std::string path);

  const std::string& path() const noexcept { return file_.path(); }
  const npy_header& header() const noexcept { return header_; }
  io::dtype dtype() const noexcept { return header_.dtype; }
  std::span<const index_t> shape() const noexcept { return header_.shape; }
  std::size_t ndim() const noexcept { return header_.shape.size(); }
  std::uint64_t size() const noexcept { return header_.element_count; }

  // The raw little-endian data bytes (never touched by opening).
  const std::byte* data() const noexcept;
  std::span<const std::byte> bytes() const noexcept { return {data(), header_.data_bytes}; }

  // All elements as T (any ndim); throws unless dtype() is T's dtype.
  template <npy_element T>
  std::span<const T> values() const;
  // The array as a rows x cols matrix; throws unless it is 2-D of T's dtype.
  template <npy_element T = float>
  matrix_view<const T> as_matrix() const;

 private:
  void require_dtype(io::dtype wanted, const char* what) const;

  mapped_file file_;
  npy_header header_;
};

npy_array open_npy(std::string path);

// Writes a C-order .npy file (version 1.0, or 2.0 when the header needs it),
// header padded to 64 bytes as numpy does. `data` must hold exactly
// product(shape) * item size bytes. The file is written through an
// atomic_file (io/atomic_file.hpp): a failed write never leaves a truncated
// table behind, and the previous file stays until the new one is complete.
void write_npy(const std::string& path, io::dtype dtype, const std::vector<index_t>& shape,
               std::span<const std::byte> data);
template <npy_element T>
void write_npy(const std::string& path, const std::vector<index_t>& shape, std::span<const T> values);
template <npy_element T, class Alloc>
void write_npy(const std::string& path, const std::vector<index_t>& shape, const std::vector<T, Alloc>& values);
// A 2-D matrix (any row stride) as a rows x cols array.
template <npy_element T>
void write_npy(const std::string& path, matrix_view<T> m);
template <npy_element T>
void write_npy(const std::string& path, const matrix<T>& m);
// A float32 matrix stored as float16 (round to nearest even).
void write_npy_float16(const std::string& path, matrix_view<const float> m);

// The preamble + header bytes write_npy puts before the data (for writers that
// stream the data themselves).
std::string npy_header_bytes(io::dtype dtype, const std::vector<index_t>& shape);

// ---------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------


namespace detail {

inline constexpr std::string_view npy_magic{"\x93NUMPY", 6};

inline std::string shape_string(std::span<const index_t> shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

// A recursive-descent parser for exactly the dict literal numpy writes:
//   { 'descr': <str>, 'fortran_order': True|False, 'shape': (<int>, ...), }
// with any key order, optional trailing comma, Python whitespace, and the
// Python-2 'L' suffix on integers. Anything else is an error at its byte.
class npy_header_parser {
 public:
  npy_header_parser(std::string_view text, std::uint64_t base, std::string_view path)
      : text_(text), base_(base), path_(path) {}

  void parse(npy_header& h) {
    bool have_descr = false, have_order = false, have_shape = false;
    std::string_view descr;
    std::size_t descr_pos = 0;
    skip_ws();
    expect('{', "the header must be a dict starting with '{'");
    for (;;) {
      skip_ws();
      if (peek() == '}') {
        ++pos_;
        break;
      }
      const std::size_t key_pos = pos_;
      const std::string_view key = parse_string("a quoted key");
      skip_ws();
      expect(':', "expected ':' after a key");
      skip_ws();
      if (key == "descr") {
        if (have_descr) fail(key_pos, "key 'descr' appears twice");
        if (peek() == '[') fail(pos_, "structured dtypes (a list descr) are not supported");
        descr_pos = pos_;
        descr = parse_string("a quoted dtype string");
        have_descr = true;
      } else if (key == "fortran_order") {
        if (have_order) fail(key_pos, "key 'fortran_order' appears twice");
        h.fortran_order = parse_bool();
        have_order = true;
      } else if (key == "shape") {
        if (have_shape) fail(key_pos, "key 'shape' appears twice");
        parse_shape(h.shape);
        have_shape = true;
      } else {
        fail(key_pos, "unexpected key '" + printable(key) + "' (a .npy header has 'descr', 'fortran_order', 'shape')");
      }
      skip_ws();
      if (peek() == ',') {
        ++pos_;
      } else if (peek() != '}') {
        fail(pos_, at_end() ? "the header ends inside the dict" : "expected ',' or '}' after a value");
      }
    }
    skip_ws();
    if (!at_end()) fail(pos_, "unexpected text after the header dict");
    if (!have_descr) fail(0, "the header has no 'descr'");
    if (!have_order) fail(0, "the header has no 'fortran_order'");
    if (!have_shape) fail(0, "the header has no 'shape'");
    h.dtype = parse_descr(descr, descr_pos);
  }

 private:
  [[noreturn]] void fail(std::size_t pos, const std::string& why) const {
    throw error("read .npy header", at_offset(path_, base_ + pos), why);
  }
  static std::string printable(std::string_view s) {
    std::string out;
    for (const char c : s.substr(0, 40)) {
      const auto u = static_cast<unsigned char>(c);
      if (u >= 0x20 && u < 0x7f) {
        out += c;
      } else {
        constexpr char hex[] = "0123456789abcdef";
        out += "\\x";
        out += hex[u >> 4];
        out += hex[u & 15];
      }
    }
    if (s.size() > 40) out += "...";
    return out;
  }
  bool at_end() const noexcept { return pos_ >= text_.size(); }
  char peek() const noexcept { return at_end() ? '\0' : text_[pos_]; }
  void skip_ws() noexcept {
    while (!at_end() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r'))
      ++pos_;
  }
  void expect(char c, const char* why) {
    if (peek() != c || at_end()) fail(pos_, at_end() ? std::string("the header ends early: ") + why : why);
    ++pos_;
  }
  std::string_view parse_string(const char* what) {
    const char quote = peek();
    if (at_end()) fail(pos_, std::string("the header ends inside the dict, expected ") + what);
    if (quote != '\'' && quote != '"') fail(pos_, std::string("expected ") + what);
    const std::size_t start = ++pos_;
    while (!at_end() && text_[pos_] != quote) {
      if (text_[pos_] == '\\') fail(pos_, "escape sequences are not valid in a .npy header string");
      if (text_[pos_] == '\n') fail(pos_, "newline inside a string");
      ++pos_;
    }
    if (at_end()) fail(start - 1, "unterminated string");
    return text_.substr(start, pos_++ - start);
  }
  std::string_view parse_word() {
    const std::size_t start = pos_;
    while (!at_end() && (std::isalnum(static_cast<unsigned char>(text_[pos_])) != 0 || text_[pos_] == '_')) ++pos_;
    return text_.substr(start, pos_ - start);
  }
  bool parse_bool() {
    const std::size_t start = pos_;
    const std::string_view w = parse_word();
    if (w == "True") return true;
    if (w == "False") return false;
    fail(start, "'fortran_order' must be True or False");
  }
  index_t parse_dim() {
    const std::size_t start = pos_;
    std::uint64_t v = 0;
    if (at_end() || text_[pos_] < '0' || text_[pos_] > '9') fail(pos_, "expected a non-negative integer in 'shape'");
    while (!at_end() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      const auto digit = static_cast<std::uint64_t>(text_[pos_] - '0');
      if (v > (static_cast<std::uint64_t>(std::numeric_limits<index_t>::max()) - digit) / 10)
        fail(start, "a dimension in 'shape' does not fit in 63 bits");
      v = v * 10 + digit;
      ++pos_;
    }
    if (peek() == 'L' || peek() == 'l') ++pos_;  // written by Python 2 numpy
    return static_cast<index_t>(v);
  }
  void parse_shape(std::vector<index_t>& shape) {
    shape.clear();
    const std::size_t open = pos_;
    expect('(', "'shape' must be a tuple such as (3, 4)");
    bool trailing_comma = false;
    for (;;) {
      skip_ws();
      if (peek() == ')') {
        ++pos_;
        break;
      }
      if (!shape.empty() && !trailing_comma) fail(pos_, "expected ',' or ')' in 'shape'");
      if (shape.size() >= 64) fail(pos_, "'shape' has more than 64 dimensions");
      shape.push_back(parse_dim());
      skip_ws();
      trailing_comma = peek() == ',';
      if (trailing_comma) ++pos_;
    }
    if (shape.size() == 1 && !trailing_comma)
      fail(open, "a one-element 'shape' needs a trailing comma, as in (3,); (3) is not a tuple");
  }
  io::dtype parse_descr(std::string_view d, std::size_t pos) const {
    const std::string shown = "'" + printable(d) + "'";
    if (d.size() != 3) fail(pos, "unsupported dtype " + shown + supported());
    const char order = d[0];
    const std::string_view code = d.substr(1);
    const auto known = std::find_if(std::begin(all_dtypes), std::end(all_dtypes), [&](dtype k) {
      return !npy_descr(k).empty() && npy_descr(k).substr(1) == code;
    });
    if (known == std::end(all_dtypes)) fail(pos, "unsupported dtype " + shown + supported());
    const dtype t = *known;
    const bool single_byte = dtype_size(t) == 1;
    if (order == '>' && !single_byte)
      fail(pos, "big-endian dtype " + shown + " is not supported; save it as little-endian (arr.astype('<" +
                    std::string(code) + "'))");
    if (order != '<' && order != '|' && order != '=' && !(single_byte && order == '>'))
      fail(pos, "unsupported dtype " + shown + " (bad byte-order character)");
    if (order == '|' && !single_byte) fail(pos, "dtype " + shown + " needs a byte order ('<'), not '|'");
    return t;
  }
  static std::string supported() {
    return " (kplug reads float16/32/64, int8/16/32/64, uint8/16/32/64, little-endian)";
  }

  std::string_view text_;
  std::uint64_t base_;
  std::string_view path_;
  std::size_t pos_ = 0;
};

inline std::uint64_t read_le(const std::byte* p, std::size_t n) noexcept {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
  return v;
}

}  // namespace detail

inline npy_header parse_npy_header(std::span<const std::byte> file, std::string_view path) {
  constexpr const char* what = "read .npy header";
  const std::uint64_t size = file.size();
  if (size < detail::npy_magic.size() ||
      std::memcmp(file.data(), detail::npy_magic.data(), detail::npy_magic.size()) != 0)
    throw error(what, at_offset(path, 0), "not a .npy file (bad magic; expected \\x93NUMPY)");
  if (size < 8) throw error(what, at_offset(path, size), "truncated header: the file ends inside the version");
  npy_header h;
  h.major_version = static_cast<int>(file[6]);
  h.minor_version = static_cast<int>(file[7]);
  if (h.minor_version != 0 || h.major_version < 1 || h.major_version > 3)
    throw error(what, at_offset(path, 6),
                "unsupported .npy version " + std::to_string(h.major_version) + "." +
                    std::to_string(h.minor_version) + " (kplug reads 1.0, 2.0 and 3.0)");
  const std::size_t len_bytes = h.major_version == 1 ? 2 : 4;
  const std::uint64_t preamble = 8 + len_bytes;
  if (size < preamble)
    throw error(what, at_offset(path, size), "truncated header: the file ends inside the header length");
  const std::uint64_t header_len = detail::read_le(file.data() + 8, len_bytes);
  if (header_len > size - preamble)
    throw error(what, at_offset(path, 8),
                "header length " + std::to_string(header_len) + " reaches beyond the end of the " +
                    std::to_string(size) + "-byte file");
  const std::string_view text(reinterpret_cast<const char*>(file.data() + preamble), header_len);
  detail::npy_header_parser(text, preamble, path).parse(h);
  h.data_offset = preamble + header_len;

  const std::size_t item = dtype_size(h.dtype);
  if (h.fortran_order && h.shape.size() > 1)
    throw error(what, at_offset(path, preamble),
                "fortran_order True (column-major) arrays are not supported; save with "
                "np.ascontiguousarray(arr)");
  std::uint64_t count = 1;
  bool has_zero = false;
  for (const index_t d : h.shape) has_zero = has_zero || d == 0;
  if (has_zero) {
    count = 0;
  } else {
    // Checked product: the shape must describe at most 2^64 - 1 bytes.
    std::uint64_t bytes = item;
    for (const index_t d : h.shape) {
      const auto ud = static_cast<std::uint64_t>(d);
      if (bytes > std::numeric_limits<std::uint64_t>::max() / ud)
        throw error(what, at_offset(path, preamble),
                    "shape " + detail::shape_string(h.shape) + " overflows: its size in bytes exceeds 64 bits");
      bytes *= ud;
      count *= ud;
    }
  }
  h.element_count = count;
  h.data_bytes = count * item;
  const std::uint64_t available = size - h.data_offset;
  if (h.data_bytes > available)
    throw error(what, at_offset(path, h.data_offset),
                "shape " + detail::shape_string(h.shape) + " of " + std::string(dtype_name(h.dtype)) +
                    " needs " + std::to_string(h.data_bytes) + " bytes of data but the file holds only " +
                    std::to_string(available) + " after the header (truncated file or lying header)");
  if (h.data_bytes < available)
    throw error(what, at_offset(path, h.data_offset + h.data_bytes),
                "the file holds " + std::to_string(available) + " bytes of data but shape " +
                    detail::shape_string(h.shape) + " of " + std::string(dtype_name(h.dtype)) +
                    " needs only " + std::to_string(h.data_bytes) + " (trailing bytes; wrong shape?)");
  if (h.data_offset % item != 0)
    throw error(what, at_offset(path, h.data_offset),
                "the data starts at byte " + std::to_string(h.data_offset) + ", not a multiple of the " +
                    std::to_string(item) + "-byte element size (numpy always aligns it)");
  return h;
}

inline npy_array::npy_array(std::string path) : file_(std::move(path)) {
  header_ = parse_npy_header(file_.bytes(), file_.path());
}

inline const std::byte* npy_array::data() const noexcept {
  // An empty array may sit at the very end of the map (or in an empty map).
  return file_.data() == nullptr ? nullptr : file_.data() + header_.data_offset;
}

inline void npy_array::require_dtype(io::dtype wanted, const char* what) const {
  if (header_.dtype != wanted)
    throw error(what, at_file(path()),
                "the array holds " + std::string(dtype_name(header_.dtype)) + ", not " +
                    std::string(dtype_name(wanted)));
}

template <npy_element T>
std::span<const T> npy_array::values() const {
  require_dtype(dtype_of<std::remove_const_t<T>>::value, "view .npy array values");
  // Alignment is guaranteed: the map is page-aligned and the data offset a
  // multiple of the item size (checked when parsing).
  return {reinterpret_cast<const T*>(data()), static_cast<std::size_t>(header_.element_count)};
}

template <npy_element T>
matrix_view<const T> npy_array::as_matrix() const {
  require_dtype(dtype_of<std::remove_const_t<T>>::value, "view .npy array as a matrix");
  if (header_.shape.size() != 2)
    throw error("view .npy array as a matrix", at_file(path()),
                "expected a 2-D array, got shape " + detail::shape_string(header_.shape));
  return {reinterpret_cast<const T*>(data()), header_.shape[0], header_.shape[1]};
}

inline npy_array open_npy(std::string path) { return npy_array(std::move(path)); }

inline std::string npy_header_bytes(io::dtype dtype, const std::vector<index_t>& shape) {
  if (npy_descr(dtype).empty())
    throw error("write .npy file", "dtype",
                std::string(dtype_name(dtype)) + " has no .npy spelling kplug reads back" +
                    " (float16/32/64, int8/16/32/64, uint8/16/32/64)");
  if (shape.size() > 64)
    throw error("write .npy file", "shape", "more than 64 dimensions (" + std::to_string(shape.size()) + ")");
  for (std::size_t i = 0; i < shape.size(); ++i)
    if (shape[i] < 0)
      throw error("write .npy file", "shape[" + std::to_string(i) + "]",
                  "dimension " + std::to_string(shape[i]) + " is negative");
  std::string dict = "{'descr': '" + std::string(npy_descr(dtype)) +
                     "', 'fortran_order': False, 'shape': " + detail::shape_string(shape) + ", }";
  // Pad with spaces so that preamble + header (ending in '\n') is a multiple of 64.
  const auto padded = [&](std::size_t preamble) {
    const std::size_t unpadded = preamble + dict.size() + 1;
    return dict + std::string((64 - unpadded % 64) % 64, ' ') + "\n";
  };
  // Version 1.0 holds a header of up to 65535 bytes; a longer one (a shape of
  // thousands of dims) needs 2.0's 32-bit length.
  const bool v1 = padded(10).size() <= 0xffff;
  const std::string header = padded(v1 ? 10 : 12);
  std::string out(detail::npy_magic);
  out += static_cast<char>(v1 ? 1 : 2);
  out += '\0';
  for (std::size_t i = 0; i < (v1 ? 2u : 4u); ++i) out += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return out + header;
}

namespace detail {

// Writes header + what `produce(put)` appends to `path` through an atomic_file.
template <class Produce>
void write_npy_file(const std::string& path, const std::string& header, Produce&& produce) {
  write_file_atomically(path, "write .npy file", [&](auto& put) {
    put(header.data(), header.size());
    produce(put);
  });
}

inline std::uint64_t checked_element_count(const std::vector<index_t>& shape, std::size_t item) {
  std::uint64_t count = 1;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] < 0)
      throw error("write .npy file", "shape[" + std::to_string(i) + "]",
                  "dimension " + std::to_string(shape[i]) + " is negative");
    const auto d = static_cast<std::uint64_t>(shape[i]);
    if (d != 0 && count > std::numeric_limits<std::uint64_t>::max() / item / d)
      throw error("write .npy file", "shape", "shape " + shape_string(shape) + " overflows 64 bits");
    count *= d;
  }
  return count;
}

}  // namespace detail

inline void write_npy(const std::string& path, io::dtype dtype, const std::vector<index_t>& shape,
                      std::span<const std::byte> data) {
  const std::uint64_t count = detail::checked_element_count(shape, dtype_size(dtype));
  if (count * dtype_size(dtype) != data.size())
    throw error("write .npy file", at_file(path),
                "shape " + detail::shape_string(shape) + " of " + std::string(dtype_name(dtype)) + " needs " +
                    std::to_string(count * dtype_size(dtype)) + " bytes, got " + std::to_string(data.size()));
  detail::write_npy_file(path, npy_header_bytes(dtype, shape), [&](auto& put) { put(data.data(), data.size()); });
}

template <npy_element T>
void write_npy(const std::string& path, const std::vector<index_t>& shape, std::span<const T> values) {
  write_npy(path, dtype_of<std::remove_const_t<T>>::value, shape, std::as_bytes(values));
}

template <npy_element T, class Alloc>
void write_npy(const std::string& path, const std::vector<index_t>& shape, const std::vector<T, Alloc>& values) {
  write_npy(path, shape, std::span<const T>(values));
}

template <npy_element T>
void write_npy(const std::string& path, matrix_view<T> m) {
  using value = std::remove_const_t<T>;
  if (m.rows() < 0 || m.cols() < 0) throw error("write .npy file", at_file(path), "negative matrix extent");
  const std::vector<index_t> shape{m.rows(), m.cols()};
  detail::checked_element_count(shape, sizeof(value));
  detail::write_npy_file(path, npy_header_bytes(dtype_of<value>::value, shape), [&](auto& put) {
    for (index_t r = 0; r < m.rows(); ++r) put(m.row(r).data(), static_cast<std::size_t>(m.cols()) * sizeof(value));
  });
}

template <npy_element T>
void write_npy(const std::string& path, const matrix<T>& m) {
  write_npy(path, m.view());
}

inline void write_npy_float16(const std::string& path, matrix_view<const float> m) {
  if (m.rows() < 0 || m.cols() < 0) throw error("write .npy file", at_file(path), "negative matrix extent");
  const std::vector<index_t> shape{m.rows(), m.cols()};
  detail::checked_element_count(shape, 2);
  std::vector<std::uint16_t> row(static_cast<std::size_t>(m.cols()));
  detail::write_npy_file(path, npy_header_bytes(io::dtype::f16, shape), [&](auto& put) {
    for (index_t r = 0; r < m.rows(); ++r) {
      // Scalar conversion keeps signalling-NaN payloads exactly as given.
      kplug::detail::float_to_half_row_portable(m.row(r).data(), row.data(), row.size());
      put(row.data(), row.size() * sizeof(std::uint16_t));
    }
  });
}

}  // namespace kplug::io
