// An independent check of the planner: a deliberately naive splicer (units
// as vectors of items, truncation by repeatedly recounting and erasing)
// compared with the planner on thousands of random sequences, mentions,
// formats, markers, maximum lengths and truncation strategies.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <vector>

#include "kplug/splice/planner.hpp"

namespace kplug::splice::test {
namespace {

struct ref_item {
  token_id id = 0;
  bool entity = false;
  bool shares_position = false;
  int source_token = -1;  // input token it copies, or -1
};

struct ref_unit {
  bool special = false;
  int segment = 0;
  int mention = -1;
  std::vector<ref_item> items;
};

// nullopt: the reference says this input must be rejected.
std::optional<splice_plan> reference_splice(const token_sequence& seq, const std::vector<mention>& ms,
                                            const std::vector<row_index>& rows, const planner_config& cfg) {
  const int n = static_cast<int>(seq.ids.size());
  auto segment = [&](int t) { return seq.segment_ids.empty() ? 0 : seq.segment_ids[t]; };
  // Mention k covers every token whose word lies in its span.
  std::map<int, int> starts;  // first token -> mention
  std::map<int, std::vector<int>> pieces;
  for (int k = 0; k < static_cast<int>(ms.size()); ++k) {
    for (int t = 0; t < n; ++t)
      if (seq.word_of[t] >= ms[k].words.begin && seq.word_of[t] < ms[k].words.end) pieces[k].push_back(t);
    starts[pieces[k].front()] = k;
  }
  std::vector<ref_unit> units;
  for (int t = 0; t < n;) {
    ref_unit u;
    u.segment = segment(t);
    if (starts.count(t)) {
      const int k = starts[t];
      u.mention = k;
      const mention& m = ms[k];
      const marker_pair* mp = m.marker >= 0 ? &cfg.format.markers()[m.marker] : nullptr;
      if (mp)
        for (token_id id : mp->open) u.items.push_back({id});
      for (const auto& e : cfg.format.elements()) {
        if (e.kind == element_kind::literal) u.items.push_back({e.token});
        if (e.kind == element_kind::entity)
          u.items.push_back({cfg.placeholder_id, true, cfg.format.share_entity_position(), -1});
        if (e.kind == element_kind::mention)
          for (int p : pieces[k]) u.items.push_back({seq.ids[p], false, false, p});
      }
      if (mp)
        for (token_id id : mp->close) u.items.push_back({id});
      t = pieces[k].back() + 1;
    } else {
      u.special = seq.word_of[t] == -1;
      u.items.push_back({seq.ids[t], false, false, t});
      ++t;
    }
    units.push_back(u);
  }

  if (cfg.max_length > 0) {
    std::size_t specials = 0, total = 0;
    for (const auto& u : units) {
      specials += u.special ? 1 : 0;
      total += u.items.size();
    }
    if (specials > static_cast<std::size_t>(cfg.max_length)) return std::nullopt;
    for (const auto& u : units)
      if (u.mention >= 0 && u.items.size() + specials > static_cast<std::size_t>(cfg.max_length))
        return std::nullopt;
    if (total > static_cast<std::size_t>(cfg.max_length) && cfg.truncate == truncation::error)
      return std::nullopt;
    std::vector<int> order;  // content segments by first appearance
    for (const auto& u : units)
      if (!u.special && std::find(order.begin(), order.end(), u.segment) == order.end())
        order.push_back(u.segment);
    while (total > static_cast<std::size_t>(cfg.max_length)) {
      auto content = [&](int s) {
        std::size_t c = 0;
        for (const auto& u : units)
          if (!u.special && u.segment == s) c += u.items.size();
        return c;
      };
      int victim;
      if (cfg.truncate == truncation::longest_first) {
        victim = order[0];
        for (int s : order)
          if (content(s) >= content(victim)) victim = s;
      } else {
        const std::size_t which = cfg.truncate == truncation::only_first ? 0 : 1;
        if (which >= order.size()) return std::nullopt;
        victim = order[which];
      }
      int last = -1;
      for (int i = 0; i < static_cast<int>(units.size()); ++i)
        if (!units[i].special && units[i].segment == victim) last = i;
      if (last < 0) return std::nullopt;
      total -= units[last].items.size();
      units.erase(units.begin() + last);
    }
  }

  splice_plan p;
  p.old_to_new.assign(n, -1);
  p.groups.assign(ms.size(), group_range{});
  int position = 0;
  for (const auto& u : units) {
    const int begin = static_cast<int>(p.input_ids.size());
    int slot = -1, mention_begin = -1;
    for (const auto& item : u.items) {
      const int row = static_cast<int>(p.input_ids.size());
      p.input_ids.push_back(item.id);
      p.segment_ids.push_back(u.segment);
      p.attention_mask.push_back(1);
      if (item.entity) {
        slot = static_cast<int>(p.slots.size());
        p.slots.push_back({row, u.mention, ms[u.mention].source, rows[u.mention]});
        p.entity_slot_of.push_back(slot);
        p.position_ids.push_back(item.shares_position ? position - 1 : position++);
      } else {
        p.entity_slot_of.push_back(-1);
        p.position_ids.push_back(position++);
      }
      if (item.source_token >= 0) {
        p.old_to_new[item.source_token] = row;
        if (u.mention >= 0 && mention_begin < 0) mention_begin = row;
      }
    }
    if (u.mention >= 0)
      p.groups[u.mention] = {begin, static_cast<int>(p.input_ids.size()), mention_begin, slot};
  }
  if (cfg.pad_to_max_length)
    while (static_cast<int>(p.input_ids.size()) < cfg.max_length) {
      p.input_ids.push_back(cfg.pad_id);
      p.segment_ids.push_back(0);
      p.attention_mask.push_back(0);
      p.entity_slot_of.push_back(-1);
      p.position_ids.push_back(position++);
    }
  return p;
}

struct random_case {
  token_sequence seq;
  std::vector<mention> mentions;
  std::vector<row_index> rows;
  planner_config config;
};

random_case make_case(std::mt19937& rng) {
  auto coin = [&](double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  random_case c;
  auto& s = c.seq;
  const bool with_segments = coin(0.6);
  const int segments = pick(1, coin(0.2) ? 3 : 2);
  auto special = [&](token_id id, int seg) {
    s.ids.push_back(id);
    s.word_of.push_back(-1);
    s.segment_ids.push_back(seg);
  };
  if (coin(0.9)) special(101, 0);
  int word = pick(0, 2);
  struct present {
    int word, block;
  };
  std::vector<present> words;
  int block = 0;
  for (int seg = 0; seg < segments; ++seg) {
    const int n_words = pick(0, 12);
    for (int w = 0; w < n_words; ++w) {
      if (coin(0.05)) {
        special(103, seg);  // a special token inside the content
        ++block;
      }
      word += coin(0.1) ? 2 : 1;  // sometimes a word without pieces
      const int n_pieces = pick(1, 3);
      for (int p = 0; p < n_pieces; ++p) {
        s.ids.push_back(pick(2000, 2999));
        s.word_of.push_back(word);
        s.segment_ids.push_back(seg);
      }
      words.push_back({word, block});
    }
    if (coin(0.9)) special(102, seg);
    ++block;
  }
  if (s.ids.empty()) special(101, 0);
  if (!with_segments || segments == 1) s.segment_ids.clear();

  // Format.
  const token_id slash = 1013;
  splice_format fmt;
  switch (pick(0, 5)) {
    case 0:
      fmt = splice_format::entity_slash_mention(slash);
      break;
    case 1:
      fmt = splice_format::mention_slash_entity(slash);
      break;
    case 2:
      fmt = splice_format::replace_mention();
      break;
    case 3:
      fmt = splice_format::mention_paren_entity(1006, 1007, true);
      break;
    case 4:
      fmt = splice_format::mention_paren_entity(1006, 1007, false);
      break;
    default:
      fmt = splice_format({group_element::literal(7), group_element::mention(), group_element::entity(),
                           group_element::literal(8), group_element::literal(9)},
                          coin(0.5));
  }
  std::vector<marker_pair> markers(static_cast<std::size_t>(pick(0, 2)));
  for (auto& m : markers) {
    for (int i = pick(0, 2); i > 0; --i) m.open.push_back(pick(1000, 1005));
    for (int i = pick(0, 2); i > 0; --i) m.close.push_back(pick(1000, 1005));
  }
  c.config.format = fmt.with_markers(markers);
  c.config.placeholder_id = pick(0, 5);

  // Non-overlapping mentions of 1..3 consecutive present words in one block.
  for (std::size_t i = 0; i < words.size();) {
    if (!coin(0.3)) {
      ++i;
      continue;
    }
    std::size_t last = i;
    const int len = pick(1, 3);
    while (static_cast<int>(last - i + 1) < len && last + 1 < words.size() &&
           words[last + 1].block == words[i].block)
      ++last;
    mention m;
    m.words = {words[i].word, words[last].word + 1};
    m.source = static_cast<source_id>(pick(0, 3));
    m.marker = static_cast<std::int16_t>(pick(-1, static_cast<int>(markers.size()) - 1));
    c.mentions.push_back(m);
    c.rows.push_back(pick(-1, 20));
    i = last + 1;
  }
  // Any order.
  std::vector<std::size_t> perm(c.mentions.size());
  for (std::size_t i = 0; i < perm.size(); ++i) perm[i] = i;
  std::shuffle(perm.begin(), perm.end(), rng);
  std::vector<mention> ms;
  std::vector<row_index> rs;
  for (auto i : perm) {
    ms.push_back(c.mentions[i]);
    rs.push_back(c.rows[i]);
  }
  c.mentions = ms;
  c.rows = rs;

  // Length limits around the interesting range.
  if (coin(0.75)) {
    int specials = 0;
    for (auto w : s.word_of) specials += w < 0 ? 1 : 0;
    const int approx = static_cast<int>(s.ids.size()) + 4 * static_cast<int>(c.mentions.size()) + 2;
    c.config.max_length = pick(std::max(1, specials - 1), approx);
    const int t = pick(0, 9);
    c.config.truncate = t < 6   ? truncation::longest_first
                        : t < 7 ? truncation::only_first
                        : t < 8 ? truncation::only_second
                                : truncation::error;
    c.config.pad_to_max_length = coin(0.2);
    c.config.pad_id = 0;
  }
  return c;
}

TEST(SpliceReference, PlannerMatchesANaiveSplicerOnRandomInputs) {
  std::mt19937 rng(20230709);
  splice_plan reused;  // one plan rebuilt for every case: buffer reuse across shapes
  int compared = 0, rejected = 0, truncated_groups = 0, shared = 0;
  for (int iteration = 0; iteration < 20000; ++iteration) {
    const random_case c = make_case(rng);
    const planner p(c.config);
    const auto expected = reference_splice(c.seq, c.mentions, c.rows, c.config);
    if (!expected) {
      EXPECT_THROW((void)p.build(c.seq, c.mentions, c.rows), kplug::error) << "iteration " << iteration;
      EXPECT_THROW(p.build_into(c.seq, c.mentions, c.rows, reused), kplug::error);
      ++rejected;
      continue;
    }
    const splice_plan got = p.build(c.seq, c.mentions, c.rows);
    p.build_into(c.seq, c.mentions, c.rows, reused);
    ASSERT_EQ(got.input_ids, expected->input_ids) << "iteration " << iteration;
    ASSERT_EQ(got.position_ids, expected->position_ids) << "iteration " << iteration;
    ASSERT_EQ(got.segment_ids, expected->segment_ids) << "iteration " << iteration;
    ASSERT_EQ(got.attention_mask, expected->attention_mask) << "iteration " << iteration;
    ASSERT_EQ(got.entity_slot_of, expected->entity_slot_of) << "iteration " << iteration;
    ASSERT_EQ(got.old_to_new, expected->old_to_new) << "iteration " << iteration;
    ASSERT_EQ(got.slots, expected->slots) << "iteration " << iteration;
    ASSERT_EQ(got.groups, expected->groups) << "iteration " << iteration;
    ASSERT_EQ(reused, got) << "iteration " << iteration;
    ++compared;
    for (const auto& g : got.groups) truncated_groups += g.kept() ? 0 : 1;
    if (c.config.format.share_entity_position() && !got.slots.empty()) ++shared;
  }
  // The random cases must have exercised what they are for.
  EXPECT_GT(compared, 10000);
  EXPECT_GT(rejected, 500);
  EXPECT_GT(truncated_groups, 2000);
  EXPECT_GT(shared, 1000);
}

}  // namespace
}  // namespace kplug::splice::test
