// Training examples of map-tuning and how general map-tuning builds them.
//
// An example is one unspliced input (tokens + linked mentions with their
// knowledge-base rows) and the predictions the frozen model must make on it.
// A target sits at an input token (by its index before splicing, so splicing
// and truncation move it with the token) or at a mention group's first row
// (a marker or the entity slot: what relation and typing heads read).
#pragma once

#include <bit>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "kplug/core/error.hpp"
#include "kplug/core/types.hpp"
#include "kplug/core/xxh64.hpp"

namespace kplug::train {

struct target {
  std::int32_t token = -1;    // index into example::tokens, or -1
  std::int32_t mention = -1;  // index into example::mentions, or -1; exactly one of the two is set
  std::int32_t label = 0;     // class: a vocabulary id for MMLM, a task label otherwise
  std::vector<float> values;  // regression targets (squared_error); empty for classification
};

struct example {
  token_sequence tokens;
  std::vector<mention> mentions;
  std::vector<row_index> rows;  // knowledge-base row of each mention
  std::vector<target> targets;
};

// Mention-Masked Language Modelling (general map-tuning): every word piece of
// a masked mention becomes `mask_id` and is a target with its original id;
// the mapped entity vector stays, so the frozen MLM head can only recover the
// mention through it. One mention gives one example; n >= 2 mentions give
// n + 1: all masked, then each one masked alone (the paper's three variants
// for two mentions).
std::vector<example> mmlm_examples(const token_sequence& tokens, std::span<const mention> mentions,
                                   std::span<const row_index> rows, token_id mask_id);

// XXH64 over every field of every example, in order (integers as u64, floats
// as their IEEE bits, strings with their length first): equal for equal
// data, so data-parallel ranks can check that they train on the same examples.
std::uint64_t examples_fingerprint(std::span<const example> data) noexcept;

// ---------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------

namespace detail {

// The token indices [first, last) of words [begin, end), from word_of.
inline std::pair<std::int32_t, std::int32_t> token_range(const token_sequence& t, word_span words,
                                                         std::size_t mention_index) {
  std::int32_t first = -1, last = -1;
  for (std::size_t i = 0; i < t.word_of.size(); ++i) {
    const std::int32_t w = t.word_of[i];
    if (w >= words.begin && w < words.end) {
      if (first < 0) first = static_cast<std::int32_t>(i);
      last = static_cast<std::int32_t>(i) + 1;
    }
  }
  if (first < 0)
    throw error("build MMLM examples", "mentions[" + std::to_string(mention_index) + "]",
                "words [" + std::to_string(words.begin) + ", " + std::to_string(words.end) +
                    ") have no word pieces in the token sequence");
  return {first, last};
}

}  // namespace detail

inline std::vector<example> mmlm_examples(const token_sequence& tokens, std::span<const mention> mentions,
                                          std::span<const row_index> rows, token_id mask_id) {
  constexpr const char* what = "build MMLM examples";
  if (rows.size() != mentions.size())
    throw error(what, "rows", std::to_string(rows.size()) + " rows for " + std::to_string(mentions.size()) +
                                  " mentions");
  if (tokens.word_of.size() != tokens.ids.size())
    throw error(what, "tokens.word_of", "has " + std::to_string(tokens.word_of.size()) + " entries for " +
                                            std::to_string(tokens.ids.size()) + " tokens");
  if (mask_id < 0) throw error(what, "mask_id", "must be a token id >= 0");
  std::vector<std::pair<std::int32_t, std::int32_t>> ranges;
  for (std::size_t k = 0; k < mentions.size(); ++k) ranges.push_back(detail::token_range(tokens, mentions[k].words, k));

  auto make = [&](auto masked) {
    example e{tokens, {mentions.begin(), mentions.end()}, {rows.begin(), rows.end()}, {}};
    for (std::size_t k = 0; k < mentions.size(); ++k) {
      if (!masked(k)) continue;
      for (std::int32_t i = ranges[k].first; i < ranges[k].second; ++i) {
        e.targets.push_back({i, -1, tokens.ids[static_cast<std::size_t>(i)], {}});
        e.tokens.ids[static_cast<std::size_t>(i)] = mask_id;
      }
    }
    return e;
  };
  std::vector<example> out;
  if (mentions.empty()) return out;
  out.push_back(make([](std::size_t) { return true; }));
  if (mentions.size() >= 2)
    for (std::size_t only = 0; only < mentions.size(); ++only)
      out.push_back(make([only](std::size_t k) { return k == only; }));
  return out;
}

inline std::uint64_t examples_fingerprint(std::span<const example> data) noexcept {
  xxh64_stream h;
  auto ints = [&](const auto& values) {
    h.update_u64(values.size());
    for (const auto v : values) h.update_u64(static_cast<std::uint64_t>(v));
  };
  h.update_u64(data.size());
  for (const example& e : data) {
    ints(e.tokens.ids);
    ints(e.tokens.word_of);
    ints(e.tokens.segment_ids);
    h.update_u64(e.mentions.size());
    for (const mention& m : e.mentions) {
      h.update_u64(static_cast<std::uint64_t>(m.words.begin));
      h.update_u64(static_cast<std::uint64_t>(m.words.end));
      h.update_u64(m.entity.size());
      h.update(m.entity);
      h.update_u64(std::bit_cast<std::uint32_t>(m.score));
      h.update_u64(m.source);
      h.update_u64(static_cast<std::uint64_t>(m.marker));
    }
    ints(e.rows);
    h.update_u64(e.targets.size());
    for (const target& t : e.targets) {
      h.update_u64(static_cast<std::uint64_t>(t.token));
      h.update_u64(static_cast<std::uint64_t>(t.mention));
      h.update_u64(static_cast<std::uint64_t>(t.label));
      h.update_u64(t.values.size());
      for (const float v : t.values) h.update_u64(std::bit_cast<std::uint32_t>(v));
    }
  }
  return h.digest();
}

}  // namespace kplug::train
