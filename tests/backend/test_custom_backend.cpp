// The example backend of docs/writing-a-backend.md (examples/custom_backend):
// the user's part, toy_engine_rows, agrees with the engine it adapts when
// that engine is driven through its own API and its backward matches finite
// differences; kplug's rows adapter around it executes splice plans exactly
// as writing the entity rows by hand would. (The conformance suite runs on
// the whole backend in examples/custom_backend/conformance_test.cpp.)
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "../../examples/custom_backend/toy_engine_backend.hpp"
#include "kplug/backend/concepts.hpp"
#include "kplug/core/model_input.hpp"
#include "support/relative_error.hpp"

namespace {

using kplug::index_t;
using kplug::matrix;
using kplug::matrix_view;

static_assert(kplug::token_embedder<toy_engine_rows>);
static_assert(kplug::backend::rows_engine<toy_engine_rows>);
static_assert(kplug::backend::differentiable_rows_engine<toy_engine_rows>);
static_assert(!kplug::model_backend<toy_engine_rows>, "rows engines take rows, backends take plans");
static_assert(kplug::trainable_backend<toy_engine_backend>);
// The engine itself, with its own API, is no backend: that is why adapters exist.
static_assert(!kplug::token_embedder<toy::engine>);
static_assert(!kplug::backend::rows_engine<toy::engine>);

constexpr int kToyVocab = 40, kDim = 6, kLabels = 4, kMaxLen = 12;

// Three packed sequences (3, 5 and 2 tokens), shifted positions, both
// segments, masked-out tokens.
struct packed {
  std::vector<kplug::token_id> ids = {1, 9, 2, 1, 30, 31, 39, 2, 0, 5};
  std::vector<std::int32_t> offsets = {0, 3, 8, 10};
  std::vector<std::int32_t> position_ids = {0, 1, 2, 0, 1, 2, 3, 11, 4, 5};
  std::vector<std::int32_t> segment_ids = {0, 0, 0, 0, 0, 1, 1, 1, 1, 0};
  std::vector<std::uint8_t> mask = {1, 1, 1, 1, 0, 1, 1, 0, 1, 1};
  matrix<float> rows;

  kplug::encoder_input input() const { return {rows, offsets, position_ids, segment_ids, mask}; }
};

struct fixture : ::testing::Test {
  toy::engine engine{kToyVocab, kDim, kLabels, kMaxLen, 77};
  toy_engine_rows backend{engine};
  packed batch;

  void SetUp() override {
    batch.rows = matrix<float>(index_t(batch.ids.size()), kDim);
    backend.embed_tokens(batch.ids, batch.rows);
  }

  std::vector<float> forward(const std::vector<std::int32_t>& positions) {
    matrix<float> out(index_t(positions.size()), kLabels, -1.0f);
    backend.forward(batch.input(), positions, out);
    return {out.data(), out.data() + out.rows() * out.cols()};
  }

