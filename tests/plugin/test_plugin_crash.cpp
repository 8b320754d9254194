// Nothing lost: a process killed while it saves checkpoints leaves the last
// complete plugin file readable. Children save plugins in a loop and are
// killed with SIGKILL after seeded random delays; after each kill the file
// at the path verifies and holds one complete state, never a torn mix.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <kplug/plugin/plugin_file.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "support/temp_dir.hpp"

namespace {

using kplug::index_t;

// Large enough (512 KiB of weights) that a save takes a while and a random
// kill often lands inside one.
constexpr index_t crash_d_model = 512;
constexpr index_t crash_d_kb = 256;

// Saves state `s`: every weight s, every bias -s, notes "state s" (all
// exact in float32 for the states used here, below 2^24).
void save_state(const std::string& path, std::int64_t s, std::vector<float>& weight, std::vector<float>& bias) {
  kplug::plugin::plugin_metadata m;
  m.mapper_kind = "affine";
  m.d_kb = crash_d_kb;
  m.d_model = crash_d_model;
  m.splice = kplug::splice::splice_format::entity_slash_mention(17);
  m.kb = {"kb", 100, crash_d_kb, 1};
  m.encoder = {"encoder", crash_d_model, 100, 2};
  m.notes = "state " + std::to_string(s);
  std::fill(weight.begin(), weight.end(), static_cast<float>(s));
  std::fill(bias.begin(), bias.end(), -static_cast<float>(s));
  const std::vector<kplug::io::named_tensor> ts{kplug::io::make_tensor("weight", {crash_d_model, crash_d_kb}, weight),
                                                kplug::io::make_tensor("bias", {crash_d_model}, bias)};
  kplug::plugin::save_plugin(path, m, ts);
}

// The child: saves states first, first + 1, ... until killed.
[[noreturn]] void keep_saving(const std::string& path, std::int64_t first) {
  try {
    std::vector<float> weight(static_cast<std::size_t>(crash_d_model * crash_d_kb)), bias(static_cast<std::size_t>(crash_d_model));
    for (std::int64_t s = first;; ++s) save_state(path, s, weight, bias);
  } catch (...) {
    ::_exit(3);
  }
}

// The state a loaded file holds, checked to be whole: every value agrees
// with the notes. -1 if not.
std::int64_t state_of(const kplug::plugin::loaded_plugin& p) {
  const std::string& notes = p.metadata.notes;
  if (!notes.starts_with("state ")) return -1;
  const std::int64_t s = std::stoll(notes.substr(6));
  const auto w = p.float_matrix("weight", crash_d_model, crash_d_kb);
  for (index_t r = 0; r < crash_d_model; ++r)
    for (const float v : w.row(r))
      if (v != static_cast<float>(s)) return -1;
  for (const float v : p.float_vector("bias", crash_d_model))
    if (v != -static_cast<float>(s)) return -1;
  return s;
}

std::size_t temporaries(const std::string& dir) {
  std::size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    n += e.path().filename().string().starts_with("ckpt.kplug.kplug-tmp-") ? 1 : 0;
  return n;
}

TEST(PluginCrashSafety, AWriterKilledAtRandomTimesLeavesTheLastCompleteFile) {
  kplug_test::temp_dir dir;
  const std::string path = dir.file("ckpt.kplug");
  {
    std::vector<float> weight(static_cast<std::size_t>(crash_d_model * crash_d_kb)), bias(static_cast<std::size_t>(crash_d_model));
    save_state(path, 0, weight, bias);
  }
  constexpr int kills = 20;
  constexpr std::int64_t states_per_child = 100000;
  std::mt19937_64 rng(20261204);
  std::uniform_int_distribution<int> delay_us(0, 20000);
  std::int64_t last = 0;
  int progressed = 0, interrupted_saves = 0;
  std::size_t left = 0;
  for (int k = 1; k <= kills; ++k) {
    const std::int64_t first = k * states_per_child;  // each child's states are its own
    std::fflush(nullptr);  // nothing buffered is written twice
    const pid_t child = ::fork();
    ASSERT_GE(child, 0) << "fork failed";
    if (child == 0) keep_saving(path, first);
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us(rng)));
    ASSERT_EQ(::kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the child stopped by itself (a save failed)";

    const kplug::plugin::loaded_plugin p = kplug::plugin::load_plugin(path);  // throws if torn or damaged
    EXPECT_TRUE(p.checksum_verified);
    const std::int64_t s = state_of(p);
    const bool same = s == last;
    const bool this_childs = s >= first && s < first + states_per_child;
    EXPECT_TRUE(same || this_childs) << "kill " << k << ": the file holds state " << s << ", neither the last complete "
                                     << last << " nor one of this child's";
    progressed += same ? 0 : 1;
    last = s;
    // A kill inside a save leaves its temporary file (one at most per kill).
    const std::size_t now = temporaries(dir.path());
    interrupted_saves += now > left ? 1 : 0;
    EXPECT_LE(now, left + 1);
    left = now;
  }
  std::printf("%d kills: %d moved the file on, %d interrupted a save (its temporary left behind)\n", kills, progressed,
              interrupted_saves);
  // Evidence that the test exercised what it claims: saves completed, and
  // kills landed inside saves.
  EXPECT_GE(progressed, 1);
  EXPECT_GE(interrupted_saves, 1);
}

}  // namespace
