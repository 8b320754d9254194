// Core vocabulary shared by every component: token ids, word spans, mentions,
// token sequences with their word alignment, and the packed (ragged) layout.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "kplug/core/error.hpp"

namespace kplug {

// A word-piece id in the encoder's vocabulary.
using token_id = std::int32_t;

// Which knowledge source (knowledge base + its plugin) an entity comes from.
// Several sources can feed one input; source 0 is the default.
using source_id = std::uint16_t;

// A knowledge-base row; `no_row` stands for "unknown entity, use a zero vector".
using row_index = std::int64_t;
inline constexpr row_index no_row = -1;

// Half-open range of word indices [begin, end).
struct word_span {
  std::int32_t begin = 0;
  std::int32_t end = 0;

  constexpr std::int32_t size() const noexcept { return end - begin; }
  constexpr bool empty() const noexcept { return end <= begin; }
  // Empty spans overlap nothing.
  constexpr bool overlaps(const word_span& o) const noexcept {
    return !empty() && !o.empty() && begin < o.end && o.begin < end;
  }
  friend constexpr bool operator==(const word_span&, const word_span&) = default;
};

// No marker pair around the mention group (see splice::splice_format::markers).
inline constexpr std::int16_t no_marker = -1;

// An entity mention: which words, which entity (the knowledge base's id string,
// e.g. "Q90" or "n02084071"), how sure the linker was, which knowledge source
// it refers to, and which marker pair (if any) wraps its group when spliced.
struct mention {
  word_span words;
  std::string entity;
  float score = 1.0f;
  source_id source = 0;
  std::int16_t marker = no_marker;

  friend bool operator==(const mention&, const mention&) = default;
};

// A tokenized input: word-piece ids with, per piece, the index of the word it
// came from (-1 for special tokens such as [CLS] and [SEP], which truncation
// keeps), and optional segment ids (empty means all zero).
struct token_sequence {
  std::vector<token_id> ids;
  std::vector<std::int32_t> word_of;
  std::vector<std::int32_t> segment_ids;

  std::size_t size() const noexcept { return ids.size(); }
  bool is_special(std::size_t i) const noexcept { return word_of[i] < 0; }
};

// The layout of a packed batch: sequence s occupies rows
// [offsets[s], offsets[s + 1]) of every per-token array. No padding.
struct packed_layout {
  std::vector<std::int32_t> offsets{0};

  std::size_t sequences() const noexcept { return offsets.size() - 1; }
  std::int32_t total() const noexcept { return offsets.back(); }
  std::int32_t begin(std::size_t s) const noexcept { return offsets[s]; }
  std::int32_t length(std::size_t s) const noexcept { return offsets[s + 1] - offsets[s]; }
  void append(std::int32_t length) { offsets.push_back(offsets.back() + length); }
};

// Validates offsets of a packed batch: starts at 0, non-decreasing, ends at `total`.
inline void validate_offsets(std::span<const std::int32_t> offsets, std::int64_t total, const char* what) {
  if (offsets.empty() || offsets.front() != 0)
    throw error(what, "offsets", "offsets must start with 0");
  for (std::size_t i = 1; i < offsets.size(); ++i)
    if (offsets[i] < offsets[i - 1])
      throw error(what, "offsets[" + std::to_string(i) + "]", "offsets must not decrease");
  if (offsets.back() != total)
    throw error(what, "offsets", "last offset " + std::to_string(offsets.back()) +
                                     " does not match the " + std::to_string(total) + " rows given");
}

}  // namespace kplug
