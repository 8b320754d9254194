// kplug encode on the real all-MiniLM-L6-v2: its output against PyTorch's
// hidden states (tests/fixtures/minilm/encode_*.npy, made by
// scripts/fixtures/), against bert_cpu called in-process, and its handling
// of truncation and bad command lines and inputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kplug/backend/bert_cpu.hpp"
#include "kplug/bert/checkpoint.hpp"
#include "kplug/core/cpu_features.hpp"
#include "kplug/io/npy.hpp"
#include "support/model_paths.hpp"
#include "support/temp_dir.hpp"
#include "tools/cli_support.hpp"
#include "tools/minilm_support.hpp"

namespace {

using kplug_test::run_kplug;
using kplug_test::temp_dir;

struct fixture_sentence {
  std::string text;
  std::vector<std::int32_t> ids;
};

std::vector<fixture_sentence> read_fixture_sentences() {
  std::vector<fixture_sentence> out;
  std::ifstream in(kplug_test::fixture("minilm/encode.jsonl"));
  EXPECT_TRUE(in) << "missing fixture minilm/encode.jsonl";
  std::string line;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    out.push_back({j.at("text").get<std::string>(), j.at("ids").get<std::vector<std::int32_t>>()});
  }
  return out;
}

TEST(encode_minilm, matches_pytorch_and_in_process_encoding) {
  if (!kplug_test::have_minilm()) return;
  const auto sentences = read_fixture_sentences();
  ASSERT_FALSE(sentences.empty());
  temp_dir dir;
  // Batches of 5 over 24 sentences: the last batch is partial.
  const auto r = run_kplug(
      {"encode", "--model", kplug_test::minilm_dir(), "--input", kplug_test::fixture("minilm/encode.jsonl"),
       "--output", dir.file("out"), "--batch-size", "5", "--threads", "2"},
      dir);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("24 sequences"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("truncated"), std::string::npos) << r.err;

  // Offsets and tokens agree with each other and with Hugging Face's ids.
  const auto offsets = kplug_test::read_offsets(dir.file("out/offsets.npy"));
  const auto tokens = kplug_test::read_tokens_jsonl(dir.file("out/tokens.jsonl"));
  ASSERT_EQ(offsets.size(), sentences.size() + 1);
  ASSERT_EQ(tokens.size(), sentences.size());
  const auto want_offsets = kplug_test::read_offsets(kplug_test::fixture("minilm/encode_offsets.npy"));
  EXPECT_EQ(offsets, want_offsets);
  EXPECT_EQ(offsets[0], 0);
  for (std::size_t s = 0; s < sentences.size(); ++s) {
    EXPECT_EQ(tokens[s].ids, sentences[s].ids) << sentences[s].text;
    EXPECT_EQ(static_cast<std::int64_t>(tokens[s].ids.size()), offsets[s + 1] - offsets[s]);
    ASSERT_EQ(tokens[s].tokens.size(), tokens[s].ids.size());
    EXPECT_EQ(tokens[s].tokens.front(), "[CLS]");
    EXPECT_EQ(tokens[s].tokens.back(), "[SEP]");
    EXPECT_FALSE(tokens[s].has_entity);
  }

  const kplug::io::npy_array hidden = kplug::io::open_npy(dir.file("out/hidden.npy"));
  ASSERT_EQ(hidden.dtype(), kplug::io::dtype::f32);
  ASSERT_EQ(hidden.ndim(), 2u);
  ASSERT_EQ(hidden.shape()[0], offsets.back());
  ASSERT_EQ(hidden.shape()[1], 384);
  const auto got = hidden.values<float>();

  // The independent reference: PyTorch's last hidden states.
  const kplug::io::npy_array torch = kplug::io::open_npy(kplug_test::fixture("minilm/encode_hidden.npy"));
  ASSERT_EQ(torch.size(), got.size());
  const auto want = torch.values<float>();
  for (std::size_t s = 0; s < sentences.size(); ++s) {
    const auto begin = static_cast<std::size_t>(offsets[s]) * 384;
    const auto count = static_cast<std::size_t>(offsets[s + 1] - offsets[s]) * 384;
    EXPECT_LE(kplug_test::max_abs_diff(got.data() + begin, want.data() + begin, count), 1e-4f)
        << sentences[s].text;
  }

  // bert_cpu in-process on the same batches gives the same rows: bitwise when
  // the tool and this test are one build, within float rounding when
  // $KPLUG_CLI names another build (other flags, another thread count).
  kplug::backend::bert_cpu* model = kplug_test::minilm_model();
  for (std::size_t first = 0; first < sentences.size(); first += 5) {
    std::vector<std::vector<std::int32_t>> batch;
    for (std::size_t s = first; s < std::min(first + 5, sentences.size()); ++s)
      batch.push_back(sentences[s].ids);
    const kplug::matrix<float> expect = kplug_test::encode_in_process(*model, batch);
    const auto begin = static_cast<std::size_t>(offsets[first]) * 384;
    EXPECT_LE(kplug_test::max_rel_diff(got.data() + begin, expect.data(),
                                       static_cast<std::size_t>(expect.rows()) * 384),
              1e-5f)
        << "batch starting at sentence " << first;
  }
}

