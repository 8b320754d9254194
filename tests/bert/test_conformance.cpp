// The backend conformance suite on bert_cpu, with the two small random-weight
// checkpoints of the fixtures: a masked-LM head with a tied decoder, and a
// sequence classifier with pooler (numerical parity with PyTorch is in
// test_parity.cpp).
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "kplug/backend/bert_cpu.hpp"
#include "kplug/conformance/backend_suite.hpp"
#include "support/model_paths.hpp"

namespace kplug::conformance {
namespace {

std::unique_ptr<backend::bert_cpu> open(const char* fixture, int threads) {
  return std::make_unique<backend::bert_cpu>(bert::load_checkpoint(kplug_test::fixture(fixture)),
                                             backend::bert_cpu_options{.threads = threads});
}

struct tiny_limits {
  using backend_type = backend::bert_cpu;
  static constexpr index_t max_positions = 64;  // config.json of both
  static constexpr index_t segment_types = 2;
  static constexpr int threads = 4;
  // A sequence alone sits elsewhere in the GEMM tiles than packed with
  // others, so its sums round differently: measured up to 5.5e-7.
  static constexpr double tolerance = 1e-5;
  // The same batch again (fresh instance, 1 or 4 threads, after other
  // batches): bitwise identical, since every kernel cuts its work into
  // blocks that do not depend on the pool and buffers are 64-byte aligned.
  static constexpr double repeat_tolerance = 0.0;
  // Float32 forward passes: rounding of the loss dominates small steps and
  // curvature large ones; a step of 0.1 of the rows' RMS balances them,
  // measured 2.1e-4 (MLM head) and 2.1e-4 (classifier).
  static constexpr double fd_step = 1e-1;
  static constexpr double gradient_tolerance = 1e-3;
};

struct tiny_mlm_traits : tiny_limits {
  static std::unique_ptr<backend::bert_cpu> make(int threads) { return open("tiny_mlm", threads); }
};

struct tiny_classifier_traits : tiny_limits {
  static std::unique_ptr<backend::bert_cpu> make(int threads) { return open("tiny_cls", threads); }
};

INSTANTIATE_TYPED_TEST_SUITE_P(bert_cpu_masked_lm, backend_conformance, ::testing::Types<tiny_mlm_traits>);
INSTANTIATE_TYPED_TEST_SUITE_P(bert_cpu_classifier, backend_conformance,
                               ::testing::Types<tiny_classifier_traits>);

}  // namespace
}  // namespace kplug::conformance
