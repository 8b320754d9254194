// How a user unit-tests their own injection logic in isolation: kplug's mock
// backend needs no weights, is deterministic, and records what it was given.
//
// The code under test here is the kind every user writes: turning a dataset's
// gold annotations (character offsets + entity id) into kplug mentions over
// the words of the text. It is then run through kplug's real splicer and the
// mock encoder, and the tests check what the encoder actually received.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <kplug/backend/mock.hpp>
#include <kplug/splice/batch.hpp>
#include <kplug/splice/planner.hpp>
#include <kplug/text/words.hpp>
#include <string>
#include <vector>

namespace {

struct gold_annotation {
  std::size_t begin, end;  // character offsets into the text
  std::string entity;
};

// ---- THE USER'S CODE UNDER TEST -------------------------------------------
// Maps each annotation to the words it covers; an annotation that does not
// start and end on word boundaries is rejected rather than guessed at.
std::vector<kplug::mention> to_mentions(const std::vector<kplug::text::word>& words,
                                        const std::vector<gold_annotation>& gold) {
  std::vector<kplug::mention> out;
  for (const gold_annotation& g : gold) {
    std::int32_t first = -1, last = -1;
    for (std::size_t w = 0; w < words.size(); ++w) {
      if (words[w].begin == g.begin) first = static_cast<std::int32_t>(w);
      if (words[w].end == g.end) last = static_cast<std::int32_t>(w);
    }
    if (first < 0 || last < first) throw std::invalid_argument("annotation not on word boundaries: " + g.entity);
    out.push_back({{first, last + 1}, g.entity});
  }
  return out;
}
// -----------------------------------------------------------------------------

constexpr kplug::token_id cls = 1, sep = 2, slash = 3;

// One piece per word, id = 10 + word index: enough to see where words land.
kplug::token_sequence tokenize(const std::vector<kplug::text::word>& words) {
  kplug::token_sequence t{{cls}, {-1}, {}};
  for (std::size_t w = 0; w < words.size(); ++w) {
    t.ids.push_back(static_cast<kplug::token_id>(10 + w));
    t.word_of.push_back(static_cast<std::int32_t>(w));
  }
  t.ids.push_back(sep);
  t.word_of.push_back(-1);
  return t;
}

// Runs text + annotations through kplug into the mock; the entity vector of
// row r is (r + 1) * 100 in every column, so it is recognisable downstream.
void run(kplug::backend::mock_backend& encoder, const std::vector<std::string>& texts,
             const std::vector<std::vector<gold_annotation>>& gold) {
  const kplug::splice::planner planner({.format = kplug::splice::splice_format::entity_slash_mention(slash)});
  std::vector<kplug::splice::splice_plan> plans;
  for (std::size_t s = 0; s < texts.size(); ++s) {
    const auto words = kplug::text::split_words(texts[s]);
    const auto mentions = to_mentions(words, gold[s]);
    std::vector<kplug::row_index> rows;
    for (const auto& m : mentions) rows.push_back(m.entity == "Q90" ? 0 : 1);  // a two-entity "knowledge base"
    plans.push_back(planner.build(tokenize(words), mentions, rows));
  }
  const kplug::splice::packed_plan batch = kplug::splice::pack(plans);
  kplug::matrix<float> mapped(batch.entities(), encoder.hidden_size());
  for (kplug::index_t r = 0; r < mapped.rows(); ++r)
    for (float& v : mapped.row(r)) v = static_cast<float>(batch.distinct_rows[0][std::size_t(r)] + 1) * 100.0f;
  std::vector<std::int32_t> cls_rows(batch.layout.offsets.begin(), batch.layout.offsets.end() - 1);
  kplug::matrix<float> logits(static_cast<kplug::index_t>(cls_rows.size()), encoder.output_size());
  encoder.forward(batch.input(), mapped, cls_rows, logits);
}

}  // namespace

TEST_CASE("a gold annotation becomes an entity row in front of its mention") {
  kplug::backend::mock_backend encoder(/*vocab=*/64, /*hidden=*/8, /*output=*/4, /*max_positions=*/64);
  run(encoder, {"I love Paris ."}, {{{7, 12, "Q90"}}});

  const kplug::backend::mock_call& seen = encoder.last_input();
  // [CLS] I love E / Paris . [SEP]: the entity row sits at row 3 with position 3.
  REQUIRE(seen.tokens() == 8);
  CHECK(seen.row(3)[0] == doctest::Approx(100.0f));
  CHECK(seen.position_ids == std::vector<std::int32_t>{0, 1, 2, 3, 4, 5, 6, 7});
  // and "Paris" (word 2, piece id 12) moved from row 3 to row 5.
  std::vector<float> paris(8);
  encoder.embed_tokens(std::vector<kplug::token_id>{12}, kplug::matrix_view<float>(paris.data(), 1, 8));
  CHECK(seen.row(5)[0] == doctest::Approx(paris[0]));
}

TEST_CASE("a multi-word annotation is one mention, and a second sequence is untouched") {
  kplug::backend::mock_backend encoder(64, 8, 4, 64);
  run(encoder, {"New York is big", "hello there"}, {{{0, 8, "Q60"}}, {}});
  const kplug::backend::mock_call& seen = encoder.last_input();
  // [CLS] E / New York is big [SEP] | [CLS] hello there [SEP]
  CHECK(seen.offsets == std::vector<std::int32_t>{0, 8, 12});
  CHECK(seen.row(1)[0] == doctest::Approx(200.0f));            // row 1 of the KB -> 200
  CHECK(seen.position_ids[8] == 0);                            // sequence 2 restarts its positions
}

TEST_CASE("an annotation off the word boundaries is rejected, not guessed") {
  kplug::backend::mock_backend encoder(64, 8, 4, 64);
  CHECK_THROWS_AS(run(encoder, {"I love Paris ."}, {{{8, 12, "Q90"}}}), std::invalid_argument);
  CHECK(encoder.calls().forward == 0);  // nothing reached the encoder
}
