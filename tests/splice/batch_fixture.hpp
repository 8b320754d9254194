// Three plans used by the batch and assemble tests:
//   0: E / m on [CLS] w0 w1a ##w1b w2 [SEP], mention word 1 -> source 0 row 42 (8 rows, slot at 2)
//   1: E / m on [CLS] w0 w1a ##w1b w2 w3 [SEP], words 1 -> (0, 42), 3 -> (1, 42) (11 rows, slots 2, 7)
//   2: replace on [CLS] w0 w1a ##w1b w2 [SEP], words 0 -> (0, no_row), 1 -> (0, 5) (5 rows, slots 1, 2)
#pragma once

#include <vector>

#include "kplug/splice/planner.hpp"
#include "splice_fixtures.hpp"

namespace kplug::splice::test {

inline std::vector<splice_plan> three_plans() {
  const planner paper({.format = splice_format::entity_slash_mention(slash), .placeholder_id = placeholder});
  const planner replace({.placeholder_id = placeholder});
  std::vector<splice_plan> plans;
  {
    const mention m = make_mention(1, 2, 0);
    const row_index r = 42;
    plans.push_back(paper.build(basic_sequence(), {&m, 1}, {&r, 1}));
  }
  {
    const auto seq = make_sequence({cls, w0, w1a, w1b, w2, w3, sep}, {-1, 0, 1, 1, 2, 3, -1});
    const std::vector<mention> ms{make_mention(1, 2, 0), make_mention(3, 4, 1)};
    const std::vector<row_index> rows{42, 42};
    plans.push_back(paper.build(seq, ms, rows));
  }
  {
    const std::vector<mention> ms{make_mention(0, 1, 0), make_mention(1, 2, 0)};
    const std::vector<row_index> rows{no_row, 5};
    plans.push_back(replace.build(basic_sequence(), ms, rows));
  }
  return plans;
}

}  // namespace kplug::splice::test
