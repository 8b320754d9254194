// The backend conformance suite on the mock backend (against its
// independent double-precision reference behind the rows adapter), on that
// reference through the rows adapter itself, and on the mock behind a
// foreign memory space (what generic code sees of a GPU backend).
#include <gtest/gtest.h>

#include <memory>

#include "backend/foreign_memory.hpp"
#include "backend/mock_reference.hpp"
#include "kplug/backend/mock.hpp"
#include "kplug/backend/rows_adapter.hpp"
#include "kplug/conformance/backend_suite.hpp"

namespace kplug::conformance {
namespace {

constexpr index_t kVocab = 64, kHidden = 12, kOutput = 5, kMaxPositions = 32;
constexpr std::uint64_t kSeed = 42;

using mock = backend::mock_backend;
using reference = backend::rows_adapter<test::mock_reference_engine>;
using foreign_mock = test::foreign_memory_backend<mock>;

std::unique_ptr<mock> make_mock() {
  return std::make_unique<mock>(backend::mock_config{kVocab, kHidden, kOutput, kMaxPositions, kSeed});
}
std::unique_ptr<reference> make_mock_reference() {
  return std::make_unique<reference>(std::in_place, kVocab, kHidden, kOutput, kMaxPositions, kSeed);
}

struct mock_limits {
  static constexpr index_t max_positions = kMaxPositions;
  static constexpr index_t segment_types = 2;
  static constexpr int threads = 1;  // the mock has none: two fresh instances must agree
  // Float against float in another packing: measured 0.
  static constexpr double tolerance = 1e-5;
  static constexpr double repeat_tolerance = 0.0;  // deterministic
  // A step of 3e-2 of the rows' RMS balances truncation (~step^2) against
  // float rounding (~1e-7 / step): measured 4.6e-5 (mock), 1.3e-5 (reference).
  static constexpr double fd_step = 3e-2;
  static constexpr double gradient_tolerance = 2e-4;
};

struct mock_traits : mock_limits {
  using backend_type = mock;
  static std::unique_ptr<mock> make(int) { return make_mock(); }
  using reference_type = reference;
  static std::unique_ptr<reference> make_reference() { return make_mock_reference(); }
  // Float against double, a few float roundings deep: measured 3e-7
  // (outputs) and 1.7e-7 (gradients) over the five formats.
  static constexpr double parity_tolerance = 1e-5;
  static constexpr double parity_gradient_tolerance = 1e-5;
};

struct reference_traits : mock_limits {
  using backend_type = reference;
  static std::unique_ptr<reference> make(int) { return make_mock_reference(); }
};

struct foreign_traits : mock_limits {
  using backend_type = foreign_mock;
  static std::unique_ptr<foreign_mock> make(int) { return std::make_unique<foreign_mock>(make_mock()); }
  using reference_type = mock;
  static std::unique_ptr<mock> make_reference() { return make_mock(); }
  // The same arithmetic: only the copies in and out differ.
  static constexpr double parity_tolerance = 0.0;
  static constexpr double parity_gradient_tolerance = 1e-12;
};

static_assert(device_memory_owner<foreign_mock>);
static_assert(!device_memory_owner<mock>);
static_assert(trainable_backend<reference>);

INSTANTIATE_TYPED_TEST_SUITE_P(mock, backend_conformance, ::testing::Types<mock_traits>);
INSTANTIATE_TYPED_TEST_SUITE_P(mock, backend_parity, ::testing::Types<mock_traits>);
INSTANTIATE_TYPED_TEST_SUITE_P(rows_adapter_over_reference, backend_conformance,
                               ::testing::Types<reference_traits>);
INSTANTIATE_TYPED_TEST_SUITE_P(foreign_memory_mock, backend_conformance, ::testing::Types<foreign_traits>);
INSTANTIATE_TYPED_TEST_SUITE_P(foreign_memory_mock, backend_parity, ::testing::Types<foreign_traits>);

}  // namespace
}  // namespace kplug::conformance
