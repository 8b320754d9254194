// The weights of a BERT checkpoint, loaded from a Hugging Face
// model.safetensors. float32 tensors are used in place from the memory map
// (no copy, pages shared between processes); f16/bf16/f64 tensors are
// widened into owned memory once. The only other copy is the fused
// query/key/value projection of each layer, which turns three GEMMs into one.
//
// Names: the base model's tensors are looked up with the `bert.` prefix that
// task checkpoints (BertForMaskedLM, ...) use, or without it (BertModel); old
// LayerNorm.gamma/.beta names are accepted. A missing or misshapen tensor is
// an error naming the tensor, the file and the expected shape.
//
// Where kernels::packed_gemm_preferred() when they load (a CPU with AVX2 and
// FMA at least, unless KPLUG_ISA lowers it), the encoder layers' linear
// weights are also packed once for kernels::gemm_packed, for
// the forward and for the input gradient (about twice their float32 size in
// extra memory: 85 MB for MiniLM-L6).
#pragma once

#include <algorithm>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "kplug/bert/config.hpp"
#include "kplug/bert/gemm.hpp"
#include "kplug/core/error.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/core/types.hpp"
#include "kplug/io/safetensors.hpp"

namespace kplug::bert {

using weight_matrix = matrix_view<const float>;  // out x in, row-major (PyTorch's Linear layout)
using weight_vector = std::span<const float>;

struct layer_norm_weights {
  weight_vector gamma;
  weight_vector beta;
};

struct linear_weights {
  weight_matrix weight;  // out x in
  weight_vector bias;    // out
  // The same weight packed for kernels::gemm_packed, when the owner packed it:
  // W^T for the forward, W for the input gradient. Null: the Eigen path.
  const kernels::packed_panels* packed = nullptr;
  const kernels::packed_panels* packed_input_grad = nullptr;
};

struct encoder_layer_weights {
  linear_weights qkv;  // 3*hidden x hidden: query rows, then key, then value
  linear_weights attention_output;
  layer_norm_weights attention_norm;
  linear_weights intermediate;  // intermediate x hidden
  linear_weights output;        // hidden x intermediate
  layer_norm_weights output_norm;
};

struct embedding_weights {
  weight_matrix word;       // vocab x hidden
  weight_matrix position;   // max_positions x hidden
  weight_matrix token_type; // type_vocab x hidden
  layer_norm_weights norm;
};

struct masked_lm_weights {
  linear_weights transform;  // hidden x hidden, then hidden_act, then norm
  layer_norm_weights transform_norm;
  weight_matrix decoder;  // vocab x hidden; the word embeddings when tied
  weight_vector bias;     // vocab
};

struct classifier_weights {
  std::optional<linear_weights> pooler;  // tanh(W h + b) first, when present
  linear_weights classifier;             // labels x hidden
};

// Owns the memory map and any converted tensors; the views above point into
// them, so the object moves but does not copy.
class bert_weights {
 public:
  bert_weights(io::safetensors_file file, const bert_config& config);
  bert_weights(bert_weights&&) noexcept = default;
  bert_weights& operator=(bert_weights&&) noexcept = default;
  bert_weights(const bert_weights&) = delete;
  bert_weights& operator=(const bert_weights&) = delete;

  const bert_config& config() const noexcept { return config_; }
  const embedding_weights& embeddings() const noexcept { return embeddings_; }
  std::span<const encoder_layer_weights> layers() const noexcept { return layers_; }
  const std::optional<linear_weights>& pooler() const noexcept { return pooler_; }
  const std::optional<masked_lm_weights>& masked_lm() const noexcept { return masked_lm_; }
  const std::optional<linear_weights>& classifier() const noexcept { return classifier_; }
  // "bert." or "" - how the base model's tensors are named in the file.
  const std::string& prefix() const noexcept { return prefix_; }
  const std::string& path() const noexcept { return path_; }

 private:
  weight_matrix matrix_tensor(const std::string& name, index_t rows, index_t cols);
  weight_vector vector_tensor(const std::string& name, index_t size);
  linear_weights linear(const std::string& name, index_t out, index_t in);
  layer_norm_weights norm(const std::string& name, index_t size);
  std::optional<io::tensor_view> find_any(const std::string& name, const std::string& alternative) const;
  std::span<const float> floats_of(const io::tensor_view& t);
  [[noreturn]] void fail(const std::string& name, const std::string& why) const;

  bert_config config_;
  io::safetensors_file file_;
  std::string path_;
  std::string prefix_;
  linear_weights packed(linear_weights w);

