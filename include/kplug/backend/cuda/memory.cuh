// Device memory for the CUDA backend, owned by RAII objects: buffers, a
// resizable float matrix viewed in the device memory space, a stream and a
// cuBLAS handle bound to it. Allocation failures say how much was asked for
// and how much the device had free.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <string>
#include <utility>

#include "kplug/backend/cuda/error.cuh"
#include "kplug/core/error.hpp"
#include "kplug/core/matrix_view.hpp"

namespace kplug::cuda {

// The memory space of the CUDA backend's views (core/memory_space.hpp).
struct device_memory {};

template <class T>
using device_view = matrix_view<T, device_memory>;

// The number of CUDA devices; 0 (never an error) when there is no driver or device.
inline int device_count() noexcept {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    (void)cudaGetLastError();  // clear the sticky "no device" status
    return 0;
  }
  return n;
}

// Throws a kplug::error saying why no CUDA device can be used.
inline void require_device(const char* what) {
  int n = 0;
  const cudaError_t status = cudaGetDeviceCount(&n);
  if (status != cudaSuccess) {
    (void)cudaGetLastError();
    throw error(what, "CUDA device", std::string("none usable: ") + cudaGetErrorString(status));
  }
  if (n == 0) throw error(what, "CUDA device", "no CUDA device is present");
}

namespace detail {
inline void* allocate_bytes(std::size_t bytes) {
  if (bytes == 0) return nullptr;
  void* p = nullptr;
  const cudaError_t status = cudaMalloc(&p, bytes);
  if (status == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();
    std::size_t free = 0, total = 0;
    (void)cudaMemGetInfo(&free, &total);
    throw error("allocate device memory", "cudaMalloc",
                "out of device memory: asked for " + std::to_string(bytes) + " bytes, " + std::to_string(free) +
                    " of " + std::to_string(total) + " free");
  }
  if (status != cudaSuccess) throw_cuda(status, "cudaMalloc", __FILE__, __LINE__);
  return p;
}
}  // namespace detail

// `count` elements of T in device memory; move-only. resize() keeps the
// allocation when it is large enough (contents are not preserved).
template <class T>
class device_buffer {
 public:
  device_buffer() = default;
  explicit device_buffer(std::size_t count) { resize(count); }
  device_buffer(device_buffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)), capacity_(std::exchange(o.capacity_, 0)) {}
  device_buffer& operator=(device_buffer&& o) noexcept {
    if (this != &o) {
      release();
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
      capacity_ = std::exchange(o.capacity_, 0);
    }
    return *this;
  }
  device_buffer(const device_buffer&) = delete;
  device_buffer& operator=(const device_buffer&) = delete;
  ~device_buffer() { release(); }

  void resize(std::size_t count) {
    if (count > capacity_) {
      release();
      data_ = static_cast<T*>(detail::allocate_bytes(count * sizeof(T)));
      capacity_ = count;
    }
    size_ = count;
  }

  T* data() noexcept { return data_; }
  const T* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }

 private:
  void release() noexcept {
    if (data_) (void)cudaFree(data_);
    data_ = nullptr;
    size_ = capacity_ = 0;
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

// A row-major float matrix in device memory (kplug::device_matrix).
class device_matrix {
 public:
  device_matrix() = default;
  device_matrix(index_t rows, index_t cols) { resize(rows, cols); }

  void resize(index_t rows, index_t cols) {
    if (rows < 0 || cols < 0) throw error("resize a device matrix", "shape", "negative extent");
    buffer_.resize(static_cast<std::size_t>(rows * cols));
    rows_ = rows;
    cols_ = cols;
  }
  index_t rows() const noexcept { return rows_; }
  index_t cols() const noexcept { return cols_; }
  float* data() noexcept { return buffer_.data(); }
  const float* data() const noexcept { return buffer_.data(); }
  device_view<float> view() noexcept { return {buffer_.data(), rows_, cols_}; }
  device_view<const float> view() const noexcept { return {buffer_.data(), rows_, cols_}; }

 private:
  device_buffer<float> buffer_;
  index_t rows_ = 0;
  index_t cols_ = 0;
};

// A non-blocking stream, owned.
class stream {
 public:
  stream() { KPLUG_CUDA_CHECK(cudaStreamCreateWithFlags(&s_, cudaStreamNonBlocking)); }
  stream(const stream&) = delete;
  stream& operator=(const stream&) = delete;
  ~stream() {
    if (s_) (void)cudaStreamDestroy(s_);
  }
  cudaStream_t get() const noexcept { return s_; }
  void synchronize() const { KPLUG_CUDA_CHECK(cudaStreamSynchronize(s_)); }

 private:
  cudaStream_t s_ = nullptr;
};

// A cuBLAS handle working on one stream, owned. fp32 GEMMs stay fp32
// (no TF32): the backend's float32 results must match the CPU's.
class blas_handle {
 public:
  explicit blas_handle(cudaStream_t s) {
    KPLUG_CUDA_CHECK(cublasCreate(&h_));
    KPLUG_CUDA_CHECK(cublasSetStream(h_, s));
    KPLUG_CUDA_CHECK(cublasSetMathMode(h_, CUBLAS_PEDANTIC_MATH));
  }
  blas_handle(const blas_handle&) = delete;
  blas_handle& operator=(const blas_handle&) = delete;
  ~blas_handle() {
    if (h_) (void)cublasDestroy(h_);
  }
  cublasHandle_t get() const noexcept { return h_; }

 private:
  cublasHandle_t h_ = nullptr;
};

namespace detail {
// rows x cols floats between row-strided matrices, on the stream.
inline void copy_rows(float* dst, index_t dst_stride, const float* src, index_t src_stride, index_t rows,
                      index_t cols, cudaMemcpyKind kind, cudaStream_t s) {
  KPLUG_CUDA_CHECK(cudaMemcpy2DAsync(dst, sizeof(float) * std::size_t(dst_stride), src,
                                     sizeof(float) * std::size_t(src_stride), sizeof(float) * std::size_t(cols),
                                     std::size_t(rows), kind, s));
}
}  // namespace detail

// Host rows -> device rows (and back), any row strides; the download waits
// for the stream, so the host rows are complete on return.
inline void copy_to_device(matrix_view<const float> host, device_view<float> device, cudaStream_t s) {
  require_shape(device, host.rows(), host.cols(), "copy to the device", "device");
  if (host.empty()) return;
  detail::copy_rows(device.data(), device.row_stride(), host.data(), host.row_stride(), host.rows(), host.cols(),
                    cudaMemcpyHostToDevice, s);
}

inline void copy_to_host(device_view<const float> device, matrix_view<float> host, cudaStream_t s) {
  require_shape(host, device.rows(), device.cols(), "copy to the host", "host");
  if (host.empty()) return;
  detail::copy_rows(host.data(), host.row_stride(), device.data(), device.row_stride(), host.rows(), host.cols(),
                    cudaMemcpyDeviceToHost, s);
  KPLUG_CUDA_CHECK(cudaStreamSynchronize(s));
}

// A host array -> a device buffer of the same length.
template <class T>
void upload_array(const T* host, std::size_t count, device_buffer<T>& device, cudaStream_t s) {
  device.resize(count);
  if (count > 0) KPLUG_CUDA_CHECK(cudaMemcpyAsync(device.data(), host, count * sizeof(T), cudaMemcpyHostToDevice, s));
}

}  // namespace kplug::cuda
