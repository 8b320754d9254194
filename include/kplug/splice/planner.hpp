// Builds the splice plan of one token sequence from its linked mentions:
// every mention's word pieces are rewritten into a group (splice_format),
// positions are renumbered, and the result is truncated to a maximum length
// without ever cutting a group in half and without dropping special tokens.
//
// Input contract (each violation is a kplug::error naming the argument):
//  - tokens.ids non-empty; tokens.word_of has one entry per id: -1 for a
//    special token ([CLS], [SEP]), otherwise a word index; word indices never
//    decrease along the sequence (for a pair input, number the words of the
//    second text after those of the first); tokens.segment_ids empty (all 0)
//    or one non-negative id per token;
//  - mentions: word spans over those word indices, non-empty, in any order,
//    not overlapping; the first and the last word of a span have word pieces
//    in the sequence, no special token lies inside it, and it lies in one
//    segment; mention.marker is no_marker or an index into format.markers();
//  - rows: one knowledge-base row per mention (no_row: a zero vector, still a slot).
//
// Truncation (max_length > 0): special tokens are always kept; content is
// dropped in atomic units (a plain token, or a whole mention group, markers
// included), from the end of a segment:
//  - longest_first: the segment with the most content rows loses its last unit,
//    one unit at a time (ties: the later segment), as Hugging Face does for pairs;
//  - only_first / only_second: only the first / second segment (by order of
//    appearance) loses units; an error when it runs out;
//  - error: a sequence longer than max_length is an error.
// A group that cannot fit even alone with the special tokens is always an
// error ("a mention longer than the maximum length").
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "kplug/core/error.hpp"
#include "kplug/core/types.hpp"
#include "kplug/splice/format.hpp"
#include "kplug/splice/plan.hpp"

namespace kplug::splice {

enum class truncation : std::uint8_t { longest_first, only_first, only_second, error };

struct planner_config {
  splice_format format{};       // default: replace the mention by E
  std::int32_t max_length = 0;  // output rows; 0 = unlimited
  token_id placeholder_id = 0;  // input_ids value at entity slots
  truncation truncate = truncation::longest_first;
  bool pad_to_max_length = false;  // append rows with mask 0 up to max_length
  token_id pad_id = 0;             // input_ids value of padding rows
};

class planner {
 public:
  // Throws kplug::error on a negative max_length, placeholder or pad id, or
  // padding without a max_length.
  explicit planner(planner_config config);

  const planner_config& config() const noexcept { return config_; }

  splice_plan build(const token_sequence& tokens, std::span<const mention> mentions,
                    std::span<const row_index> rows) const;

  // Same, into `out`, reusing its buffers: rebuilding plans of similar shape
  // allocates nothing. On error `out` is cleared and the error rethrown.
  void build_into(const token_sequence& tokens, std::span<const mention> mentions,
                  std::span<const row_index> rows, splice_plan& out) const;

 private:
  void plan(const token_sequence& tokens, std::span<const mention> mentions, std::span<const row_index> rows,
            splice_plan& out) const;

