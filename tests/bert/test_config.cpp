#include <gtest/gtest.h>

#include <kplug/bert/config.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "support/temp_dir.hpp"

namespace {

nlohmann::json minilm_like() {
  return nlohmann::json::parse(R"({
    "architectures": ["BertModel"], "model_type": "bert", "hidden_act": "gelu",
    "hidden_size": 384, "intermediate_size": 1536, "num_attention_heads": 12, "num_hidden_layers": 6,
    "max_position_embeddings": 512, "type_vocab_size": 2, "vocab_size": 30522, "layer_norm_eps": 1e-12,
    "position_embedding_type": "absolute"})");
}

TEST(BertConfig, ReadsTheFieldsThatShapeTheModel) {
  const auto c = kplug::bert::parse_bert_config(minilm_like(), "config.json");
  EXPECT_EQ(c.hidden_size, 384);
  EXPECT_EQ(c.num_layers, 6);
  EXPECT_EQ(c.num_heads, 12);
  EXPECT_EQ(c.head_dim(), 32);
  EXPECT_EQ(c.intermediate_size, 1536);
  EXPECT_EQ(c.max_positions, 512);
  EXPECT_EQ(c.vocab_size, 30522);
  EXPECT_FLOAT_EQ(c.layer_norm_eps, 1e-12f);
  EXPECT_EQ(c.hidden_act, kplug::bert::activation::gelu);
  EXPECT_EQ(c.head, kplug::bert::head_kind::none);
}

TEST(BertConfig, MapsArchitecturesToHeads) {
  using kplug::bert::head_kind;
  const std::pair<const char*, head_kind> cases[] = {
      {"BertForMaskedLM", head_kind::masked_lm},
      {"BertForPreTraining", head_kind::masked_lm},
      {"BertForSequenceClassification", head_kind::sequence_classification},
      {"BertForTokenClassification", head_kind::token_classification}};
  for (const auto& [name, head] : cases) {
    auto doc = minilm_like();
    doc["architectures"] = {name};
    doc["id2label"] = {{"0", "a"}, {"1", "b"}, {"2", "c"}};
    const auto c = kplug::bert::parse_bert_config(doc, "config.json");
    EXPECT_EQ(c.head, head) << name;
    if (head == head_kind::sequence_classification || head == head_kind::token_classification) {
      EXPECT_EQ(c.num_labels, 3) << name;
    }
  }
}

TEST(BertConfig, AcceptsTheTanhGeluSpellingsAndRelu) {
  using kplug::bert::activation;
  const std::pair<const char*, activation> cases[] = {
      {"gelu_new", activation::gelu_tanh}, {"gelu_pytorch_tanh", activation::gelu_tanh}, {"relu", activation::relu}};
  for (const auto& [name, act] : cases) {
    auto doc = minilm_like();
    doc["hidden_act"] = name;
    EXPECT_EQ(kplug::bert::parse_bert_config(doc, "c").hidden_act, act) << name;
  }
}

void expect_refused(nlohmann::json doc, const std::string& needle) {
  try {
    kplug::bert::parse_bert_config(doc, "my/config.json");
    ADD_FAILURE() << "accepted a config that should be refused (" << needle << ")";
  } catch (const kplug::error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    EXPECT_NE(msg.find("my/config.json"), std::string::npos) << msg;
  }
}

TEST(BertConfig, RefusesWhatItCannotRunExactly) {
  auto doc = minilm_like();
  doc["hidden_act"] = "swish";
  expect_refused(doc, "swish");
  doc = minilm_like();
  doc["architectures"] = {"RobertaForMaskedLM"};
  expect_refused(doc, "RobertaForMaskedLM");
  doc = minilm_like();
  doc["model_type"] = "roberta";
  expect_refused(doc, "roberta");
  doc = minilm_like();
  doc["position_embedding_type"] = "relative_key";
  expect_refused(doc, "relative_key");
  doc = minilm_like();
  doc["num_attention_heads"] = 7;
  expect_refused(doc, "not a multiple");
  doc = minilm_like();
  doc.erase("hidden_size");
  expect_refused(doc, "hidden_size");
  doc = minilm_like();
  doc["num_hidden_layers"] = -1;
  expect_refused(doc, "num_hidden_layers");
  doc = minilm_like();
  doc["architectures"] = {"BertModel", "BertForMaskedLM"};
  expect_refused(doc, "architectures");
}

TEST(BertConfig, FileErrorsNameThePath) {
  kplug_test::temp_dir dir;
  const std::string bad = dir.write("config.json", "{ not json");
  try {
    kplug::bert::load_bert_config(bad);
    FAIL();
  } catch (const kplug::error& e) {
    EXPECT_NE(std::string(e.what()).find("config.json"), std::string::npos);
  }
  EXPECT_THROW(kplug::bert::load_bert_config(dir.file("missing.json")), kplug::error);
}

// A config is parsed whole into a document many times its size: the file's
// length is checked against the limit before it is read.
TEST(BertConfig, RefusesAFileOverTheSizeLimitBeforeParsingIt) {
  kplug_test::temp_dir dir;
  const std::string text = minilm_like().dump();
  const std::string path = dir.write("config.json", text);
  kplug::input_limits limits;
  limits.max_json_file_bytes = text.size();
  EXPECT_EQ(kplug::bert::load_bert_config(path, limits).hidden_size, 384);
  limits.max_json_file_bytes = text.size() - 1;
  KPLUG_EXPECT_ERROR(kplug::bert::load_bert_config(path, limits), path,
                     "a file of " + std::to_string(text.size()) + " bytes exceeds the limit of " +
                         std::to_string(text.size() - 1) + " (input_limits::max_json_file_bytes)");
}

}  // namespace
