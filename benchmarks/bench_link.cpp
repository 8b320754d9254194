// Mention linker throughput with a 1,000,000-alias table.
//
// The table is synthetic but shaped like a real one (e.g. Wikipedia anchors):
// 1-4 word aliases (30/40/20/10 %) over a 200,000-word vocabulary with Zipf
// word frequencies (s = 1), 1-4 candidate entities per row drawn from 3M ids,
// so popular aliases accumulate many candidates. It is built once, outside
// every timed linking loop; BM_alias_table_build and BM_read_alias_table_tsv
// time the build itself (one iteration each) and report memory.
//
// Texts: "mixed" = 25-word sentences, 55 % vocabulary words (Zipf, some
// capitalised), 35 % words that are in no alias, 10 % punctuation;
// "dense" = sentences made only of aliases back to back (worst case: every
// position starts a trie walk); "raw" = mixed text as one string, including
// text::split_words. Items = words linked; target >= 2M words/s on one core.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "kplug/link/alias_table.hpp"
#include "kplug/link/linker.hpp"
#include "kplug/text/words.hpp"

namespace {

using kplug::link::alias_table;
using kplug::link::linker;

constexpr std::size_t vocabulary_size = 200'000;
constexpr std::size_t target_aliases = 1'000'000;
constexpr std::size_t junk_words = 50'000;
constexpr std::size_t sentence_words = 25;
constexpr std::size_t text_sentences = 8'000;  // 200k words per pass

std::string random_letters(std::mt19937_64& rng, std::size_t min_len, std::size_t max_len) {
  std::uniform_int_distribution<std::size_t> len(min_len, max_len);
  std::uniform_int_distribution<int> letter('a', 'z');
  std::string s(len(rng), 'a');
  for (char& c : s) c = static_cast<char>(letter(rng));
  return s;
}

struct world {
  std::vector<std::string> vocabulary;
  std::vector<std::string> junk;
  std::discrete_distribution<std::size_t> zipf;
  std::vector<std::vector<std::uint32_t>> alias_words;  // the distinct aliases, for dense text
  struct row {
    std::string alias, entity;
    std::uint64_t count;
  };
  std::vector<row> rows;
  std::unique_ptr<alias_table> table;
  double build_seconds = 0;
  double rss_delta_bytes = 0;
};

double rss_bytes() {
  long pages = 0, resident = 0;
  if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<double>(resident) * 4096.0;
}

world& the_world() {
  static std::unique_ptr<world> w = [] {
    auto wd = std::make_unique<world>();
    std::mt19937_64 rng(42);
    std::unordered_set<std::string> seen;
    while (wd->vocabulary.size() < vocabulary_size) {
      std::string s = random_letters(rng, 3, 9);
      if (seen.insert(s).second) wd->vocabulary.push_back(std::move(s));
    }
    while (wd->junk.size() < junk_words) {
      std::string s = random_letters(rng, 4, 10);
      if (seen.insert(s).second) wd->junk.push_back(std::move(s));
    }
    std::vector<double> weights(vocabulary_size);
    for (std::size_t r = 0; r < vocabulary_size; ++r) weights[r] = 1.0 / static_cast<double>(r + 1);
    wd->zipf = std::discrete_distribution<std::size_t>(weights.begin(), weights.end());

    // Rows until the table would hold target_aliases distinct aliases.
    std::discrete_distribution<int> length_pick({30, 40, 20, 10});
    std::uniform_int_distribution<int> candidates_pick(1, 4);
    std::uniform_int_distribution<std::uint32_t> entity_pick(0, 3'000'000);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    struct vec_hash {
      std::size_t operator()(const std::vector<std::uint32_t>& v) const noexcept {
        std::size_t h = 0;
        for (auto x : v) h = h * 1000003u ^ x;
        return h;
      }
    };
    std::unordered_set<std::vector<std::uint32_t>, vec_hash> distinct;
    std::vector<std::uint32_t> seq;
    while (distinct.size() < target_aliases) {
      seq.assign(static_cast<std::size_t>(length_pick(rng) + 1), 0);
      for (auto& x : seq) x = static_cast<std::uint32_t>(wd->zipf(rng));
      if (distinct.insert(seq).second) wd->alias_words.push_back(seq);
      std::string alias;
      for (std::size_t k = 0; k < seq.size(); ++k) {
        if (k) alias += ' ';
        alias += wd->vocabulary[seq[k]];
      }
      for (int c = candidates_pick(rng); c > 0; --c) {
        const auto count = static_cast<std::uint64_t>(1.0 / (unit(rng) + 1e-4));  // heavy-tailed priors
        wd->rows.push_back({alias, "Q" + std::to_string(entity_pick(rng)), count});
      }
    }
    const double rss_before = rss_bytes();
    const auto t0 = std::chrono::steady_clock::now();
    kplug::link::alias_table_builder builder;
    for (const auto& r : wd->rows) builder.add(r.alias, r.entity, r.count);
    wd->table = std::make_unique<alias_table>(builder.build());
    wd->build_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    wd->rss_delta_bytes = rss_bytes() - rss_before;
    return wd;
  }();
  return *w;
}

void report_table(benchmark::State& state, const alias_table& t) {
  state.counters["aliases"] = static_cast<double>(t.alias_count());
  state.counters["entities"] = static_cast<double>(t.entity_count());
  state.counters["words"] = static_cast<double>(t.word_count());
  state.counters["bytes_per_alias"] =
      static_cast<double>(t.memory_bytes()) / static_cast<double>(t.alias_count());
  state.counters["table_MiB"] = static_cast<double>(t.memory_bytes()) / (1024.0 * 1024.0);
}

// Builds the table with alias_table_builder (timed by hand inside the_world()).
void BM_alias_table_build(benchmark::State& state) {
  world& w = the_world();
  for (auto _ : state) benchmark::DoNotOptimize(w.table.get());
  report_table(state, *w.table);
  state.counters["rows"] = static_cast<double>(w.rows.size());
  state.counters["build_s"] = w.build_seconds;
  state.counters["rows_per_s"] = static_cast<double>(w.rows.size()) / w.build_seconds;
  state.counters["rss_delta_MiB"] = w.rss_delta_bytes / (1024.0 * 1024.0);
}
BENCHMARK(BM_alias_table_build)->Iterations(1)->Unit(benchmark::kMillisecond);

// Reads the same rows from a TSV file.
void BM_read_alias_table_tsv(benchmark::State& state) {
  world& w = the_world();
  const std::string path = "/tmp/kplug_bench_link_aliases.tsv";
  {
    std::ofstream f(path, std::ios::binary);
    for (const auto& r : w.rows) f << r.alias << '\t' << r.entity << '\t' << r.count << '\n';
  }
  std::size_t aliases = 0;
  for (auto _ : state) {
    const alias_table t = kplug::link::read_alias_table(path);
    aliases = t.alias_count();
    benchmark::DoNotOptimize(aliases);
  }
  std::remove(path.c_str());
  state.counters["aliases"] = static_cast<double>(aliases);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * w.rows.size()));
}
BENCHMARK(BM_read_alias_table_tsv)->Iterations(1)->Unit(benchmark::kMillisecond);