TEST(encode_minilm, truncates_to_max_length_and_counts_it) {
  if (!kplug_test::have_minilm()) return;
  const auto sentences = read_fixture_sentences();
  temp_dir dir;
  const auto r = run_kplug(
      {"encode", "--model", kplug_test::minilm_dir(), "--input", kplug_test::fixture("minilm/encode.jsonl"),
       "--output", dir.file("out"), "--max-length", "7", "--quiet"},
      dir);
  ASSERT_EQ(r.status, 0) << r.err;
  std::size_t longer = 0;
  std::vector<std::vector<std::int32_t>> expected;
  for (const auto& s : sentences) {
    longer += s.ids.size() > 7 ? 1 : 0;
    // Hugging Face's truncation=True: the first 5 pieces, then [SEP].
    std::vector<std::int32_t> ids = s.ids;
    if (ids.size() > 7) {
      ids.resize(6);
      ids.push_back(s.ids.back());
    }
    expected.push_back(ids);
  }
  ASSERT_GT(longer, 0u);
  std::string count = std::to_string(longer);
  count += " of 24 sequences were longer than 7 rows";
  EXPECT_NE(r.err.find(count), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("sequences/s"), std::string::npos) << "--quiet printed progress: " << r.err;

  const auto tokens = kplug_test::read_tokens_jsonl(dir.file("out/tokens.jsonl"));
  ASSERT_EQ(tokens.size(), sentences.size());
  for (std::size_t s = 0; s < sentences.size(); ++s)
    EXPECT_EQ(tokens[s].ids, expected[s]) << sentences[s].text;
  kplug::backend::bert_cpu* model = kplug_test::minilm_model();
  const kplug::io::npy_array hidden = kplug::io::open_npy(dir.file("out/hidden.npy"));
  const kplug::matrix<float> want = kplug_test::encode_in_process(*model, expected);
  ASSERT_EQ(hidden.size(), static_cast<std::uint64_t>(want.rows() * want.cols()));
  EXPECT_LE(kplug_test::max_rel_diff(hidden.values<float>().data(), want.data(), hidden.size()), 1e-5f);
}

