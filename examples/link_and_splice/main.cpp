// The first runnable kplug example: the whole injection data flow on a small
// knowledge base that it writes itself, with the real file formats.
//
//   text -> words -> linker (alias table) -> knowledge base (.npy + entity2id)
//        -> splice plan (format of your choice) -> backend input rows
//
//   example_link_and_splice [--format entity-slash-mention|mention-slash-entity|
//                                     replace-mention|mention-paren-entity]
//                           [--markers] [--max-length N] [--dir DIR] sentence...
//
// --markers wraps the first mention in # ... # and the second in $ ... $, the
// paper's relation-extraction input.
//
// The knowledge vectors are deterministic stand-ins for TransE embeddings, the
// encoder is kplug's mock backend, and the vocabulary is one piece per word;
// the mapping network is the identity (d_kb == hidden). Later releases swap in
// trained plugins, WordPiece and a real BERT without changing this flow.
#include <kplug/kplug.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace fs = std::filesystem;

namespace {

struct entity_row {
  const char* id;
  const char* label;
};

// Wikidata ids of a few places and people.
constexpr entity_row entities[] = {
    {"Q90", "Paris (city)"},        {"Q167646", "Paris (mythology)"}, {"Q142", "France"},
    {"Q7186", "Marie Curie"},       {"Q270", "Warsaw"},               {"Q36", "Poland"},
    {"Q60", "New York City"},       {"Q1384", "New York (state)"},    {"Q30", "United States"},
    {"Q937", "Albert Einstein"},    {"Q183", "Germany"},              {"Q64", "Berlin"},
    {"Q84", "London"},              {"Q145", "United Kingdom"},       {"Q1085", "Prague"},
    {"Q213", "Czech Republic"},
};

// alias, entity, prior count (how often the alias names that entity).
constexpr const char* aliases_tsv =
    "Paris\tQ90\t9120\nParis\tQ167646\t310\nFrance\tQ142\t8800\nMarie Curie\tQ7186\t950\n"
    "Curie\tQ7186\t400\nWarsaw\tQ270\t2100\nPoland\tQ36\t5100\nNew York City\tQ60\t3900\n"
    "New York\tQ60\t5200\nNew York\tQ1384\t3100\nUnited States\tQ30\t12000\nUSA\tQ30\t2500\n"
    "Albert Einstein\tQ937\t1400\nEinstein\tQ937\t1100\nGermany\tQ183\t9000\nBerlin\tQ64\t4000\n"
    "London\tQ84\t7000\nUnited Kingdom\tQ145\t6000\nUK\tQ145\t3000\nPrague\tQ1085\t1800\n"
    "Czech Republic\tQ213\t1500\n";

constexpr kplug::index_t d_kb = 16;

// Special and punctuation tokens of the toy vocabulary; words get ids after these.
enum : kplug::token_id { pad = 0, unk, cls, sep, mask, slash, open_paren, close_paren, hash, dollar, first_word };

void write_knowledge_files(const fs::path& dir) {
  const kplug::index_t n = std::size(entities);
  kplug::matrix<float> vectors(n, d_kb);
  std::uint64_t state = 42;  // xorshift: the same vectors on every platform
  for (kplug::index_t r = 0; r < n; ++r)
    for (kplug::index_t c = 0; c < d_kb; ++c) {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      vectors(r, c) = static_cast<float>(static_cast<double>(state >> 11) / 9007199254740992.0 * 2.0 - 1.0);
    }
  kplug::io::write_npy((dir / "entities.npy").string(), vectors);

  std::ofstream ids(dir / "entity2id.txt");  // OpenKE: the count, then name<TAB>row
  ids << n << '\n';
  for (kplug::index_t r = 0; r < n; ++r) ids << entities[r].id << '\t' << r << '\n';
  std::ofstream(dir / "aliases.tsv") << aliases_tsv;
}

std::string label_of(const std::string& id) {
  for (const auto& e : entities)
    if (id == e.id) return e.label;
  return id;
}

// The format's literal tokens in the toy vocabulary.
std::optional<kplug::token_id> punctuation(std::string_view token) {
  if (token == "/") return slash;
  if (token == "(") return open_paren;
  if (token == ")") return close_paren;
  return std::nullopt;
}

int run(int argc, char** argv) {
  std::string format_name = "entity-slash-mention", sentence;
  bool markers = false;
  std::int32_t max_length = 0;
  fs::path dir;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if ((a == "--format" || a == "--max-length" || a == "--dir") && i + 1 < argc) {
      const std::string v = argv[++i];
      if (a == "--format") format_name = v;
      if (a == "--max-length") {
        char* end = nullptr;
        const long n = std::strtol(v.c_str(), &end, 10);
        if (end == v.c_str() || *end != '\0' || n < 0 || n > 1 << 20)
          throw kplug::error("parse arguments", "--max-length", "'" + v + "' is not a length in [0, 1048576]");
        max_length = static_cast<std::int32_t>(n);
      }
      if (a == "--dir") dir = v;
    } else if (a == "--markers") {
      markers = true;
    } else if (a == "-h" || a == "--help") {
      std::printf(
          "usage: example_link_and_splice [--format NAME] [--markers] [--max-length N] [--dir DIR] "
          "sentence...\nformats: %s\n",
          kplug::splice::format_name_list().c_str());
      return 0;
    } else {
      sentence += (sentence.empty() ? "" : " ") + a;
    }
  }
  if (sentence.empty()) sentence = "Marie Curie was born in Warsaw and worked in Paris, France.";
  kplug::splice::planner_config config;
  config.format = kplug::splice::format_named(format_name, punctuation);
  if (markers)  // the paper's relation input: # E / head # ... $ E / tail $
    config.format = config.format.with_markers({{{hash}, {hash}}, {{dollar}, {dollar}}});
  config.max_length = max_length;

