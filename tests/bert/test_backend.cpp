// bert_cpu as a backend, beyond the conformance suite (test_conformance.cpp):
// caching rules with and without kept activations, checkpoint variants and
// caller-owned heads. Numerical parity with PyTorch is in test_parity.cpp;
// here the references are the backend's own other paths.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <kplug/backend/bert_cpu.hpp>
#include <kplug/core/random.hpp>
#include <kplug/detail/half.hpp>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "support/model_paths.hpp"
#include "support/temp_dir.hpp"

namespace {

using kplug::index_t;
using kplug::matrix;
namespace fs = std::filesystem;

const std::string tiny_mlm = kplug_test::fixture("tiny_mlm");

// A random packed batch for a model of width `hidden` in which every row is
// an entity slot: row i is filled by entity row i of `rows`.
struct batch {
  matrix<float> rows;
  std::vector<std::int32_t> offsets, position_ids, segment_ids, slots;
  std::vector<kplug::token_id> token_ids;
  std::vector<std::uint8_t> mask;
  kplug::model_input input() const { return {offsets, token_ids, position_ids, segment_ids, mask, slots, slots}; }
};

batch random_batch(std::vector<std::int32_t> lengths, index_t hidden, std::uint64_t seed) {
  kplug::xoshiro256 rng(seed);
  batch b;
  b.offsets.push_back(0);
  for (const auto n : lengths) {
    for (std::int32_t i = 0; i < n; ++i) {
      b.position_ids.push_back(i);
      b.segment_ids.push_back(i >= n / 2 ? 1 : 0);
      b.mask.push_back(i == 1 ? 0 : 1);
    }
    b.offsets.push_back(b.offsets.back() + n);
  }
  b.rows.resize(b.offsets.back(), hidden);
  for (index_t r = 0; r < b.rows.rows(); ++r)
    for (float& v : b.rows.row(r)) v = static_cast<float>(rng.uniform() - 0.5);
  b.token_ids.assign(static_cast<std::size_t>(b.offsets.back()), 0);
  for (std::int32_t i = 0; i < b.offsets.back(); ++i) b.slots.push_back(i);
  return b;
}

double max_abs(const matrix<float>& a) {
  double m = 0;
  for (index_t r = 0; r < a.rows(); ++r)
    for (const float v : a.row(r)) m = std::max(m, std::abs(double(v)));
  return m;
}

double max_abs_diff(const matrix<float>& a, const matrix<float>& b) {
  double d = 0;
  for (index_t r = 0; r < a.rows(); ++r)
    for (index_t c = 0; c < a.cols(); ++c) d = std::max(d, std::abs(double(a(r, c)) - double(b(r, c))));
  return d;
}

kplug::backend::bert_cpu open(const std::string& dir, kplug::backend::bert_cpu_options o = {}) {
  return kplug::backend::bert_cpu(kplug::bert::load_checkpoint(dir), std::move(o));
}

TEST(BertBackend, ModelsTheTrainableBackendConcept) {
  static_assert(kplug::trainable_backend<kplug::backend::bert_cpu>);
  auto b = open(tiny_mlm);
  EXPECT_EQ(b.hidden_size(), 32);
  EXPECT_EQ(b.vocab_size(), 1024);
  EXPECT_EQ(b.max_positions(), 64);
  EXPECT_EQ(b.output_size(), 1024);
  EXPECT_EQ(b.weights().prefix(), "bert.");
}

TEST(BertBackend, EmbedTokensCopiesWordEmbeddingRowsAndRejectsBadIds) {
  auto b = open(tiny_mlm);
  std::vector<kplug::token_id> ids{101, 7, 102};
  matrix<float> out(3, 32);
  b.embed_tokens(ids, out.view());
  for (index_t i = 0; i < 3; ++i)
    for (index_t c = 0; c < 32; ++c) EXPECT_EQ(out(i, c), b.weights().embeddings().word(ids[static_cast<std::size_t>(i)], c));
  ids[1] = 1024;
  KPLUG_EXPECT_ERROR(b.embed_tokens(ids, out.view()), "ids[1]");
}

// backward() must give the gradient of the input it is given, whatever the
// last forward() was: the cache is only a shortcut.
TEST(BertBackend, BackwardNeverUsesAStaleCache) {
  for (const bool keep : {true, false}) {
    SCOPED_TRACE(keep ? "keep_activations" : "recompute");
    auto b = open(tiny_mlm, {.keep_activations = keep});
    const batch x = random_batch({6, 4}, 32, 3);
    batch y = random_batch({6, 4}, 32, 4);
    const std::vector<std::int32_t> positions{2, 7, 7};
    matrix<float> out(3, 1024), grad_out(3, 1024), g_fresh(10, 32), g_after_other(10, 32), g_without_forward(10, 32);
    kplug::xoshiro256 rng(5);
    for (index_t r = 0; r < 3; ++r)
      for (float& v : grad_out.row(r)) v = static_cast<float>(rng.uniform() - 0.5);

    auto fresh = open(tiny_mlm);
    fresh.forward(x.input(), x.rows, positions, out.view());
    fresh.backward(x.input(), x.rows, positions, grad_out.view(), g_fresh.view());
    // Bitwise equal (kplug's kernels do not depend on buffer addresses or
    // thread counts); a stale cache would be off by O(1) relative.
    const double tol = 0.0;
    ASSERT_GT(max_abs(g_fresh), 0.0);

    b.forward(y.input(), y.rows, positions, out.view());  // a different input ...
    b.backward(x.input(), x.rows, positions, grad_out.view(), g_after_other.view());  // ... then backward for x
    EXPECT_LE(max_abs_diff(g_fresh, g_after_other), tol);

    auto cold = open(tiny_mlm, {.keep_activations = keep});
    cold.backward(x.input(), x.rows, positions, grad_out.view(), g_without_forward.view());
    EXPECT_LE(max_abs_diff(g_fresh, g_without_forward), tol);

    // The same buffer changed in place between forward and backward.
    b.forward(y.input(), y.rows, positions, out.view());
    y.rows = x.rows;
    b.backward(y.input(), y.rows, positions, grad_out.view(), g_after_other.view());
    EXPECT_LE(max_abs_diff(g_fresh, g_after_other), tol);
  }
}

// Rewrites a checkpoint's tensors through `edit` (return nullopt to drop one)
// into `dir`, with the same config and vocabulary unless `config` is given.
using tensor_edit = std::function<std::optional<kplug::io::named_tensor>(const kplug::io::tensor_view&)>;

void rewrite(const std::string& from, const std::string& dir, const tensor_edit& edit,
             std::deque<std::vector<std::byte>>& keep) {
  fs::create_directories(dir);
  fs::copy_file(from + "/config.json", dir + "/config.json", fs::copy_options::overwrite_existing);
  fs::copy_file(from + "/vocab.txt", dir + "/vocab.txt", fs::copy_options::overwrite_existing);
  const auto file = kplug::io::open_safetensors(from + "/model.safetensors");
  std::vector<kplug::io::named_tensor> out;
  for (const auto name : file.names()) {
    const auto t = file.tensor(name);
    if (auto e = edit(t)) {
      if (e->bytes.data() != t.bytes().data()) {  // edited data must outlive the write
        auto& copy = keep.emplace_back(e->bytes.begin(), e->bytes.end());
        e->bytes = copy;
      }
      out.push_back(std::move(*e));
    }
  }
  kplug::io::write_safetensors(dir + "/model.safetensors", out);
}

kplug::io::named_tensor same(const kplug::io::tensor_view& t) {
  return {t.name(), t.dtype(), {t.shape().begin(), t.shape().end()}, t.bytes()};
}

TEST(BertBackend, MissingOrMisshapenTensorsAreNamed) {
  kplug_test::temp_dir tmp;
  std::deque<std::vector<std::byte>> keep;
  const std::string missing = tmp.file("missing");
  rewrite(tiny_mlm, missing, [](const auto& t) -> std::optional<kplug::io::named_tensor> {
    if (t.name() == "bert.encoder.layer.1.attention.self.key.bias") return std::nullopt;
    return same(t);
  }, keep);
  KPLUG_EXPECT_ERROR(kplug::bert::load_checkpoint(missing), "bert.encoder.layer.1.attention.self.key.bias");

  const std::string misshapen = tmp.file("misshapen");
  rewrite(tiny_mlm, misshapen, [](const auto& t) -> std::optional<kplug::io::named_tensor> {
    auto n = same(t);
    if (t.name() == "bert.encoder.layer.0.intermediate.dense.weight") n.shape = {32, 64};  // transposed
    return n;
  }, keep);
  KPLUG_EXPECT_ERROR(kplug::bert::load_checkpoint(misshapen), "[64, 32]");

  const std::string not_bert = tmp.file("not_bert");
  rewrite(tiny_mlm, not_bert, [](const auto& t) -> std::optional<kplug::io::named_tensor> {
    auto n = same(t);
    n.name = "roberta." + n.name;
    return n;
  }, keep);
  KPLUG_EXPECT_ERROR(kplug::bert::load_checkpoint(not_bert), "embeddings.word_embeddings.weight");

  const std::string pickle_only = tmp.file("pickle_only");
  fs::create_directories(pickle_only);
  fs::copy_file(tiny_mlm + "/config.json", pickle_only + "/config.json");
  tmp.write("pickle_only/pytorch_model.bin", "not read");
  KPLUG_EXPECT_ERROR(kplug::bert::load_checkpoint(pickle_only), "safe_serialization");
  KPLUG_EXPECT_ERROR(kplug::bert::load_checkpoint(tmp.file("nowhere")), "not a directory");
}

TEST(BertBackend, HalfPrecisionAndUnprefixedCheckpointsGiveTheSameModel) {
  kplug_test::temp_dir tmp;
  std::deque<std::vector<std::byte>> keep;
  // Every float tensor rounded to f16: outputs must match the f32 model run
  // on the same rounded values, so compare against rounding in place.
  const std::string half = tmp.file("half");
  rewrite(tiny_mlm, half, [](const kplug::io::tensor_view& t) -> std::optional<kplug::io::named_tensor> {
    auto n = same(t);
    if (t.dtype() != kplug::io::dtype::f32) return n;
    const auto v = t.values<float>();
    std::vector<std::byte> bytes(v.size() * 2);
    for (std::size_t i = 0; i < v.size(); ++i) {
      const std::uint16_t h = kplug::detail::float_to_half(v[i]);
      std::memcpy(bytes.data() + 2 * i, &h, 2);
    }
    static std::deque<std::vector<std::byte>> store;
    n.bytes = store.emplace_back(std::move(bytes));
    n.dtype = kplug::io::dtype::f16;
    return n;
  }, keep);
  // BertModel naming: the base tensors without "bert.", the head dropped.
  const std::string bare = tmp.file("bare");
  rewrite(tiny_mlm, bare, [](const kplug::io::tensor_view& t) -> std::optional<kplug::io::named_tensor> {
    if (t.name().rfind("cls.", 0) == 0) return std::nullopt;
    auto n = same(t);
    n.name = n.name.substr(5);
    return n;
  }, keep);
  {
    auto cfg = nlohmann::json::parse(std::ifstream(bare + "/config.json"));
    cfg["architectures"] = {"BertModel"};
    std::ofstream(bare + "/config.json") << cfg.dump();
  }

  auto reference = open(tiny_mlm);
  auto from_half = open(half);
  auto unprefixed = open(bare);
  EXPECT_EQ(unprefixed.weights().prefix(), "");
  EXPECT_EQ(unprefixed.output_kind(), "hidden");
  const batch x = random_batch({7, 5}, 32, 7);
  matrix<float> h_ref(12, 32), h_half(12, 32), h_bare(12, 32);
  reference.encode(x.input(), x.rows, h_ref.view());
  from_half.encode(x.input(), x.rows, h_half.view());
  unprefixed.encode(x.input(), x.rows, h_bare.view());
  EXPECT_EQ(max_abs_diff(h_ref, h_bare), 0.0);
  // f16 weights: close to the f32 model (within f16 rounding), not identical.
  const double d = max_abs_diff(h_ref, h_half);
  EXPECT_GT(d, 0.0);
  EXPECT_LT(d, 0.05);
}

TEST(BertBackend, SetClassifierSwapsTheHeadForACallerOwnedOne) {
  auto b = open(tiny_mlm);
  matrix<float> w(4, 32);
  std::vector<float> bias{0.1f, -0.2f, 0.3f, 0.0f};
  for (index_t r = 0; r < 4; ++r)
    for (index_t c = 0; c < 32; ++c) w(r, c) = static_cast<float>((r + 1) * (c % 5)) * 0.01f;
  b.set_classifier(kplug::bert::classification_head(std::nullopt, {w.view(), bias}));
  EXPECT_EQ(b.output_kind(), "classifier");
  EXPECT_EQ(b.output_size(), 4);
  const batch x = random_batch({6}, 32, 8);
  matrix<float> hidden(6, 32), logits(1, 4);
  b.encode(x.input(), x.rows, hidden.view());
  const std::vector<std::int32_t> at{3};
  b.forward(x.input(), x.rows, at, logits.view());
  for (index_t o = 0; o < 4; ++o) {
    double s = bias[static_cast<std::size_t>(o)];
    for (index_t c = 0; c < 32; ++c) s += double(w(o, c)) * double(hidden(3, c));
    EXPECT_NEAR(logits(0, o), s, 1e-5);
  }
  matrix<float> wrong(4, 31);
  KPLUG_EXPECT_ERROR(b.set_classifier(kplug::bert::classification_head(std::nullopt, {wrong.view(), bias})), "hidden size");
}

}  // namespace
