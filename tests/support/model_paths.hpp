// Where the tests find the real model and the committed reference fixtures.
// The model is fetched by scripts/fetch-model.sh (scripts/test.sh runs it);
// a missing model is a test failure with instructions, never a skip.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

namespace kplug_test {

// $KPLUG_MINILM_DIR, else ~/.cache/kplug/all-MiniLM-L6-v2.
inline std::string minilm_dir() {
  if (const char* d = std::getenv("KPLUG_MINILM_DIR"); d && *d) return d;
  const char* home = std::getenv("HOME");
  return std::string(home ? home : ".") + "/.cache/kplug/all-MiniLM-L6-v2";
}

// True when the model is there; otherwise records a failure saying how to
// get it. Use as: if (!kplug_test::have_minilm()) return;
inline bool have_minilm() {
  const std::string d = minilm_dir();
  if (std::filesystem::exists(d + "/model.safetensors") && std::filesystem::exists(d + "/config.json") &&
      std::filesystem::exists(d + "/vocab.txt"))
    return true;
  ADD_FAILURE() << "all-MiniLM-L6-v2 is not in " << d
                << "; run scripts/fetch-model.sh (or set KPLUG_MINILM_DIR)";
  return false;
}

// A file under tests/fixtures/ in the source tree.
inline std::string fixture(std::string_view relative) {
  return std::string(KPLUG_SOURCE_DIR) + "/tests/fixtures/" + std::string(relative);
}

}  // namespace kplug_test
