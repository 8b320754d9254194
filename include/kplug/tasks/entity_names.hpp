// Entity names for the closed-form start of map-tuning: each entity's most
// frequent alias in an alias table file (alias<TAB>entity<TAB>count; ties go
// to the first in the file), and the least-squares fit of an affine mapper
// from each named entity's vector to the mean input embedding of its name.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "kplug/core/error.hpp"
#include "kplug/core/limits.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/kb/knowledge_base.hpp"
#include "kplug/link/alias_table.hpp"
#include "kplug/map/affine.hpp"
#include "kplug/map/init.hpp"
#include "kplug/text/wordpiece.hpp"

namespace kplug::tasks {

// entity -> its most frequent alias, as written in the file (rows read and
// checked by link::for_each_alias_row).
inline std::unordered_map<std::string, std::string> entity_names(const std::string& aliases_path,
                                                                 const input_limits& limits = {}) {
  std::unordered_map<std::string, std::pair<std::string, std::uint64_t>> best;
  link::for_each_alias_row(aliases_path, limits,
                           [&](std::string_view alias, std::string_view entity, std::uint64_t count, std::uint64_t) {
                             auto [it, fresh] = best.try_emplace(std::string(entity), std::string(alias), count);
                             if (!fresh && count > it->second.second) it->second = {std::string(alias), count};
                           });
  std::unordered_map<std::string, std::string> out;
  for (auto& [entity, alias] : best) out.emplace(entity, std::move(alias.first));
  return out;
}

struct entity_name_fit {
  map::least_squares_fit fit;
  index_t named = 0;  // entities of the knowledge base with a name that has word pieces
};

// Fits `mapper` to map each named entity's vector to the mean input
// embedding of its name's word pieces (ridge 1e-3). Needs more named
// entities than d_kb; `where` names the names' source in that error.
template <class Encoder>
entity_name_fit fit_to_entity_names(map::affine_mapper& mapper, const kb::knowledge_base& kb,
                                           const text::bert_tokenizer& tokenizer, const Encoder& encoder,
                                           const std::unordered_map<std::string, std::string>& names,
                                           const std::string& where) {
  std::vector<row_index> rows;
  std::vector<std::vector<token_id>> pieces;
  kb.entities().for_each([&](std::string_view entity, row_index row) {
    const auto it = names.find(std::string(entity));
    if (it == names.end()) return;
    std::vector<token_id> ids;
    for (const auto& p : tokenizer.tokenize(it->second).pieces) ids.push_back(p.id);
    if (ids.empty()) return;
    rows.push_back(row);
    pieces.push_back(std::move(ids));
  });
  if (rows.size() < static_cast<std::size_t>(kb.d_kb()) + 1)
    throw error("closed-form alignment", where,
                "names only " + std::to_string(rows.size()) + " entities of the knowledge base; need more than d_kb");
  const auto n = static_cast<index_t>(rows.size());
  const index_t hidden = encoder.hidden_size();
  matrix<float> x(n, kb.d_kb()), targets(n, hidden), emb;
  kb.gather(rows, x.view());
  for (index_t r = 0; r < n; ++r) {
    const auto& ids = pieces[static_cast<std::size_t>(r)];
    emb.resize(static_cast<index_t>(ids.size()), hidden);
    encoder.embed_tokens(ids, emb.view());
    for (index_t c = 0; c < hidden; ++c) {
      float s = 0;
      for (index_t i = 0; i < emb.rows(); ++i) s += emb(i, c);
      targets(r, c) = s / static_cast<float>(emb.rows());
    }
  }
  return {map::init_least_squares(mapper, x.view(), targets.view(), 1e-3), n};
}

}  // namespace kplug::tasks
