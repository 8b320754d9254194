// The backend conformance suite on bert_cuda, and its parity with bert_cpu
// on the same checkpoints (a masked-LM head with a tied decoder, and a
// sequence classifier with pooler). Without a CUDA device every test reports
// itself skipped, saying why (ctest counts it as skipped, never as passed).
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "kplug/backend/bert_cpu.hpp"
#include "kplug/backend/cuda/bert_cuda.cuh"
#include "kplug/conformance/backend_suite.hpp"
#include "support/model_paths.hpp"

namespace kplug::conformance {
namespace {

struct tiny_limits {
  static std::string unavailable() {
    return cuda::device_count() == 0 ? "no CUDA device is present: this test did not run" : "";
  }
  using backend_type = backend::bert_cuda;
  using reference_type = backend::bert_cpu;
  static constexpr index_t max_positions = 64;  // config.json of both
  static constexpr index_t segment_types = 2;
  static constexpr int threads = 1;  // the GPU's parallelism is not a thread count
  // cuBLAS picks its kernels by shape: a sequence alone and packed may round differently.
  static constexpr double tolerance = 1e-5;
  // No atomics anywhere, one stream per backend: the same batch again is bitwise the same.
  static constexpr double repeat_tolerance = 0.0;
  static constexpr double fd_step = 1e-1;  // as for bert_cpu
  static constexpr double gradient_tolerance = 1e-3;
  // Float32 against float32 on another device, other summation orders.
  static constexpr double parity_tolerance = 1e-4;
  static constexpr double parity_gradient_tolerance = 1e-4;
};

std::unique_ptr<backend::bert_cuda> open_cuda(const char* fixture) {
  return std::make_unique<backend::bert_cuda>(bert::load_checkpoint(kplug_test::fixture(fixture)));
}
std::unique_ptr<backend::bert_cpu> open_cpu(const char* fixture) {
  return std::make_unique<backend::bert_cpu>(bert::load_checkpoint(kplug_test::fixture(fixture)),
                                             backend::bert_cpu_options{.threads = 2});
}

struct masked_lm : tiny_limits {
  static std::unique_ptr<backend::bert_cuda> make(int) { return open_cuda("tiny_mlm"); }
  static std::unique_ptr<backend::bert_cpu> make_reference() { return open_cpu("tiny_mlm"); }
};
struct classifier : tiny_limits {
  static std::unique_ptr<backend::bert_cuda> make(int) { return open_cuda("tiny_cls"); }
  static std::unique_ptr<backend::bert_cpu> make_reference() { return open_cpu("tiny_cls"); }
};

INSTANTIATE_TYPED_TEST_SUITE_P(bert_cuda_masked_lm, backend_conformance, ::testing::Types<masked_lm>);
INSTANTIATE_TYPED_TEST_SUITE_P(bert_cuda_classifier, backend_conformance, ::testing::Types<classifier>);
INSTANTIATE_TYPED_TEST_SUITE_P(bert_cuda_masked_lm, backend_parity, ::testing::Types<masked_lm>);
INSTANTIATE_TYPED_TEST_SUITE_P(bert_cuda_classifier, backend_parity, ::testing::Types<classifier>);

}  // namespace
}  // namespace kplug::conformance
