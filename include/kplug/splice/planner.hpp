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
//
// planner::plan runs these steps in order; each checks what it reads, so the
// first violation met is the one reported:
//   read_sequence       the tokens' word indices and segment ids
//   list_mentions       the mentions' spans and markers, sorted by position
//   check_overlaps      no two mentions share a word
//   locate_groups       word spans -> token ranges, group sizes, output length
//   needs_truncation    what max_length allows (and whether to cut)
//   list_units, drop_units   truncation: whole units off the chosen segment's end
//   emit_plan           the output rows, the old -> new map, slots and groups

namespace detail {

inline constexpr const char* plan_what = "build splice plan";
inline constexpr std::int64_t int32_max = std::numeric_limits<std::int32_t>::max();

inline std::string mention_name(std::size_t k) { return std::string("mentions[") + std::to_string(k) + "]"; }
inline std::string span_text(const word_span& w) {
  return std::string("[") + std::to_string(w.begin) + ", " + std::to_string(w.end) + ")";
}
inline std::string mention_words(std::int32_t k) { return mention_name(static_cast<std::size_t>(k)) + ".words"; }

// The token sequence as the steps read it: raw arrays (their loops index
// them directly) and what checking it found.
struct sequence_view {
  const token_id* ids = nullptr;
  const std::int32_t* word_of = nullptr;
  const std::int32_t* segment_of = nullptr;  // null: every token is in segment 0
  std::int32_t n = 0;
  std::int32_t specials = 0;    // tokens with word index -1; truncation keeps them
  std::int32_t last_word = -1;  // the largest word index; -1 without words
  std::int32_t segment(std::int32_t t) const noexcept { return segment_of ? segment_of[t] : 0; }
};

// The argument sizes against each other.
inline void check_sizes(const token_sequence& tokens, std::size_t n_mentions, std::size_t n_rows) {
  const std::size_t n = tokens.ids.size();
  if (n == 0) throw error(plan_what, "tokens.ids", "the token sequence is empty");
  if (n > static_cast<std::size_t>(int32_max)) throw error(plan_what, "tokens.ids", "more than 2^31 - 1 tokens");
  if (tokens.word_of.size() != n)
    throw error(plan_what, "tokens.word_of",
                std::string("has ") + std::to_string(tokens.word_of.size()) + " entries for " +
                    std::to_string(n) + " ids");
  if (!tokens.segment_ids.empty() && tokens.segment_ids.size() != n)
    throw error(plan_what, "tokens.segment_ids",
                std::string("has ") + std::to_string(tokens.segment_ids.size()) + " entries for " +
                    std::to_string(n) + " ids (leave it empty for all zero)");
  if (n_rows != n_mentions)
    throw error(plan_what, "rows",
                std::string("has ") + std::to_string(n_rows) + " entries for " + std::to_string(n_mentions) +
                    " mentions (one knowledge-base row per mention)");
}

// Checks the sizes and every token's word index and segment id, and counts
// the special tokens.
inline sequence_view read_sequence(const token_sequence& tokens, std::size_t n_mentions, std::size_t n_rows) {
  check_sizes(tokens, n_mentions, n_rows);
  sequence_view seq;
  seq.ids = tokens.ids.data();
  seq.word_of = tokens.word_of.data();
  seq.segment_of = tokens.segment_ids.empty() ? nullptr : tokens.segment_ids.data();
  seq.n = static_cast<std::int32_t>(tokens.ids.size());
  std::int32_t last_word_token = -1;
  for (std::int32_t t = 0; t < seq.n; ++t) {
    const std::int32_t w = seq.word_of[t];
    const auto where = [&](const char* field) { return std::string(field) + "[" + std::to_string(t) + "]"; };
    if (w == -1) {
      ++seq.specials;
    } else if (w < 0) {
      throw error(plan_what, where("tokens.word_of"),
                  std::string("word index ") + std::to_string(w) + " is negative (special tokens use -1)");
    } else if (w < seq.last_word) {
      throw error(plan_what, where("tokens.word_of"),
                  std::string("word index ") + std::to_string(w) + " is smaller than word index " +
                      std::to_string(seq.last_word) + " of token " + std::to_string(last_word_token) +
                      "; word indices must not decrease (number a pair's second text after the first)");
    } else {
      seq.last_word = w;
      last_word_token = t;
    }
    if (seq.segment_of && seq.segment_of[t] < 0)
      throw error(plan_what, where("tokens.segment_ids"),
                  std::string("segment id ") + std::to_string(seq.segment_of[t]) + " is negative");
  }
  return seq;
}

// One mention's word span (within the sequence's words) and marker (one of
// the format's pairs).
inline void check_mention(const mention& m, std::size_t k, std::int32_t last_word, std::int64_t n_markers) {
  if (m.words.begin < 0 || m.words.empty() || std::int64_t{m.words.end} > std::int64_t{last_word} + 1) {
    std::string why = m.words.empty() ? "word span " + span_text(m.words) + " is empty"
                                      : "word span " + span_text(m.words) +
                                            " is out of range: the sequence's words are [0, " +
                                            std::to_string(last_word + 1) + ")";
    throw error(plan_what, mention_name(k) + ".words", why);
  }
  if (m.marker != no_marker && (m.marker < 0 || m.marker >= n_markers))
    throw error(plan_what, mention_name(k) + ".marker",
                std::string("marker ") + std::to_string(m.marker) + " is not no_marker (-1) nor one of the format's " +
                    std::to_string(n_markers) + " marker pairs");
}

// Checks every mention and lists their spans in ws.spans, sorted by first
// word; first_token and end_token hold words until locate_groups.
inline void list_mentions(std::span<const mention> mentions, const splice_format& fmt, std::int32_t last_word,
                          plan_workspace& ws) {
  if (mentions.size() > static_cast<std::size_t>(int32_max))
    throw error(plan_what, "mentions", "more than 2^31 - 1 mentions");
  ws.spans.resize(mentions.size());
  const auto n_markers = static_cast<std::int64_t>(fmt.markers().size());
  bool sorted = true;
  for (std::size_t k = 0; k < mentions.size(); ++k) {
    const mention& m = mentions[k];
    check_mention(m, k, last_word, n_markers);
    ws.spans[k] = {static_cast<std::int32_t>(k), m.words.begin, m.words.end, 0};
    if (k > 0 && m.words.begin < mentions[k - 1].words.begin) sorted = false;
  }
  if (!sorted)
    std::sort(ws.spans.begin(), ws.spans.end(), [](const auto& a, const auto& b) {
      return a.first_token != b.first_token ? a.first_token < b.first_token : a.mention < b.mention;
    });
}

// Refuses two mentions sharing a word (the spans are sorted).
inline void check_overlaps(std::span<const mention> mentions, const plan_workspace& ws) {
  for (std::size_t j = 1; j < ws.spans.size(); ++j) {
    const auto& a = ws.spans[j - 1];
    const auto& b = ws.spans[j];
    if (b.first_token < a.end_token) {
      const auto lo = std::min(a.mention, b.mention);
      const auto hi = std::max(a.mention, b.mention);
      throw error(plan_what,
                  mention_name(static_cast<std::size_t>(lo)) + " and " + mention_name(static_cast<std::size_t>(hi)),
                  "word spans " + span_text(mentions[lo].words) + " and " + span_text(mentions[hi].words) +
                      " overlap");
    }
  }
}

// The first word piece of word `first_word` of mention k, searching from t.
inline std::int32_t find_first_piece(const sequence_view& seq, std::int32_t t, std::int32_t first_word,
                                     std::int32_t k) {
  while (t < seq.n && seq.word_of[t] < first_word) ++t;  // specials (-1) are skipped too
  if (t == seq.n || seq.word_of[t] != first_word)
    throw error(plan_what, mention_words(k),
                std::string("its first word ") + std::to_string(first_word) + " has no word piece in the sequence");
  return t;
}

// One past the last word piece of mention k, whose pieces start at `first`
// and must stay in its segment.
inline std::int32_t find_end_piece(const sequence_view& seq, std::int32_t first, std::int32_t end_word,
                                   const mention& m, std::int32_t k) {
  const std::int32_t segment = seq.segment(first);
  std::int32_t t = first;
  while (t < seq.n && seq.word_of[t] >= 0 && seq.word_of[t] < end_word) {
    if (seq.segment(t) != segment)
      throw error(plan_what, mention_words(k),
                  "word span " + span_text(m.words) + " crosses from segment " + std::to_string(segment) +
                      " into segment " + std::to_string(seq.segment(t)) + std::string(" at token ") +
                      std::to_string(t));
    ++t;
  }
  return t;
}

// Where the pieces of mention k stop at token `end`: not at a special token
// inside the span, and only after its last word.
inline void check_mention_end(const sequence_view& seq, std::int32_t end, std::int32_t end_word, const mention& m,
                              std::int32_t k) {
  if (end < seq.n && seq.word_of[end] == -1) {
    std::int32_t u = end;
    while (u < seq.n && seq.word_of[u] == -1) ++u;
    if (u < seq.n && seq.word_of[u] < end_word)
      throw error(plan_what, mention_words(k),
                  "word span " + span_text(m.words) + " contains the special token " + std::to_string(end));
  }
  if (seq.word_of[end - 1] != end_word - 1)
    throw error(plan_what, mention_words(k),
                std::string("its last word ") + std::to_string(end_word - 1) + " has no word piece in the sequence");
}

// Turns every span from words into its token range and group size; returns
// the output length before truncation.
inline std::int64_t locate_groups(const sequence_view& seq, std::span<const mention> mentions,
                                  const splice_format& fmt, plan_workspace& ws) {
  std::int64_t length = seq.n;
  std::int32_t t = 0;
  for (auto& sp : ws.spans) {
    const mention& m = mentions[static_cast<std::size_t>(sp.mention)];
    const std::int32_t end_word = sp.end_token;
    const std::int32_t first = find_first_piece(seq, t, sp.first_token, sp.mention);
    t = find_end_piece(seq, first, end_word, m, sp.mention);
    check_mention_end(seq, t, end_word, m, sp.mention);
    sp.first_token = first;
    sp.end_token = t;
    const std::int64_t size = fmt.group_size(t - first, m.marker);
    if (size > int32_max)
      throw error(plan_what, mention_name(static_cast<std::size_t>(sp.mention)), "group larger than 2^31 - 1 rows");
    sp.size = static_cast<std::int32_t>(size);
    length += size - (t - first);
  }
  if (length > int32_max) throw error(plan_what, "tokens", "the spliced sequence is longer than 2^31 - 1 rows");
  return length;
}

// The special tokens, and each group with them, must fit in max_length
// (truncation never drops either).
inline void check_max_length(std::int32_t max_length, const sequence_view& seq, const plan_workspace& ws) {
  const std::int32_t specials = seq.specials;
  if (specials > max_length)
    throw error(plan_what, "max_length",
                std::string("max_length ") + std::to_string(max_length) + " is smaller than the " +
                    std::to_string(specials) + " special tokens, which are always kept");
  for (const auto& sp : ws.spans)
    if (static_cast<std::int64_t>(sp.size) + specials > max_length)
      throw error(plan_what, mention_name(static_cast<std::size_t>(sp.mention)),
                  std::string("a mention longer than the maximum length: its group needs ") +
                      std::to_string(sp.size) + std::string(" rows (") +
                      std::to_string(sp.end_token - sp.first_token) + " word pieces), with the " +
                      std::to_string(specials) + " special tokens " + std::to_string(sp.size + specials) +
                      std::string(" rows, but max_length is ") + std::to_string(max_length));
}

// Whether the spliced sequence of `length` rows must be cut; an error where
// it cannot be, or the configuration says not to.
inline bool needs_truncation(const planner_config& config, const sequence_view& seq, const plan_workspace& ws,
                             std::int64_t length) {
  const std::int32_t max_length = config.max_length;
  if (max_length <= 0) return false;
  check_max_length(max_length, seq, ws);
  if (length <= max_length) return false;
  if (config.truncate == truncation::error)
    throw error(plan_what, "max_length",
                std::string("the spliced sequence needs ") + std::to_string(length) + " rows, max_length is " +
                    std::to_string(max_length) + " and truncation is set to error");
  return true;
}

// The index in ws.segments of segment id `id`, added on first sight;
// `cached` holds the last answer (tokens come in runs of one segment).
inline std::int32_t segment_entry(plan_workspace& ws, std::int32_t id, std::int32_t n, std::size_t& cached) {
  if (cached < ws.segments.size() && ws.segments[cached].id == id) return static_cast<std::int32_t>(cached);
  for (std::size_t s = 0; s < ws.segments.size(); ++s)
    if (ws.segments[s].id == id) return static_cast<std::int32_t>(cached = s);
  ws.segments.push_back({id, 0, n, -1});
  return static_cast<std::int32_t>(cached = ws.segments.size() - 1);
}

// Appends a content unit to the chain of segment entry s.
inline void add_unit(plan_workspace& ws, std::int32_t first_token, std::int32_t size, std::int32_t s) {
  auto& seg = ws.segments[static_cast<std::size_t>(s)];
  ws.units.push_back({first_token, size, s, seg.last});
  seg.content += size;
  seg.last = static_cast<std::int32_t>(ws.units.size() - 1);
}

// The content units in order (plain tokens and whole groups; special tokens
// are not units), chained per segment so that each segment can be walked
// backwards in O(1) per unit.
inline void list_units(const sequence_view& seq, plan_workspace& ws) {
  ws.units.clear();
  ws.segments.clear();
  std::size_t cached = 0;
  std::size_t j = 0;
  for (std::int32_t t = 0; t < seq.n;) {
    if (j < ws.spans.size() && ws.spans[j].first_token == t) {
      add_unit(ws, t, ws.spans[j].size, segment_entry(ws, seq.segment(t), seq.n, cached));
      t = ws.spans[j].end_token;
      ++j;
    } else {
      if (seq.word_of[t] >= 0) add_unit(ws, t, 1, segment_entry(ws, seq.segment(t), seq.n, cached));
      ++t;
    }
  }
}

// The segment entry that loses its last unit next; may be past the end or
// have nothing left, which drop_units refuses.
inline std::size_t segment_to_cut(truncation truncate, const plan_workspace& ws) {
  std::size_t s = 0;
  switch (truncate) {
    case truncation::longest_first:  // ties: the later segment
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
      break;  // refused by needs_truncation
  }
  return s;
}

// Drops units off segment ends until `length` rows fit in max_length;
// returns the length left.
inline std::int64_t drop_units(const planner_config& config, plan_workspace& ws, std::int64_t length) {
  const std::int64_t untruncated = length;
  while (length > config.max_length) {
    const std::size_t s = segment_to_cut(config.truncate, ws);
    if (s >= ws.segments.size() || ws.segments[s].last < 0) {
      const char* which = config.truncate == truncation::only_second ? "second" : "first";
      throw error(plan_what, "truncate",
                  std::string("the spliced sequence needs ") + std::to_string(untruncated) +
                      " rows, max_length is " + std::to_string(config.max_length) + ", and the " + which +
                      " segment " + (s >= ws.segments.size() ? "does not exist" : "has no content left to drop") +
                      " (truncation only_" + which + ")");
    }
    auto& seg = ws.segments[s];
    const auto& u = ws.units[static_cast<std::size_t>(seg.last)];
    seg.content -= u.size;
    seg.cut = u.first_token;
    seg.last = u.prev;
    length -= u.size;
  }
  return length;
}

// Whether truncation dropped the content unit that starts at a token.
class cut_lookup {
 public:
  cut_lookup(const plan_workspace& ws, bool truncating) noexcept : ws_(ws), truncating_(truncating) {}
  bool dropped(const sequence_view& seq, std::int32_t t) noexcept {
    if (!truncating_) return false;
    const std::int32_t id = seq.segment(t);
    if (ws_.segments[cached_].id != id) {
      cached_ = 0;
      while (ws_.segments[cached_].id != id) ++cached_;  // every content segment is listed
    }
    return t >= ws_.segments[cached_].cut;
  }

