// Tests of kplug::backend::mock_backend against an independent double-precision
// re-implementation of its documented model (backend/mock_reference.hpp),
// plus what only the mock has: its hash, its configuration and its call log.
// What every backend must do is the conformance suite's (test_conformance.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "backend/mock_reference.hpp"
#include "kplug/backend/mock.hpp"
#include "support/relative_error.hpp"

namespace {

using kplug::index_t;
using kplug::matrix;
using kplug::matrix_view;
using kplug::backend::mock_backend;
using kplug::backend::mock_call_kind;
using kplug::backend::mock_config;

using kplug::test::ref_mix;
using kplug::test::ref_u;
using kplug::test::reference_model;

// A packed batch owned by the test whose rows are all entity slots (row i
// takes entity row i), so that a test controls every input row x_i.
struct batch {
  index_t hidden = 0;
  std::vector<float> x;  // tokens x hidden
  std::vector<std::int32_t> offsets{0};
  std::vector<std::int32_t> position_ids, segment_ids;
  std::vector<std::uint8_t> mask;
  std::vector<kplug::token_id> token_ids;
  std::vector<std::int32_t> slots;  // 0, 1, ..., tokens - 1

  index_t tokens() const { return index_t(position_ids.size()); }
  kplug::model_input input() const {
    return {offsets, token_ids, position_ids, segment_ids, mask, slots, slots};
  }
  matrix_view<const float> entities() const { return {x.data(), tokens(), hidden}; }
  kplug::test::reference_layout layout() const { return {offsets, position_ids, segment_ids, mask}; }
  float& at(index_t i, index_t k) { return x[std::size_t(i * hidden + k)]; }
};

// Token id 0 under every row; row i is filled by entity row i (x_i).
void every_row_a_slot(batch& b) {
  b.token_ids.assign(std::size_t(b.tokens()), 0);
  b.slots.clear();
  for (index_t i = 0; i < b.tokens(); ++i) b.slots.push_back(std::int32_t(i));
}

std::vector<double> reference_forward(const reference_model& m, const batch& in, const std::vector<double>& x,
                                      const std::vector<std::int32_t>& positions) {
  return kplug::test::reference_forward(m, in.layout(), x, positions);
}

std::vector<double> as_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

constexpr index_t kMockVocab = 50, kMockHidden = 8, kMockOutput = 5, kMockMaxPos = 16;
constexpr std::uint64_t kMockSeed = 42;

mock_backend make_mock(std::uint64_t seed = kMockSeed) {
  return mock_backend(kMockVocab, kMockHidden, kMockOutput, kMockMaxPos, seed);
}

// Three sequences (4, 0 and 5 tokens) with shifted positions, both segments,
// and masked-out tokens; rows are word embeddings of the ids below.
batch make_batch(const mock_backend& m) {
  batch b;
  b.hidden = m.hidden_size();
  const std::vector<kplug::token_id> ids = {1, 7, 7, 2, 3, 49, 0, 11, 2};
  b.offsets = {0, 4, 4, 9};
  b.position_ids = {0, 1, 2, 3, 2, 3, 4, 5, 15};
  b.segment_ids = {0, 0, 1, 1, 0, 0, 0, 1, 1};
  b.mask = {1, 1, 1, 0, 1, 0, 1, 1, 1};
  b.x.resize(ids.size() * std::size_t(b.hidden));
  m.embed_tokens(ids, matrix_view<float>(b.x.data(), index_t(ids.size()), b.hidden));
  every_row_a_slot(b);
  return b;
}

std::vector<float> run_forward(mock_backend& m, const batch& b, const std::vector<std::int32_t>& positions) {
  std::vector<float> out(positions.size() * std::size_t(m.output_size()), -777.0f);
  m.forward(b.input(), b.entities(), positions,
            matrix_view<float>(out.data(), index_t(positions.size()), m.output_size()));
  return out;
}

std::vector<float> run_backward(mock_backend& m, const batch& b, const std::vector<std::int32_t>& positions,
                                const std::vector<float>& grad_out) {
  std::vector<float> grad_in(b.x.size(), -777.0f);
  m.backward(b.input(), b.entities(), positions,
             matrix_view<const float>(grad_out.data(), index_t(positions.size()), m.output_size()),
             matrix_view<float>(grad_in.data(), b.tokens(), m.hidden_size()));
  return grad_in;
}

// A fixed, sign-varied upstream gradient.
std::vector<float> make_grad_out(std::size_t rows, index_t cols) {
  std::vector<float> g(rows * std::size_t(cols));
  for (std::size_t i = 0; i < g.size(); ++i) g[i] = float(ref_u(7, 9, i, 0));
  return g;
}

// ------------------------------------------------------------ hash, config

TEST(MockBackend, ReferenceHashIsSplitMix64) {
  // Published first output of SplitMix64 seeded with 0 (Vigna's reference code).
  EXPECT_EQ(ref_mix(0), 0xe220a8397b1dcdafULL);
}

TEST(MockBackend, UniformMatchesValuesFromAnIndependentPythonImplementation) {
  using kplug::backend::mock_table;
  using kplug::backend::mock_uniform;
  // Computed with Python integers from the formula in mock.hpp.
  EXPECT_EQ(mock_uniform(0, mock_table::word, 0, 0), -6213516.0f / 8388608.0f);
  EXPECT_EQ(mock_uniform(42, mock_table::word, 7, 3), 752721.0f / 8388608.0f);
  EXPECT_EQ(mock_uniform(42, mock_table::output_weight, 2, 15), -4655167.0f / 8388608.0f);
  EXPECT_EQ(mock_uniform(~std::uint64_t{0}, mock_table::position, 511, 767), 6679681.0f / 8388608.0f);
  EXPECT_EQ(mock_uniform(123456789, mock_table::hidden_weight, 1, 0), -2197523.0f / 8388608.0f);
  static_assert(mock_uniform(0, mock_table::word, 0, 0) == -6213516.0f / 8388608.0f,
                "usable at compile time");
}

TEST(MockBackend, RejectsNonPositiveConfiguration) {
  const mock_config good{10, 4, 3, 8, 1};
  auto expect_bad = [&](mock_config c, const char* field) {
    try {
      mock_backend m(c);
      ADD_FAILURE() << field << " was accepted";
    } catch (const kplug::error& e) {
      EXPECT_EQ(e.where(), field);
    }
  };
  mock_config c = good;
  c.vocab_size = 0;
  expect_bad(c, "mock_config.vocab_size");
  c = good;
  c.hidden_size = -1;
  expect_bad(c, "mock_config.hidden_size");
  c = good;
  c.output_size = 0;
  expect_bad(c, "mock_config.output_size");
  c = good;
  c.max_positions = 0;
  expect_bad(c, "mock_config.max_positions");
  c = good;
  c.segment_types = 0;
  expect_bad(c, "mock_config.segment_types");
  EXPECT_NO_THROW(mock_backend{good});
}

TEST(MockBackend, ReportsItsConfiguration) {
  const mock_backend m(mock_config{10, 4, 3, 8, 99, 3, 5});
  EXPECT_EQ(m.vocab_size(), 10);
  EXPECT_EQ(m.hidden_size(), 4);
  EXPECT_EQ(m.output_size(), 3);
  EXPECT_EQ(m.max_positions(), 8);
  EXPECT_EQ(m.seed(), 99u);
  EXPECT_EQ(m.segment_types(), 3);
  EXPECT_EQ(m.config().max_logged_calls, 5u);
}

// --------------------------------------------------------------- embedding

TEST(MockBackend, EmbedRowsFollowTheDocumentedHash) {
  const mock_backend m = make_mock();
  const std::vector<kplug::token_id> ids = {0, 5, kMockVocab - 1, 5};
  matrix<float> out(4, kMockHidden);
  m.embed_tokens(ids, out);
  for (std::size_t i = 0; i < ids.size(); ++i)
    for (index_t k = 0; k < kMockHidden; ++k) {
      EXPECT_EQ(double(out(index_t(i), k)), ref_u(kMockSeed, 0, std::uint64_t(ids[i]), std::uint64_t(k)));
      EXPECT_GE(out(index_t(i), k), -1.0f);
      EXPECT_LT(out(index_t(i), k), 1.0f);
    }
  EXPECT_NE(out(0, 0), out(1, 0));
}

TEST(MockBackend, EmbedWritesThroughStridedViews) {
  const mock_backend m = make_mock();
  const std::vector<kplug::token_id> ids = {3, 4};
  std::vector<float> buf(2 * (kMockHidden + 3), -5.0f);
  m.embed_tokens(ids, matrix_view<float>(buf.data(), 2, kMockHidden, kMockHidden + 3));
  for (index_t k = 0; k < kMockHidden; ++k)
    EXPECT_EQ(double(buf[std::size_t(kMockHidden + 3 + k)]), ref_u(kMockSeed, 0, 4, std::uint64_t(k)));
  for (index_t k = kMockHidden; k < kMockHidden + 3; ++k) EXPECT_EQ(buf[std::size_t(k)], -5.0f);  // padding untouched
}

TEST(MockBackend, EmbedRejectsIdsOutsideTheVocabulary) {
  const mock_backend m = make_mock();
  matrix<float> out(3, kMockHidden, 9.0f);
  for (kplug::token_id bad : {kplug::token_id(kMockVocab), kplug::token_id(-1)}) {
    const std::vector<kplug::token_id> ids = {1, 2, bad};
    try {
      m.embed_tokens(ids, out);
      ADD_FAILURE() << "id " << bad << " accepted";
    } catch (const kplug::error& e) {
      EXPECT_EQ(e.where(), "ids[2]");
      EXPECT_NE(e.why().find(std::to_string(bad)), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(out(0, 0), 9.0f) << "nothing is written before the ids are checked";
  EXPECT_EQ(m.calls().embed_tokens, 0u) << "failed calls are not recorded";
}

TEST(MockBackend, EmbedRejectsAWrongOutputShape) {
  const mock_backend m = make_mock();
  const std::vector<kplug::token_id> ids = {1, 2};
  matrix<float> rows(3, kMockHidden), cols(2, kMockHidden + 1);
  EXPECT_THROW(m.embed_tokens(ids, rows), kplug::error);
  try {
    m.embed_tokens(ids, cols);
    ADD_FAILURE();
  } catch (const kplug::error& e) {
    EXPECT_EQ(e.where(), "out");
  }
}

// ------------------------------------------------------------------ forward

TEST(MockBackend, ForwardMatchesTheReferenceModel) {
  mock_backend m = make_mock();
  const batch b = make_batch(m);
  // Out of order and repeated, over all three (one empty) sequences.
  const std::vector<std::int32_t> positions = {8, 0, 3, 4, 4, 6};
  const std::vector<float> y = run_forward(m, b, positions);
  const std::vector<double> want =
      reference_forward(reference_model{kMockHidden, kMockOutput, kMockSeed}, b, as_double(b.x), positions);
  ASSERT_EQ(y.size(), want.size());
  for (std::size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], want[i], 1e-5) << "element " << i;
  // Not a degenerate model: outputs vary and are not tiny.
  double norm = 0;
  for (double v : want) norm += v * v;
  EXPECT_GT(std::sqrt(norm / double(want.size())), 0.05);
}

TEST(MockBackend, ForwardMatchesTheReferenceWithManySegmentTypesAndLargerSizes) {
  mock_backend m(mock_config{300, 24, 7, 40, 5, 4});
  batch b;
  b.hidden = 24;
  const std::vector<kplug::token_id> ids = {299, 1, 2, 3, 150, 151, 152};
  b.offsets = {0, 3, 7};
  b.position_ids = {39, 0, 1, 10, 11, 11, 12};
  b.segment_ids = {3, 2, 1, 0, 1, 2, 3};
  b.mask = {1, 1, 1, 1, 1, 1, 1};
  b.x.resize(ids.size() * 24);
  m.embed_tokens(ids, matrix_view<float>(b.x.data(), 7, 24));
  every_row_a_slot(b);
  const std::vector<std::int32_t> positions = {0, 1, 2, 3, 4, 5, 6};
  const std::vector<float> y = run_forward(m, b, positions);
  const auto want = reference_forward(reference_model{24, 7, 5}, b, as_double(b.x), positions);
  for (std::size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], want[i], 1e-5) << "element " << i;
}

TEST(MockBackend, SameSeedGivesIdenticalOutputsAndOtherSeedsDiffer) {
  mock_backend a = make_mock(), b = make_mock(), c = make_mock(kMockSeed + 1);
  const batch in = make_batch(a);
  const std::vector<std::int32_t> positions = {0, 4, 8};
  EXPECT_EQ(run_forward(a, in, positions), run_forward(b, in, positions));  // bitwise
  const std::vector<float> ya = run_forward(a, in, positions), yc = run_forward(c, in, positions);
  std::size_t differing = 0;
  for (std::size_t i = 0; i < ya.size(); ++i) differing += ya[i] != yc[i];
  EXPECT_EQ(differing, ya.size());
  matrix<float> ea(1, kMockHidden), ec(1, kMockHidden);
  const std::vector<kplug::token_id> id = {3};
  a.embed_tokens(id, ea);
  c.embed_tokens(id, ec);
  EXPECT_NE(ea(0, 0), ec(0, 0));
}

TEST(MockBackend, MovingASequenceBoundaryChangesOutputs) {
  mock_backend m = make_mock();
  batch b = make_batch(m);
  const std::vector<std::int32_t> positions = {0, 3};
  const std::vector<float> y = run_forward(m, b, positions);
  b.offsets = {0, 5, 5, 9};  // an off-by-one packing bug
  EXPECT_NE(run_forward(m, b, positions), y);
}

TEST(MockBackend, MaskingATokenChangesTheOtherTokensOutputs) {
  mock_backend m = make_mock();
  batch b = make_batch(m);
  const std::vector<std::int32_t> positions = {0, 1, 2, 3};
  const std::vector<float> y = run_forward(m, b, positions);
  b.mask[1] = 0;
  const std::vector<float> masked = run_forward(m, b, positions);
  for (std::size_t r = 0; r < positions.size(); ++r) EXPECT_NE(masked[r * kMockOutput], y[r * kMockOutput]);
  // A masked-out token's own value still does not enter the context.
  const std::vector<float> before = run_forward(m, b, {0});
  b.at(1, 2) += 1.0f;
  EXPECT_EQ(run_forward(m, b, {0}), before);
}

TEST(MockBackend, AFullyMaskedSequenceHasNoContext) {
  mock_backend m = make_mock();
  batch b = make_batch(m);
  b.mask = {0, 0, 0, 0, 1, 0, 1, 1, 1};
  const std::vector<std::int32_t> positions = {0, 2, 5};
  const std::vector<float> y = run_forward(m, b, positions);
  const auto want = reference_forward(reference_model{kMockHidden, kMockOutput, kMockSeed}, b, as_double(b.x), positions);
  for (std::size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], want[i], 1e-5);
}

TEST(MockBackend, ForwardReadsStridedInputsAndWritesStridedOutputs) {
  mock_backend m = make_mock();
  const batch b = make_batch(m);
  const std::vector<std::int32_t> positions = {0, 5, 8};
  const std::vector<float> dense = run_forward(m, b, positions);

  const index_t in_stride = kMockHidden + 2, out_stride = kMockOutput + 1;
  std::vector<float> x(std::size_t(b.tokens() * in_stride), 1e6f);
  for (index_t i = 0; i < b.tokens(); ++i)
    for (index_t k = 0; k < kMockHidden; ++k)
      x[std::size_t(i * in_stride + k)] = b.x[std::size_t(i * kMockHidden + k)];
  std::vector<float> out(3 * std::size_t(out_stride), -3.0f);
  m.forward(b.input(), matrix_view<const float>(x.data(), b.tokens(), kMockHidden, in_stride), positions,
            matrix_view<float>(out.data(), 3, kMockOutput, out_stride));
  for (index_t r = 0; r < 3; ++r) {
    for (index_t o = 0; o < kMockOutput; ++o)
      EXPECT_EQ(out[std::size_t(r * out_stride + o)], dense[std::size_t(r * kMockOutput + o)]);
    EXPECT_EQ(out[std::size_t(r * out_stride + kMockOutput)], -3.0f);
  }
  // The log holds dense copies.
  EXPECT_EQ(m.last_input().entities(7, 3), b.x[7 * kMockHidden + 3]);
  EXPECT_EQ(m.last_input().embeddings(7, 3), b.x[7 * kMockHidden + 3]);
}

// ----------------------------------------------------------------- backward

// L = sum(grad_out .* y); its gradient wrt x is what backward returns.
double reference_loss(const reference_model& ref, const batch& b, const std::vector<double>& x,
                      const std::vector<std::int32_t>& positions, const std::vector<float>& grad_out) {
  const std::vector<double> y = reference_forward(ref, b, x, positions);
  double loss = 0;
  for (std::size_t i = 0; i < y.size(); ++i) loss += double(grad_out[i]) * y[i];
  return loss;
}

using kplug_test::relative_error;

TEST(MockBackend, BackwardMatchesCentralDifferencesOfTheReferenceModel) {
  mock_backend m = make_mock();
  const batch b = make_batch(m);
  const std::vector<std::int32_t> positions = {8, 0, 3, 4, 4, 6};  // repeats accumulate
  const std::vector<float> grad_out = make_grad_out(positions.size(), kMockOutput);
  const std::vector<float> grad = run_backward(m, b, positions, grad_out);

  // Central differences in double: truncation O(eps^2) ~ 1e-12 and rounding
  // ~ 1e-16 / eps ~ 1e-10, so `fd` is exact to ~1e-9. The remaining error is
  // the mock's float arithmetic (~1e-7 relative per operation, a few dozen
  // operations deep): measured 1.4e-7, hence the 1e-6 bound.
  const reference_model ref{kMockHidden, kMockOutput, kMockSeed};
  const double eps = 1e-6;
  std::vector<double> x = as_double(b.x), fd(x.size());
  for (std::size_t e = 0; e < x.size(); ++e) {
    const double keep = x[e];
    x[e] = keep + eps;
    const double up = reference_loss(ref, b, x, positions, grad_out);
    x[e] = keep - eps;
    const double down = reference_loss(ref, b, x, positions, grad_out);
    x[e] = keep;
    fd[e] = (up - down) / (2 * eps);
  }
  EXPECT_LT(relative_error(grad, fd), 1e-6);
  for (std::size_t e = 0; e < x.size(); ++e) EXPECT_NEAR(grad[e], fd[e], 1e-6) << "element " << e;
}

TEST(MockBackend, BackwardIsZeroWhereNoGradientCanFlow) {
  mock_backend m = make_mock();
  const batch b = make_batch(m);
  // Only sequence 1 is asked for: sequence 3's rows get no gradient, and
  // neither does masked-out token 3, which is neither asked for nor in the context.
  const std::vector<std::int32_t> positions = {0};
  const std::vector<float> grad = run_backward(m, b, positions, make_grad_out(1, kMockOutput));
  for (index_t i = 3; i < b.tokens(); ++i)
    for (index_t k = 0; k < kMockHidden; ++k) EXPECT_EQ(grad[std::size_t(i * kMockHidden + k)], 0.0f) << i;
  // Tokens 1 and 2 are not asked for but feed the context of token 0.
  for (index_t i = 0; i < 3; ++i) {
    double norm = 0;
    for (index_t k = 0; k < kMockHidden; ++k) norm += std::abs(grad[std::size_t(i * kMockHidden + k)]);
    EXPECT_GT(norm, 1e-4) << "token " << i;
  }
}

TEST(MockBackend, BackwardMayOverwriteItsOwnInput) {
  mock_backend m = make_mock();
  batch b = make_batch(m);
  const std::vector<std::int32_t> positions = {0, 6};
  const std::vector<float> grad_out = make_grad_out(2, kMockOutput);
  const std::vector<float> separate = run_backward(m, b, positions, grad_out);
  const std::vector<float> original = b.x;
  // grad_entities aliases the entity rows.
  m.backward(b.input(), b.entities(), positions, matrix_view<const float>(grad_out.data(), 2, kMockOutput),
             matrix_view<float>(b.x.data(), b.tokens(), kMockHidden));
  EXPECT_EQ(b.x, separate);
  EXPECT_EQ(std::vector<float>(m.last_input().entities.data(), m.last_input().entities.data() + original.size()),
            original);
}

// ---------------------------------------------------------------- recording

TEST(MockBackend, RecordsWhatItWasGiven) {
  mock_backend m = make_mock();
  EXPECT_THROW((void)m.last_input(), kplug::error);
  const batch b = make_batch(m);  // one embed_tokens call
  EXPECT_EQ(m.calls().embed_tokens, 1u);
  EXPECT_EQ(m.last_token_ids(), (std::vector<kplug::token_id>{1, 7, 7, 2, 3, 49, 0, 11, 2}));

  // The tokens of the batch, with one entity row spliced in at packed row 5.
  const std::vector<kplug::token_id> ids = {1, 7, 7, 2, 3, 49, 0, 11, 2};
  const std::vector<std::int32_t> slot_rows = {5}, slot_entities = {0};
  const kplug::model_input in{b.offsets, ids, b.position_ids, b.segment_ids, b.mask, slot_rows, slot_entities};
  matrix<float> entity(1, kMockHidden);
  for (index_t k = 0; k < kMockHidden; ++k) entity(0, k) = 0.25f * float(k);
  const std::vector<std::int32_t> positions = {0, 4};
  matrix<float> out(2, kMockOutput);
  m.forward(in, entity, positions, out);
  const auto& last = m.last_input();
  EXPECT_EQ(last.kind, mock_call_kind::forward);
  for (index_t i = 0; i < 9; ++i)  // what the encoder ran on: word rows, and the entity row at 5
    for (index_t k = 0; k < kMockHidden; ++k)
      EXPECT_EQ(last.row(i)[std::size_t(k)], i == 5 ? entity(0, k) : b.x[std::size_t(i * kMockHidden + k)]) << i;
  EXPECT_EQ(last.token_ids, ids);
  EXPECT_EQ(last.offsets, b.offsets);
  EXPECT_EQ(last.position_ids, b.position_ids);
  EXPECT_EQ(last.segment_ids, b.segment_ids);
  EXPECT_EQ(last.attention_mask, b.mask);
  EXPECT_EQ(last.slot_rows, slot_rows);
  EXPECT_EQ(last.slot_entities, slot_entities);
  EXPECT_EQ(last.entities(0, 3), entity(0, 3));
  EXPECT_EQ(last.positions, positions);
  EXPECT_EQ(last.tokens(), 9);

  const std::vector<float> grad_out = make_grad_out(2, kMockOutput);
  matrix<float> grad_entity(1, kMockHidden);
  m.backward(in, entity, positions, matrix_view<const float>(grad_out.data(), 2, kMockOutput), grad_entity);
  EXPECT_EQ(m.last_input().kind, mock_call_kind::backward);
  EXPECT_EQ(m.last_input().grad_out(1, 2), grad_out[1 * kMockOutput + 2]);
  EXPECT_EQ(m.calls().forward, 1u);
  EXPECT_EQ(m.calls().backward, 1u);
  EXPECT_EQ(m.calls().embed_tokens, 1u) << "embedding inside forward is not an embed_tokens call";

  ASSERT_EQ(m.call_log().size(), 3u);
  EXPECT_EQ(m.call_log()[0].kind, mock_call_kind::embed_tokens);
  EXPECT_EQ(m.call_log()[0].token_ids.size(), 9u);
  EXPECT_EQ(m.call_log()[1].kind, mock_call_kind::forward);
  EXPECT_EQ(m.call_log()[2].kind, mock_call_kind::backward);

  // A recorded input replays to the same output.
  const auto replay = m.call_log()[1];
  matrix<float> again(2, kMockOutput);
  m.forward(replay.input(), replay.entities, replay.positions, again);
  for (index_t r = 0; r < 2; ++r)
    for (index_t o = 0; o < kMockOutput; ++o) EXPECT_EQ(again(r, o), out(r, o));

  m.clear_log();
  EXPECT_EQ(m.calls().forward, 0u);
  EXPECT_TRUE(m.call_log().empty());
  EXPECT_TRUE(m.last_token_ids().empty());
  EXPECT_THROW((void)m.last_input(), kplug::error);
}

TEST(MockBackend, CallLogKeepsTheMostRecentCalls) {
  mock_config c{kMockVocab, kMockHidden, kMockOutput, kMockMaxPos, kMockSeed};
  c.max_logged_calls = 2;
  mock_backend m(c);
  matrix<float> out(1, kMockHidden);
  for (kplug::token_id id = 0; id < 5; ++id) m.embed_tokens(std::vector<kplug::token_id>{id}, out);
  ASSERT_EQ(m.call_log().size(), 2u);
  EXPECT_EQ(m.call_log()[0].token_ids[0], 3);
  EXPECT_EQ(m.call_log()[1].token_ids[0], 4);
  EXPECT_EQ(m.calls().embed_tokens, 5u);

  c.max_logged_calls = 0;
  mock_backend quiet(c);
  const batch b = make_batch(quiet);
  run_forward(quiet, b, {0});
  EXPECT_TRUE(quiet.call_log().empty());
  EXPECT_EQ(quiet.last_input().positions, std::vector<std::int32_t>{0}) << "last_input is kept regardless";
}

// ---------------------------------------------------------------- bad input

// Every bad input of the boundary is rejected in the conformance suite; the
// mock also writes nothing and records nothing when it rejects one.
TEST(MockBackend, ARejectedCallWritesAndRecordsNothing) {
  mock_backend m = make_mock();
  batch b = make_batch(m);
  m.clear_log();
  b.position_ids[6] = kMockMaxPos;
  const std::vector<std::int32_t> positions = {0, 4};
  std::vector<float> out(2 * kMockOutput, -9.0f), grad(b.x.size(), -9.0f);
  const std::vector<float> grad_out(2 * kMockOutput, 1.0f);
  EXPECT_THROW(m.forward(b.input(), b.entities(), positions, matrix_view<float>(out.data(), 2, kMockOutput)),
               kplug::error);
  EXPECT_THROW(m.backward(b.input(), b.entities(), positions, matrix_view<const float>(grad_out.data(), 2, kMockOutput),
                          matrix_view<float>(grad.data(), b.tokens(), kMockHidden)),
               kplug::error);
  for (const float v : out) EXPECT_EQ(v, -9.0f);
  for (const float v : grad) EXPECT_EQ(v, -9.0f);
  EXPECT_EQ(m.calls().forward + m.calls().backward, 0u);
  EXPECT_TRUE(m.call_log().empty());
  try {
    m.forward(b.input(), b.entities(), positions, matrix_view<float>(out.data(), 2, kMockOutput));
  } catch (const kplug::error& e) {
    EXPECT_EQ(e.what_failed(), "mock_backend::forward");
    EXPECT_EQ(e.where(), "model_input.position_ids[6]");
  }
}

}  // namespace
