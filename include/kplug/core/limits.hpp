// Bounds on what an input may claim, checked before anything is allocated
// for it. Memory-mapped inputs (.npy tables, safetensors files, entity maps,
// word2vec text) are bounded by their own size: a shape or count is checked
// against the bytes present, and nothing is copied. These limits bound the
// readers whose memory would otherwise grow with a claimed count or an
// unbounded line: raise one when a real input needs more.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "kplug/core/error.hpp"

namespace kplug {

struct input_limits {
  // One line of an alias TSV (alias<TAB>entity<TAB>count): every word of an
  // alias becomes a trie node, so a runaway line would cost memory many
  // times its size.
  std::uint64_t max_alias_line_bytes = std::uint64_t{64} << 10;
  // Tokens of a WordPiece vocab.txt (the largest BERT vocabularies hold a
  // few hundred thousand).
  std::uint64_t max_vocab_tokens = std::uint64_t{1} << 24;
  // One line of a JSON Lines input, read into memory whole before parsing.
  std::uint64_t max_jsonl_line_bytes = std::uint64_t{16} << 20;
  // A whole JSON settings file (config.json, tokenizer_config.json), parsed
  // into a document several times its size; real ones are a few KiB.
  std::uint64_t max_json_file_bytes = std::uint64_t{16} << 20;
};

// The error for an input beyond one of the limits above: `quantity` says what
// the input holds ("a line of 3000000 bytes"), and the message names the
// field of input_limits to raise.
inline error limit_exceeded(const char* what, std::string where, const std::string& quantity, std::uint64_t limit,
                            const char* limit_name) {
  return error(what, std::move(where),
               quantity + " exceeds the limit of " + std::to_string(limit) + " (input_limits::" + limit_name + ")");
}

}  // namespace kplug