struct text_corpus {
  std::vector<std::string> storage;
  std::vector<std::vector<std::string_view>> sentences;
  std::size_t words = 0;
};

text_corpus make_mixed_text(world& w) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int> kind(0, 99);
  std::uniform_int_distribution<std::size_t> junk_pick(0, w.junk.size() - 1);
  const char* punct[] = {",", ".", "(", ")", "'", "-"};
  text_corpus c;
  c.storage.reserve(text_sentences * sentence_words);
  for (std::size_t s = 0; s < text_sentences * sentence_words; ++s) {
    const int k = kind(rng);
    if (k < 55) {
      std::string word = w.vocabulary[w.zipf(rng)];
      if (k < 10) word[0] = static_cast<char>(word[0] - 'a' + 'A');
      c.storage.push_back(std::move(word));
    } else if (k < 90) {
      c.storage.push_back(w.junk[junk_pick(rng)]);
    } else {
      c.storage.emplace_back(punct[static_cast<std::size_t>(k) % 6]);
    }
  }
  for (std::size_t s = 0; s < text_sentences; ++s)
    c.sentences.emplace_back(c.storage.begin() + static_cast<std::ptrdiff_t>(s * sentence_words),
                             c.storage.begin() + static_cast<std::ptrdiff_t>((s + 1) * sentence_words));
  c.words = c.storage.size();
  return c;
}

