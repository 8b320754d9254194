// The mention linker: finds alias mentions in a word sequence and links each
// to an entity of the alias table.
//
// Rule (deterministic, independent of how the table was built):
//   1. Every word is folded with the table's folding function. Every alias
//      occurrence is found: from each start word, the alias trie is walked
//      as far as the words allow, and every alias node passed is a match
//      (so "new york city" yields "new york" and "new york city" at 0).
//   2. Matches are considered longest first, then leftmost. A match that
//      overlaps no accepted mention is disambiguated (the hook, or the
//      highest prior by default); if a candidate is chosen and passes the
//      thresholds, the match is accepted, otherwise it is dropped and its
//      words stay free for shorter or later matches.
//   3. The accepted mentions are returned sorted by start word.
// This differs from greedy left-to-right longest match: in "a b c d" with
// aliases "a b" and "b c d", left-to-right takes "a b", this rule takes
// "b c d".
//
// A mention's score is its chosen candidate's count divided by the total count
// of the alias's candidates (0 if all counts are 0), whoever chose it.
//
// Pre-annotated spans (gold entity ids from a dataset) bypass the linker:
// check them with validate_mentions and use them as they are.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kplug/core/error.hpp"
#include "kplug/core/types.hpp"
#include "kplug/link/alias_table.hpp"
#include "kplug/text/words.hpp"

namespace kplug::link {

struct linker_options {
  // Drop a mention whose chosen candidate's score (prior share) is below this.
  float min_score = 0.0f;
  // Drop a mention whose chosen candidate's count is below this.
  std::uint64_t min_count = 0;
  // Longest alias tried, in words; 0 means the table's longest.
  std::size_t max_alias_words = 0;
  // Written into every mention's `source`.
  source_id source = 0;
};

// The disambiguation hook: given an alias's candidates (best prior first), the
// matched word span and all the words of the input, returns the index of the
// chosen candidate, or std::nullopt to skip the mention.
using disambiguator = std::function<std::optional<std::size_t>(
    const candidate_list& candidates, word_span span, std::span<const std::string_view> words)>;

// Links word sequences against one alias table, which must outlive it. A
// linker holds scratch buffers reused across calls, so it is not safe to use
// one linker from several threads at once: give each thread its own (they
// are cheap; the table is shared read-only).
class linker {
 public:
  explicit linker(const alias_table& table, linker_options options = {}, disambiguator choose = {});
  linker(const alias_table&& table, linker_options options = {}, disambiguator choose = {}) = delete;

  std::vector<mention> link_words(std::span<const std::string_view> words);
  // Into `out` (cleared first), so a caller looping over sentences allocates
  // nothing per word once the buffers have grown.
  void link_words(std::span<const std::string_view> words, std::vector<mention>& out);
  // Over the output of text::split_words.
  std::vector<mention> link_words(std::span<const text::word> words);
  void link_words(std::span<const text::word> words, std::vector<mention>& out);

  const alias_table& table() const noexcept { return *table_; }
  const linker_options& options() const noexcept { return options_; }

 private:
  struct match {
    std::int32_t begin;
    std::int32_t length;
    node_index node;
  };
  struct accepted {
    std::uint32_t match;
    std::uint32_t choice;
  };

  void link(std::span<const std::string_view> words, std::vector<mention>& out);
  // The steps of link(), in order; each fills the scratch the next reads.
  void look_up_words(std::span<const std::string_view> words);
  void find_matches(std::size_t n, std::size_t max_words);
  void order_longest_first();
  void accept_matches(std::span<const std::string_view> words);
  void write_mentions(std::vector<mention>& out);

  const alias_table* table_;
  linker_options options_;
  disambiguator choose_;

  // Scratch, reused across calls.
  std::string folded_;
  std::string folded_all_;
  std::vector<std::size_t> folded_end_;
  std::vector<std::uint64_t> hashes_;
  std::vector<std::string_view> views_;
  std::vector<word_handle> ids_;
  std::vector<node_index> roots_;
  std::vector<match> matches_;
  std::vector<std::uint32_t> order_;
  std::vector<std::size_t> level_begin_;
  std::vector<std::uint32_t> active_;
  std::vector<node_index> nodes_;
  std::vector<std::uint8_t> taken_;
  std::vector<accepted> accepted_;
};

// Checks pre-annotated mentions against a sequence of `word_count` words:
// throws kplug::error naming the mention index for an empty span, a span
// outside [0, word_count), an empty entity id, or two overlapping mentions.
// The mentions may come in any order.
inline void validate_mentions(std::span<const mention> mentions, std::size_t word_count);

// ---------------------------------------------------------------------------
// Implementation

inline linker::linker(const alias_table& table, linker_options options, disambiguator choose)
    : table_(&table), options_(options), choose_(std::move(choose)) {
  if (std::isnan(options_.min_score))
    throw error("create linker", "linker_options::min_score", "the threshold is NaN");
}

inline std::vector<mention> linker::link_words(std::span<const std::string_view> words) {
  std::vector<mention> out;
  link(words, out);
  return out;
}

inline void linker::link_words(std::span<const std::string_view> words, std::vector<mention>& out) {
  link(words, out);
}

inline std::vector<mention> linker::link_words(std::span<const text::word> words) {
  std::vector<mention> out;
  link_words(words, out);
  return out;
}

inline void linker::link_words(std::span<const text::word> words, std::vector<mention>& out) {
  views_.clear();
  for (const text::word& w : words) views_.push_back(w.text);
  link(views_, out);
}

inline void linker::link(std::span<const std::string_view> words, std::vector<mention>& out) {
  out.clear();
  const std::size_t n = words.size();
  if (n > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()))
    throw error("link words", "argument 'words'",
                std::to_string(n) + " words do not fit the int32 word indices of a mention");
  if (n == 0 || table_->empty()) return;
  std::size_t max_words = table_->max_alias_words();
  if (options_.max_alias_words != 0) max_words = std::min(max_words, options_.max_alias_words);
  look_up_words(words);
  find_matches(n, max_words);
  if (matches_.empty()) return;
  order_longest_first();
  accept_matches(words);
  write_mentions(out);
}

