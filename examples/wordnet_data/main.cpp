// Prepares WordNet 3.0 for kplug: the relation triples (to train knowledge
// embeddings on), the alias table (for the linker) and the supersense-typing
// dataset (an entity-typing task whose labels are the lexicographer files).
//
//   wordnet_prepare --wordnet DIR --model MINILM_DIR --pos noun|verb --seed N --out DIR
//
// Writes into --out:
//   triples.tsv       head<TAB>relation<TAB>tail over noun and verb synsets
//   aliases.tsv       alias<TAB>synset<TAB>tag_cnt+1, aliases split into the
//                     model tokenizer's words
//   train.jsonl, dev.jsonl, test.jsonl, test-rare.jsonl, labels.txt
//                     the typing task for --pos, split by synset
//   general.jsonl, general-dev.jsonl
//                     the corpus of general map-tuning: every noun and verb
//                     synset's lemma and definition, the lemma its mention;
//                     the same for any --pos and --seed (definition_corpus.hpp)
// Every file is written to a temporary name and renamed, so an interrupted
// run leaves no half-written file. Errors (a missing WordNet, a malformed
// line) print the kplug::error and exit 1; a bad command line exits 2.
#include <kplug/core/error.hpp>
#include <kplug/text/wordpiece.hpp>
#include <kplug/wordnet/alias_builder.hpp>
#include <kplug/wordnet/database.hpp>
#include <kplug/wordnet/definition_corpus.hpp>
#include <kplug/wordnet/lexicographer_files.hpp>
#include <kplug/wordnet/morphology.hpp>
#include <kplug/wordnet/relations.hpp>
#include <kplug/wordnet/sense_index.hpp>
#include <kplug/wordnet/supersense_dataset.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace fs = std::filesystem;
namespace wn = kplug::wordnet;

namespace {

constexpr const char* usage =
    "usage: wordnet_prepare --wordnet DIR --model MINILM_DIR --pos noun|verb --seed N --out DIR\n"
    "  --wordnet DIR   WordNet 3.0 database (default /usr/share/wordnet)\n"
    "  --model DIR     BERT checkpoint directory with vocab.txt (the words of aliases and\n"
    "                  the word-piece counts of mentions come from its tokenizer)\n"
    "  --pos noun|verb part of speech of the typing dataset (default noun)\n"
    "  --seed N        seed of the synset split (default 1)\n"
    "  --out DIR       output directory (created if missing)\n";

struct options {
  std::string wordnet = wn::default_directory;
  std::string model;
  wn::part_of_speech pos = wn::part_of_speech::noun;
  std::uint64_t seed = 1;
  std::string out;
};

[[noreturn]] void bad_usage(const std::string& why) {
  std::cerr << "wordnet_prepare: " << why << "\n" << usage;
  std::exit(2);
}

options parse_args(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << usage;
      std::exit(0);
    }
    if (i + 1 >= argc) bad_usage("missing value after " + std::string(arg));
    const std::string value = argv[++i];
    if (arg == "--wordnet") o.wordnet = value;
    else if (arg == "--model") o.model = value;
    else if (arg == "--out") o.out = value;
    else if (arg == "--pos") {
      if (value == "noun") o.pos = wn::part_of_speech::noun;
      else if (value == "verb") o.pos = wn::part_of_speech::verb;
      else bad_usage("--pos must be noun or verb, not '" + value + "'");
    } else if (arg == "--seed") {
      std::size_t used = 0;
      try {
        o.seed = std::stoull(value, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != value.size() || value.empty() || value[0] == '-')
        bad_usage("--seed must be a non-negative integer, not '" + value + "'");
    } else {
      bad_usage("unknown argument '" + std::string(arg) + "'");
    }
  }
  if (o.model.empty()) bad_usage("--model is required");
  if (o.out.empty()) bad_usage("--out is required");
  return o;
}

