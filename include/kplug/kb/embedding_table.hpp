// A rows x dim table of entity embeddings, float32 or float16.
//
// Backed either by a memory-mapped .npy array (zero copy: rows are paged in
// when gathered) or by an owned float32 matrix (text formats such as
// word2vec). gather() is the one hot path: it copies the requested rows into
// a contiguous float32 buffer, converting float16, writing zeros for
// kplug::no_row. All requested rows are validated before anything is
// written, so a bad request leaves the caller's buffer untouched.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <utility>

#include "kplug/core/error.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/core/types.hpp"
#include "kplug/detail/half.hpp"
#include "kplug/io/npy.hpp"

#if defined(__GNUC__) || defined(__clang__)
#define KPLUG_DETAIL_PREFETCH(p) __builtin_prefetch((p), 0, 0)
#else
#define KPLUG_DETAIL_PREFETCH(p) ((void)(p))
#endif

namespace kplug::kb {

class embedding_table {
 public:
  embedding_table() = default;
  // A 2-D float32 or float16 .npy array; other dtypes or shapes throw.
  explicit embedding_table(io::npy_array array);
  // An owned float32 table; `source` names it in messages.
  explicit embedding_table(matrix<float> values, std::string source = "<memory>");

  index_t rows() const noexcept { return rows_; }
  index_t dim() const noexcept { return dim_; }
  io::dtype dtype() const noexcept { return dtype_; }
  bool is_memory_mapped() const noexcept { return mapped_; }
  const std::string& source() const noexcept { return source_; }

  // out.row(i) = row rows[i] as float32 (zeros for no_row). `out` must be
  // rows.size() x dim(); any row outside [0, rows()) other than no_row throws
  // naming the row and its position in the request.
  void gather(std::span<const row_index> rows, matrix_view<float> out) const;

  // The whole float32 table without a copy; throws for a float16 table.
  matrix_view<const float> float32_view() const;
  // The raw bytes of row `r` (dim() * item size bytes, in dtype()); r must be valid.
  std::span<const std::byte> row_bytes(row_index r) const;

 private:
  const std::byte* base() const noexcept {
    return mapped_ ? array_.data() : reinterpret_cast<const std::byte*>(owned_.data());
  }

  io::npy_array array_;
  matrix<float> owned_;
  bool mapped_ = false;
  io::dtype dtype_ = io::dtype::f32;
  index_t rows_ = 0;
  index_t dim_ = 0;
  std::string source_;
};

// Opens a 2-D float32/float16 .npy file as a table (memory map, no read).
embedding_table open_embedding_table(const std::string& npy_path);

// ---------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------

inline embedding_table::embedding_table(io::npy_array array) : array_(std::move(array)), mapped_(true) {
  source_ = array_.path();
  const io::dtype t = array_.dtype();
  if (t != io::dtype::f32 && t != io::dtype::f16)
    throw error("open embedding table", at_file(source_),
                "dtype " + std::string(io::dtype_name(t)) + " is not supported (float32 or float16 only)");
  if (array_.ndim() != 2)
    throw error("open embedding table", at_file(source_),
                "expected a 2-D rows x dim array, got " + std::to_string(array_.ndim()) + " dimensions");
  dtype_ = t;
  rows_ = array_.shape()[0];
  dim_ = array_.shape()[1];
}

inline embedding_table::embedding_table(matrix<float> values, std::string source)
    : owned_(std::move(values)),
      mapped_(false),
      dtype_(io::dtype::f32),
      rows_(owned_.rows()),
      dim_(owned_.cols()),
      source_(std::move(source)) {}

inline void embedding_table::gather(std::span<const row_index> rows, matrix_view<float> out) const {
  constexpr const char* what = "gather embedding rows";
  require_shape(out, static_cast<index_t>(rows.size()), dim_, what, "out");
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const row_index r = rows[i];
    if (r != no_row && (r < 0 || r >= rows_))
      throw error(what, source_ + ", rows[" + std::to_string(i) + "]",
                  "row " + std::to_string(r) + " is outside [0, " + std::to_string(rows_) + ")");
  }
  if (dim_ == 0) return;
  const auto d = static_cast<std::size_t>(dim_);
  const std::size_t row_bytes = d * io::dtype_size(dtype_);
  const std::byte* b = base();
  // Random rows of a large table miss every cache: request the rows a few
  // positions ahead so that several DRAM fetches are in flight at once.
  constexpr std::size_t ahead = 8;
  const auto prefetch = [&](std::size_t i) {
    if (i >= rows.size() || rows[i] == no_row) return;
    const std::byte* p = b + static_cast<std::size_t>(rows[i]) * row_bytes;
    for (std::size_t off = 0; off < row_bytes; off += 64) KPLUG_DETAIL_PREFETCH(p + off);
  };
  for (std::size_t i = 0; i < ahead; ++i) prefetch(i);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    prefetch(i + ahead);
    float* dst = out.row(static_cast<index_t>(i)).data();
    if (rows[i] == no_row) {
      std::fill_n(dst, d, 0.0f);
      continue;
    }
    const std::byte* src = b + static_cast<std::size_t>(rows[i]) * row_bytes;
    if (dtype_ == io::dtype::f32)
      std::memcpy(dst, src, row_bytes);
    else
      kplug::detail::half_to_float_row(reinterpret_cast<const std::uint16_t*>(src), dst, d);
  }
}

inline matrix_view<const float> embedding_table::float32_view() const {
  if (dtype_ != io::dtype::f32)
    throw error("view embedding table as float32", at_file(source_),
                "the table holds " + std::string(io::dtype_name(dtype_)) + "; use gather()");
  return {reinterpret_cast<const float*>(base()), rows_, dim_};
}

inline std::span<const std::byte> embedding_table::row_bytes(row_index r) const {
  if (r < 0 || r >= rows_)
    throw error("read embedding row", source_,
                "row " + std::to_string(r) + " is outside [0, " + std::to_string(rows_) + ")");
  const std::size_t n = static_cast<std::size_t>(dim_) * io::dtype_size(dtype_);
  return {base() + static_cast<std::size_t>(r) * n, n};
}

inline embedding_table open_embedding_table(const std::string& npy_path) {
  return embedding_table(io::open_npy(npy_path));
}

}  // namespace kplug::kb
