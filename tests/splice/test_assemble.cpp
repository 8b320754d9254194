// Executing a batch's plan on the host: token rows come from the embedder,
// slot rows from the stacked mapped entity rows; row gradients of the slots
// sum into their entity rows. The embedder here is a tiny stand-in (row =
// its token id), so every expected value follows from the plan by hand.
#include <gtest/gtest.h>

#include <vector>

#include "batch_fixture.hpp"
#include "kplug/backend/concepts.hpp"
#include "kplug/splice/assemble.hpp"
#include "kplug/splice/batch.hpp"
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
  // Stacked mapped rows: source 0's rows 42, no_row, 5, then source 1's row 42.
  matrix<float> entities{4, 4};
  matrix<float> rows{24, 4};

  fixture() {
    for (index_t r = 0; r < 4; ++r)
      for (index_t c = 0; c < 4; ++c) entities(r, c) = -100.0f - 10.0f * static_cast<float>(r) - static_cast<float>(c);
  }
};

TEST(SpliceAssemble, EmbedsTokensAndWritesSlotRows) {
  fixture f;
  constant_embedder b;
  assemble_rows(b, f.plan.input(), f.entities, f.rows.view());
  EXPECT_EQ(b.calls, 1);
  std::vector<int> entity_at(24, -1);
  entity_at[2] = 0;   // (0, 42)
  entity_at[10] = 0;  // (0, 42) again
  entity_at[15] = 3;  // (1, 42), stacked after source 0's three rows
  entity_at[20] = 1;  // (0, no_row)
  entity_at[21] = 2;  // (0, 5)
  for (index_t r = 0; r < 24; ++r)
    for (index_t c = 0; c < 4; ++c) {
      const int e = entity_at[static_cast<std::size_t>(r)];
      const float expected =
          e < 0 ? static_cast<float>(f.plan.input_ids[static_cast<std::size_t>(r)]) + 0.25f * static_cast<float>(c)
                : -100.0f - 10.0f * static_cast<float>(e) - static_cast<float>(c);
      EXPECT_EQ(f.rows(r, c), expected) << "row " << r << " col " << c;
    }
}

TEST(SpliceAssemble, EmptyBatch) {
  const packed_plan p = pack({});
  constant_embedder b;
  matrix<float> out(0, 4), none(0, 4);
  EXPECT_NO_THROW(assemble_rows(b, p.input(), none, out.view()));
}

TEST(SpliceAssembleErrors, EverythingIsCheckedBeforeAnythingIsEmbedded) {
  fixture f;
  constant_embedder b;
  matrix<float> short_entities(3, 4);
  expect_error([&] { assemble_rows(b, f.plan.input(), short_entities, f.rows.view()); },
               {"assemble embedding rows", "model_input.slot_entities[2]", "outside the 3 mapped entity rows"});
  matrix<float> wide(4, 5);
  expect_error([&] { assemble_rows(b, f.plan.input(), wide, f.rows.view()); },
               {"entities", "5 wide, the model's hidden size is 4"});
  matrix<float> small(23, 4);
  expect_error([&] { assemble_rows(b, f.plan.input(), f.entities, small.view()); },
               {"rows", "expected a 24 x 4 matrix, got 23 x 4"});
  b.vocab = 2004;  // w3 = 2004 is in plan 1 at row 8 + 9 = 17
  expect_error([&] { assemble_rows(b, f.plan.input(), f.entities, f.rows.view()); },
               {"model_input.token_ids[17]", "token id 2004", "[0, 2004)"});
  EXPECT_EQ(b.calls, 0);
}

TEST(SpliceGradients, SumsSlotGradientsIntoTheirEntityRows) {
  fixture f;
  // dL/d(row r, col c) = r + c / 8.
  matrix<float> grad(24, 4);
  for (index_t r = 0; r < 24; ++r)
    for (index_t c = 0; c < 4; ++c) grad(r, c) = static_cast<float>(r) + static_cast<float>(c) / 8.0f;
  matrix<float> g(5, 4, 99.0f);  // a fifth row no slot uses; stale contents must be overwritten
  gather_entity_gradients(f.plan.input(), grad.view(), g.view());
  for (index_t c = 0; c < 4; ++c) {
    const float cc = static_cast<float>(c) / 8.0f;
    EXPECT_EQ(g(0, c), (2.0f + cc) + (10.0f + cc)) << c;  // row 42 of source 0 fills rows 2 and 10
    EXPECT_EQ(g(1, c), 20.0f + cc) << c;                  // no_row at row 20
    EXPECT_EQ(g(2, c), 21.0f + cc) << c;                  // row 5 at row 21
    EXPECT_EQ(g(3, c), 15.0f + cc) << c;                  // source 1 at row 15
    EXPECT_EQ(g(4, c), 0.0f) << c;
  }
}

TEST(SpliceGradients, ShapesAreChecked) {
  fixture f;
  matrix<float> g(4, 4), short_grad(20, 4);
  expect_error([&] { gather_entity_gradients(f.plan.input(), short_grad.view(), g.view()); },
               {"gather entity-row gradients", "grad_rows", "expected a 24 x 4 matrix"});
}

}  // namespace
}  // namespace kplug::splice::test
