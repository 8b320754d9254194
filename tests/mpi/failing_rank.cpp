// A two-rank map-tuning job in which rank 1 fails at its 8th step, run by
// tests/mpi/expect_job_stops.sh through test_mpi's main:
//   test_mpi die DIR     rank 1 kills itself (SIGKILL), as a crash or the
//                        kernel's OOM killer would
//   test_mpi throw DIR   rank 1's backend throws a kplug::error
//   test_mpi verify DIR  (one process, no MPI) the plugin rank 0 wrote last,
//                        DIR/best.kplug, loads and holds the parameters that
//                        DIR/checkpoints.txt names last
// Rank 0 evaluates every 3 steps and, on a dev improvement, writes the
// plugin, then appends "<step> <parameter fingerprint>" to checkpoints.txt.
// The ranks move in lockstep (one reduction per step), so when rank 1
// fails in step 8, rank 0 has finished writing step 6's checkpoint.
#include <csignal>
#include <cstdio>
#include <fstream>
#include <kplug/core/xxh64.hpp>
#include <kplug/distributed/mpi.hpp>
#include <kplug/plugin/fingerprint.hpp>
#include <kplug/plugin/knowledge_plugin.hpp>
#include <string>
#include <vector>

#include "mpi/failing_rank.hpp"
#include "support/small_tuning.hpp"

namespace {

using namespace kplug_test::small_tuning;
namespace plugin = kplug::plugin;

constexpr int failing_step = 8;

// The mock, failing on purpose at one backward call.
struct failing_backend : kplug::backend::mock_backend {
  failing_backend(bool die, int fail_at) : mock_backend(make_model()), die_(die), fail_at_(fail_at) {}
  void backward(const kplug::model_input& in, kplug::matrix_view<const float> mapped,
                std::span<const std::int32_t> positions, kplug::matrix_view<const float> grad_out,
                kplug::matrix_view<float> grad_entities) {
    if (++calls_ == fail_at_) {
      if (die_) std::raise(SIGKILL);
      throw kplug::error("map-tuning step", "rank 1's backend", "injected failure at step " + std::to_string(calls_));
    }
    mock_backend::backward(in, mapped, positions, grad_out, grad_entities);
  }

 private:
  bool die_;
  int fail_at_;
  int calls_ = 0;
};

std::string parameters_fingerprint(kplug::map::any_mapper& m) {
  kplug::xxh64_stream h;
  for (const kplug::map::parameter& p : m.parameters()) h.update_u64(plugin::fingerprint_matrix(p.value));
  return plugin::format_fingerprint(h.digest());
}

int train_until_rank_1_fails(const kplug::distributed::mpi_context& context, bool die, const std::string& dir) {
  const auto kb = make_kb(5);
  const auto train_set = make_examples(40, 21), dev_set = make_examples(13, 22);
  failing_backend model(die, context.rank() == 1 ? failing_step : -1);
  auto mapper = make_mapper();
  auto o = options();
  o.batch_size = 10;  // every rank runs 5 examples in every step
  o.epochs = 5;
  train::map_tuner tuner(model, kb, mapper, make_planner(), o, train::squared_error{});
  tuner.on_reduce(kplug::distributed::allreduce_gradients(context));
  const auto meta = plugin::describe(mapper, make_planner().config().format, kb, model, "mock");
  tuner.on_checkpoint([&](kplug::map::any_mapper& best, const train::evaluation&) {
    plugin::save_knowledge_plugin(dir + "/best.kplug", meta, best);
    std::ofstream(dir + "/checkpoints.txt", std::ios::app)
        << tuner.optimizer().step_count() << ' ' << parameters_fingerprint(best) << '\n';
  });
  tuner.fit(train_set, dev_set);
  return 0;  // not reached: rank 1 fails first
}

int verify(const std::string& dir) {
  std::ifstream log(dir + "/checkpoints.txt");
  std::string step, fingerprint, last_step, last_fingerprint;
  while (log >> step >> fingerprint) last_step = step, last_fingerprint = fingerprint;
  if (last_fingerprint.empty()) {
    std::fprintf(stderr, "verify: rank 0 logged no checkpoint in %s\n", dir.c_str());
    return 1;
  }
  try {
    const auto kb = make_kb(5);
    const auto model = make_model();
    plugin::knowledge_plugin loaded = plugin::load_knowledge_plugin(dir + "/best.kplug", kb, model);
    const std::string got = parameters_fingerprint(loaded.mapper);
    if (got != last_fingerprint) {
      std::fprintf(stderr, "verify: best.kplug holds parameters %s, the last checkpoint (step %s) was %s\n",
                   got.c_str(), last_step.c_str(), last_fingerprint.c_str());
      return 1;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "verify: %s\n", e.what());
    return 1;
  }
  std::printf("verify: the checkpoint of step %s is intact\n", last_step.c_str());
  return 0;
}

}  // namespace

bool kplug_test::is_failing_rank_mode(std::string_view word) {
  return word == "die" || word == "throw" || word == "verify";
}

int kplug_test::failing_rank_main(int argc, char** argv) {
  const std::string mode = argc == 3 ? argv[1] : "", dir = argc == 3 ? argv[2] : "";
  if (mode == "verify") return verify(dir);
  if (mode != "die" && mode != "throw") {
    std::fprintf(stderr, "usage: test_mpi die|throw|verify DIR\n");
    return 2;
  }
  kplug::distributed::mpi_context context(argc, argv);
  return context.run([&] { return train_until_rank_1_fails(context, mode == "die", dir); });
}
