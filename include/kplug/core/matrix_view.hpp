// The tensor vocabulary of the public API: a non-owning, row-major
// rows x cols view (tokens x hidden, entities x d_kb). Plain pointer + extents
// so that any engine (Eigen, libtorch, ONNX Runtime, a CUDA buffer) can hand
// its memory to kplug without a copy; `as_eigen` in core/eigen.hpp maps it.
// The second parameter says where the memory lives (core/memory_space.hpp):
// element access is offered only for host memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "kplug/core/error.hpp"
#include "kplug/core/memory_space.hpp"

namespace kplug {

using index_t = std::int64_t;

template <class T, memory_space Space = host_memory>
class matrix_view {
 public:
  using value_type = std::remove_const_t<T>;
  using element_type = T;
  using space = Space;

  constexpr matrix_view() noexcept = default;
  // `row_stride` is in elements; 0 means dense (== cols).
  constexpr matrix_view(T* data, index_t rows, index_t cols, index_t row_stride = 0) noexcept
      : data_(data), rows_(rows), cols_(cols), stride_(row_stride == 0 ? cols : row_stride) {}

  // A mutable view converts to a view of const.
  template <class U>
    requires(std::is_const_v<T> && std::is_same_v<std::remove_const_t<T>, U>)
  constexpr matrix_view(const matrix_view<U, Space>& other) noexcept  // NOLINT: implicit by design
      : data_(other.data()), rows_(other.rows()), cols_(other.cols()), stride_(other.row_stride()) {}

  constexpr T* data() const noexcept { return data_; }
  constexpr index_t rows() const noexcept { return rows_; }
  constexpr index_t cols() const noexcept { return cols_; }
  constexpr index_t row_stride() const noexcept { return stride_; }
  constexpr bool empty() const noexcept { return rows_ == 0 || cols_ == 0; }
  constexpr bool contiguous() const noexcept { return stride_ == cols_; }

  constexpr std::span<T> row(index_t r) const noexcept
    requires is_host_memory_v<Space>
  {
    return {data_ + r * stride_, static_cast<std::size_t>(cols_)};
  }
  constexpr T& operator()(index_t r, index_t c) const noexcept
    requires is_host_memory_v<Space>
  {
    return data_[r * stride_ + c];
  }

  // Rows [first, first + count) as a view of the same memory.
  constexpr matrix_view middle_rows(index_t first, index_t count) const noexcept {
    return matrix_view(data_ + first * stride_, count, cols_, stride_);
  }

 private:
  T* data_ = nullptr;
  index_t rows_ = 0;
  index_t cols_ = 0;
  index_t stride_ = 0;
};

namespace detail {
// Storage aligned to a cache line (and the widest SIMD register), so that the
// vectorised kernels split every row into the same aligned packets wherever
// the allocator put the buffer: results then do not change from one buffer,
// one object or one run to the next.
template <class T>
struct cache_aligned_allocator {
  using value_type = T;
  static constexpr std::align_val_t alignment{64};
  cache_aligned_allocator() noexcept = default;
  template <class U>
  cache_aligned_allocator(const cache_aligned_allocator<U>&) noexcept {}  // NOLINT: rebinding
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), alignment)); }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, alignment); }
  template <class U>
  friend bool operator==(const cache_aligned_allocator&, const cache_aligned_allocator<U>&) noexcept {
    return true;
  }
};
}  // namespace detail

// An owning row-major matrix for the places where kplug must allocate
// (gathered knowledge rows, mapped rows, activations), 64-byte aligned.
// Views are how it is handed around.
template <class T>
class matrix {
 public:
  matrix() = default;
  matrix(index_t rows, index_t cols, T fill = T{})
      : rows_(rows), cols_(cols), data_(static_cast<std::size_t>(rows * cols), fill) {}

  void resize(index_t rows, index_t cols) {
    rows_ = rows;
    cols_ = cols;
    data_.resize(static_cast<std::size_t>(rows * cols));
  }

  index_t rows() const noexcept { return rows_; }
  index_t cols() const noexcept { return cols_; }
  T* data() noexcept { return data_.data(); }
  const T* data() const noexcept { return data_.data(); }
  std::span<T> row(index_t r) noexcept { return view().row(r); }
  std::span<const T> row(index_t r) const noexcept { return view().row(r); }
  T& operator()(index_t r, index_t c) noexcept { return data_[static_cast<std::size_t>(r * cols_ + c)]; }
  const T& operator()(index_t r, index_t c) const noexcept {
    return data_[static_cast<std::size_t>(r * cols_ + c)];
  }

  matrix_view<T> view() noexcept { return {data_.data(), rows_, cols_}; }
  matrix_view<const T> view() const noexcept { return {data_.data(), rows_, cols_}; }
  operator matrix_view<T>() noexcept { return view(); }              // NOLINT
  operator matrix_view<const T>() const noexcept { return view(); }  // NOLINT

 private:
  index_t rows_ = 0;
  index_t cols_ = 0;
  std::vector<T, detail::cache_aligned_allocator<T>> data_;
};

// Checks a view's shape before anything is read or written through it.
template <class T, class Space>
void require_shape(const matrix_view<T, Space>& v, index_t rows, index_t cols, const char* what,
                   const char* name) {
  if (v.rows() != rows || v.cols() != cols)
    throw error(what, name,
                "expected a " + std::to_string(rows) + " x " + std::to_string(cols) +
                    " matrix, got " + std::to_string(v.rows()) + " x " + std::to_string(v.cols()));
}

}  // namespace kplug
