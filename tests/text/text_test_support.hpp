// Shared by the tokenizer tests: where the MiniLM vocabulary and the fixtures
// are, and the tokenizer built from them.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "kplug/text/wordpiece.hpp"

namespace kplug_test {

// $KPLUG_MINILM_DIR, else $HOME/.cache/kplug/all-MiniLM-L6-v2.
inline std::string minilm_dir() {
  if (const char* dir = std::getenv("KPLUG_MINILM_DIR"); dir != nullptr && *dir != '\0') return dir;
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "") + "/.cache/kplug/all-MiniLM-L6-v2";
}

inline std::string tokenizer_fixture() {
  return std::string(KPLUG_SOURCE_DIR) + "/tests/fixtures/minilm/tokenizer.jsonl";
}

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