  planner_config config_;
};

// ---------------------------------------------------------------- implementation

namespace detail {
inline std::string mention_name(std::size_t k) { return std::string("mentions[") + std::to_string(k) + "]"; }
inline std::string span_text(const word_span& w) {
  return std::string("[") + std::to_string(w.begin) + ", " + std::to_string(w.end) + ")";
}
}  // namespace detail

inline planner::planner(planner_config config) : config_(std::move(config)) {
  const char* what = "configure splice planner";
  if (config_.max_length < 0)
    throw error(what, "max_length",
                std::string("must be 0 (unlimited) or positive, got ") + std::to_string(config_.max_length));
  if (config_.placeholder_id < 0)
    throw error(what, "placeholder_id",
                std::string("token id ") + std::to_string(config_.placeholder_id) + " is negative");
  if (config_.pad_id < 0)
    throw error(what, "pad_id", std::string("token id ") + std::to_string(config_.pad_id) + " is negative");
  if (config_.pad_to_max_length && config_.max_length == 0)
    throw error(what, "pad_to_max_length", "padding needs a max_length");
}

inline splice_plan planner::build(const token_sequence& tokens, std::span<const mention> mentions,
                                  std::span<const row_index> rows) const {
  splice_plan p;
  build_into(tokens, mentions, rows, p);
  return p;
}

inline void planner::build_into(const token_sequence& tokens, std::span<const mention> mentions,
                                std::span<const row_index> rows, splice_plan& out) const {
  try {
    plan(tokens, mentions, rows, out);
  } catch (...) {
    out.clear();  // never leave a stale plan of another input behind
    throw;
  }
}

inline void planner::plan(const token_sequence& tokens, std::span<const mention> mentions,
                          std::span<const row_index> rows, splice_plan& out) const {
  const char* what = "build splice plan";
  const splice_format& fmt = config_.format;
  constexpr std::int64_t int32_max = std::numeric_limits<std::int32_t>::max();

  // ---- validate the token sequence (one pass)
  const std::size_t n_tokens = tokens.ids.size();
  if (n_tokens == 0) throw error(what, "tokens.ids", "the token sequence is empty");
  if (n_tokens > static_cast<std::size_t>(int32_max))
    throw error(what, "tokens.ids", "more than 2^31 - 1 tokens");
  const auto n = static_cast<std::int32_t>(n_tokens);
  if (tokens.word_of.size() != n_tokens)
    throw error(what, "tokens.word_of",
                std::string("has ") + std::to_string(tokens.word_of.size()) + " entries for " +
                    std::to_string(n) + " ids");
  const bool has_segments = !tokens.segment_ids.empty();
  if (has_segments && tokens.segment_ids.size() != n_tokens)
    throw error(what, "tokens.segment_ids",
                std::string("has ") + std::to_string(tokens.segment_ids.size()) + " entries for " +
                    std::to_string(n) + " ids (leave it empty for all zero)");
  if (rows.size() != mentions.size())
    throw error(what, "rows",
                std::string("has ") + std::to_string(rows.size()) + " entries for " +
                    std::to_string(mentions.size()) + " mentions (one knowledge-base row per mention)");

  const token_id* ids = tokens.ids.data();
  const std::int32_t* word_of = tokens.word_of.data();
  const std::int32_t* seg_of = has_segments ? tokens.segment_ids.data() : nullptr;
  auto segment_at = [&](std::int32_t t) { return seg_of ? seg_of[t] : 0; };

  std::int32_t specials = 0;
  std::int32_t last_word = -1;
  std::int32_t last_word_token = -1;
  for (std::int32_t t = 0; t < n; ++t) {
    const std::int32_t w = word_of[t];
    if (w < 0) {
      if (w != -1)
        throw error(what, std::string("tokens.word_of[") + std::to_string(t) + "]",
                    std::string("word index ") + std::to_string(w) + " is negative (special tokens use -1)");
      ++specials;
    } else {
      if (w < last_word)
        throw error(what, std::string("tokens.word_of[") + std::to_string(t) + "]",
                    std::string("word index ") + std::to_string(w) + " is smaller than word index " +
                        std::to_string(last_word) + " of token " + std::to_string(last_word_token) +
                        "; word indices must not decrease (number a pair's second text after the first)");
      last_word = w;
      last_word_token = t;
    }
    if (seg_of && seg_of[t] < 0)
      throw error(what, std::string("tokens.segment_ids[") + std::to_string(t) + "]",
                  std::string("segment id ") + std::to_string(seg_of[t]) + " is negative");
  }

  // ---- validate mentions and sort them by position
  auto& ws = out.workspace;
  const std::size_t n_mentions = mentions.size();
  if (n_mentions > static_cast<std::size_t>(int32_max))
    throw error(what, "mentions", "more than 2^31 - 1 mentions");
  ws.spans.resize(n_mentions);
  const auto n_markers = static_cast<std::int64_t>(fmt.markers().size());
  bool sorted = true;
  for (std::size_t k = 0; k < n_mentions; ++k) {
    const mention& mk = mentions[k];
    if (mk.words.begin < 0 || mk.words.empty() || std::int64_t{mk.words.end} > std::int64_t{last_word} + 1) {
      std::string why = mk.words.empty() ? "word span " + detail::span_text(mk.words) + " is empty"
                                         : "word span " + detail::span_text(mk.words) +
                                               " is out of range: the sequence's words are [0, " +
                                               std::to_string(last_word + 1) + ")";
      throw error(what, detail::mention_name(k) + ".words", why);
    }
    if (mk.marker != no_marker && (mk.marker < 0 || mk.marker >= n_markers))
      throw error(what, detail::mention_name(k) + ".marker",
                  std::string("marker ") + std::to_string(mk.marker) +
                      " is not no_marker (-1) nor one of the format's " + std::to_string(n_markers) +
                      " marker pairs");
    // Words for now; turned into token ranges below.
    ws.spans[k] = {static_cast<std::int32_t>(k), mk.words.begin, mk.words.end, 0};
    if (k > 0 && mk.words.begin < mentions[k - 1].words.begin) sorted = false;
  }
  if (!sorted)
    std::sort(ws.spans.begin(), ws.spans.end(), [](const auto& a, const auto& b) {
      return a.first_token != b.first_token ? a.first_token < b.first_token : a.mention < b.mention;
    });
  for (std::size_t j = 1; j < n_mentions; ++j) {
    const auto& a = ws.spans[j - 1];
    const auto& b = ws.spans[j];
    if (b.first_token < a.end_token) {
      const auto lo = std::min(a.mention, b.mention);
      const auto hi = std::max(a.mention, b.mention);
      throw error(what,
                  detail::mention_name(static_cast<std::size_t>(lo)) + " and " +
                      detail::mention_name(static_cast<std::size_t>(hi)),
                  "word spans " + detail::span_text(mentions[lo].words) + " and " +
                      detail::span_text(mentions[hi].words) + " overlap");
    }
  }

  // ---- word spans -> token ranges, group sizes, output length
  std::int64_t length = n;
  {
    std::int32_t t = 0;
    for (auto& sp : ws.spans) {
      const std::int32_t first_word = sp.first_token;
      const std::int32_t end_word = sp.end_token;
      const auto k = static_cast<std::size_t>(sp.mention);
      while (t < n && word_of[t] < first_word) ++t;  // specials (-1) are skipped too
      if (t == n || word_of[t] != first_word)
        throw error(what, detail::mention_name(k) + ".words",
                    std::string("its first word ") + std::to_string(first_word) +
                        " has no word piece in the sequence");
      const std::int32_t first = t;
      const std::int32_t segment = segment_at(t);
      while (t < n && word_of[t] >= 0 && word_of[t] < end_word) {
        if (segment_at(t) != segment)
          throw error(what, detail::mention_name(k) + ".words",
                      "word span " + detail::span_text(mentions[k].words) + " crosses from segment " +
                          std::to_string(segment) + " into segment " + std::to_string(segment_at(t)) +
                          std::string(" at token ") + std::to_string(t));
        ++t;
      }
      if (t < n && word_of[t] == -1) {
        std::int32_t u = t;
        while (u < n && word_of[u] == -1) ++u;
        if (u < n && word_of[u] < end_word)
          throw error(what, detail::mention_name(k) + ".words",
                      "word span " + detail::span_text(mentions[k].words) + " contains the special token " +
                          std::to_string(t));
      }
      if (word_of[t - 1] != end_word - 1)
        throw error(what, detail::mention_name(k) + ".words",
                    std::string("its last word ") + std::to_string(end_word - 1) +
                        " has no word piece in the sequence");
      sp.first_token = first;
      sp.end_token = t;
      const std::int64_t size = fmt.group_size(t - first, mentions[k].marker);
      if (size > int32_max) throw error(what, detail::mention_name(k), "group larger than 2^31 - 1 rows");
      sp.size = static_cast<std::int32_t>(size);
      length += size - (t - first);
    }
  }
  if (length > int32_max) throw error(what, "tokens", "the spliced sequence is longer than 2^31 - 1 rows");

  // ---- truncation
  const std::int32_t max_length = config_.max_length;
  bool truncating = false;
  if (max_length > 0) {
    if (specials > max_length)
      throw error(what, "max_length",
                  std::string("max_length ") + std::to_string(max_length) + " is smaller than the " +
                      std::to_string(specials) + " special tokens, which are always kept");
    for (const auto& sp : ws.spans)
      if (static_cast<std::int64_t>(sp.size) + specials > max_length)
        throw error(what, detail::mention_name(static_cast<std::size_t>(sp.mention)),
                    std::string("a mention longer than the maximum length: its group needs ") +
                        std::to_string(sp.size) + std::string(" rows (") +
                        std::to_string(sp.end_token - sp.first_token) + " word pieces), with the " +
                        std::to_string(specials) + " special tokens " + std::to_string(sp.size + specials) +
                        std::string(" rows, but max_length is ") + std::to_string(max_length));
    truncating = length > max_length;
  }
  if (truncating) {
    if (config_.truncate == truncation::error)
      throw error(what, "max_length",
                  std::string("the spliced sequence needs ") + std::to_string(length) +
                      " rows, max_length is " + std::to_string(max_length) +
                      " and truncation is set to error");
    // Content units in order, chained per segment so that each segment can be
    // walked backwards in O(1) per unit.
    ws.units.clear();
    ws.segments.clear();
    std::size_t cached = 0;
    auto segment_index = [&](std::int32_t id) -> std::int32_t {
      if (cached < ws.segments.size() && ws.segments[cached].id == id)
        return static_cast<std::int32_t>(cached);
      for (std::size_t s = 0; s < ws.segments.size(); ++s)
        if (ws.segments[s].id == id) return static_cast<std::int32_t>(cached = s);
      ws.segments.push_back({id, 0, n, -1});
      return static_cast<std::int32_t>(cached = ws.segments.size() - 1);
    };
    std::size_t j = 0;
    for (std::int32_t t = 0; t < n;) {
      if (j < ws.spans.size() && ws.spans[j].first_token == t) {
        const auto s = segment_index(segment_at(t));
        ws.units.push_back({t, ws.spans[j].size, s, ws.segments[s].last});
        ws.segments[s].content += ws.spans[j].size;
        ws.segments[s].last = static_cast<std::int32_t>(ws.units.size() - 1);
        t = ws.spans[j].end_token;
        ++j;
      } else {
        if (word_of[t] >= 0) {
          const auto s = segment_index(segment_at(t));
          ws.units.push_back({t, 1, s, ws.segments[s].last});
          ws.segments[s].content += 1;
          ws.segments[s].last = static_cast<std::int32_t>(ws.units.size() - 1);
        }
        ++t;
      }
    }
    const std::int64_t untruncated = length;
    std::int64_t excess = length - max_length;
    while (excess > 0) {
      std::size_t s = 0;
      switch (config_.truncate) {
        case truncation::longest_first:
          for (std::size_t c = 1; c < ws.segments.size(); ++c)
            if (ws.segments[c].content >= ws.segments[s].content) s = c;
          break;
        case truncation::only_first:
          s = 0;
          break;
        case truncation::only_second:
          s = 1;
          break;
        case truncation::error:
          break;  // handled above
      }
      if (s >= ws.segments.size() || ws.segments[s].last < 0) {
        const char* which = config_.truncate == truncation::only_second ? "second" : "first";
        throw error(what, "truncate",
                    std::string("the spliced sequence needs ") + std::to_string(untruncated) +
                        " rows, max_length is " + std::to_string(max_length) + ", and the " + which +
                        " segment " +
                        (s >= ws.segments.size() ? "does not exist" : "has no content left to drop") +
                        " (truncation only_" + which + ")");
      }
      auto& seg = ws.segments[s];
      const auto& u = ws.units[static_cast<std::size_t>(seg.last)];
      seg.content -= u.size;
      seg.cut = u.first_token;
      seg.last = u.prev;
      excess -= u.size;
      length -= u.size;
    }
  }

  // ---- emit
  const auto out_length = static_cast<std::int32_t>(length);
  const std::int32_t total = config_.pad_to_max_length ? std::max(out_length, max_length) : out_length;
  out.input_ids.resize(static_cast<std::size_t>(total));
  out.entity_slot_of.resize(static_cast<std::size_t>(total));
  out.position_ids.resize(static_cast<std::size_t>(total));
  out.segment_ids.resize(static_cast<std::size_t>(total));
  out.attention_mask.resize(static_cast<std::size_t>(total));
  out.old_to_new.resize(n_tokens);
  out.groups.resize(n_mentions);
  out.slots.clear();

  token_id* o_ids = out.input_ids.data();
  std::int32_t* o_slot = out.entity_slot_of.data();
  std::int32_t* o_pos = out.position_ids.data();
  std::int32_t* o_seg = out.segment_ids.data();
  std::uint8_t* o_mask = out.attention_mask.data();
  std::int32_t* o_map = out.old_to_new.data();

  std::int32_t row = 0;
  std::int32_t pos = 0;
  auto put = [&](token_id id, std::int32_t segment) {
    o_ids[row] = id;
    o_slot[row] = -1;
    o_pos[row] = pos++;
    o_seg[row] = segment;
    o_mask[row] = 1;
    ++row;
  };
  // Whether truncation dropped the content unit starting at token t.
  std::size_t cached = 0;
  auto dropped = [&](std::int32_t t) {
    if (!truncating) return false;
    const std::int32_t id = segment_at(t);
    if (ws.segments[cached].id != id) {
      cached = 0;
      while (ws.segments[cached].id != id) ++cached;  // every content segment is listed
    }
    return t >= ws.segments[cached].cut;
  };

  const auto elements = fmt.elements();
  const bool share = fmt.share_entity_position();
  const auto markers = fmt.markers();
  std::size_t j = 0;
  for (std::int32_t t = 0; t < n;) {
    if (j < ws.spans.size() && ws.spans[j].first_token == t) {
      const auto& sp = ws.spans[j++];
      const auto k = static_cast<std::size_t>(sp.mention);
      const mention& mk = mentions[k];
      if (dropped(t)) {
        std::fill(o_map + sp.first_token, o_map + sp.end_token, -1);
        out.groups[k] = group_range{};
        t = sp.end_token;
        continue;
      }
      const std::int32_t segment = segment_at(t);
      group_range g;
      g.begin = row;
      if (mk.marker != no_marker)
        for (token_id id : markers[static_cast<std::size_t>(mk.marker)].open) put(id, segment);
      for (const auto& e : elements) {
        switch (e.kind) {
          case element_kind::literal:
            put(e.token, segment);
            break;
          case element_kind::entity:
            g.slot = static_cast<std::int32_t>(out.slots.size());
            out.slots.push_back({row, sp.mention, mk.source, rows[k]});
            o_ids[row] = config_.placeholder_id;
            o_slot[row] = g.slot;
            o_pos[row] = share ? o_pos[row - 1] : pos++;
            o_seg[row] = segment;
            o_mask[row] = 1;
            ++row;
            break;
          case element_kind::mention:
            g.mention_begin = row;
            for (std::int32_t u = sp.first_token; u < sp.end_token; ++u) {
              o_map[u] = row;
              put(ids[u], segment);
            }
            break;
        }
      }
      if (!fmt.keeps_mention()) std::fill(o_map + sp.first_token, o_map + sp.end_token, -1);
      if (mk.marker != no_marker)
        for (token_id id : markers[static_cast<std::size_t>(mk.marker)].close) put(id, segment);
      g.end = row;
      out.groups[k] = g;
      t = sp.end_token;
    } else {
      if (word_of[t] < 0 || !dropped(t)) {
        o_map[t] = row;
        put(ids[t], segment_at(t));
      } else {
        o_map[t] = -1;
      }
      ++t;
    }
  }
  // Padding rows: masked out; positions continue as an encoder would number them.
  while (row < total) {
    put(config_.pad_id, 0);
    o_mask[row - 1] = 0;
  }
}

}  // namespace kplug::splice