  // 1. Knowledge files, written with the real formats and read back by kplug.
  if (dir.empty()) dir = fs::temp_directory_path() / "kplug-example";
  fs::create_directories(dir);
  write_knowledge_files(dir);
  const kplug::kb::knowledge_base kb = kplug::kb::open_knowledge_base(
      (dir / "entities.npy").string(), (dir / "entity2id.txt").string(), "example-kb");
  const kplug::link::alias_table aliases = kplug::link::read_alias_table((dir / "aliases.tsv").string());
  std::printf("knowledge base: %zu entities x %lld dims, %zu aliases (files in %s)\n", kb.size(),
              static_cast<long long>(kb.d_kb()), aliases.alias_count(), dir.c_str());

  // 2. Words, then linking: longest match, case-folded, highest prior wins.
  const std::vector<kplug::text::word> words = kplug::text::split_words(sentence);
  kplug::link::linker linker(aliases);
  const std::vector<kplug::mention> linked = linker.link_words(words);
  const kplug::kb::resolved_mentions found = kb.resolve(linked, kplug::kb::unknown_entity::skip);

  std::printf("\nsentence: %s\nmentions:\n", sentence.c_str());
  if (found.mentions.empty()) std::puts("  (none)");
  for (std::size_t k = 0; k < found.mentions.size(); ++k) {
    const kplug::mention& m = found.mentions[k];
    std::string surface;
    for (auto w = m.words.begin; w < m.words.end; ++w) surface += (surface.empty() ? "" : " ") + std::string(words[w].text);
    std::printf("  words [%d, %d) \"%s\" -> %s %s (prior %.2f, kb row %lld)\n", m.words.begin, m.words.end,
                surface.c_str(), m.entity.c_str(), label_of(m.entity).c_str(), m.score,
                static_cast<long long>(found.rows[k]));
  }

  // 3. Toy tokenization: [CLS] one piece per word [SEP].
  std::unordered_map<std::string, kplug::token_id> vocab;
  std::vector<std::string> pieces{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "/", "(", ")", "#", "$"};
  for (kplug::token_id id = slash; id < first_word; ++id) vocab.emplace(pieces[id], id);
  kplug::token_sequence tokens;
  tokens.ids.push_back(cls);
  tokens.word_of.push_back(-1);
  for (std::size_t w = 0; w < words.size(); ++w) {
    std::string lower;
    kplug::text::case_fold(words[w].text, lower);
    auto [it, added] = vocab.emplace(lower, static_cast<kplug::token_id>(pieces.size()));
    if (added) pieces.push_back(lower);
    tokens.ids.push_back(it->second);
    tokens.word_of.push_back(static_cast<std::int32_t>(w));
  }
  tokens.ids.push_back(sep);
  tokens.word_of.push_back(-1);

  // 4. The splice plan: one entity slot per mention, positions remapped.
  std::vector<kplug::mention> marked = found.mentions;  // with markers: first mention is head, second tail
  if (markers)
    for (std::size_t k = 0; k < marked.size() && k < 2; ++k) marked[k].marker = static_cast<std::int16_t>(k);
  const kplug::splice::planner planner(config);
  const kplug::splice::splice_plan plan = planner.build(tokens, marked, found.rows);

  // 5. The batch a backend receives: the plan's integers plus the mapped rows,
  //    from the knowledge base through the (identity) mapping, once per
  //    distinct entity. The backend embeds the tokens and splices the rows in.
  const std::vector<kplug::splice::splice_plan> plans{plan};
  const kplug::splice::packed_plan batch = kplug::splice::pack(plans);
  kplug::matrix<float> mapped(batch.entities(), d_kb);
  kb.gather(batch.distinct_rows[0], mapped);
  kplug::backend::mock_backend encoder(/*vocab_size=*/static_cast<kplug::index_t>(pieces.size()),
                                       /*hidden_size=*/d_kb, /*output_size=*/d_kb, /*max_positions=*/512);
  const std::vector<std::int32_t> cls_position{0};
  kplug::matrix<float> out(1, encoder.output_size());
  encoder.forward(batch.input(), mapped, cls_position, out);
  const kplug::backend::mock_call& seen = encoder.last_input();  // the rows the mock's encoder ran on

  std::printf("\nspliced (format %s%s, %d positions%s):\n", format_name.c_str(),
              markers ? " with markers" : "", plan.length(),
              max_length > 0 ? (", max length " + std::to_string(max_length)).c_str() : "");
  std::puts("  row  position  segment  input                            row[0..2]");
  for (std::int32_t i = 0; i < plan.length(); ++i) {
    std::string what;
    if (plan.entity_slot_of[i] >= 0) {
      const auto& slot = plan.slots[plan.entity_slot_of[i]];
      const std::string& id = marked[slot.mention].entity;
      what = "<" + id + " " + label_of(id) + ">";
    } else {
      what = pieces[plan.input_ids[i]];
    }
    const auto r = seen.row(i);
    std::printf("  %3d  %8d  %7d  %-32s %6.3f %6.3f %6.3f\n", i, plan.position_ids[i], plan.segment_ids[i],
                what.c_str(), r[0], r[1], r[2]);
  }
  std::printf("\nold -> new:");
  for (std::size_t t = 0; t < plan.old_to_new.size(); ++t) std::printf(" %zu->%d", t, plan.old_to_new[t]);
  std::puts("");

  // 6. The encoder's output at [CLS].
  double norm = 0;
  for (float v : out.row(0)) norm += double(v) * v;
  std::printf("mock encoder: %lld rows in, |output at [CLS]| = %.4f\n", static_cast<long long>(seen.tokens()),
              std::sqrt(norm));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
