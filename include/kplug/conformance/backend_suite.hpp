// The backend conformance suite: one set of GoogleTest typed tests that every
// backend (the mock, the CPU encoder, the CUDA encoder, yours) runs, so that
// all of them execute splice plans the same way, within a per-backend
// tolerance. The way CTranslate2 instantiates its op tests per device and
// ggml compares every backend with the CPU one.
//
//   backend_conformance<Traits>  needs no other implementation: embedding,
//       every splice format (PELT's shared position and relation markers
//       included), ragged batches without cross-talk, masks, entity-row
//       gradients against finite differences, fresh instances and thread
//       counts agreeing, stale caches, empty batches, and every bad input of
//       the boundary rejected with a kplug::error naming it.
//   backend_parity<Traits>  outputs and entity-row gradients against a
//       reference backend of the same model (the CPU encoder for a GPU one).
//
// Instantiate it in a test program linked with GTest::gtest_main:
//
//   struct my_traits {
//     using backend_type = my_backend;                     // a kplug::trainable_backend
//     static std::unique_ptr<my_backend> make(int threads);  // a fresh backend
//     static constexpr kplug::index_t max_positions = 512;   // position ids accepted
//     static constexpr kplug::index_t segment_types = 2;     // segment ids accepted
//     static constexpr int threads = 4;          // N of "1 and N threads agree" (1: none)
//     static constexpr double tolerance = 1e-5;  // |a - b| <= tolerance * max(1, |b|) where
//                                                // results must agree (packing, formats)
//     static constexpr double repeat_tolerance = 0;  // the same batch again: on a fresh
//                                                // instance, another thread count, after
//                                                // other batches (0: bitwise identical)
//     static constexpr double fd_step = 3e-2;    // finite-difference step / RMS of entity rows
//     static constexpr double gradient_tolerance = 2e-4;  // ||g - g_fd|| / ||g_fd||
//     // optional: a non-empty reason skips every test (visibly), e.g. no GPU
//     static std::string unavailable();
//     // backend_parity only:
//     using reference_type = my_reference;        // a kplug::trainable_backend
//     static std::unique_ptr<my_reference> make_reference();
//     static constexpr double parity_tolerance = 1e-4;           // outputs, as `tolerance`
//     static constexpr double parity_gradient_tolerance = 1e-4;  // relative, as above
//   };
//   namespace kplug::conformance {  // GoogleTest instantiates a suite in its own namespace
//   INSTANTIATE_TYPED_TEST_SUITE_P(my_backend, backend_conformance, ::testing::Types<::my_traits>);
//   }
//
// Inputs come from kplug's own planner
// (conformance/batches.hpp); the backend's memory may be anything that
// models kplug::device_memory_owner.
#pragma once

#include <gtest/gtest.h>

#include <concepts>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "kplug/backend/concepts.hpp"
#include "kplug/conformance/batches.hpp"
#include "kplug/core/error.hpp"

namespace kplug::conformance {

template <class T>
concept conformance_traits = trainable_backend<typename T::backend_type> && requires {
  { T::make(1) } -> std::convertible_to<std::unique_ptr<typename T::backend_type>>;
  { T::max_positions } -> std::convertible_to<index_t>;
  { T::segment_types } -> std::convertible_to<index_t>;
  { T::threads } -> std::convertible_to<int>;
  { T::tolerance } -> std::convertible_to<double>;
  { T::repeat_tolerance } -> std::convertible_to<double>;
  { T::fd_step } -> std::convertible_to<double>;
  { T::gradient_tolerance } -> std::convertible_to<double>;
};

template <class T>
concept parity_traits = conformance_traits<T> && trainable_backend<typename T::reference_type> && requires {
  { T::make_reference() } -> std::convertible_to<std::unique_ptr<typename T::reference_type>>;
  { T::parity_tolerance } -> std::convertible_to<double>;
  { T::parity_gradient_tolerance } -> std::convertible_to<double>;
};

// Keeps a measured error in the test's XML report (--gtest_output=xml).
inline void record(const std::string& name, double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g", value);
  ::testing::Test::RecordProperty(name, text);
}

// What every test of the suite starts from: a fresh backend, its test
// vocabulary and the scale of its word embeddings.
template <class Traits>
class backend_conformance : public ::testing::Test {
  static_assert(
      conformance_traits<Traits>,
      "the traits of backend_conformance need backend_type (a kplug::trainable_backend), make(int), "
      "max_positions, segment_types, threads, tolerance, fd_step and gradient_tolerance");