// 1. Folds and looks up every word once; the trie walks then compare
//    handles. Each stage runs over the whole sentence and prefetches what the
//    next stage reads, so that its cache misses overlap (the tables are far
//    larger than the caches; a miss per word per stage otherwise dominates).
//    Fills ids_ (word handles) and roots_ (the trie node of each word alone).
inline void linker::look_up_words(std::span<const std::string_view> words) {
  const alias_table& table = *table_;
  const std::size_t n = words.size();
  folded_all_.clear();
  folded_end_.resize(n);
  hashes_.resize(n);
  ids_.resize(n);
  roots_.resize(n);
  const bool direct = table.uses_default_fold();  // skip the std::function call per word
  for (std::size_t i = 0; i < n; ++i) {
    if (direct)
      text::case_fold(words[i], folded_);
    else
      table.fold()(words[i], folded_);
    folded_all_ += folded_;
    folded_end_[i] = folded_all_.size();
  }
  const auto folded = [&](std::size_t i) {
    const std::size_t b = i == 0 ? 0 : folded_end_[i - 1];
    return std::string_view(folded_all_).substr(b, folded_end_[i] - b);
  };
  const detail::string_interner& vocabulary = table.words_;
  for (std::size_t i = 0; i < n; ++i) {
    hashes_[i] = detail::hash_bytes(folded(i));
    vocabulary.prefetch_slot(hashes_[i]);
  }
  for (std::size_t i = 0; i < n; ++i) {
    ids_[i] = vocabulary.first_tag_match(hashes_[i]);
    if (ids_[i] != no_index) vocabulary.prefetch_offsets(ids_[i]);
  }
  for (std::size_t i = 0; i < n; ++i)
    if (ids_[i] != no_index) vocabulary.prefetch_chars(ids_[i]);
  for (std::size_t i = 0; i < n; ++i)
    if (ids_[i] != no_index) ids_[i] = vocabulary.find(folded(i), hashes_[i]);
  for (std::size_t i = 0; i < n; ++i) {
    roots_[i] = ids_[i] == no_index ? no_index : table.root_child_[ids_[i]];
    if (roots_[i] != no_index) detail::prefetch(&table.node_info_[roots_[i]]);
  }
}

// 2. Finds all matches, one length at a time (breadth-first over the starts
//    still walking), which yields them grouped by length and, within a
//    length, by start, as order_longest_first wants; and lets each level's
//    edge lookups be prefetched together. level_begin_ ends with
//    matches_.size(), one past the last level.
inline void linker::find_matches(std::size_t n, std::size_t max_words) {
  const alias_table& table = *table_;
  matches_.clear();
  level_begin_.clear();
  active_.clear();
  for (std::size_t i = 0; i < n; ++i)
    if (roots_[i] != no_index) active_.push_back(static_cast<std::uint32_t>(i));
  nodes_.assign(roots_.begin(), roots_.end());
  for (std::size_t length = 1; length <= max_words && !active_.empty(); ++length) {
    level_begin_.push_back(matches_.size());
    std::size_t kept = 0;
    for (const std::uint32_t i : active_) {
      const node_index node = nodes_[i];
      if (table.is_alias(node)) {
        matches_.push_back(match{static_cast<std::int32_t>(i), static_cast<std::int32_t>(length), node});
        detail::prefetch(&table.terminals_[table.node_info_[node] & alias_table::terminal_mask]);
      }
      const std::size_t next = i + length;
      if (length < max_words && next < n && ids_[next] != no_index && table.has_children(node)) {
        table.edges_.prefetch_slot(node, ids_[next]);
        active_[kept++] = i;
      }
    }
    active_.resize(kept);
    kept = 0;
    for (const std::uint32_t i : active_) {
      const node_index child = table.edges_.find(nodes_[i], ids_[i + length]);
      if (child == no_index) continue;
      nodes_[i] = child;
      detail::prefetch(&table.node_info_[child]);
      active_[kept++] = i;
    }
    active_.resize(kept);
  }
  if (matches_.empty()) return;
  level_begin_.push_back(matches_.size());
  for (const match& m : matches_)
    detail::prefetch(&table.arena_[table.terminals_[table.node_info_[m.node] & alias_table::terminal_mask].begin]);
}

