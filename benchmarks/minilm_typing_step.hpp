// The map-tuning step that bench_tuning_step and mpi_tuning_step time: the
// real all-MiniLM-L6-v2 on the CPU backend with a random token-classification
// head (the typing task, 26 labels, read at one mention per example), batch
// 64, spliced length 64 (bench_support.hpp's examples), a random 20,000 x 128
// knowledge base and a d_kb 128 affine plugin, trained with Adam at lr 1e-4.
//
// Environment: KPLUG_MINILM_DIR (default ~/.cache/kplug/all-MiniLM-L6-v2).
#pragma once

#include <cstdlib>
#include <kplug/backend/bert_cpu.hpp>
#include <kplug/core/random.hpp>
#include <kplug/map/mapper.hpp>
#include <kplug/train/map_tuner.hpp>
#include <string>
#include <vector>

#include "bench_support.hpp"

namespace kplug_bench {

inline std::string minilm_dir() {
  if (const char* d = std::getenv("KPLUG_MINILM_DIR")) return d;
  const char* home = std::getenv("HOME");
  return std::string(home ? home : ".") + "/.cache/kplug/all-MiniLM-L6-v2";
}

struct minilm_typing_step {
  static constexpr index_t d_kb = 128, entities = 20000;
  static constexpr std::int32_t labels = 26;

  // threads: bert_cpu's (0: one per hardware thread).
  explicit minilm_typing_step(int threads)
      : model(kplug::bert::load_checkpoint(minilm_dir()), kplug::backend::bert_cpu_options{.threads = threads}),
        kb(random_knowledge_base(entities, d_kb)),
        data(tuning_step_examples(entities, labels)),
        mapper(kplug::map::make_mapper("affine", d_kb, model.hidden_size())),
        tuner(model, kb, mapper,
              kplug::splice::planner({.format = kplug::splice::splice_format::entity_slash_mention(1013)}),
              options(), kplug::train::cross_entropy{}) {
    kplug::xoshiro256 rng(3);
    head = kplug::matrix<float>(labels, model.hidden_size());
    for (index_t r = 0; r < labels; ++r)
      for (float& v : head.row(r)) v = static_cast<float>(rng.uniform() - 0.5) * 0.1f;
    bias.assign(labels, 0.0f);
    model.set_classifier(kplug::bert::classification_head(std::nullopt, {head.view(), bias}));
    for (const auto& e : data) batch.push_back(&e);
  }

  static kplug::train::tuning_options options() {
    kplug::train::tuning_options o;
    o.optimizer.lr = 1e-4;
    return o;
  }

  // The head's weights, which the model views.
  kplug::matrix<float> head;
  std::vector<float> bias;
  kplug::backend::bert_cpu model;
  kplug::kb::knowledge_base kb;
  std::vector<kplug::train::example> data;
  kplug::map::any_mapper mapper;
  kplug::train::map_tuner<kplug::backend::bert_cpu, kplug::map::any_mapper> tuner;
  std::vector<const kplug::train::example*> batch;  // all of data: one step
};

}  // namespace kplug_bench
