// The backend conformance suite on the example's engine: the same tests
// kplug's own backends pass (docs/writing-a-backend.md, "Testing your
// backend"). A backend of yours is instantiated the same way.
#include <gtest/gtest.h>

#include <kplug/conformance/backend_suite.hpp>
#include <memory>

#include "toy_engine_backend.hpp"

namespace {

struct toy_traits {
  using backend_type = toy_engine_backend;
  static std::unique_ptr<toy_engine_backend> make(int /*threads: the toy engine has none*/) {
    static toy::engine engine(/*vocab=*/40, /*dim=*/6, /*labels=*/4, /*max_len=*/24, /*seed=*/77);
    return std::make_unique<toy_engine_backend>(toy_engine_rows{engine});
  }
  static constexpr kplug::index_t max_positions = 24;
  static constexpr kplug::index_t segment_types = toy::engine::segment_types;
  static constexpr int threads = 1;
  static constexpr double tolerance = 1e-5;           // float results that must agree
  static constexpr double repeat_tolerance = 0.0;     // the same batch again: bitwise the same
  static constexpr double fd_step = 3e-2;             // of the entity rows' RMS
  static constexpr double gradient_tolerance = 2e-4;  // measured 1.2e-5
};

}  // namespace

// GoogleTest instantiates a typed suite in the namespace that defines it.
namespace kplug::conformance {
INSTANTIATE_TYPED_TEST_SUITE_P(toy_engine, backend_conformance, ::testing::Types<toy_traits>);
}  // namespace kplug::conformance
