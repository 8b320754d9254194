// Argument checks shared by the mappers: shapes, storage, overlap. They run
// before anything is written, so a rejected call leaves every buffer as it was.
#pragma once

#include <cstdint>
#include <utility>
#include <string>

#include "kplug/core/error.hpp"
#include "kplug/core/matrix_view.hpp"

namespace kplug::map::detail {

inline std::string shape_string(index_t rows, index_t cols) {
  return std::to_string(rows) + " x " + std::to_string(cols);
}

// A view that claims elements must have storage and a usable stride.
template <class T>
void require_storage(const matrix_view<T>& v, const char* what, const char* name) {
  if (v.rows() < 0 || v.cols() < 0)
    throw error(what, name, "negative extent " + shape_string(v.rows(), v.cols()));
  if (v.empty()) return;
  if (v.data() == nullptr) throw error(what, name, "a " + shape_string(v.rows(), v.cols()) + " view has no storage");
  if (v.row_stride() < v.cols())
    throw error(what, name,
                "row stride " + std::to_string(v.row_stride()) + " is smaller than the row width " +
                    std::to_string(v.cols()));
}

// An input batch: any number of rows (0 included), exactly `cols` wide.
template <class T>
void require_cols(const matrix_view<T>& v, index_t cols, const char* what, const char* name) {
  require_storage(v, what, name);
  if (v.cols() != cols)
    throw error(what, name,
                "rows are " + std::to_string(v.cols()) + " wide, expected " + std::to_string(cols) + " (" +
                    shape_string(v.rows(), v.cols()) + " given)");
}

template <class T>
void require_exact(const matrix_view<T>& v, index_t rows, index_t cols, const char* what, const char* name) {
  require_storage(v, what, name);
  require_shape(v, rows, cols, what, name);
}

// An optional output (backward's grad_x): a default-constructed view (0 x 0)
// means "not wanted"; anything else must have the exact shape.
template <class T>
bool wanted(const matrix_view<T>& v) noexcept {
  return !(v.rows() == 0 && v.cols() == 0);
}

// The address range [first, last) spanned by a view's elements.
template <class T>
std::pair<std::uintptr_t, std::uintptr_t> byte_range(const matrix_view<T>& v) noexcept {
  if (v.empty()) return {0, 0};
  const auto first = reinterpret_cast<std::uintptr_t>(v.data());
  const auto last = reinterpret_cast<std::uintptr_t>(v.data() + (v.rows() - 1) * v.row_stride() + v.cols());
  return {first, last};
}

// An output written by a GEMM must not share memory with an operand: Eigen's
// noalias products would silently produce garbage.
template <class A, class B>
void require_disjoint(const matrix_view<A>& out, const matrix_view<B>& in, const char* what, const char* out_name,
                      const char* in_name) {
  const auto [a0, a1] = byte_range(out);
  const auto [b0, b1] = byte_range(in);
  if (a0 == a1 || b0 == b1) return;
  if (a0 < b1 && b0 < a1)
    throw error(what, out_name, std::string("shares memory with ") + in_name + "; pass a separate buffer");
}

// The arguments of a GEMM-based backward (affine, MLP): x is n x d_in,
// grad_y n x d_out, and grad_x, when wanted, n x d_in and sharing memory with
// neither operand.
inline void require_backward_args(matrix_view<const float> x, matrix_view<const float> grad_y,
                                  matrix_view<float> grad_x, index_t d_in, index_t d_out, const char* what) {
  require_cols(x, d_in, what, "x");
  require_exact(grad_y, x.rows(), d_out, what, "grad_y");
  if (!wanted(grad_x)) return;
  require_exact(grad_x, x.rows(), d_in, what, "grad_x");
  require_disjoint(grad_x, x, what, "grad_x", "x");
  require_disjoint(grad_x, grad_y, what, "grad_x", "grad_y");
}

inline void require_positive_dim(index_t d, const char* what, const char* name) {
  if (d <= 0) throw error(what, name, "must be at least 1, got " + std::to_string(d));
}

}  // namespace kplug::map::detail