void print_histogram(const char* title, const std::vector<wn::typing_instance>& instances) {
  std::map<std::string, std::size_t> counts;
  for (const auto& i : instances) ++counts[i.label];
  std::printf("%s\n", title);
  for (const auto& [label, n] : counts) std::printf("  %-22s %zu\n", label.c_str(), n);
}

int run(const options& o) {
  const auto t0 = std::chrono::steady_clock::now();
  // Every input first, so that a missing one fails before anything is written.
  const auto tokenizer = kplug::text::bert_tokenizer::from_directory(o.model);
  const wn::database db = wn::load_database(o.wordnet);  // noun + verb
  const std::vector<wn::sense_entry> senses = wn::load_sense_index(o.wordnet);
  const wn::morphology morph = wn::morphology::load(o.wordnet);
  std::error_code ec;
  fs::create_directories(o.out, ec);
  if (ec) throw kplug::error("create output directory", kplug::at_file(o.out), ec.message());
  const auto out = [&](const char* name) { return (fs::path(o.out) / name).string(); };
  std::printf("synsets: %zu nouns, %zu verbs; %zu senses in index.sense\n", db.count(wn::part_of_speech::noun),
              db.count(wn::part_of_speech::verb), senses.size());

  // Triples over noun and verb synsets.
  const std::vector<wn::triple> triples = wn::build_triples(db);
  wn::write_triples(out("triples.tsv"), triples);
  std::printf("triples: %zu\n", triples.size());
  for (const auto& [relation, n] : wn::count_relations(triples)) std::printf("  %-30s %zu\n", relation.c_str(), n);

  // Aliases, split into the model tokenizer's words.
  const wn::word_splitter split = [&](std::string_view s) {
    std::vector<std::string> words;
    for (const auto& w : tokenizer.tokenize(s).words) words.emplace_back(w.text);
    return words;
  };
  const std::vector<wn::alias_entry> aliases = wn::build_aliases(senses, morph, split);
  wn::write_aliases(out("aliases.tsv"), aliases);
  std::printf("aliases: %zu (alias, synset) pairs\n", aliases.size());

  // The typing dataset.
  const wn::typing_instances built = wn::build_typing_instances(db, morph, senses, o.pos);
  const wn::piece_counter pieces = [&](std::string_view s) { return tokenizer.tokenize(s).pieces.size(); };
  const wn::typing_splits splits = wn::split_by_entity(built.instances, o.seed, pieces);
  wn::write_jsonl(out("train.jsonl"), splits.train);
  wn::write_jsonl(out("dev.jsonl"), splits.dev);
  wn::write_jsonl(out("test.jsonl"), splits.test);
  wn::write_jsonl(out("test-rare.jsonl"), splits.test_rare);
  wn::write_labels(out("labels.txt"), o.pos);
  std::printf("typing (%s, seed %llu): %zu examples, %zu instances, %zu dropped (no lemma found)\n",
              std::string(wn::pos_file_suffix(o.pos)).c_str(), static_cast<unsigned long long>(o.seed),
              built.examples, built.instances.size(), built.dropped);
  std::printf("  train %zu instances (%zu synsets), dev %zu (%zu), test %zu (%zu), test-rare %zu\n",
              splits.train.size(), splits.train_synsets, splits.dev.size(), splits.dev_synsets, splits.test.size(),
              splits.test_synsets, splits.test_rare.size());
  print_histogram("train labels:", splits.train);

  // The general corpus: definitions, never the examples the task is made of.
  const wn::definition_corpus general = wn::build_definition_corpus(db);
  wn::write_jsonl(out("general.jsonl"), general.train);
  wn::write_jsonl(out("general-dev.jsonl"), general.held_out);
  std::printf("general corpus: %zu definitions, %zu held out, %zu synsets without one\n", general.train.size(),
              general.held_out.size(), general.skipped);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("wrote %s in %.1f s\n", o.out.c_str(), seconds);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const options o = parse_args(argc, argv);
  try {
    return run(o);
  } catch (const kplug::error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
