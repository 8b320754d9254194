// CUDA and cuBLAS failures as kplug errors naming the file, the line, the
// call and the library's own message: a failed call never goes on silently.
//
//   KPLUG_CUDA_CHECK(cudaMemcpyAsync(...));
//   KPLUG_CUDA_CHECK(cublasSgemm(...));     // cuBLAS too
//   cuda::check_launch("layer_norm");   // after a kernel launch
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <string>

#include "kplug/core/error.hpp"

namespace kplug::cuda {

[[noreturn]] inline void throw_cuda(cudaError_t status, const char* call, const char* file, int line) {
  // Clear the runtime's last error (a non-sticky one stays there otherwise),
  // so that the next check_launch does not blame a later, good launch.
  (void)cudaGetLastError();
  throw error("CUDA call", std::string(file) + ":" + std::to_string(line),
              std::string(call) + " failed: " + cudaGetErrorName(status) + " (" + cudaGetErrorString(status) + ")");
}

[[noreturn]] inline void throw_cublas(cublasStatus_t status, const char* call, const char* file, int line) {
  throw error("cuBLAS call", std::string(file) + ":" + std::to_string(line),
              std::string(call) + " failed: " + cublasGetStatusName(status) + " (" +
                  cublasGetStatusString(status) + ")");
}

inline void check_status(cudaError_t status, const char* call, const char* file, int line) {
  if (status != cudaSuccess) throw_cuda(status, call, file, line);
}

inline void check_status(cublasStatus_t status, const char* call, const char* file, int line) {
  if (status != CUBLAS_STATUS_SUCCESS) throw_cublas(status, call, file, line);
}

// After a kernel launch: a bad configuration shows here, a fault at the next
// synchronising call.
inline void check_launch(const char* kernel) {
  if (const cudaError_t status = cudaGetLastError(); status != cudaSuccess)
    throw error("CUDA kernel launch", kernel,
                std::string(cudaGetErrorName(status)) + " (" + cudaGetErrorString(status) + ")");
}

}  // namespace kplug::cuda

// A CUDA runtime or cuBLAS call's status; throws on failure.
#define KPLUG_CUDA_CHECK(call) ::kplug::cuda::check_status((call), #call, __FILE__, __LINE__)