 private:
  const plan_workspace& ws_;
  bool truncating_;
  std::size_t cached_ = 0;
};

// Writes output rows in order, numbering positions as it goes.
class row_writer {
 public:
  explicit row_writer(splice_plan& out) noexcept
      : ids_(out.input_ids.data()),
        slot_(out.entity_slot_of.data()),
        pos_(out.position_ids.data()),
        seg_(out.segment_ids.data()),
        mask_(out.attention_mask.data()) {}

  std::int32_t row() const noexcept { return row_; }

  void token(token_id id, std::int32_t segment) noexcept { write(id, -1, position_++, segment); }
  // An entity slot row; with `share` it takes the position of the row before
  // it (PELT), and the positions after it do not advance.
  void entity(token_id placeholder, std::int32_t slot, bool share, std::int32_t segment) noexcept {
    write(placeholder, slot, share ? pos_[row_ - 1] : position_++, segment);
  }
  // Masked out; positions continue as an encoder would number them.
  void padding(token_id id) noexcept {
    token(id, 0);
    mask_[row_ - 1] = 0;
  }

 private:
  void write(token_id id, std::int32_t slot, std::int32_t position, std::int32_t segment) noexcept {
    ids_[row_] = id;
    slot_[row_] = slot;
    pos_[row_] = position;
    seg_[row_] = segment;
    mask_[row_] = 1;
    ++row_;
  }