// 3. Longest first, then leftmost: the levels in reverse, each in order.
inline void linker::order_longest_first() {
  order_.clear();
  for (std::size_t level = level_begin_.size() - 1; level-- > 0;)
    for (std::size_t k = level_begin_[level]; k < level_begin_[level + 1]; ++k)
      order_.push_back(static_cast<std::uint32_t>(k));
}

// 4. Greedy acceptance of non-overlapping matches, in order_, through the
//    disambiguation hook and the count and score thresholds.
inline void linker::accept_matches(std::span<const std::string_view> words) {
  const alias_table& table = *table_;
  taken_.assign(words.size(), 0);
  accepted_.clear();
  for (const std::uint32_t k : order_) {
    const match& m = matches_[k];
    const auto b = static_cast<std::size_t>(m.begin);
    const auto e = b + static_cast<std::size_t>(m.length);
    bool free = true;
    for (std::size_t w = b; w < e && free; ++w) free = taken_[w] == 0;
    if (!free) continue;
    const candidate_list candidates = table.candidates_at(m.node);
    std::size_t choice = 0;
    if (choose_) {
      const std::optional<std::size_t> c = choose_(candidates, word_span{m.begin, m.begin + m.length}, words);
      if (!c) continue;
      if (*c >= candidates.size())
        throw error("link words", "disambiguation hook",
                    "returned candidate " + std::to_string(*c) + " for an alias with " +
                        std::to_string(candidates.size()) + " candidates");
      choice = *c;
    }
    if (candidates.entries()[choice].count < options_.min_count) continue;
    if (candidates.score(choice) < options_.min_score) continue;
    for (std::size_t w = b; w < e; ++w) taken_[w] = 1;
    accepted_.push_back(accepted{k, static_cast<std::uint32_t>(choice)});
  }
}

// 5. The accepted matches as mentions, in word order.
inline void linker::write_mentions(std::vector<mention>& out) {
  const alias_table& table = *table_;
  std::sort(accepted_.begin(), accepted_.end(),
            [&](const accepted& x, const accepted& y) { return matches_[x.match].begin < matches_[y.match].begin; });
  for (const accepted& a : accepted_)
    table.entities_.prefetch_offsets(table.candidates_at(matches_[a.match].node).entries()[a.choice].entity);
  out.reserve(accepted_.size());
  for (const accepted& a : accepted_) {
    const match& m = matches_[a.match];
    const candidate_list candidates = table.candidates_at(m.node);
    mention& mn = out.emplace_back();
    mn.words = word_span{m.begin, m.begin + m.length};
    mn.entity.assign(candidates[a.choice].entity);
    mn.score = candidates.score(a.choice);
    mn.source = options_.source;
  }
}

inline void validate_mentions(std::span<const mention> mentions, std::size_t word_count) {
  static constexpr const char* what = "validate mentions";
  const auto where = [](std::size_t i) { return "mentions[" + std::to_string(i) + "]"; };
  const auto span_text = [](const word_span& s) {
    return "[" + std::to_string(s.begin) + ", " + std::to_string(s.end) + ")";
  };
  for (std::size_t i = 0; i < mentions.size(); ++i) {
    const mention& m = mentions[i];
    if (m.words.empty()) throw error(what, where(i), "word span " + span_text(m.words) + " is empty");
    if (m.words.begin < 0 || static_cast<std::size_t>(m.words.end) > word_count)
      throw error(what, where(i),
                  "word span " + span_text(m.words) + " is outside the " + std::to_string(word_count) +
                      " words [0, " + std::to_string(word_count) + ")");
    if (m.entity.empty()) throw error(what, where(i), "entity id is empty");
  }
  // Sorted by start, a mention overlaps an earlier one iff it starts before
  // the furthest end seen so far.
  std::vector<std::size_t> order(mentions.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) {
    const word_span& a = mentions[x].words;
    const word_span& b = mentions[y].words;
    return a.begin != b.begin ? a.begin < b.begin : (a.end != b.end ? a.end < b.end : x < y);
  });
  std::size_t furthest = 0;
  for (std::size_t k = 1; k < order.size(); ++k) {
    const std::size_t cur = order[k];
    if (mentions[cur].words.begin < mentions[order[furthest]].words.end) {
      const std::size_t first = std::min(cur, order[furthest]);
      const std::size_t second = std::max(cur, order[furthest]);
      throw error(what, where(second),
                  "word span " + span_text(mentions[second].words) + " overlaps mentions[" +
                      std::to_string(first) + "] " + span_text(mentions[first].words));
    }
    if (mentions[cur].words.end > mentions[order[furthest]].words.end) furthest = k;
  }
}

}  // namespace kplug::link
