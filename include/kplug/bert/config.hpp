// The configuration of a BERT-family checkpoint, read from a Hugging Face
// `config.json`. Only what changes the computation is kept; everything is
// checked, so a model kplug cannot run exactly is refused up front instead of
// producing plausible garbage (RoBERTa's shifted positions, relative position
// embeddings, an activation we do not implement, ...).
#pragma once

#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kplug/core/error.hpp"
#include "kplug/core/limits.hpp"
#include "kplug/core/matrix_view.hpp"  // index_t
#include "kplug/core/types.hpp"
#include "kplug/io/json.hpp"

namespace kplug::bert {

// hidden_act. gelu is the exact erf form; gelu_tanh is the tanh
// approximation Hugging Face calls "gelu_new" / "gelu_pytorch_tanh".
enum class activation { gelu, gelu_tanh, relu };

// Which head the checkpoint's architecture carries.
enum class head_kind {
  none,                     // BertModel: last hidden states
  masked_lm,                // BertForMaskedLM, BertForPreTraining
  sequence_classification,  // BertForSequenceClassification: pooler + classifier
  token_classification,     // BertForTokenClassification: classifier on each position
};

struct bert_config {
  index_t vocab_size = 0;
  index_t hidden_size = 0;
  index_t num_layers = 0;
  index_t num_heads = 0;
  index_t intermediate_size = 0;
  index_t max_positions = 0;
  index_t type_vocab_size = 0;
  float layer_norm_eps = 1e-12f;
  activation hidden_act = activation::gelu;
  head_kind head = head_kind::none;
  std::string architecture;  // as written, e.g. "BertForMaskedLM" ("BertModel" if absent)
  index_t num_labels = 0;    // classification heads; 0 otherwise
  bool tie_word_embeddings = true;

  index_t head_dim() const noexcept { return hidden_size / num_heads; }
};

// Parses a config.json document; `source` names it in errors.
bert_config parse_bert_config(const nlohmann::json& doc, const std::string& source);
// Reads and parses a config.json file of at most limits.max_json_file_bytes,
// strictly (io::parse_json: invalid JSON names the byte, a repeated key is an error).
bert_config load_bert_config(const std::string& path, const input_limits& limits = {});

// ---------------------------------------------------------------------------
// Implementation

namespace detail {

inline constexpr const char* config_what = "reading a BERT config";

inline index_t config_positive(const nlohmann::json& doc, const char* key, const std::string& source,
                               bool required = true, index_t fallback = 0) {
  const std::optional<std::int64_t> v =
      required ? io::json_required<std::int64_t>(doc, key, config_what, source)
               : io::json_optional<std::int64_t>(doc, key, config_what, source);
  if (!v) return fallback;
  if (*v <= 0)
    throw error(config_what, io::json_key_where(source, key),
                "must be a positive integer, found " + std::to_string(*v));
  return *v;
}

inline std::string config_string(const nlohmann::json& doc, const char* key, const std::string& source,
                                 const char* fallback) {
  return io::json_optional<std::string>(doc, key, config_what, source).value_or(fallback);
}

}  // namespace detail

inline bert_config parse_bert_config(const nlohmann::json& doc, const std::string& source) {
  constexpr const char* what = "reading a BERT config";
  if (!doc.is_object()) throw error(what, source, "is not a JSON object");
  bert_config c;

  const std::string model_type = detail::config_string(doc, "model_type", source, "bert");
  if (model_type != "bert")
    throw error(what, source + ": \"model_type\"",
                "is \"" + model_type + "\"; kplug's CPU encoder runs BERT models only (model_type \"bert\")");

  c.architecture = "BertModel";
  if (const auto it = doc.find("architectures"); it != doc.end() && !it->is_null()) {
    if (!it->is_array() || it->size() != 1 || !(*it)[0].is_string())
      throw error(what, source + ": \"architectures\"", "must list exactly one architecture, found " + it->dump());
    c.architecture = (*it)[0].get<std::string>();
  }
  if (c.architecture == "BertModel")
    c.head = head_kind::none;
  else if (c.architecture == "BertForMaskedLM" || c.architecture == "BertForPreTraining")
    c.head = head_kind::masked_lm;
  else if (c.architecture == "BertForSequenceClassification")
    c.head = head_kind::sequence_classification;
  else if (c.architecture == "BertForTokenClassification")
    c.head = head_kind::token_classification;
  else
    throw error(what, source + ": \"architectures\"",
                "\"" + c.architecture +
                    "\" is not supported; supported: BertModel, BertForMaskedLM, BertForPreTraining, "
                    "BertForSequenceClassification, BertForTokenClassification");

  c.vocab_size = detail::config_positive(doc, "vocab_size", source);
  c.hidden_size = detail::config_positive(doc, "hidden_size", source);
  c.num_layers = detail::config_positive(doc, "num_hidden_layers", source);
  c.num_heads = detail::config_positive(doc, "num_attention_heads", source);
  c.intermediate_size = detail::config_positive(doc, "intermediate_size", source);
  c.max_positions = detail::config_positive(doc, "max_position_embeddings", source);
  c.type_vocab_size = detail::config_positive(doc, "type_vocab_size", source, false, 2);
  if (c.hidden_size % c.num_heads != 0)
    throw error(what, source,
                "hidden_size " + std::to_string(c.hidden_size) + " is not a multiple of num_attention_heads " +
                    std::to_string(c.num_heads));

  if (doc.contains("layer_norm_eps")) {
    const double eps = io::json_required<double>(doc, "layer_norm_eps", what, source);
    if (!(eps > 0) || !std::isfinite(eps))
      throw error(what, io::json_key_where(source, "layer_norm_eps"),
                  "must be a positive number, found " + io::json_snippet(doc["layer_norm_eps"]));
    c.layer_norm_eps = static_cast<float>(eps);
  }

  const std::string act = detail::config_string(doc, "hidden_act", source, "gelu");
  if (act == "gelu")
    c.hidden_act = activation::gelu;
  else if (act == "gelu_new" || act == "gelu_pytorch_tanh")
    c.hidden_act = activation::gelu_tanh;
  else if (act == "relu")
    c.hidden_act = activation::relu;
  else
    throw error(what, source + ": \"hidden_act\"",
                "\"" + act + "\" is not supported; supported: gelu, gelu_new, gelu_pytorch_tanh, relu");

  const std::string pos = detail::config_string(doc, "position_embedding_type", source, "absolute");
  if (pos != "absolute")
    throw error(what, source + ": \"position_embedding_type\"",
                "\"" + pos + "\" is not supported; only absolute position embeddings are");

  if (const auto it = doc.find("tie_word_embeddings"); it != doc.end() && it->is_boolean())
    c.tie_word_embeddings = it->get<bool>();

  if (c.head == head_kind::sequence_classification || c.head == head_kind::token_classification) {
    // Hugging Face stores the label count as id2label (num_labels is derived).
    if (const auto it = doc.find("id2label"); it != doc.end() && it->is_object() && !it->empty())
      c.num_labels = static_cast<index_t>(it->size());
    else
      c.num_labels = detail::config_positive(doc, "num_labels", source, false, 2);
  }
  return c;
}

inline bert_config load_bert_config(const std::string& path, const input_limits& limits) {
  return parse_bert_config(io::read_json_file(path, detail::config_what, limits), path);
}

}  // namespace kplug::bert
