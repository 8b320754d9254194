// Executing a packed plan: token rows come from the backend, slot rows from
// the mapped knowledge vectors; gradients of slot rows sum into the distinct
// mapped rows. The embedder here is a tiny stand-in (row = its token id), so
// every expected value follows from the plan by hand.
#include <gtest/gtest.h>

#include <vector>

#include "batch_fixture.hpp"
#include "kplug/backend/concepts.hpp"
#include "kplug/splice/assemble.hpp"
#include "splice_fixtures.hpp"

namespace kplug::splice::test {
namespace {

// Row of token id t is (t, t + 0.25, t + 0.5, t + 0.75).
struct constant_embedder {
  index_t hidden = 4;
  index_t vocab = 3000;
  mutable int calls = 0;
  index_t hidden_size() const { return hidden; }
  index_t vocab_size() const { return vocab; }
  void embed_tokens(std::span<const token_id> ids, matrix_view<float> out) const {
    ++calls;
    for (std::size_t i = 0; i < ids.size(); ++i)
      for (index_t c = 0; c < out.cols(); ++c)
        out(static_cast<index_t>(i), c) = static_cast<float>(ids[i]) + 0.25f * static_cast<float>(c);
  }
};
static_assert(token_embedder<constant_embedder>);

struct fixture {
  packed_plan plan = pack(three_plans());
  matrix<float> mapped0{3, 4};  // source 0: rows 42, no_row, 5
  matrix<float> mapped1{1, 4};  // source 1: row 42
  std::vector<matrix_view<const float>> by_source;
  matrix<float> embeddings{24, 4};