 protected:
  using backend_type = typename Traits::backend_type;

  void SetUp() override {
    if constexpr (requires { Traits::unavailable(); }) {
      const std::string why = Traits::unavailable();
      if (!why.empty()) GTEST_SKIP() << why;
    }
    backend = Traits::make(1);
    ASSERT_NE(backend, nullptr);
    vocab = {static_cast<index_t>(backend->vocab_size())};
    hidden = static_cast<index_t>(backend->hidden_size());
    scale = word_embedding_rms(*backend);
    ASSERT_GT(scale, 0.0f) << "the backend's word embeddings are all zero";
  }

  test_batch batch(const format_case& f, index_t extra = 0, std::uint64_t seed = 1) const {
    return planned_batch(vocab, f, hidden, scale, extra, seed);
  }
  test_batch paper_batch(index_t extra = 0) const { return batch(splice_formats(vocab)[0], extra); }

  matrix<float> forward(const test_batch& b, const std::vector<std::int32_t>& positions) {
    return run_forward(*backend, b.input(), b.entities.view(), positions);
  }
  matrix<float> forward_all(const test_batch& b) { return forward(b, b.all_rows()); }
  matrix<float> backward(const test_batch& b, const std::vector<std::int32_t>& positions,
                         const matrix<float>& grad_out) {
    return run_backward(*backend, b.input(), b.entities.view(), positions, grad_out.view());
  }
  matrix<float> grad_out_for(std::size_t positions, std::uint64_t seed = 7) const {
    return random_matrix(static_cast<index_t>(positions), static_cast<index_t>(backend->output_size()), seed);
  }

  // Expects `call` to throw a kplug::error whose where() contains `where`,
  // then checks that the backend still gives the right answer.
  template <class Call>
  void expect_rejected(Call&& call, const std::string& where);

