// Consumes the installed CUDA backend: the header compiles under the
// consumer's nvcc and links against cudart and cuBLAS. On a machine with a
// GPU it also asks the device for its name; without one it says so.
#include <kplug/backend/cuda/bert_cuda.cuh>

#include <cstdio>

int main() {
  static_assert(kplug::trainable_backend<kplug::backend::bert_cuda>);
  if (kplug::cuda::device_count() == 0) {
    std::printf("kplug::cuda found and linked; no CUDA device present, nothing run\n");
    return 0;
  }
  cudaDeviceProp p{};
  KPLUG_CUDA_CHECK(cudaGetDeviceProperties(&p, 0));
  std::printf("kplug::cuda found and linked; device 0 is %s\n", p.name);
  return 0;
}
