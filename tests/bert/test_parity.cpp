// The CPU encoder against PyTorch (Hugging Face transformers) on the same
// weights. Fixtures: tests/fixtures/, made by scripts/fixtures/make-fixtures.sh
// in float64; all-MiniLM-L6-v2 itself comes from scripts/fetch-model.sh.
//
// Tolerances (from the issue): hidden states and logits within 1e-4
// absolute; input gradients within 1e-4 relative to the largest reference
// gradient entry. The spliced fixtures give every input row as a vector, so
// they reach bert_cpu as entity rows of one slot each (packed_fixture).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <kplug/backend/bert_cpu.hpp>
#include <kplug/io/npy.hpp>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>
#include <vector>

#include "support/isa.hpp"
#include "support/model_paths.hpp"

namespace {

using kplug::index_t;
using kplug::matrix;
using kplug_test::fixture;

std::vector<std::int32_t> int32_of(const std::string& path) {
  const auto a = kplug::io::open_npy(path);
  std::vector<std::int32_t> out;
  if (a.header().dtype == kplug::io::dtype::i64) {
    for (const auto v : a.values<std::int64_t>()) out.push_back(static_cast<std::int32_t>(v));
  } else {
    const auto v = a.values<std::int32_t>();
    out.assign(v.begin(), v.end());
  }
  return out;
}

std::vector<std::uint8_t> bytes_of(const std::string& path) {
  const auto a = kplug::io::open_npy(path);  // the values are views into its mapping
  const auto v = a.values<std::uint8_t>();
  return {v.begin(), v.end()};
}

matrix<float> matrix_of(const std::string& path) {
  const auto a = kplug::io::open_npy(path);
  const auto v = a.as_matrix<float>();
  matrix<float> m(v.rows(), v.cols());
  for (index_t r = 0; r < v.rows(); ++r) std::copy_n(v.row(r).data(), v.cols(), m.row(r).data());
  return m;
}

// Largest absolute difference, and where.
struct difference {
  double max_abs = 0;
  index_t row = -1, col = -1;
  double ref_max = 0;
};

difference compare(const matrix<float>& got, const matrix<float>& ref) {
  EXPECT_EQ(got.rows(), ref.rows());
  EXPECT_EQ(got.cols(), ref.cols());
  difference d;
  for (index_t r = 0; r < std::min(got.rows(), ref.rows()); ++r)
    for (index_t c = 0; c < std::min(got.cols(), ref.cols()); ++c) {
      const double e = std::abs(double(got(r, c)) - double(ref(r, c)));
      d.ref_max = std::max(d.ref_max, std::abs(double(ref(r, c))));
      if (!(e <= d.max_abs)) {  // also catches NaN
        d.max_abs = std::isnan(e) ? INFINITY : e;
        d.row = r;
        d.col = c;
      }
    }
  return d;
}

void expect_absolute(const matrix<float>& got, const matrix<float>& ref, double tol, const char* what) {
  const difference d = compare(got, ref);
  EXPECT_LE(d.max_abs, tol) << what << ": largest error " << d.max_abs << " at row " << d.row << ", column "
                            << d.col;
}

void expect_relative(const matrix<float>& got, const matrix<float>& ref, double tol, const char* what) {
  const difference d = compare(got, ref);
  ASSERT_GT(d.ref_max, 0.0) << what << ": the reference is all zeros";
  EXPECT_LE(d.max_abs / d.ref_max, tol) << what << ": largest error " << d.max_abs << " at row " << d.row
                                        << ", column " << d.col << " against a largest entry of " << d.ref_max;
}

kplug::backend::bert_cpu& minilm() {
  static kplug::backend::bert_cpu b(kplug::bert::load_checkpoint(kplug_test::minilm_dir()), {.threads = 2});
  return b;
}

TEST(MiniLMParity, HiddenStatesOfRealSentencesInOnePackedBatch) {
  if (!kplug_test::have_minilm()) return;
  auto& b = minilm();
  std::ifstream in(fixture("minilm/encode.jsonl"));
  ASSERT_TRUE(in) << fixture("minilm/encode.jsonl");
  std::vector<kplug::token_id> ids;
  std::vector<std::int32_t> offsets{0}, positions;
  for (std::string line; std::getline(in, line);) {
    const auto doc = nlohmann::json::parse(line);
    std::int32_t p = 0;
    for (const auto& id : doc.at("ids")) {
      ids.push_back(id.get<kplug::token_id>());
      positions.push_back(p++);
    }
    offsets.push_back(static_cast<std::int32_t>(ids.size()));
  }
  ASSERT_EQ(offsets, int32_of(fixture("minilm/encode_offsets.npy")));
  const auto t = static_cast<index_t>(ids.size());
  matrix<float> hidden(t, b.hidden_size());
  const std::vector<std::int32_t> segments(ids.size(), 0), no_slots;
  const std::vector<std::uint8_t> mask(ids.size(), 1);
  // The backend embeds the token ids itself; no entity rows.
  b.encode({offsets, ids, positions, segments, mask, no_slots, no_slots}, matrix<float>(0, b.hidden_size()),
           hidden.view());
  expect_absolute(hidden, matrix_of(fixture("minilm/encode_hidden.npy")), 1e-4, "last hidden states");
}

// A packed batch given as the input embedding row of every token (word rows
// and spliced entity rows, as the reference script built them). Every row
// is passed as an entity slot with its own entity row, so the gradient with
// respect to the entity rows is the gradient with respect to every input row.
struct packed_fixture {
  matrix<float> embeddings;
  std::vector<std::int32_t> offsets, position_ids, segment_ids;
  std::vector<std::uint8_t> mask;
  std::vector<kplug::token_id> token_ids;
  std::vector<std::int32_t> every_row;

