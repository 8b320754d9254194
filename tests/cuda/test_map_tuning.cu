// Map-tuning on the GPU: the same tuning through bert_cuda and through
// bert_cpu (the task of tests/bert/test_map_tuning.cpp: a masked word whose
// identity only the knowledge base tells) gives the same loss curve and the
// same mapper, within float rounding. Skipped, saying so, without a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <span>
#include <string>
#include <vector>

#include "kplug/backend/bert_cpu.hpp"
#include "kplug/backend/cuda/bert_cuda.cuh"
#include "kplug/core/random.hpp"
#include "kplug/kb/knowledge_base.hpp"
#include "kplug/map/mapper.hpp"
#include "kplug/train/map_tuner.hpp"
#include "support/model_paths.hpp"

namespace {

using kplug::index_t;

// "E" + number, spelled out: GCC 12 warns falsely (-Wrestrict) on a literal + std::to_string.
std::string entity_name(int row) {
  std::string s = "E";
  s += std::to_string(row);
  return s;
}

struct tuning_task {
  kplug::kb::knowledge_base kb;
  std::vector<kplug::train::example> data;
};

tuning_task make_task() {
  constexpr index_t d_kb = 8, entities = 12;
  constexpr kplug::token_id cls = 101, sep = 102, mask = 103;
  kplug::xoshiro256 rng(3);
  kplug::matrix<float> vectors(entities, d_kb);
  for (index_t r = 0; r < entities; ++r)
    for (float& v : vectors.row(r)) v = static_cast<float>(rng.uniform() * 2 - 1);
  kplug::kb::entity_index names;
  for (index_t r = 0; r < entities; ++r) names.add(entity_name(static_cast<int>(r)), r);
  tuning_task t{kplug::kb::knowledge_base("toy", std::move(names), kplug::kb::embedding_table(std::move(vectors))), {}};
  for (int i = 0; i < 64; ++i) {
    const int e = i % entities;
    kplug::train::example ex;
    ex.tokens = {{cls, 300 + i % 7, 400 + i % 5, mask, 500 + i % 3, sep}, {-1, 0, 1, 2, 3, -1}, {}};
    ex.mentions = {{{2, 3}, entity_name(e)}};
    ex.rows = {e};
    ex.targets = {{.token = -1, .mention = 0, .label = 200 + e % 6, .values = {}}};
    t.data.push_back(std::move(ex));
  }
  return t;
}

template <class Backend>
std::vector<double> loss_curve(Backend& model, const tuning_task& t, std::vector<float>& weight) {
  kplug::map::any_mapper mapper = kplug::map::make_mapper("affine", 8, model.hidden_size());
  kplug::train::tuning_options options;
  options.batch_size = 16;
  options.optimizer.lr = 3e-2;
  options.shuffle = false;
  kplug::train::map_tuner tuner(model, t.kb, mapper,
                                kplug::splice::planner({.format = kplug::splice::splice_format::entity_slash_mention(13)}),
                                options);
  std::vector<double> losses;
  std::vector<const kplug::train::example*> batch;
  for (int epoch = 0; epoch < 5; ++epoch)
    for (std::size_t first = 0; first < t.data.size(); first += 16) {
      batch.clear();
      for (std::size_t i = first; i < first + 16; ++i) batch.push_back(&t.data[i]);
      losses.push_back(tuner.step(batch));
    }
  const auto w = mapper.parameters()[0].value;
  weight.clear();
  for (index_t r = 0; r < w.rows(); ++r) weight.insert(weight.end(), w.row(r).begin(), w.row(r).end());
  return losses;
}

TEST(CudaMapTuning, FollowsTheCpuLossCurve) {
  if (kplug::cuda::device_count() == 0) GTEST_SKIP() << "no CUDA device is present: this test did not run";
  const tuning_task t = make_task();
  kplug::backend::bert_cpu cpu(kplug::bert::load_checkpoint(kplug_test::fixture("tiny_mlm")), {.threads = 2});
  kplug::backend::bert_cuda gpu(kplug::bert::load_checkpoint(kplug_test::fixture("tiny_mlm")));
  std::vector<float> w_cpu, w_gpu;
  const std::vector<double> on_cpu = loss_curve(cpu, t, w_cpu), on_gpu = loss_curve(gpu, t, w_gpu);
  ASSERT_EQ(on_cpu.size(), on_gpu.size());
  for (std::size_t k = 0; k < on_cpu.size(); ++k)
    EXPECT_NEAR(on_gpu[k], on_cpu[k], 1e-3 * std::abs(on_cpu[k])) << "step " << k;
  EXPECT_LT(on_cpu.back(), 0.9 * on_cpu.front()) << "the task must actually be learnt for the curves to mean much";
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < w_cpu.size(); ++i) {
    diff += (w_gpu[i] - w_cpu[i]) * double(w_gpu[i] - w_cpu[i]);
    norm += w_cpu[i] * double(w_cpu[i]);
  }
  EXPECT_LT(std::sqrt(diff / norm), 1e-3);
}

}  // namespace
