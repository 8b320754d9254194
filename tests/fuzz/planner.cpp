// The splice planner on arbitrary token sequences, mention spans, markers,
// rows and lengths, in every splice format: a plan or a kplug::error, and a
// plan that holds together.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_support.hpp"
#include "kplug/splice/planner.hpp"

namespace {

namespace sp = kplug::splice;

sp::splice_format format_of(std::uint8_t pick) {
  const std::vector<sp::marker_pair> markers{{{5}, {6}}, {{7, 8}, {}}};
  switch (pick % 6) {
    case 0: return sp::splice_format::replace_mention();
    case 1: return sp::splice_format::entity_slash_mention(3);
    case 2: return sp::splice_format::mention_slash_entity(3);
    case 3: return sp::splice_format::mention_paren_entity(1, 2, true);
    case 4: return sp::splice_format::mention_paren_entity(1, 2, false);
    default: return sp::splice_format::entity_slash_mention(3).with_markers(markers);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  kplug_fuzz::byte_reader in(data, size);
  const std::uint8_t flags = in.byte();
  sp::planner_config config;
  config.format = format_of(in.byte());
  config.max_length = (flags & 1) != 0 ? in.byte() : 0;
  config.truncate = static_cast<sp::truncation>(in.byte() % 4);
  config.pad_to_max_length = (flags & 2) != 0;
  config.placeholder_id = 4;

  // Tokens: well-formed word indices (non-decreasing, -1 for specials) unless
  // flag 4 asks for raw ones.
  kplug::token_sequence tokens;
  const std::size_t n = in.byte() % 80;
  std::int32_t word = 0;
  for (std::size_t t = 0; t < n; ++t) {
    const std::uint8_t b = in.byte();
    tokens.ids.push_back(b);
    if ((flags & 4) != 0) {
      tokens.word_of.push_back(static_cast<std::int8_t>(b));
    } else {
      word += b % 3 == 0 ? 1 : 0;
      tokens.word_of.push_back(b % 7 == 0 ? -1 : word);
    }
    if ((flags & 8) != 0) tokens.segment_ids.push_back(static_cast<std::int8_t>(in.byte()) % 3);
  }

  std::vector<kplug::mention> mentions(in.byte() % 10);
  std::vector<kplug::row_index> rows;
  for (kplug::mention& m : mentions) {
    m.words.begin = static_cast<std::int8_t>(in.byte());
    m.words.end = static_cast<std::int8_t>(in.byte());
    m.marker = static_cast<std::int16_t>(static_cast<std::int8_t>(in.byte()) % 4);
    m.entity = "e";
    rows.push_back(static_cast<std::int8_t>(in.byte()));
  }
  if ((flags & 16) != 0 && !rows.empty()) rows.pop_back();

  kplug_fuzz::expect_accept_or_refuse([&] {
    const sp::planner planner(config);
    const sp::splice_plan plan = planner.build(tokens, mentions, rows);
    if (config.max_length > 0 && plan.length() > config.max_length) std::abort();
  });
  return 0;
}