  packed_fixture(matrix<float> e, std::vector<std::int32_t> o, std::vector<std::int32_t> p,
                 std::vector<std::int32_t> s, std::vector<std::uint8_t> m)
      : embeddings(std::move(e)), offsets(std::move(o)), position_ids(std::move(p)), segment_ids(std::move(s)),
        mask(std::move(m)), token_ids(position_ids.size(), 0), every_row(position_ids.size()) {
    std::iota(every_row.begin(), every_row.end(), 0);
  }
  kplug::model_input input() const {
    return {offsets, token_ids, position_ids, segment_ids, mask, every_row, every_row};
  }
};

packed_fixture splice_fixture() {
  return {matrix_of(fixture("minilm/splice_embeddings.npy")), int32_of(fixture("minilm/splice_offsets.npy")),
          int32_of(fixture("minilm/splice_position_ids.npy")), int32_of(fixture("minilm/splice_segment_ids.npy")),
          bytes_of(fixture("minilm/splice_attention_mask.npy"))};
}

TEST(MiniLMParity, HiddenStatesWithSplicedRowsSharedPositionsSegmentsAndMask) {
  if (!kplug_test::have_minilm()) return;
  auto& b = minilm();
  const packed_fixture f = splice_fixture();
  // The fixture must exercise what it claims to.
  ASSERT_NE(std::count(f.mask.begin(), f.mask.end(), 0), 0);
  ASSERT_NE(std::count(f.segment_ids.begin(), f.segment_ids.end(), 1), 0);
  matrix<float> hidden(f.embeddings.rows(), b.hidden_size());
  b.encode(f.input(), f.embeddings, hidden.view());
  expect_absolute(hidden, matrix_of(fixture("minilm/splice_hidden.npy")), 1e-4, "spliced hidden states");
}

TEST(MiniLMParity, InputGradientOfAFixedLoss) {
  if (!kplug_test::have_minilm()) return;
  auto& b = minilm();
  ASSERT_EQ(b.output_kind(), "hidden");
  const packed_fixture f = splice_fixture();
  const index_t t = f.embeddings.rows();
  std::vector<std::int32_t> all(static_cast<std::size_t>(t));
  std::iota(all.begin(), all.end(), 0);
  matrix<float> out(t, b.hidden_size()), grad_in(t, b.hidden_size());
  b.forward(f.input(), f.embeddings, all, out.view());
  expect_absolute(out, matrix_of(fixture("minilm/splice_hidden.npy")), 1e-4, "forward at every row");
  b.backward(f.input(), f.embeddings, all, matrix_of(fixture("minilm/grad_output.npy")).view(), grad_in.view());
  expect_relative(grad_in, matrix_of(fixture("minilm/grad_input.npy")), 1e-4, "input gradient");
}

// The same checks at every instruction set this CPU runs, forced one after
// another on the one loaded model: portable runs Eigen's GEMM on the
// unpacked weights, avx2 and avx512 the packed kernels with GELU in the
// epilogue. Each is held to PyTorch, not to another level.
TEST(MiniLMParity, EveryInstructionSetMatchesPyTorch) {
  if (!kplug_test::have_minilm()) return;
  auto& b = minilm();
  const packed_fixture f = splice_fixture();
  const index_t t = f.embeddings.rows();
  std::vector<std::int32_t> all(static_cast<std::size_t>(t));
  std::iota(all.begin(), all.end(), 0);
  const kplug_test::isa_guard restore;
  for (const auto level : kplug_test::available_isas()) {
    kplug::cpu::set_active_isa(level);
    SCOPED_TRACE(std::string(kplug::cpu::isa_name(level)));
    matrix<float> out(t, b.hidden_size()), grad_in(t, b.hidden_size());
    b.forward(f.input(), f.embeddings, all, out.view());
    expect_absolute(out, matrix_of(fixture("minilm/splice_hidden.npy")), 1e-4, "forward at every row");
    b.backward(f.input(), f.embeddings, all, matrix_of(fixture("minilm/grad_output.npy")).view(), grad_in.view());
    expect_relative(grad_in, matrix_of(fixture("minilm/grad_input.npy")), 1e-4, "input gradient");
  }
}

// The small task checkpoints (random heads) saved by the fixture script.
void check_head_checkpoint(const std::string& name, std::string_view kind, index_t outputs) {
  SCOPED_TRACE(name);
  kplug::backend::bert_cpu b(kplug::bert::load_checkpoint(fixture(name)), {.threads = 2});
  EXPECT_EQ(b.output_kind(), kind);
  EXPECT_EQ(b.output_size(), outputs);
  const std::string ref = name + "/reference/";
  const packed_fixture f{matrix_of(fixture(ref + "embeddings.npy")), int32_of(fixture(ref + "offsets.npy")),
                         int32_of(fixture(ref + "position_ids.npy")), int32_of(fixture(ref + "segment_ids.npy")),
                         bytes_of(fixture(ref + "attention_mask.npy"))};
  const auto positions = int32_of(fixture(ref + "positions.npy"));
  const index_t t = f.embeddings.rows();
  const auto p = static_cast<index_t>(positions.size());

  matrix<float> hidden(t, b.hidden_size());
  b.encode(f.input(), f.embeddings, hidden.view());
  expect_absolute(hidden, matrix_of(fixture(ref + "hidden.npy")), 1e-4, "last hidden states");

  matrix<float> logits(p, b.output_size()), grad_in(t, b.hidden_size());
  b.forward(f.input(), f.embeddings, positions, logits.view());
  expect_absolute(logits, matrix_of(fixture(ref + "logits.npy")), 1e-4, "head outputs");
  b.backward(f.input(), f.embeddings, positions, matrix_of(fixture(ref + "grad_logits.npy")).view(),
             grad_in.view());
  expect_relative(grad_in, matrix_of(fixture(ref + "grad_input.npy")), 1e-4, "input gradient through the head");
}

TEST(HeadParity, MaskedLanguageModelWithTiedDecoder) { check_head_checkpoint("tiny_mlm", "masked_lm", 1024); }
TEST(HeadParity, SequenceClassifierWithPoolerAtChosenRows) { check_head_checkpoint("tiny_cls", "classifier", 3); }
TEST(HeadParity, TokenClassifierWithoutPooler) { check_head_checkpoint("tiny_tok", "classifier", 5); }

}  // namespace