  std::unique_ptr<backend_type> backend;
  test_vocabulary vocab;
  index_t hidden = 0;
  float scale = 0;
};

template <class Traits>
template <class Call>
void backend_conformance<Traits>::expect_rejected(Call&& call, const std::string& where) {
  const test_batch good = paper_batch();
  const matrix<float> before = forward_all(good);
  try {
    call();
    ADD_FAILURE() << "accepted a bad input (" << where << ")";
  } catch (const kplug::error& e) {
    EXPECT_NE(e.where().find(where), std::string::npos)
        << "the error should name " << where << ": " << e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw something other than a kplug::error for " << where << ": " << e.what();
  }
  EXPECT_LE(max_scaled_difference(forward_all(good), before), Traits::repeat_tolerance)
      << "the backend answers differently after rejecting " << where;
}

TYPED_TEST_SUITE_P(backend_conformance);

// --------------------------------------------------------------- embedding

TYPED_TEST_P(backend_conformance, EntityRowEqualToAWordEmbeddingActsAsThatToken) {
  // A slot whose mapped row is the word embedding of token t must give the
  // outputs of t itself at that row: slots enter where word embeddings do.
  test_batch plain = this->paper_batch();
  plain.slot_rows.clear();
  plain.slot_entities.clear();
  plain.entities = matrix<float>(0, this->hidden);
  const matrix<float> want = this->forward_all(plain);

  test_batch spliced = plain;
  // A word of each sequence; the slot's token id becomes the placeholder.
  const std::vector<std::int32_t> rows = {1, plain.offsets[1] + 1, plain.tokens() - 2};
  std::vector<token_id> ids;
  for (const std::int32_t r : rows) ids.push_back(plain.token_ids[static_cast<std::size_t>(r)]);
  spliced.entities = matrix<float>(static_cast<index_t>(ids.size()), this->hidden);
  this->backend->embed_tokens(std::span<const token_id>(ids), spliced.entities.view());
  for (std::size_t k = 0; k < rows.size(); ++k) {
    spliced.slot_rows.push_back(rows[k]);
    spliced.slot_entities.push_back(static_cast<std::int32_t>(k));
    spliced.token_ids[static_cast<std::size_t>(rows[k])] = this->vocab.placeholder();  // must be ignored
  }
  EXPECT_LE(max_scaled_difference(this->forward_all(spliced), want), TypeParam::tolerance);
}

TYPED_TEST_P(backend_conformance, TheEntityRowNotTheTokenIdFillsASlot) {
  test_batch b = this->paper_batch();
  const matrix<float> base = this->forward_all(b);
  const auto slot_row = static_cast<std::size_t>(b.slot_rows[0]);
  b.token_ids[slot_row] = this->vocab.word(3);
  EXPECT_LE(max_scaled_difference(this->forward_all(b), base), TypeParam::tolerance)
      << "the token id at an entity slot changed the outputs";
  b.entities(0, 0) += 4 * this->scale;
  EXPECT_GT(max_scaled_difference(this->forward_all(b), base), 100 * TypeParam::tolerance)
      << "changing the slot's entity row did not change the outputs";
}

// ------------------------------------------------------- formats and packing

TYPED_TEST_P(backend_conformance, EverySpliceFormatMatchesItsSequencesRunAlone) {
  for (const format_case& f : splice_formats(this->vocab)) {
    SCOPED_TRACE(f.name);
    const test_batch b = this->batch(f);
    ASSERT_EQ(b.sequences(), 3);
    const matrix<float> packed = this->forward_all(b);
    for (index_t s = 0; s < b.sequences(); ++s) {
      const test_batch alone = b.sequence(s);
      const matrix<float> got = this->forward_all(alone);
      const auto first = b.offsets[static_cast<std::size_t>(s)];
      EXPECT_LE(max_scaled_difference(got.view(), packed.view().middle_rows(first, alone.tokens())),
                TypeParam::tolerance)
          << "sequence " << s << " differs alone and packed";
    }
  }
}

TYPED_TEST_P(backend_conformance, ChangingOneSequenceLeavesTheOthersAlone) {
  for (const format_case& f : splice_formats(this->vocab)) {
    SCOPED_TRACE(f.name);
    test_batch b = this->batch(f);
    const matrix<float> base = this->forward_all(b);
    // Sequence 2's own entity (no other sequence uses it) and one of its tokens.
    const std::int32_t begin = b.offsets[2], end = b.offsets[3];
    std::int32_t entity = -1;
    for (std::size_t i = 0; i < b.slot_rows.size(); ++i)
      if (b.slot_rows[i] >= begin) entity = b.slot_entities[i];
    ASSERT_GE(entity, 0);
    for (float& x : b.entities.row(entity)) x = -x;
    b.token_ids[static_cast<std::size_t>(end) - 2] = this->vocab.word(9);  // its last word
    const matrix<float> changed = this->forward_all(b);
    EXPECT_LE(max_scaled_difference(changed.view().middle_rows(0, begin), base.view().middle_rows(0, begin)),
              TypeParam::tolerance)
        << "sequences 0 and 1 saw a change in sequence 2";
    EXPECT_GT(max_scaled_difference(changed.view().middle_rows(begin, end - begin),
                                    base.view().middle_rows(begin, end - begin)),
              100 * TypeParam::tolerance);
  }
}

TYPED_TEST_P(backend_conformance, SharedPositionIdsAreTheOnesUsed) {
  // PELT: the entity row takes the position of the "(" before it. With the
  // entity row equal to the embedding of "(" both rows have the same input,
  // position and segment, so a model that reads position_ids gives them the
  // same output; one that counts rows itself does not.
  const format_case pelt = splice_formats(this->vocab)[3];
  test_batch b = this->batch(pelt);
  const std::int32_t slot = b.slot_rows[0];
  const std::int32_t paren = slot - 1;
  ASSERT_EQ(b.position_ids[static_cast<std::size_t>(slot)], b.position_ids[static_cast<std::size_t>(paren)]);
  ASSERT_EQ(b.token_ids[static_cast<std::size_t>(paren)], this->vocab.open_paren());
  const token_id paren_id = this->vocab.open_paren();
  this->backend->embed_tokens(std::span<const token_id>(&paren_id, 1),
                              b.entities.view().middle_rows(b.slot_entities[0], 1));
  const matrix<float> out = this->forward(b, {slot, paren});
  EXPECT_LE(max_scaled_difference(out.view().middle_rows(0, 1), out.view().middle_rows(1, 1)),
            TypeParam::tolerance);
  b.position_ids[static_cast<std::size_t>(slot)] += 1;
  const matrix<float> moved = this->forward(b, {slot, paren});
  EXPECT_GT(max_scaled_difference(moved.view().middle_rows(0, 1), moved.view().middle_rows(1, 1)),
            100 * TypeParam::tolerance)
      << "the position id of the slot row made no difference";
}

TYPED_TEST_P(backend_conformance, SegmentIdsReachTheModel) {
  test_batch b = this->paper_batch();
  const matrix<float> base = this->forward_all(b);
  ASSERT_GE(TypeParam::segment_types, 2);
  b.segment_ids[1] = 1 - b.segment_ids[1];
  EXPECT_GT(max_scaled_difference(this->forward(b, {1}), base.view().middle_rows(1, 1)),
            100 * TypeParam::tolerance);
}

TYPED_TEST_P(backend_conformance, MaskedRowsAreNotAttendedTo) {
  // attention_mask[j] = 0: no row may attend to j, so what row j holds
  // changes no other row's output.
  test_batch b = this->paper_batch();
  const std::int32_t masked = b.slot_rows[1];  // an entity slot of sequence 0
  b.attention_mask[static_cast<std::size_t>(masked)] = 0;
  std::vector<std::int32_t> others;
  for (std::int32_t r = 0; r < b.offsets[1]; ++r)
    if (r != masked) others.push_back(r);
  const matrix<float> base = this->forward(b, others);
  for (float& x : b.entities.row(b.slot_entities[1])) x = 3 * this->scale - x;
  EXPECT_LE(max_scaled_difference(this->forward(b, others), base), TypeParam::tolerance);
  b.attention_mask[static_cast<std::size_t>(masked)] = 1;
  EXPECT_GT(max_scaled_difference(this->forward(b, others), base), 100 * TypeParam::tolerance)
      << "an unmasked row made no difference to its sequence: the test would not see a mask bug";
}

// ---------------------------------------------------------------- gradients

TYPED_TEST_P(backend_conformance, EntityGradientsMatchFiniteDifferences) {
  // L = sum(grad_out .* forward); entity 0 fills two slots (its gradient is
  // the sum), the last entity row fills none (its gradient is exactly zero),
  // and one requested row repeats (its grad_out rows add up).
  test_batch b = this->paper_batch(/*extra=*/1);
  const std::vector<std::int32_t> positions = {
      0, b.slot_rows[0], 5, 5, b.offsets[1] + 2, b.offsets[2], b.tokens() - 1};
  const matrix<float> grad_out = this->grad_out_for(positions.size());
  const matrix<float> grad = this->backward(b, positions, grad_out);
  ASSERT_EQ(grad.rows(), b.entities.rows());
  ASSERT_EQ(grad.cols(), this->hidden);
  auto loss = [&] {
    const matrix<float> y = this->forward(b, positions);
    double l = 0;
    for (index_t r = 0; r < y.rows(); ++r)
      for (index_t c = 0; c < y.cols(); ++c) l += double(grad_out(r, c)) * double(y(r, c));
    return l;
  };
  const auto step = static_cast<float>(TypeParam::fd_step * double(this->scale));
  std::vector<double> fd;
  for (index_t e = 0; e + 1 < b.entities.rows(); ++e)
    for (index_t k = 0; k < this->hidden; ++k) {
      const float keep = b.entities(e, k);
      b.entities(e, k) = keep + step;
      const double up = loss();
      b.entities(e, k) = keep - step;
      const double down = loss();
      b.entities(e, k) = keep;
      fd.push_back((up - down) / (2.0 * double(step)));
    }
  const index_t used = b.entities.rows() - 1;
  const double error = relative_error(grad.view().middle_rows(0, used), fd);
  record("relative_error", error);  // in --gtest_output=xml
  EXPECT_LT(error, TypeParam::gradient_tolerance);
  for (const float g : grad.row(used)) ASSERT_EQ(g, 0.0f) << "an entity row no slot uses got a gradient";
}

TYPED_TEST_P(backend_conformance, BackwardNeverUsesAStaleCache) {
  const test_batch a = this->paper_batch();
  const test_batch other = this->batch(splice_formats(this->vocab)[1], 0, 99);
  const std::vector<std::int32_t> positions = {0, 3, a.offsets[2]};
  const matrix<float> grad_out = this->grad_out_for(positions.size());
  auto fresh = TypeParam::make(1);
  const matrix<float> want = run_backward(*fresh, a.input(), a.entities.view(), positions, grad_out.view());
  (void)this->forward(a, positions);
  (void)this->forward(other, {0, 1});
  EXPECT_LE(max_scaled_difference(this->backward(a, positions, grad_out), want), TypeParam::repeat_tolerance);
  test_batch shifted = a;  // the same shapes, other entity values
  for (float& x : shifted.entities.row(0)) x += this->scale;
  (void)this->forward(shifted, positions);
  EXPECT_LE(max_scaled_difference(this->backward(a, positions, grad_out), want), TypeParam::repeat_tolerance);
}

TYPED_TEST_P(backend_conformance, FreshBackendsAndThreadCountsAgree) {
  const test_batch b = this->batch(splice_formats(this->vocab)[4]);
  const std::vector<std::int32_t> positions = {0, 2, b.offsets[1], b.offsets[2] + 1};
  const matrix<float> grad_out = this->grad_out_for(positions.size());
  const matrix<float> y1 = this->forward(b, positions), g1 = this->backward(b, positions, grad_out);
  auto many = TypeParam::make(TypeParam::threads);
  const double dy = max_scaled_difference(run_forward(*many, b.input(), b.entities.view(), positions), y1);
  const double dg = max_scaled_difference(
      run_backward(*many, b.input(), b.entities.view(), positions, grad_out.view()), g1);
  record("output_difference", dy);
  record("gradient_difference", dg);
  EXPECT_LE(dy, TypeParam::repeat_tolerance);
  EXPECT_LE(dg, TypeParam::repeat_tolerance);
}

TYPED_TEST_P(backend_conformance, EmptyBatchesAndSequencesAndNoRequestedRows) {
  test_batch empty;
  empty.entities = matrix<float>(0, this->hidden);
  EXPECT_EQ(this->forward_all(empty).rows(), 0);
  EXPECT_EQ(this->backward(empty, {}, this->grad_out_for(0)).rows(), 0);
  // An empty sequence between two others changes nothing for them.
  test_batch b = this->paper_batch();
  const matrix<float> base = this->forward_all(b);
  test_batch gap = b;
  gap.offsets.insert(gap.offsets.begin() + 1, gap.offsets[1]);
  EXPECT_LE(max_scaled_difference(this->forward_all(gap), base), TypeParam::tolerance);
  // No requested row: no output, and a zero gradient.
  const matrix<float> g = this->backward(b, {}, this->grad_out_for(0));
  for (index_t e = 0; e < g.rows(); ++e)
    for (const float x : g.row(e)) ASSERT_EQ(x, 0.0f);
}

// ---------------------------------------------------------------- bad input

TYPED_TEST_P(backend_conformance, RejectsASlotPointingPastTheEntityRows) {
  test_batch b = this->paper_batch();
  b.slot_entities[1] = static_cast<std::int32_t>(b.entities.rows());
  this->expect_rejected([&] { this->forward_all(b); }, "slot_entities[1]");
  b.slot_entities[1] = -1;
  this->expect_rejected([&] { this->backward(b, {0}, this->grad_out_for(1)); }, "slot_entities[1]");
}

TYPED_TEST_P(backend_conformance, RejectsEntityRowsOfTheWrongWidth) {
  test_batch b = this->paper_batch();
  b.entities = random_matrix(b.entities.rows(), this->hidden + 1, 3);
  this->expect_rejected([&] { this->forward_all(b); }, "entities");
  this->expect_rejected([&] { this->backward(b, {0}, this->grad_out_for(1)); }, "entities");
}

TYPED_TEST_P(backend_conformance, RejectsPlanArraysThatDisagreeInLength) {
  const test_batch good = this->paper_batch();
  test_batch b = good;
  b.position_ids.pop_back();
  this->expect_rejected([&] { this->forward(b, {0}); }, "position_ids");
  b = good;
  b.segment_ids.push_back(0);
  this->expect_rejected([&] { this->forward(b, {0}); }, "segment_ids");
  b = good;
  b.attention_mask.pop_back();
  this->expect_rejected([&] { this->backward(b, {0}, this->grad_out_for(1)); }, "attention_mask");
  b = good;
  b.slot_entities.pop_back();
  this->expect_rejected([&] { this->forward(b, {0}); }, "slot_entities");
  b = good;
  b.offsets.back() -= 1;  // the offsets cover one row fewer than there are tokens
  this->expect_rejected([&] { this->forward(b, {0}); }, "offsets");
  b = good;
  b.offsets[1] = b.offsets[2] + 1;
  this->expect_rejected([&] { this->forward(b, {0}); }, "offsets");
}

TYPED_TEST_P(backend_conformance, RejectsAPositionBeyondTheModel) {
  test_batch b = this->paper_batch();
  b.position_ids[4] = static_cast<std::int32_t>(TypeParam::max_positions);
  this->expect_rejected([&] { this->forward(b, {0}); }, "position_ids[4]");
  b.position_ids[4] = -1;
  this->expect_rejected([&] { this->backward(b, {0}, this->grad_out_for(1)); }, "position_ids[4]");
}

TYPED_TEST_P(backend_conformance, RejectsIdsOutsideTheModel) {
  const test_batch good = this->paper_batch();
  test_batch b = good;
  b.token_ids[3] = static_cast<token_id>(this->vocab.size);
  this->expect_rejected([&] { this->forward(b, {0}); }, "token_ids[3]");
  b.token_ids[3] = -1;
  this->expect_rejected([&] { this->forward(b, {0}); }, "token_ids[3]");
  b = good;
  b.segment_ids[2] = static_cast<std::int32_t>(TypeParam::segment_types);
  this->expect_rejected([&] { this->forward(b, {0}); }, "segment_ids[2]");
  b = good;
  b.attention_mask[2] = 2;
  this->expect_rejected([&] { this->forward(b, {0}); }, "attention_mask[2]");
}

TYPED_TEST_P(backend_conformance, RejectsSlotsOutsideTheBatchOrTwiceOnARow) {
  const test_batch good = this->paper_batch();
  test_batch b = good;
  b.slot_rows[0] = static_cast<std::int32_t>(b.tokens());
  this->expect_rejected([&] { this->forward(b, {0}); }, "slot_rows[0]");
  b = good;
  b.slot_rows[1] = b.slot_rows[0];
  this->expect_rejected([&] { this->forward(b, {0}); }, "slot_rows[1]");
}

TYPED_TEST_P(backend_conformance, RejectsRequestedRowsOutsideTheBatch) {
  const test_batch b = this->paper_batch();
  this->expect_rejected(
      [&] {
        this->forward(b, {0, static_cast<std::int32_t>(b.tokens())});
      },
      "positions[1]");
  this->expect_rejected([&] { this->backward(b, {-1}, this->grad_out_for(1)); }, "positions[0]");
}

TYPED_TEST_P(backend_conformance, RejectsBuffersOfTheWrongShape) {
  using B = typename TypeParam::backend_type;
  const test_batch b = this->paper_batch();
  const std::vector<std::int32_t> positions = {0, 1};
  B& model = *this->backend;
  mirrored_matrix<B> e, out, g, ge;
  e.resize(model, b.entities.rows(), b.entities.cols());
  detail::copy_into(b.entities.view(), e.host());
  e.upload(model);
  const index_t o = static_cast<index_t>(model.output_size());
  out.resize(model, 3, o);
  this->expect_rejected([&] { model.forward(b.input(), e.device(), positions, out.device()); }, "out");
  g.resize(model, 2, o + 1);
  ge.resize(model, b.entities.rows(), this->hidden);
  this->expect_rejected([&] { model.backward(b.input(), e.device(), positions, g.device(), ge.device()); },
                        "grad_out");
  g.resize(model, 2, o);
  ge.resize(model, b.entities.rows() + 1, this->hidden);
  this->expect_rejected([&] { model.backward(b.input(), e.device(), positions, g.device(), ge.device()); },
                        "grad_entities");
  ge.resize(model, b.entities.rows(), this->hidden - 1);
  this->expect_rejected([&] { model.backward(b.input(), e.device(), positions, g.device(), ge.device()); },
                        "grad_entities");
}

REGISTER_TYPED_TEST_SUITE_P(backend_conformance, EntityRowEqualToAWordEmbeddingActsAsThatToken,
                            TheEntityRowNotTheTokenIdFillsASlot, EverySpliceFormatMatchesItsSequencesRunAlone,
                            ChangingOneSequenceLeavesTheOthersAlone, SharedPositionIdsAreTheOnesUsed,
                            SegmentIdsReachTheModel, MaskedRowsAreNotAttendedTo,
                            EntityGradientsMatchFiniteDifferences, BackwardNeverUsesAStaleCache,
                            FreshBackendsAndThreadCountsAgree, EmptyBatchesAndSequencesAndNoRequestedRows,
                            RejectsASlotPointingPastTheEntityRows, RejectsEntityRowsOfTheWrongWidth,
                            RejectsPlanArraysThatDisagreeInLength, RejectsAPositionBeyondTheModel,
                            RejectsIdsOutsideTheModel, RejectsSlotsOutsideTheBatchOrTwiceOnARow,
                            RejectsRequestedRowsOutsideTheBatch, RejectsBuffersOfTheWrongShape);

// ------------------------------------------------------------------- parity

template <class Traits>
class backend_parity : public backend_conformance<Traits> {
  static_assert(parity_traits<Traits>,
                "the traits of backend_parity also need reference_type (a kplug::trainable_backend), "
                "make_reference(), parity_tolerance and parity_gradient_tolerance");
};

TYPED_TEST_SUITE_P(backend_parity);

TYPED_TEST_P(backend_parity, OutputsMatchTheReferenceInEverySpliceFormat) {
  auto reference = TypeParam::make_reference();
  ASSERT_NE(reference, nullptr);
  for (const format_case& f : splice_formats(this->vocab)) {
    SCOPED_TRACE(f.name);
    test_batch b = this->batch(f);
    b.attention_mask[2] = 0;
    const std::vector<std::int32_t> rows = b.all_rows();
    const double d = max_scaled_difference(this->forward(b, rows),
                                           run_forward(*reference, b.input(), b.entities.view(), rows));
    record("output_difference " + f.name, d);
    EXPECT_LE(d, TypeParam::parity_tolerance);
  }
}

TYPED_TEST_P(backend_parity, EntityGradientsMatchTheReference) {
  auto reference = TypeParam::make_reference();
  ASSERT_NE(reference, nullptr);
  for (const format_case& f : splice_formats(this->vocab)) {
    SCOPED_TRACE(f.name);
    const test_batch b = this->batch(f, 1);
    const std::vector<std::int32_t> positions = {b.tokens() - 1, 0, 1, 1, b.offsets[1], b.offsets[2] + 1};
    const matrix<float> grad_out = this->grad_out_for(positions.size());
    const matrix<float> want =
        run_backward(*reference, b.input(), b.entities.view(), positions, grad_out.view());
    std::vector<double> flat;
    for (index_t r = 0; r < want.rows(); ++r)
      for (const float x : want.row(r)) flat.push_back(x);
    const double error = relative_error(this->backward(b, positions, grad_out), flat);
    record("gradient_error " + f.name, error);
    EXPECT_LT(error, TypeParam::parity_gradient_tolerance);
  }
}

REGISTER_TYPED_TEST_SUITE_P(backend_parity, OutputsMatchTheReferenceInEverySpliceFormat,
                            EntityGradientsMatchTheReference);
// A backend without a reference implementation instantiates only the first suite.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(backend_parity);

}  // namespace kplug::conformance
