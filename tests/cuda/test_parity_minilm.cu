// bert_cuda against bert_cpu on the real all-MiniLM-L6-v2 (hidden 384, 12
// heads): unlike the 32-wide fixtures of the suite, every block of the row
// and attention kernels uses all its warps, strides past its width and
// reduces across warps; a 300-row sequence is longer than the attention
// block. Also: a one-row and an empty sequence, masked keys, a fully masked
// sequence, one entity in three slots of two sequences, a position asked for
// twice. Skipped (visibly) without a CUDA device or without the model.
#include <gtest/gtest.h>

#include <vector>

#include "kplug/backend/bert_cpu.hpp"
#include "kplug/backend/cuda/bert_cuda.cuh"
#include "kplug/conformance/batches.hpp"
#include "kplug/core/random.hpp"
#include "support/model_paths.hpp"

namespace kplug {
namespace {

conformance::test_batch long_ragged_batch(index_t vocab, index_t hidden) {
  conformance::test_batch b;
  xoshiro256 rng(5);
  for (const int len : {1, 300, 0, 40, 9}) {
    for (int i = 0; i < len; ++i) {
      b.token_ids.push_back(static_cast<token_id>(1 + rng.uniform() * double(vocab - 2)));
      b.position_ids.push_back(i);
      b.segment_ids.push_back(i > len / 2 ? 1 : 0);
      b.attention_mask.push_back(rng.uniform() < 0.15 ? 0 : 1);
    }
    b.offsets.push_back(static_cast<std::int32_t>(b.token_ids.size()));
  }
  b.attention_mask[0] = 0;  // the one-row sequence fully masked
  const std::int32_t s1 = b.offsets[1], last = b.offsets[b.offsets.size() - 2];
  b.slot_rows = {s1 + 5, s1 + 200, last + 1, s1 + 6};
  b.slot_entities = {0, 0, 0, 1};
  b.entities = conformance::random_matrix(3, hidden, 9);  // entity 2 in no slot
  return b;
}

TEST(CudaParityMiniLM, LongRaggedBatchMatchesTheCpuBackend) {
  if (cuda::device_count() == 0) GTEST_SKIP() << "no CUDA device is present: this test did not run";
  if (!kplug_test::have_minilm()) GTEST_SKIP() << "all-MiniLM-L6-v2 not found (scripts/fetch-model.sh)";
  backend::bert_cpu cpu(bert::load_checkpoint(kplug_test::minilm_dir()), {.threads = 2});
  backend::bert_cuda gpu(bert::load_checkpoint(kplug_test::minilm_dir()));
  const conformance::test_batch b = long_ragged_batch(cpu.vocab_size(), cpu.hidden_size());
  const std::int32_t s1 = b.offsets[1];
  for (const std::vector<std::int32_t>& positions :
       {std::vector<std::int32_t>{0, s1 + 5, s1 + 5, s1 + 100, b.tokens() - 1}, b.all_rows()}) {
    const auto yc = conformance::run_forward(cpu, b.input(), b.entities.view(), positions);
    const auto yg = conformance::run_forward(gpu, b.input(), b.entities.view(), positions);
    EXPECT_LE(conformance::max_scaled_difference(yg.view(), yc.view()), 1e-4);

    const auto grad_out = conformance::random_matrix(static_cast<index_t>(positions.size()), cpu.output_size(), 3);
    const auto gc = conformance::run_backward(cpu, b.input(), b.entities.view(), positions, grad_out.view());
    const auto gg = conformance::run_backward(gpu, b.input(), b.entities.view(), positions, grad_out.view());
    std::vector<double> reference;
    for (index_t r = 0; r < gc.rows(); ++r)
      for (const float x : gc.row(r)) reference.push_back(x);
    EXPECT_LE(conformance::relative_error(gg.view(), reference), 1e-4);
    for (const float x : gg.row(2)) EXPECT_EQ(x, 0.0f);  // in no slot: no gradient
  }
}

}  // namespace
}  // namespace kplug
