// Shared by the tokenizer tests: where the MiniLM vocabulary and the fixtures
// are, and the tokenizer built from them.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "kplug/text/wordpiece.hpp"
#include "support/model_paths.hpp"  // minilm_dir(), fixture()

namespace kplug_test {

inline std::string tokenizer_fixture() { return fixture("minilm/tokenizer.jsonl"); }

// The MiniLM tokenizer, or a test failure saying how to get the model (the
// tests never skip: a missing model is a broken setup).
inline const kplug::text::bert_tokenizer* minilm_tokenizer() {
  static const kplug::text::bert_tokenizer* tok = []() -> const kplug::text::bert_tokenizer* {
    const std::string vocab = minilm_dir() + "/vocab.txt";
    if (!std::filesystem::exists(vocab)) return nullptr;
    return new kplug::text::bert_tokenizer(kplug::text::bert_tokenizer::from_directory(minilm_dir()));
  }();
  if (tok == nullptr)
    ADD_FAILURE() << "no MiniLM vocabulary at " << minilm_dir()
                  << "/vocab.txt: run scripts/fetch-model.sh (or set KPLUG_MINILM_DIR)";
  return tok;
}

}  // namespace kplug_test
