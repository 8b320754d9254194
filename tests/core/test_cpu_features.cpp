// Choosing the kernels' instruction set: names, the KPLUG_ISA variable and
// its errors, and refusing a level the CPU lacks.
#include <gtest/gtest.h>

#include <cstdlib>
#include <kplug/core/cpu_features.hpp>
#include <string>

#include "support/isa.hpp"
#include "support/temp_dir.hpp"

namespace {

using kplug::cpu::isa;

TEST(CpuFeatures, NamesRoundTripAndUnknownNamesAreNotLevels) {
  for (const isa level : {isa::portable, isa::avx2, isa::avx512})
    EXPECT_EQ(kplug::cpu::parse_isa(kplug::cpu::isa_name(level)), level);
  EXPECT_FALSE(kplug::cpu::parse_isa("AVX2").has_value());
  EXPECT_FALSE(kplug::cpu::parse_isa("sse4").has_value());
  EXPECT_FALSE(kplug::cpu::parse_isa("").has_value());
}

// The variable is read on first use; level_from_environment is that read.
class IsaVariable : public ::testing::Test {
 protected:
  void TearDown() override { ::unsetenv("KPLUG_ISA"); }
};

TEST_F(IsaVariable, UnsetOrEmptyMeansTheDetectedLevel) {
  ::unsetenv("KPLUG_ISA");
  EXPECT_EQ(kplug::cpu::detail::level_from_environment(), kplug::cpu::detected_isa());
  ::setenv("KPLUG_ISA", "", 1);
  EXPECT_EQ(kplug::cpu::detail::level_from_environment(), kplug::cpu::detected_isa());
}

TEST_F(IsaVariable, LowersTheLevelAndRefusesWhatItCannotBe) {
  ::setenv("KPLUG_ISA", "portable", 1);
  EXPECT_EQ(kplug::cpu::detail::level_from_environment(), isa::portable);
  ::setenv("KPLUG_ISA", "avx", 1);
  KPLUG_EXPECT_ERROR(kplug::cpu::detail::level_from_environment(), "KPLUG_ISA", "is 'avx'",
                     "expected portable, avx2 or avx512");
}

TEST(CpuFeatures, ForcingEachAvailableLevelSticksAndIsRestored) {
  const isa before = kplug::cpu::active_isa();
  {
    const kplug_test::isa_guard restore;
    for (const isa level : kplug_test::available_isas()) {
      kplug::cpu::set_active_isa(level);
      EXPECT_EQ(kplug::cpu::active_isa(), level);
    }
  }
  EXPECT_EQ(kplug::cpu::active_isa(), before);
}

// Only a CPU below AVX-512 has a level to refuse.
TEST(CpuFeatures, ALevelAboveTheCpuIsAnErrorNamingBoth) {
  if (kplug::cpu::detected_isa() == isa::avx512) GTEST_SKIP() << "this CPU supports every level";
  const kplug_test::isa_guard restore;
  KPLUG_EXPECT_ERROR(kplug::cpu::set_active_isa(isa::avx512), "asks for avx512",
                     std::string("supports only up to ") + std::string(kplug::cpu::isa_name(kplug::cpu::detected_isa())));
  ::setenv("KPLUG_ISA", "avx512", 1);
  KPLUG_EXPECT_ERROR(kplug::cpu::detail::level_from_environment(), "KPLUG_ISA", "asks for avx512");
  ::unsetenv("KPLUG_ISA");
}

}  // namespace