  fixture() {
    for (index_t r = 0; r < 3; ++r)
      for (index_t c = 0; c < 4; ++c)
        mapped0(r, c) = -100.0f - 10.0f * static_cast<float>(r) - static_cast<float>(c);
    for (index_t c = 0; c < 4; ++c) mapped1(0, c) = -500.0f - static_cast<float>(c);
    by_source = {mapped0.view(), mapped1.view()};
  }
};

TEST(SpliceAssemble, EmbedsTokensAndWritesSlotRows) {
  fixture f;
  constant_embedder b;
  const encoder_input in = assemble_inputs(b, f.plan, f.by_source, f.embeddings.view());
  EXPECT_EQ(b.calls, 1);
  std::vector<int> slot_rows(24, -1);
  slot_rows[2] = 0;   // (0, 42) -> mapped0 row 0
  slot_rows[10] = 0;  // (0, 42) again
  slot_rows[15] = 5;  // (1, 42) -> mapped1 row 0, marked 5 here
  slot_rows[20] = 1;  // (0, no_row)
  slot_rows[21] = 2;  // (0, 5)
  for (index_t r = 0; r < 24; ++r) {
    for (index_t c = 0; c < 4; ++c) {
      const int s = slot_rows[static_cast<std::size_t>(r)];
      float expected;
      if (s < 0)
        expected =
            static_cast<float>(f.plan.input_ids[static_cast<std::size_t>(r)]) + 0.25f * static_cast<float>(c);
      else if (s == 5)
        expected = -500.0f - static_cast<float>(c);
      else
        expected = -100.0f - 10.0f * static_cast<float>(s) - static_cast<float>(c);
      EXPECT_EQ(f.embeddings(r, c), expected) << "row " << r << " col " << c;
    }
  }
  // The encoder_input views the packed plan and the embeddings.
  EXPECT_EQ(in.tokens(), 24);
  EXPECT_EQ(in.sequences(), 3);
  EXPECT_EQ(in.embeddings.data(), f.embeddings.data());
  EXPECT_EQ(in.offsets.data(), f.plan.layout.offsets.data());
  EXPECT_EQ(in.position_ids.data(), f.plan.position_ids.data());
  EXPECT_EQ(in.segment_ids.data(), f.plan.segment_ids.data());
  EXPECT_EQ(in.attention_mask.data(), f.plan.attention_mask.data());
  EXPECT_NO_THROW(validate(in, 4, 512, "test"));
}

TEST(SpliceAssemble, ExtraSourcesMayBeEmptyViews) {
  fixture f;
  f.by_source.push_back(matrix_view<const float>{});
  constant_embedder b;
  EXPECT_NO_THROW(assemble_inputs(b, f.plan, f.by_source, f.embeddings.view()));
  matrix<float> extra(1, 4);
  f.by_source.back() = extra.view();
  expect_error([&] { assemble_inputs(b, f.plan, f.by_source, f.embeddings.view()); },
               {"mapped_by_source[2]", "has 1 rows, source 2 has 0 distinct rows"});
}

TEST(SpliceAssemble, WriteEntityRowsAlone) {
  fixture f;
  for (index_t r = 0; r < 24; ++r)
    for (index_t c = 0; c < 4; ++c) f.embeddings(r, c) = 7.0f;
  write_entity_rows(f.plan, f.by_source, f.embeddings.view());
  EXPECT_EQ(f.embeddings(0, 0), 7.0f);
  EXPECT_EQ(f.embeddings(21, 3), -100.0f - 20.0f - 3.0f);
  EXPECT_EQ(f.embeddings(15, 1), -501.0f);
}

TEST(SpliceAssemble, EmptyBatch) {
  const packed_plan p = pack({});
  constant_embedder b;
  matrix<float> out(0, 4);
  const auto in = assemble_inputs(b, p, {}, out.view());
  EXPECT_EQ(in.tokens(), 0);
  EXPECT_EQ(in.sequences(), 0);
}

TEST(SpliceAssembleErrors, ShapesAreChecked) {
  fixture f;
  constant_embedder b;
  expect_error(
      [&] {
        assemble_inputs(b, f.plan, std::span<const matrix_view<const float>>(f.by_source).first(1),
                        f.embeddings.view());
      },
      {"assemble encoder inputs", "mapped_by_source", "has 1 views", "sources 0 .. 1"});
  matrix<float> short0(2, 4);
  f.by_source[0] = short0.view();
  expect_error([&] { assemble_inputs(b, f.plan, f.by_source, f.embeddings.view()); },
               {"mapped_by_source[0]", "has 2 rows, source 0 has 3 distinct rows"});
  matrix<float> wide0(3, 5);
  f.by_source[0] = wide0.view();
  expect_error([&] { assemble_inputs(b, f.plan, f.by_source, f.embeddings.view()); },
               {"mapped_by_source[0]", "rows are 5 wide, the hidden size is 4"});
  f.by_source[0] = f.mapped0.view();
  matrix<float> small(23, 4);
  expect_error([&] { assemble_inputs(b, f.plan, f.by_source, small.view()); },
               {"embeddings_out", "expected a 24 x 4 matrix, got 23 x 4"});
  matrix<float> narrow(24, 3);
  expect_error([&] { assemble_inputs(b, f.plan, f.by_source, narrow.view()); }, {"embeddings_out"});
  EXPECT_EQ(b.calls, 0);  // nothing is embedded before the checks pass
}

TEST(SpliceAssembleErrors, TokenIdsOutsideTheVocabulary) {
  fixture f;
  constant_embedder b;
  b.vocab = 2004;  // w3 = 2004 is in plan 1 at row 8 + 9 = 17
  expect_error([&] { assemble_inputs(b, f.plan, f.by_source, f.embeddings.view()); },
               {"packed_plan.input_ids[17]", "token id 2004", "[0, 2004)"});
}

TEST(SpliceAssembleErrors, InconsistentPackedPlan) {
  fixture f;
  constant_embedder b;
  f.plan.slot_mapped_index[0] = -1;
  expect_error([&] { assemble_inputs(b, f.plan, f.by_source, f.embeddings.view()); },
               {"packed_plan.slot_mapped_index[0]"});
  expect_error([&] { write_entity_rows(f.plan, f.by_source, f.embeddings.view()); },
               {"write entity rows", "packed_plan.slot_mapped_index[0]"});
}

TEST(SpliceGradients, SumsSlotGradientsIntoDistinctRows) {
  fixture f;
  // dL/d(embedding row r, col c) = r + c / 8.
  matrix<float> grad(24, 4);
  for (index_t r = 0; r < 24; ++r)
    for (index_t c = 0; c < 4; ++c) grad(r, c) = static_cast<float>(r) + static_cast<float>(c) / 8.0f;
  matrix<float> g0(3, 4, 99.0f);  // stale contents must be overwritten
  matrix<float> g1(1, 4, 99.0f);
  const std::vector<matrix_view<float>> grads{g0.view(), g1.view()};
  gather_slot_gradients(f.plan, grad.view(), grads);
  for (index_t c = 0; c < 4; ++c) {
    const float cc = static_cast<float>(c) / 8.0f;
    EXPECT_EQ(g0(0, c), (2.0f + cc) + (10.0f + cc)) << c;  // row 42 of source 0 is used at rows 2 and 10
    EXPECT_EQ(g0(1, c), 20.0f + cc) << c;                  // no_row at row 20
    EXPECT_EQ(g0(2, c), 21.0f + cc) << c;                  // row 5 at row 21
    EXPECT_EQ(g1(0, c), 15.0f + cc) << c;                  // source 1 at row 15
  }
}

TEST(SpliceGradients, ShapesAreChecked) {
  fixture f;
  matrix<float> grad(24, 4);
  matrix<float> g0(3, 4);
  matrix<float> g1(1, 4);
  matrix<float> bad(2, 4);
  expect_error(
      [&] {
        const std::vector<matrix_view<float>> grads{bad.view(), g1.view()};
        gather_slot_gradients(f.plan, grad.view(), grads);
      },
      {"gather entity-slot gradients", "grad_mapped_by_source[0]", "has 2 rows"});
  expect_error(
      [&] {
        const std::vector<matrix_view<float>> grads{g0.view()};
        gather_slot_gradients(f.plan, grad.view(), grads);
      },
      {"grad_mapped_by_source", "has 1 views"});
  matrix<float> short_grad(20, 4);
  expect_error(
      [&] {
        const std::vector<matrix_view<float>> grads{g0.view(), g1.view()};
        gather_slot_gradients(f.plan, short_grad.view(), grads);
      },
      {"grad_embeddings", "expected a 24 x 4 matrix"});
  matrix<float> wide_grad(24, 6);
  expect_error(
      [&] {
        const std::vector<matrix_view<float>> grads{g0.view(), g1.view()};
        gather_slot_gradients(f.plan, wide_grad.view(), grads);
      },
      {"grad_mapped_by_source[0]", "rows are 4 wide, the hidden size is 6"});
}

}  // namespace
}  // namespace kplug::splice::test