  token_id* ids_;
  std::int32_t* slot_;
  std::int32_t* pos_;
  std::int32_t* seg_;
  std::uint8_t* mask_;
  std::int32_t row_ = 0;
  std::int32_t position_ = 0;
};

// Sizes the result for `total` rows (slots are appended as groups are written).
inline void size_outputs(splice_plan& out, std::int32_t total, std::int32_t n_tokens, std::size_t n_mentions) {
  out.input_ids.resize(static_cast<std::size_t>(total));
  out.entity_slot_of.resize(static_cast<std::size_t>(total));
  out.position_ids.resize(static_cast<std::size_t>(total));
  out.segment_ids.resize(static_cast<std::size_t>(total));
  out.attention_mask.resize(static_cast<std::size_t>(total));
  out.old_to_new.resize(static_cast<std::size_t>(n_tokens));
  out.groups.resize(n_mentions);
  out.slots.clear();
}

// Writes the group of one kept mention: open marker, the format's elements,
// close marker. Returns where it landed.
inline group_range emit_group(const planner_config& config, const sequence_view& seq,
                              const plan_workspace::span_info& sp, const mention& m, row_index kb_row,
                              row_writer& w, splice_plan& out) {
  const splice_format& fmt = config.format;
  std::int32_t* old_to_new = out.old_to_new.data();
  const std::int32_t segment = seq.segment(sp.first_token);
  const marker_pair* marker = m.marker != no_marker ? &fmt.markers()[static_cast<std::size_t>(m.marker)] : nullptr;
  group_range g;
  g.begin = w.row();
  if (marker)
    for (token_id id : marker->open) w.token(id, segment);
  for (const auto& e : fmt.elements()) {
    switch (e.kind) {
      case element_kind::literal:
        w.token(e.token, segment);
        break;
      case element_kind::entity:
        g.slot = static_cast<std::int32_t>(out.slots.size());
        out.slots.push_back({w.row(), sp.mention, m.source, kb_row});
        w.entity(config.placeholder_id, g.slot, fmt.share_entity_position(), segment);
        break;
      case element_kind::mention:
        g.mention_begin = w.row();
        for (std::int32_t u = sp.first_token; u < sp.end_token; ++u) {
          old_to_new[u] = w.row();
          w.token(seq.ids[u], segment);
        }
        break;
    }
  }
  if (!fmt.keeps_mention()) std::fill(old_to_new + sp.first_token, old_to_new + sp.end_token, -1);
  if (marker)
    for (token_id id : marker->close) w.token(id, segment);
  g.end = w.row();
  return g;
}

// Writes the plan's rows: tokens and groups in input order, minus what
// truncation dropped, then padding.
inline void emit_plan(const planner_config& config, const sequence_view& seq, std::span<const mention> mentions,
                      std::span<const row_index> rows, bool truncating, std::int32_t length, splice_plan& out) {
  const std::int32_t total = config.pad_to_max_length ? std::max(length, config.max_length) : length;
  size_outputs(out, total, seq.n, mentions.size());
  row_writer w(out);
  cut_lookup cuts(out.workspace, truncating);
  std::int32_t* old_to_new = out.old_to_new.data();
  const auto& spans = out.workspace.spans;
  std::size_t j = 0;
  for (std::int32_t t = 0; t < seq.n;) {
    if (j < spans.size() && spans[j].first_token == t) {
      const auto& sp = spans[j++];
      const auto k = static_cast<std::size_t>(sp.mention);
      if (cuts.dropped(seq, t)) {
        std::fill(old_to_new + sp.first_token, old_to_new + sp.end_token, -1);
        out.groups[k] = group_range{};
      } else {
        out.groups[k] = emit_group(config, seq, sp, mentions[k], rows[k], w, out);
      }
      t = sp.end_token;
    } else {
      if (seq.word_of[t] < 0 || !cuts.dropped(seq, t)) {
        old_to_new[t] = w.row();
        w.token(seq.ids[t], seq.segment(t));
      } else {
        old_to_new[t] = -1;
      }
      ++t;
    }
  }
  while (w.row() < total) w.padding(config.pad_id);
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
  auto& ws = out.workspace;
  const detail::sequence_view seq = detail::read_sequence(tokens, mentions.size(), rows.size());
  detail::list_mentions(mentions, config_.format, seq.last_word, ws);
  detail::check_overlaps(mentions, ws);
  std::int64_t length = detail::locate_groups(seq, mentions, config_.format, ws);
  const bool truncating = detail::needs_truncation(config_, seq, ws, length);
  if (truncating) {
    detail::list_units(seq, ws);
    length = detail::drop_units(config_, ws, length);
  }
  detail::emit_plan(config_, seq, mentions, rows, truncating, static_cast<std::int32_t>(length), out);
}

}  // namespace kplug::splice