TEST(encode_errors, bad_jsonl_line_names_file_and_line_and_leaves_no_output) {
  if (!kplug_test::have_minilm()) return;
  temp_dir dir;
  const struct {
    const char* line;
    const char* why;
  } cases[] = {
      {"{\"text\": 5}", "\"text\" is number, expected a string"},
      {"{\"txt\": \"hello\"}", "no \"text\" key"},
      {"[\"hello\"]", "expected a JSON object, got array"},
      {"{\"text\": \"unterminated}", "invalid JSON"},
  };
  for (const auto& c : cases) {
    // Line 3: a good line and a blank one (skipped) come first.
    const std::string input = dir.write("in.jsonl", std::string("{\"text\": \"fine\"}\n\n") + c.line + "\n");
    const auto r = run_kplug(
        {"encode", "--model", kplug_test::minilm_dir(), "--input", input, "--output", dir.file("out")}, dir);
    EXPECT_EQ(r.status, 1) << c.line;
    EXPECT_NE(r.err.find(input + ", line 3"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(c.why), std::string::npos) << r.err;
    // Nothing half-written survives, not even temporaries.
    if (std::filesystem::exists(dir.file("out"))) {
      EXPECT_TRUE(std::filesystem::is_empty(dir.file("out"))) << c.line;
    }
  }
}

TEST(encode_errors, command_line_mistakes_exit_2_with_usage) {
  temp_dir dir;
  const std::string input = dir.write("in.jsonl", "{\"text\": \"x\"}\n");
  const std::vector<std::vector<std::string>> cases = {
      {"encode", "--input", input, "--output", dir.file("out")},
      {"encode", "--model", "m", "--input", input, "--output", dir.file("out"), "--batch-size", "0"},
      {"encode", "--model", "m", "--input", input, "--output", dir.file("out"), "--bogus"},
      {"encode", "--model", "m", "--input", input, "--output"},
      {"encode", "--model", "m", "--input", input, "--output", dir.file("out"), "--kb", "kb"},
      {"frobnicate"},
      {},
  };
  // The parser's (CLI11's) wording; each names the option and what is wrong with it.
  const char* why[] = {"--model is required",
                       "--batch-size: '0' is not an integer in [1,",
                       "argument was not expected: --bogus",
                       "--output: 1 required DIR missing",
                       "--aliases is missing",
                       "unknown command 'frobnicate'",
                       "A subcommand is required"};
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto r = run_kplug(cases[i], dir);
    EXPECT_EQ(r.status, 2) << why[i];
    EXPECT_NE(r.err.find(why[i]), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("usage: kplug"), std::string::npos) << r.err;
  }
  const auto help = run_kplug({"encode", "--help"}, dir);
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.out.find("--max-length N"), std::string::npos) << help.out;
  // The tool's own help lists every command.
  const auto all = run_kplug({"--help"}, dir);
  EXPECT_EQ(all.status, 0);
  for (const char* name : {"encode", "train-head", "tune", "eval", "export"})
    EXPECT_NE(all.out.find(name), std::string::npos) << all.out;
  // An option given twice is a mistake, not a silent choice of one.
  const auto twice = run_kplug({"encode", "--model", "m", "--model", "n", "--input", input, "--output", dir.file("out")}, dir);
  EXPECT_EQ(twice.status, 2);
  EXPECT_NE(twice.err.find("--model"), std::string::npos) << twice.err;
}

TEST(encode_errors, missing_model_directory_exits_1_naming_it) {
  temp_dir dir;
  const std::string input = dir.write("in.jsonl", "{\"text\": \"x\"}\n");
  const std::string model = dir.file("no-such-model");
  const auto r = run_kplug({"encode", "--model", model, "--input", input, "--output", dir.file("out")}, dir);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find(model), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("usage:"), std::string::npos) << r.err;
}