text_corpus make_dense_text(world& w) {
  std::mt19937_64 rng(9);
  std::uniform_int_distribution<std::size_t> alias_pick(0, w.alias_words.size() - 1);
  text_corpus c;
  std::vector<std::size_t> bounds{0};
  while (c.storage.size() < text_sentences * sentence_words) {
    for (auto id : w.alias_words[alias_pick(rng)]) c.storage.push_back(w.vocabulary[id]);
    if (c.storage.size() - bounds.back() >= sentence_words) bounds.push_back(c.storage.size());
  }
  if (bounds.back() != c.storage.size()) bounds.push_back(c.storage.size());
  for (std::size_t s = 0; s + 1 < bounds.size(); ++s)
    c.sentences.emplace_back(c.storage.begin() + static_cast<std::ptrdiff_t>(bounds[s]),
                             c.storage.begin() + static_cast<std::ptrdiff_t>(bounds[s + 1]));
  c.words = c.storage.size();
  return c;
}

void run_link(benchmark::State& state, const text_corpus& text) {
  world& w = the_world();
  linker l(*w.table);
  std::vector<kplug::mention> out;
  std::size_t mentions = 0;
  for (auto _ : state) {
    mentions = 0;
    for (const auto& sentence : text.sentences) {
      l.link_words(sentence, out);
      mentions += out.size();
    }
    benchmark::DoNotOptimize(mentions);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * text.words));
  state.counters["words_per_s"] = benchmark::Counter(static_cast<double>(state.iterations() * text.words),
                                                     benchmark::Counter::kIsRate);
  state.counters["mentions_per_word"] = static_cast<double>(mentions) / static_cast<double>(text.words);
}

void BM_link_mixed_text(benchmark::State& state) {
  static const text_corpus text = make_mixed_text(the_world());
  run_link(state, text);
}
BENCHMARK(BM_link_mixed_text)->Unit(benchmark::kMillisecond);

void BM_link_dense_aliases(benchmark::State& state) {
  static const text_corpus text = make_dense_text(the_world());
  run_link(state, text);
}
BENCHMARK(BM_link_dense_aliases)->Unit(benchmark::kMillisecond);

// From raw text: split_words + link, sentence by sentence.
void BM_split_and_link_raw_text(benchmark::State& state) {
  world& w = the_world();
  static const std::vector<std::string> raw = [&] {
    const text_corpus c = make_mixed_text(w);
    std::vector<std::string> out;
    for (const auto& sentence : c.sentences) {
      std::string s;
      for (const auto& word : sentence) {
        if (!s.empty()) s += ' ';
        s += word;
      }
      out.push_back(std::move(s));
    }
    return out;
  }();
  linker l(*w.table);
  std::vector<kplug::text::word> words;
  std::vector<kplug::mention> out;
  std::size_t total_words = 0;
  for (auto _ : state) {
    total_words = 0;
    for (const auto& s : raw) {
      kplug::text::split_words(s, words);
      l.link_words(words, out);
      total_words += words.size();
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * total_words));
  state.counters["words_per_s"] = benchmark::Counter(static_cast<double>(state.iterations() * total_words),
                                                     benchmark::Counter::kIsRate);
}
BENCHMARK(BM_split_and_link_raw_text)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