  std::deque<std::vector<float>> owned_;
  std::deque<kernels::packed_panels> packed_;
  embedding_weights embeddings_;
  std::vector<encoder_layer_weights> layers_;
  std::optional<linear_weights> pooler_;
  std::optional<masked_lm_weights> masked_lm_;
  std::optional<linear_weights> classifier_;
};

// Opens `path` (memory-mapped) and loads the weights `config` describes.
inline bert_weights load_bert_weights(const std::string& path, const bert_config& config) {
  return bert_weights(io::open_safetensors(path), config);
}

// out (ids.size() x hidden) = the word-embedding rows of `ids`, each id
// checked first: what a BERT backend's embed_tokens gives, on any device.
void copy_word_embeddings(const bert_weights& w, std::span<const token_id> ids, matrix_view<float> out,
                          const char* what);

// ---------------------------------------------------------------------------
// Implementation

inline void bert_weights::fail(const std::string& name, const std::string& why) const {
  throw error("loading BERT weights", path_ + ": tensor \"" + name + "\"", why);
}

inline std::optional<io::tensor_view> bert_weights::find_any(const std::string& name,
                                                             const std::string& alternative) const {
  auto found = file_.find(name);
  if (!found && !alternative.empty()) found = file_.find(alternative);
  return found;
}

inline std::span<const float> bert_weights::floats_of(const io::tensor_view& t) {
  const auto count = static_cast<std::size_t>(t.element_count());
  if (t.dtype() == io::dtype::f32 &&
      reinterpret_cast<std::uintptr_t>(t.bytes().data()) % alignof(float) == 0)
    return t.values<float>();
  const auto dt = t.dtype();
  if (dt != io::dtype::f32 && dt != io::dtype::f16 && dt != io::dtype::bf16 &&
      dt != io::dtype::f64)
    fail(t.name(), "has dtype " + std::string(io::safetensors_dtype_name(dt)) + "; weights must be F32, F16, BF16 or F64");
  auto& copy = owned_.emplace_back(count);
  t.to_float32(copy);
  return copy;
}

namespace detail {
inline std::string shape_string(std::span<const index_t> shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}
inline std::string gamma_beta_alias(const std::string& name) {
  // LayerNorm.weight <-> LayerNorm.gamma, LayerNorm.bias <-> LayerNorm.beta
  const auto ends = [&](std::string_view suffix) {
    return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends("LayerNorm.weight")) return name.substr(0, name.size() - 6) + "gamma";
  if (ends("LayerNorm.bias")) return name.substr(0, name.size() - 4) + "beta";
  return {};
}
}  // namespace detail

inline weight_matrix bert_weights::matrix_tensor(const std::string& name, index_t rows, index_t cols) {
  const auto t = find_any(name, {});
  if (!t) fail(name, "is missing from the checkpoint");
  const std::vector<index_t> want{rows, cols};
  if (t->ndim() != 2 || t->shape()[0] != rows || t->shape()[1] != cols)
    fail(name, "has shape " + detail::shape_string(t->shape()) + ", the config implies " + detail::shape_string(want));
  return {floats_of(*t).data(), rows, cols};
}

inline weight_vector bert_weights::vector_tensor(const std::string& name, index_t size) {
  const auto t = find_any(name, detail::gamma_beta_alias(name));
  if (!t) fail(name, "is missing from the checkpoint");
  if (t->ndim() != 1 || t->shape()[0] != size)
    fail(name, "has shape " + detail::shape_string(t->shape()) + ", the config implies [" + std::to_string(size) + "]");
  return floats_of(*t);
}

inline linear_weights bert_weights::linear(const std::string& name, index_t out, index_t in) {
  return {matrix_tensor(name + ".weight", out, in), vector_tensor(name + ".bias", out)};
}

inline linear_weights bert_weights::packed(linear_weights w) {
  if (!kernels::packed_gemm_preferred()) return w;
  w.packed = &packed_.emplace_back(kernels::packed_panels::transposed(w.weight));
  w.packed_input_grad = &packed_.emplace_back(kernels::packed_panels::plain(w.weight));
  return w;
}

inline layer_norm_weights bert_weights::norm(const std::string& name, index_t size) {
  return {vector_tensor(name + ".weight", size), vector_tensor(name + ".bias", size)};
}

inline bert_weights::bert_weights(io::safetensors_file file, const bert_config& config)
    : config_(config), file_(std::move(file)) {
  path_ = std::string(file_.path());
  const index_t h = config.hidden_size;
  if (file_.contains("bert.embeddings.word_embeddings.weight"))
    prefix_ = "bert.";
  else if (!file_.contains("embeddings.word_embeddings.weight"))
    fail("embeddings.word_embeddings.weight",
         "is missing (looked for it with and without the \"bert.\" prefix); is this a BERT checkpoint?");
  const std::string& p = prefix_;

  embeddings_.word = matrix_tensor(p + "embeddings.word_embeddings.weight", config.vocab_size, h);
  embeddings_.position = matrix_tensor(p + "embeddings.position_embeddings.weight", config.max_positions, h);
  embeddings_.token_type = matrix_tensor(p + "embeddings.token_type_embeddings.weight", config.type_vocab_size, h);
  embeddings_.norm = norm(p + "embeddings.LayerNorm", h);

  layers_.reserve(static_cast<std::size_t>(config.num_layers));
  for (index_t l = 0; l < config.num_layers; ++l) {
    std::string base = p;
    base += "encoder.layer.";
    base += std::to_string(l);
    base += '.';
    encoder_layer_weights w;
    // Fuse query, key and value into one (3h x h) projection.
    auto& fused_w = owned_.emplace_back(static_cast<std::size_t>(3 * h * h));
    auto& fused_b = owned_.emplace_back(static_cast<std::size_t>(3 * h));
    const char* parts[] = {"query", "key", "value"};
    for (int k = 0; k < 3; ++k) {
      const linear_weights part = linear(base + "attention.self." + parts[k], h, h);
      for (index_t r = 0; r < h; ++r)
        std::copy_n(part.weight.row(r).data(), h, fused_w.data() + (k * h + r) * h);
      std::copy_n(part.bias.data(), h, fused_b.data() + k * h);
    }
    w.qkv = {weight_matrix{fused_w.data(), 3 * h, h}, weight_vector{fused_b}};
    w.attention_output = linear(base + "attention.output.dense", h, h);
    w.attention_norm = norm(base + "attention.output.LayerNorm", h);
    w.intermediate = linear(base + "intermediate.dense", config.intermediate_size, h);
    w.output = linear(base + "output.dense", h, config.intermediate_size);
    w.output_norm = norm(base + "output.LayerNorm", h);
    w.qkv = packed(w.qkv);
    w.attention_output = packed(w.attention_output);
    w.intermediate = packed(w.intermediate);
    w.output = packed(w.output);
    layers_.push_back(w);
  }

  if (file_.contains(p + "pooler.dense.weight") || config.head == head_kind::sequence_classification)
    pooler_ = linear(p + "pooler.dense", h, h);

  if (config.head == head_kind::masked_lm) {
    masked_lm_weights m;
    m.transform = linear("cls.predictions.transform.dense", h, h);
    m.transform_norm = norm("cls.predictions.transform.LayerNorm", h);
    // Tied checkpoints are saved without the decoder (it is the word
    // embedding matrix); an untied one must carry it.
    if (file_.contains("cls.predictions.decoder.weight"))
      m.decoder = matrix_tensor("cls.predictions.decoder.weight", config.vocab_size, h);
    else if (config.tie_word_embeddings)
      m.decoder = embeddings_.word;
    else
      fail("cls.predictions.decoder.weight", "is missing and tie_word_embeddings is false");
    m.bias = file_.contains("cls.predictions.bias") ? vector_tensor("cls.predictions.bias", config.vocab_size)
                                                     : vector_tensor("cls.predictions.decoder.bias", config.vocab_size);
    masked_lm_ = m;
  }
  if (config.head == head_kind::sequence_classification || config.head == head_kind::token_classification)
    classifier_ = linear("classifier", config.num_labels, h);
}

inline void copy_word_embeddings(const bert_weights& w, std::span<const token_id> ids, matrix_view<float> out,
                                 const char* what) {
  const weight_matrix word = w.embeddings().word;
  require_shape(out, static_cast<index_t>(ids.size()), word.cols(), what, "out");
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (ids[i] < 0 || ids[i] >= word.rows())
      throw error(what, "ids[" + std::to_string(i) + "]",
                  "token id " + std::to_string(ids[i]) + " is outside the vocabulary [0, " +
                      std::to_string(word.rows()) + ")");
  for (std::size_t i = 0; i < ids.size(); ++i)
    std::copy_n(word.row(ids[i]).data(), word.cols(), out.row(static_cast<index_t>(i)).data());
}

}  // namespace kplug::bert