  std::vector<float> backward(const std::vector<std::int32_t>& positions, const matrix<float>& grad_out) {
    matrix<float> grad_in(batch.rows.rows(), kDim, -1.0f);
    backend.backward(batch.input(), positions, grad_out, grad_in);
    return {grad_in.data(), grad_in.data() + grad_in.rows() * grad_in.cols()};
  }
};

using CustomBackend = fixture;

TEST_F(CustomBackend, ReportsTheEngineSizes) {
  EXPECT_EQ(backend.hidden_size(), kDim);
  EXPECT_EQ(backend.vocab_size(), kToyVocab);
  EXPECT_EQ(backend.output_size(), kLabels);
}

TEST_F(CustomBackend, EmbedMatchesTheEngineLookupTransposed) {
  const toy::tensor cols = engine.lookup({1, 9, 2, 1, 30, 31, 39, 2, 0, 5});
  for (int t = 0; t < cols.cols; ++t)
    for (int k = 0; k < kDim; ++k) EXPECT_EQ(batch.rows(t, k), cols.at(k, t)) << t << "," << k;
  EXPECT_NE(batch.rows(0, 0), batch.rows(1, 0));
}

TEST_F(CustomBackend, ForwardMatchesTheEngineDrivenThroughItsOwnApi) {
  // Every packed row, scrambled, one repeated.
  const std::vector<std::int32_t> positions = {9, 0, 4, 3, 8, 1, 2, 5, 6, 7, 4};
  const std::vector<float> got = forward(positions);
  for (std::size_t s = 0; s + 1 < batch.offsets.size(); ++s) {
    const int begin = batch.offsets[s], n = batch.offsets[s + 1] - begin;
    toy::tensor x(kDim, n);
    std::vector<int> pos, seg;
    std::vector<float> mask;
    for (int t = 0; t < n; ++t) {
      for (int k = 0; k < kDim; ++k) x.at(k, t) = batch.rows(begin + t, k);
      pos.push_back(batch.position_ids[std::size_t(begin + t)]);
      seg.push_back(batch.segment_ids[std::size_t(begin + t)]);
      mask.push_back(float(batch.mask[std::size_t(begin + t)]));
    }
    const toy::tensor y = engine.encode(x, pos, seg, mask);
    for (std::size_t r = 0; r < positions.size(); ++r)
      if (positions[r] >= begin && positions[r] < begin + n) {
        for (int o = 0; o < kLabels; ++o)
          EXPECT_EQ(got[r * kLabels + std::size_t(o)], y.at(o, positions[r] - begin))
              << "row " << positions[r];
      }
  }
}

using kplug_test::relative_error;

TEST_F(CustomBackend, BackwardMatchesCentralDifferences) {
  const std::vector<std::int32_t> positions = {0, 4, 5, 5, 9};  // sequence 2's row 7 unasked, 5 repeated
  matrix<float> grad_out(index_t(positions.size()), kLabels);
  for (index_t r = 0; r < grad_out.rows(); ++r)
    for (index_t o = 0; o < kLabels; ++o) grad_out(r, o) = std::sin(float(3 * r + o + 1));
  const std::vector<float> grad = backward(positions, grad_out);
  auto loss = [&] {
    const std::vector<float> y = forward(positions);
    double l = 0;
    for (std::size_t i = 0; i < y.size(); ++i) l += double(grad_out.data()[i]) * double(y[i]);
    return l;
  };
  // Float engine: step 1e-2 balances truncation (~eps^2) against float
  // rounding (~1e-7 / eps); measured ~1e-5, bounded at 2e-4.
  const float eps = 1e-2f;
  std::vector<double> fd(grad.size());
  for (std::size_t e = 0; e < fd.size(); ++e) {
    float& x = batch.rows.data()[e];
    const float keep = x;
    x = keep + eps;
    const double up = loss();
    x = keep - eps;
    const double down = loss();
    x = keep;
    fd[e] = (up - down) / (2.0 * double(eps));
  }
  EXPECT_LT(relative_error(grad, fd), 2e-4);
  // Masked-out row 4 is asked for, so it has a gradient; masked-out row 7 is
  // neither asked for nor in the mean: exactly zero.
  for (int k = 0; k < kDim; ++k) EXPECT_EQ(grad[std::size_t(7 * kDim + k)], 0.0f);
}

TEST_F(CustomBackend, BackwardDoesNotDependOnWhatWasEncodedBefore) {
  // The engine's backward reads activations of its LAST encode; the adapter
  // must refresh them per sequence, whatever ran before.
  const std::vector<std::int32_t> positions = {1, 6};
  const matrix<float> grad_out(2, kLabels, 0.5f);
  const std::vector<float> fresh = backward(positions, grad_out);
  forward({9});  // leaves sequence 3's activations in the engine
  EXPECT_EQ(backward(positions, grad_out), fresh);
  double norm = 0;
  for (float v : fresh) norm += std::abs(v);
  EXPECT_GT(norm, 1e-3);
}

TEST_F(CustomBackend, InjectedRowReachesOnlyItsSequence) {
  const std::vector<std::int32_t> positions = {0, 3, 8};
  const std::vector<float> before = forward(positions);
  for (int k = 0; k < kDim; ++k) batch.rows(5, k) = 0.3f;  // a spliced entity row in sequence 2
  const std::vector<float> after = forward(positions);
  for (int o = 0; o < kLabels; ++o) {
    EXPECT_EQ(after[std::size_t(o)], before[std::size_t(o)]);                              // sequence 1
    EXPECT_NE(after[std::size_t(kLabels + o)], before[std::size_t(kLabels + o)]);          // sequence 2
    EXPECT_EQ(after[std::size_t(2 * kLabels + o)], before[std::size_t(2 * kLabels + o)]);  // sequence 3
  }
}

TEST_F(CustomBackend, TheRowsAdapterSplicesAsWritingTheRowsByHandWould) {
  // Slots at rows 1 and 5 (entity 0) and 8 (entity 1): the adapter embeds
  // every token, then writes the entity rows over the slots.
  const std::vector<std::int32_t> slot_rows = {1, 5, 8}, slot_entities = {0, 0, 1};
  matrix<float> entities(2, kDim);
  for (index_t k = 0; k < kDim; ++k) {
    entities(0, k) = 0.1f * float(k) - 0.2f;
    entities(1, k) = 0.3f - 0.05f * float(k);
  }
  const kplug::model_input in{batch.offsets,    batch.ids, batch.position_ids, batch.segment_ids,
                              batch.mask,       slot_rows, slot_entities};
  for (std::size_t i = 0; i < slot_rows.size(); ++i)
    for (index_t k = 0; k < kDim; ++k) batch.rows(slot_rows[i], k) = entities(slot_entities[i], k);
  toy_engine_backend adapter{toy_engine_rows{engine}};
  const std::vector<std::int32_t> positions = {0, 3, 5, 9, 9};
  matrix<float> out(index_t(positions.size()), kLabels);
  adapter.forward(in, entities, positions, out);
  EXPECT_EQ(std::vector<float>(out.data(), out.data() + out.rows() * kLabels), forward(positions));

  matrix<float> grad_out(index_t(positions.size()), kLabels), grad_entities(2, kDim, -1.0f);
  for (index_t r = 0; r < grad_out.rows(); ++r)
    for (index_t o = 0; o < kLabels; ++o) grad_out(r, o) = std::cos(float(r + 2 * o));
  adapter.backward(in, entities, positions, grad_out, grad_entities);
  const std::vector<float> grad_rows = backward(positions, grad_out);
  for (index_t k = 0; k < kDim; ++k) {
    EXPECT_FLOAT_EQ(grad_entities(0, k), grad_rows[std::size_t(1 * kDim + k)] + grad_rows[std::size_t(5 * kDim + k)]);
    EXPECT_FLOAT_EQ(grad_entities(1, k), grad_rows[std::size_t(8 * kDim + k)]);
  }
}

// Bad input is stopped by the adapter before the engine could read out of bounds.
template <class F>
void expect_error(F&& f, const std::string& where) {
  try {
    f();
    ADD_FAILURE() << "accepted: " << where;
  } catch (const kplug::error& e) {
    EXPECT_EQ(e.where(), where) << e.what();
  }
}

TEST_F(CustomBackend, RejectsBadInput) {
  matrix<float> out(1, kLabels), grad_in(batch.rows.rows(), kDim);
  const matrix<float> grad_out(1, kLabels, 1.0f);
  const std::vector<std::int32_t> one = {0};
  matrix<float> row(1, kDim);
  expect_error([&] { backend.embed_tokens(std::vector<kplug::token_id>{kToyVocab}, row); }, "ids[0]");
  expect_error([&] { backend.embed_tokens(std::vector<kplug::token_id>{-3}, row); }, "ids[0]");
  expect_error([&] { backend.embed_tokens(std::vector<kplug::token_id>{1, 2}, row); }, "out");

  packed bad = batch;
  bad.segment_ids[2] = 2;
  expect_error([&] { backend.forward(bad.input(), one, out); }, "encoder_input.segment_ids[2]");
  expect_error([&] { backend.backward(bad.input(), one, grad_out, grad_in); },
               "encoder_input.segment_ids[2]");
  bad = batch;
  bad.position_ids[7] = kMaxLen;
  expect_error([&] { backend.forward(bad.input(), one, out); }, "encoder_input.position_ids[7]");
  bad = batch;
  bad.offsets = {0, 3, 8};
  expect_error([&] { backend.forward(bad.input(), one, out); }, "offsets");
  const std::vector<std::int32_t> outside = {10};
  expect_error([&] { backend.forward(batch.input(), outside, out); }, "positions[0]");
  expect_error([&] { backend.backward(batch.input(), outside, grad_out, grad_in); }, "positions[0]");
  matrix<float> wide(1, kLabels + 1), short_grad_in(3, kDim);
  expect_error([&] { backend.forward(batch.input(), one, wide); }, "out");
  expect_error([&] { backend.backward(batch.input(), one, wide, grad_in); }, "grad_out");
  expect_error([&] { backend.backward(batch.input(), one, grad_out, short_grad_in); }, "grad_in");
}

}  // namespace
