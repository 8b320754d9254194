// Runs kplug's backend interface on a third-party engine: kplug plans a
// packed batch of two sentences, splicing a knowledge row in front of a
// mention of the second ("E / mention"), and the engine, through kplug's
// rows adapter, runs forward at the [CLS] rows and backward to the entity
// row: the gradient a mapping network would be trained with.
#include <cstdint>
#include <cstdio>
#include <kplug/backend/concepts.hpp>
#include <kplug/core/matrix_view.hpp>
#include <kplug/splice/batch.hpp>
#include <kplug/splice/planner.hpp>
#include <vector>

#include "toy_engine_backend.hpp"

namespace {

// kplug code is generic over the concept, not over the adapter.
template <kplug::model_backend Backend>
std::vector<float> outputs_at(Backend& backend, const kplug::model_input& in, const kplug::matrix<float>& entities,
                              const std::vector<std::int32_t>& positions) {
  kplug::matrix<float> out(kplug::index_t(positions.size()), backend.output_size());
  backend.forward(in, entities, positions, out);
  return {out.data(), out.data() + out.rows() * out.cols()};
}

void print(const char* label, const std::vector<float>& v, std::size_t width) {
  std::printf("%-34s", label);
  for (std::size_t i = 0; i < v.size(); ++i)
    std::printf("%s%+.4f", i % width == 0 && i ? "  |  " : " ", v[i]);
  std::printf("\n");
}

}  // namespace

int main() {
  toy::engine engine(/*vocab=*/30, /*dim=*/8, /*labels=*/3, /*max_len=*/16, /*seed=*/2024);
  toy_engine_backend backend(toy_engine_rows{engine});  // kplug's adapter around yours
  const auto labels = std::size_t(backend.output_size());

  // [CLS] 5 6 [SEP] and [CLS] 7 [SEP], where word 0 of the second ("7") is
  // a mention of an entity: it becomes [CLS] E / 7 [SEP].
  const kplug::token_id cls = 1, sep = 2, slash = 3;
  const kplug::splice::planner planner({.format = kplug::splice::splice_format::entity_slash_mention(slash)});
  const std::vector<kplug::mention> mentions = {{{0, 1}, "Q42"}};
  const std::vector<kplug::row_index> kb_rows = {0};
  const std::vector<kplug::splice::splice_plan> plans = {
      planner.build({{cls, 5, 6, sep}, {-1, 0, 1, -1}, {}}, {}, {}),
      planner.build({{cls, 7, sep}, {-1, 0, -1}, {}}, mentions, kb_rows),
  };
  const kplug::splice::packed_plan batch = kplug::splice::pack(plans);  // one ragged batch of 4 + 5 rows

  // The mapped entity row (what a mapping network would produce).
  kplug::matrix<float> entity(batch.entities(), backend.hidden_size());
  for (kplug::index_t k = 0; k < entity.cols(); ++k) entity(0, k) = 0.1f * float(k) - 0.3f;
  const std::vector<std::int32_t> cls_rows = {0, batch.layout.offsets[1]};
  print("[CLS] outputs, entity injected:", outputs_at(backend, batch.input(), entity, cls_rows), labels);
  for (float& v : entity.row(0)) v = -v;
  print("[CLS] outputs, another entity:", outputs_at(backend, batch.input(), entity, cls_rows), labels);

  // dL/d(entity row) for L = sum of the second [CLS] output.
  const std::vector<std::int32_t> second_cls = {batch.layout.offsets[1]};
  kplug::matrix<float> grad_out(1, backend.output_size(), 1.0f), grad_entity(1, backend.hidden_size());
  backend.backward(batch.input(), entity, second_cls, grad_out, grad_entity);
  const auto g = grad_entity.row(0);
  print("dL/d(entity row):", {g.begin(), g.end()}, g.size());
  return 0;
}
