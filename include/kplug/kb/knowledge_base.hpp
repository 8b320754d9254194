// A knowledge base: a name, an entity index (id string -> row) and an
// embedding table (row -> d_kb floats). It resolves linked mentions to rows
// under a caller-chosen policy for unknown entities, and gathers rows into a
// contiguous float32 buffer for the mapping network. Once opened it is
// immutable: every const member may be called from many threads at once.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kplug/core/error.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/core/types.hpp"
#include "kplug/io/mapped_file.hpp"
#include "kplug/io/npy.hpp"
#include "kplug/kb/embedding_table.hpp"
#include "kplug/kb/entity_index.hpp"
#include "kplug/kb/word2vec.hpp"

namespace kplug::kb {

// What resolve() does with a mention whose entity the knowledge base lacks.
enum class unknown_entity {
  skip,   // drop the mention
  zero,   // keep it, with row kplug::no_row (gathers as a zero vector)
  error,  // throw, naming the entity and the mention's index
};

// Mentions kept by resolve() and, for each, its row (or no_row).
struct resolved_mentions {
  std::vector<mention> mentions;
  std::vector<row_index> rows;
};

class knowledge_base {
 public:
  knowledge_base() = default;
  // Throws unless every row of `entities` exists in `table`.
  knowledge_base(std::string name, entity_index entities, embedding_table table);

  const std::string& name() const noexcept { return name_; }
  const entity_index& entities() const noexcept { return entities_; }
  const embedding_table& table() const noexcept { return table_; }
  index_t d_kb() const noexcept { return table_.dim(); }
  std::size_t size() const noexcept { return entities_.size(); }

  std::optional<row_index> find(std::string_view entity) const noexcept { return entities_.find(entity); }

  // Looks up every mention's entity. The input is never modified; the result
  // holds copies of the kept mentions in input order.
  resolved_mentions resolve(std::span<const mention> mentions, unknown_entity policy) const;
  // The same into `out` (cleared first), reusing its capacity across calls.
  // `mentions` may be out.mentions itself. On error `out` is left empty.
  void resolve(std::span<const mention> mentions, unknown_entity policy, resolved_mentions& out) const;

  // See embedding_table::gather: out is rows.size() x d_kb().
  void gather(std::span<const row_index> rows, matrix_view<float> out) const { table_.gather(rows, out); }

 private:
  std::string name_;
  entity_index entities_;
  embedding_table table_;
};

// A .npy table (float32/float16, rows x d_kb) with its entity map: OpenKE
// entity2id.txt when the first line is a lone integer, else entity<TAB>row.
knowledge_base open_knowledge_base(const std::string& npy_path, const std::string& entity2id_path,
                                   std::string name);
// A word2vec / Wikipedia2Vec text file (names and vectors in one file).
knowledge_base load_word2vec_knowledge_base(const std::string& path, std::string name);

// ---------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------

inline knowledge_base::knowledge_base(std::string name, entity_index entities, embedding_table table)
    : name_(std::move(name)), entities_(std::move(entities)), table_(std::move(table)) {
  entities_.check_against(table_.rows(), table_.source());
}

inline void knowledge_base::resolve(std::span<const mention> mentions, unknown_entity policy,
                                    resolved_mentions& out) const {
  // Resolving into the vector we read from would destroy the input.
  const bool aliased = !out.mentions.empty() && mentions.data() >= out.mentions.data() &&
                       mentions.data() < out.mentions.data() + out.mentions.size();
  if (aliased) {
    resolved_mentions fresh;
    resolve(mentions, policy, fresh);
    out = std::move(fresh);
    return;
  }
  out.mentions.clear();
  out.rows.clear();
  out.mentions.reserve(mentions.size());
  out.rows.reserve(mentions.size());
  for (std::size_t i = 0; i < mentions.size(); ++i) {
    const mention& m = mentions[i];
    const std::optional<row_index> row = entities_.find(m.entity);
    if (!row) {
      if (policy == unknown_entity::skip) continue;
      if (policy == unknown_entity::error) {
        out.mentions.clear();  // no half-resolved result survives the error
        out.rows.clear();
        throw error("resolve mentions against knowledge base '" + name_ + "'", "mentions[" + std::to_string(i) + "]",
                    "unknown entity '" + m.entity + "'");
      }
    }
    out.mentions.push_back(m);
    out.rows.push_back(row.value_or(no_row));
  }
}

inline resolved_mentions knowledge_base::resolve(std::span<const mention> mentions, unknown_entity policy) const {
  resolved_mentions out;
  resolve(mentions, policy, out);
  return out;
}

inline knowledge_base open_knowledge_base(const std::string& npy_path, const std::string& entity2id_path,
                                          std::string name) {
  embedding_table table = open_embedding_table(npy_path);
  entity_index index;
  {
    const io::mapped_file file(entity2id_path);
    index = looks_like_openke(file.text()) ? parse_openke_entity2id(file.text(), entity2id_path)
                                           : parse_entity_rows_tsv(file.text(), entity2id_path);
  }
  return knowledge_base(std::move(name), std::move(index), std::move(table));
}

inline knowledge_base load_word2vec_knowledge_base(const std::string& path, std::string name) {
  word2vec_table w = read_word2vec_text(path);
  return knowledge_base(std::move(name), std::move(w.index), std::move(w.table));
}

}  // namespace kplug::kb
