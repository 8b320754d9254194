// Opening a Hugging Face BERT checkpoint directory: config.json and
// model.safetensors (the tokenizer's vocab.txt is read by
// text::bert_tokenizer::from_directory). PyTorch pickles (pytorch_model.bin)
// are refused with a pointer to conversion: kplug does not execute pickles.
#pragma once

#include <filesystem>
#include <string>

#include "kplug/bert/config.hpp"
#include "kplug/bert/weights.hpp"
#include "kplug/core/error.hpp"

namespace kplug::bert {

inline bert_weights load_checkpoint(const std::string& dir) {
  namespace fs = std::filesystem;
  constexpr const char* what = "opening a BERT checkpoint";
  const fs::path root(dir);
  if (!fs::is_directory(root)) throw error(what, dir, "is not a directory");
  const fs::path config = root / "config.json";
  const fs::path weights = root / "model.safetensors";
  if (!fs::exists(config)) throw error(what, config.string(), "does not exist");
  if (!fs::exists(weights)) {
    if (fs::exists(root / "pytorch_model.bin"))
      throw error(what, weights.string(),
                  "does not exist; the directory has only pytorch_model.bin. Save the model with "
                  "save_pretrained(..., safe_serialization=True) to get model.safetensors");
    throw error(what, weights.string(), "does not exist");
  }
  return load_bert_weights(weights.string(), load_bert_config(config.string()));
}

}  // namespace kplug::bert
