// The usage example of README.md, compiled and run by the test suite.
// Usage: example_readme DIR, where DIR holds entities.npy, entity2id.txt and aliases.tsv
// (example_link_and_splice --dir DIR writes such a set).
#include <kplug/kplug.hpp>

#include <algorithm>
#include <cstdio>
#include <string>

int main(int argc, char** argv) try {
  const std::string dir = argc > 1 ? argv[1] : "/tmp/kplug-example";
  // readme-begin
  namespace kb = kplug::kb;
  namespace sp = kplug::splice;
  auto knowledge = kb::open_knowledge_base(dir + "/entities.npy", dir + "/entity2id.txt", "wikidata");
  auto aliases = kplug::link::read_alias_table(dir + "/aliases.tsv");   // alias<TAB>entity<TAB>count
  kplug::link::linker linker(aliases);

  auto words = kplug::text::split_words("Marie Curie was born in Warsaw");
  auto linked = knowledge.resolve(linker.link_words(words), kb::unknown_entity::skip);

  kplug::token_sequence tokens{{101, 2000, 2001, 2002, 2003, 2004, 2005, 102},  // [CLS] w0..w5 [SEP]
                               {-1, 0, 1, 2, 3, 4, 5, -1}, {}};
  sp::planner planner({.format = sp::splice_format::entity_slash_mention(/*"/"=*/1013)});
  sp::splice_plan plan = planner.build(tokens, linked.mentions, linked.rows);   // E / mention, positions remapped

  std::vector<sp::splice_plan> plans{plan};
  sp::packed_plan batch = sp::pack(plans);                     // ragged batch, one row per distinct entity
  kplug::matrix<float> mapped(batch.entities(), knowledge.d_kb());
  knowledge.gather(batch.distinct_rows[0], mapped);            // (a mapping network goes here)
  kplug::backend::mock_backend encoder(30522, knowledge.d_kb(), 2, 512);   // any model_backend
  kplug::matrix<float> out(1, encoder.output_size());
  encoder.forward(batch.input(), mapped, std::vector<std::int32_t>{0}, out);   // embeds, splices, runs; [CLS] out
  const auto& seen = encoder.last_input();                     // what the mock's encoder ran on
  // readme-end
  std::printf("%zu mentions, %d rows, entity slots at", linked.mentions.size(), plan.length());
  for (const auto& slot : plan.slots) std::printf(" %d", slot.position);
  std::printf("; encoder input %lld x %lld\n", static_cast<long long>(seen.tokens()),
              static_cast<long long>(seen.embeddings.cols()));
  // The entity row arrived where the plan put it.
  const auto row = seen.row(plan.slots[0].position);
  return std::equal(row.begin(), row.end(), mapped.row(0).begin()) ? 0 : 2;
} catch (const std::exception& e) {
  std::fprintf(stderr, "%s\n", e.what());
  return 1;
}
