// Eigen interop for matrix_view: linear algebra on kplug views without copies.
#pragma once

#include <Eigen/Core>
#include <type_traits>

#include "kplug/core/matrix_view.hpp"

namespace kplug {

template <class T>
using eigen_row_major = Eigen::Matrix<std::remove_const_t<T>, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// A view as an Eigen::Map (const-correct, honouring the row stride).
template <class T>
auto as_eigen(const matrix_view<T>& v) {
  using base = std::conditional_t<std::is_const_v<T>, const eigen_row_major<T>, eigen_row_major<T>>;
  return Eigen::Map<base, Eigen::Unaligned, Eigen::OuterStride<>>(v.data(), v.rows(), v.cols(),
                                                                  Eigen::OuterStride<>(v.row_stride()));
}

}  // namespace kplug
