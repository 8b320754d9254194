// Runs kplug's backend interface on a third-party engine through an adapter:
// embeds two packed sentences, splices a knowledge row into the second one,
// runs forward at the [CLS] rows and backward to the spliced row, the
// gradient a mapping network would be trained with.
#include <cstdint>
#include <cstdio>
#include <kplug/backend/concepts.hpp>
#include <kplug/core/matrix_view.hpp>
#include <vector>

#include "toy_engine_backend.hpp"

namespace {

// kplug code is generic over the concept, not over the adapter.
template <kplug::model_backend Backend>
std::vector<float> outputs_at(Backend& backend, const kplug::encoder_input& in,
                              const std::vector<std::int32_t>& positions) {
  kplug::matrix<float> out(kplug::index_t(positions.size()), backend.output_size());
  backend.forward(in, positions, out);
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
  toy_engine_backend backend(engine);
  const auto labels = std::size_t(backend.output_size());

  // Two sequences packed into one batch: [CLS] 5 6 [SEP] and [CLS] 7 [SEP].
  const std::vector<kplug::token_id> ids = {1, 5, 6, 2, 1, 7, 2};
  kplug::matrix<float> rows(kplug::index_t(ids.size()), backend.hidden_size());
  backend.embed_tokens(ids, rows);
  std::vector<std::int32_t> offsets = {0, 4, 7}, position_ids = {0, 1, 2, 3, 0, 1, 2};
  std::vector<std::int32_t> segment_ids(ids.size(), 0);
  std::vector<std::uint8_t> mask(ids.size(), 1);
  const kplug::encoder_input plain{rows, offsets, position_ids, segment_ids, mask};
  const std::vector<std::int32_t> cls = {0, 4};
  print("[CLS] outputs, plain:", outputs_at(backend, plain, cls), labels);

  // Splice a knowledge row E before token 7 (the paper's "E / mention" minus
  // the "/" for brevity): one extra packed row, later positions shift by one.
  kplug::matrix<float> spliced(rows.rows() + 1, rows.cols());
  for (kplug::index_t r = 0, from = 0; r < spliced.rows(); ++r) {
    const bool entity = r == 5;
    for (kplug::index_t k = 0; k < spliced.cols(); ++k)
      spliced(r, k) = entity ? 0.1f * float(k) - 0.3f : rows(from, k);  // a made-up mapped entity
    if (!entity) ++from;
  }
  offsets = {0, 4, 8};
  position_ids = {0, 1, 2, 3, 0, 1, 2, 3};
  segment_ids.assign(8, 0);
  mask.assign(8, 1);
  const kplug::encoder_input injected{spliced, offsets, position_ids, segment_ids, mask};
  print("[CLS] outputs, entity injected:", outputs_at(backend, injected, cls), labels);

  // dL/d(entity row) for L = sum of the second [CLS] output.
  const std::vector<std::int32_t> second_cls = {4};
  kplug::matrix<float> grad_out(1, backend.output_size(), 1.0f), grad_in(spliced.rows(), spliced.cols());
  backend.backward(injected, second_cls, grad_out, grad_in);
  const auto entity_grad = grad_in.row(5);
  print("dL/d(entity row):", {entity_grad.begin(), entity_grad.end()}, entity_grad.size());
  return 0;
}