// The tool is built without -march=native and picks its kernels when it
// runs: forced to each level this CPU has through KPLUG_ISA, it matches
// PyTorch every time; a level it cannot run is refused before any work.
TEST(encode_minilm, every_instruction_set_matches_pytorch_and_bad_levels_exit_1) {
  if (!kplug_test::have_minilm()) return;
  const kplug::io::npy_array torch = kplug::io::open_npy(kplug_test::fixture("minilm/encode_hidden.npy"));
  const auto want = torch.values<float>();
  for (const auto level : {kplug::cpu::isa::portable, kplug::cpu::isa::avx2, kplug::cpu::isa::avx512}) {
    if (level > kplug::cpu::detected_isa()) continue;
    const std::string name(kplug::cpu::isa_name(level));
    temp_dir dir;
    const auto r = run_kplug({"encode", "--model", kplug_test::minilm_dir(), "--input",
                              kplug_test::fixture("minilm/encode.jsonl"), "--output", dir.file("out"), "--threads", "2"},
                             dir, {"env", "KPLUG_ISA=" + name});
    ASSERT_EQ(r.status, 0) << name << ": " << r.err;
    const kplug::io::npy_array hidden = kplug::io::open_npy(dir.file("out/hidden.npy"));
    const auto got = hidden.values<float>();
    ASSERT_EQ(got.size(), want.size()) << name;
    EXPECT_LE(kplug_test::max_abs_diff(got.data(), want.data(), want.size()), 1e-4f) << name;
  }
  temp_dir dir;
  const auto bad = run_kplug({"encode", "--model", kplug_test::minilm_dir(), "--input",
                              kplug_test::fixture("minilm/encode.jsonl"), "--output", dir.file("out")},
                             dir, {"env", "KPLUG_ISA=sse9"});
  EXPECT_EQ(bad.status, 1) << bad.err;
  EXPECT_NE(bad.err.find("KPLUG_ISA"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("'sse9'"), std::string::npos) << bad.err;
  EXPECT_FALSE(std::filesystem::exists(dir.file("out/hidden.npy")));
}

// The baseline-built tool on emulated CPUs (QEMU's user mode): Haswell has
// AVX2 and FMA but no AVX-512, Nehalem not even AVX. The tool must detect
// each, run the kernels that CPU has (an AVX-512 or AVX instruction would
// stop the emulator with SIGILL), and still match PyTorch; asking Haswell
// for AVX-512 is refused naming what it has. Needs qemu-user (installed by
// scripts/install-deps.sh); skipped, and reported so, without it.
TEST(encode_minilm, runs_on_emulated_cpus_without_avx512_or_avx) {
#ifndef KPLUG_TEST_QEMU
  GTEST_SKIP() << "needs a baseline (not -march=native) tool and qemu-x86_64 (Debian: qemu-user)";
#else
  if (!kplug_test::have_minilm()) return;
  if (std::getenv("KPLUG_CLI")) GTEST_SKIP() << "$KPLUG_CLI names another build, maybe not a baseline one";
  temp_dir dir;
  // The first five fixture sentences: emulation is slow.
  std::ifstream all(kplug_test::fixture("minilm/encode.jsonl"));
  std::string lines, line;
  for (int i = 0; i < 5 && std::getline(all, line); ++i) lines += line + "\n";
  const std::string input = dir.write("five.jsonl", lines);
  const kplug::io::npy_array torch = kplug::io::open_npy(kplug_test::fixture("minilm/encode_hidden.npy"));
  for (const std::string cpu : {"Haswell", "Nehalem"}) {
    const auto r = run_kplug({"encode", "--model", kplug_test::minilm_dir(), "--input", input, "--output",
                              dir.file("out-" + cpu), "--threads", "2"},
                             dir, {KPLUG_TEST_QEMU, "-cpu", cpu});
    ASSERT_EQ(r.status, 0) << cpu << ": " << r.err;
    const kplug::io::npy_array hidden = kplug::io::open_npy(dir.file("out-" + cpu + "/hidden.npy"));
    const auto got = hidden.values<float>();
    ASSERT_GT(got.size(), 0u);
    ASSERT_LE(got.size(), torch.size());
    EXPECT_LE(kplug_test::max_abs_diff(got.data(), torch.values<float>().data(), got.size()), 1e-4f) << cpu;
  }
  const auto refused = run_kplug({"encode", "--model", kplug_test::minilm_dir(), "--input", input, "--output",
                                  dir.file("out-refused")},
                                 dir, {"env", "KPLUG_ISA=avx512", KPLUG_TEST_QEMU, "-cpu", "Haswell"});
  EXPECT_EQ(refused.status, 1) << refused.err;
  EXPECT_NE(refused.err.find("asks for avx512, but this CPU supports only up to avx2"), std::string::npos)
      << refused.err;
#endif
}

}  // namespace
