// Shared vocabulary and builders for the splice tests. Token ids are
// BERT-uncased-like but arbitrary: only their identity matters.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "kplug/core/types.hpp"
#include "kplug/splice/plan.hpp"

namespace kplug::splice::test {

inline constexpr token_id pad = 0;
inline constexpr token_id placeholder = 1;
inline constexpr token_id cls = 101;
inline constexpr token_id sep = 102;
inline constexpr token_id hash = 1001;
inline constexpr token_id dollar = 1002;
inline constexpr token_id lparen = 1006;
inline constexpr token_id rparen = 1007;
inline constexpr token_id slash = 1013;
inline constexpr token_id w0 = 2000, w1a = 2001, w1b = 2002, w2 = 2003, w3 = 2004, w4 = 2005, w5 = 2006;

inline token_sequence make_sequence(std::vector<token_id> ids, std::vector<std::int32_t> word_of,
                                    std::vector<std::int32_t> segments = {}) {
  token_sequence s;
  s.ids = std::move(ids);
  s.word_of = std::move(word_of);
  s.segment_ids = std::move(segments);
  return s;
}

// [CLS] w0 w1a ##w1b w2 [SEP]
inline token_sequence basic_sequence() {
  return make_sequence({cls, w0, w1a, w1b, w2, sep}, {-1, 0, 1, 1, 2, -1});
}

inline mention make_mention(std::int32_t begin, std::int32_t end, source_id source = 0,
                            std::int16_t marker = no_marker) {
  mention m;
  m.words = {begin, end};
  m.entity = std::string("e") + std::to_string(begin);
  m.source = source;
  m.marker = marker;
  return m;
}

inline void expect_rows(const splice_plan& p, const std::vector<token_id>& ids,
                        const std::vector<std::int32_t>& positions, const std::vector<std::int32_t>& slot_of,
                        const std::vector<std::int32_t>& old_to_new) {
  EXPECT_EQ(p.input_ids, ids);
  EXPECT_EQ(p.position_ids, positions);
  EXPECT_EQ(p.entity_slot_of, slot_of);
  EXPECT_EQ(p.old_to_new, old_to_new);
  EXPECT_EQ(p.segment_ids.size(), ids.size());
  EXPECT_EQ(p.attention_mask, std::vector<std::uint8_t>(ids.size(), 1));
}

// Runs `fn`, expecting a kplug::error whose message contains every fragment.
template <class Fn>
void expect_error(Fn&& fn, const std::vector<std::string>& fragments) {
  try {
    fn();
    ADD_FAILURE() << "expected a kplug::error";
  } catch (const kplug::error& e) {
    const std::string msg = e.what();
    for (const auto& f : fragments)
      EXPECT_NE(msg.find(f), std::string::npos) << "'" << f << "' not in: " << msg;
  }
}

}  // namespace kplug::splice::test
