// WordPiece tokenizer throughput (MiniLM / bert-base-uncased vocabulary) on
// the texts of tests/fixtures/minilm/tokenizer.jsonl, one core.
//
// "english": the pure-ASCII lines (nearly all WordNet glosses: short English
// definitions and examples); "unicode": the others (accented glosses, stress
// cases, whole Unicode blocks: the NFC / accent-stripping path); "all":
// every line with the model's settings. Reported: bytes/s of input text and pieces/s (word pieces
// produced, [CLS]/[SEP] not counted). The tokenized_text is reused across
// calls, as a serving loop would.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kplug/text/wordpiece.hpp"

namespace {

using kplug::text::bert_tokenizer;

std::string model_dir() {
  if (const char* d = std::getenv("KPLUG_MINILM_DIR"); d != nullptr && *d != '\0') return d;
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "") + "/.cache/kplug/all-MiniLM-L6-v2";
}

struct corpus {
  std::vector<std::string> english;
  std::vector<std::string> unicode;
  std::vector<std::string> all;
};

const corpus& texts() {
  static const corpus c = [] {
    corpus out;
    std::ifstream in(std::string(KPLUG_SOURCE_DIR) + "/tests/fixtures/minilm/tokenizer.jsonl");
    std::string line;
    while (std::getline(in, line)) {
      const auto j = nlohmann::json::parse(line);
      if (j.contains("options")) continue;  // the same texts again under other settings
      std::string text = j.at("text").get<std::string>();
      bool ascii = true;
      for (const char ch : text) ascii = ascii && static_cast<unsigned char>(ch) < 0x80;
      (ascii ? out.english : out.unicode).push_back(text);
      out.all.push_back(std::move(text));
    }
    return out;
  }();
  return c;
}

const bert_tokenizer* tokenizer() {
  static const std::unique_ptr<bert_tokenizer> tok = []() -> std::unique_ptr<bert_tokenizer> {
    try {
      return std::make_unique<bert_tokenizer>(bert_tokenizer::from_directory(model_dir()));
    } catch (const std::exception&) {
      return nullptr;
    }
  }();
  return tok.get();
}

void run(benchmark::State& state, const std::vector<std::string>& lines) {
  const bert_tokenizer* tok = tokenizer();
  if (tok == nullptr) {
    state.SkipWithError("no MiniLM vocabulary: run scripts/fetch-model.sh");
    return;
  }
  if (lines.empty()) {
    state.SkipWithError("no fixture texts: tests/fixtures/minilm/tokenizer.jsonl missing");
    return;
  }
  kplug::text::tokenized_text out;
  std::int64_t bytes = 0;
  std::int64_t pieces = 0;
  for (auto _ : state) {
    for (const std::string& text : lines) {
      tok->tokenize(text, out);
      bytes += static_cast<std::int64_t>(text.size());
      pieces += static_cast<std::int64_t>(out.pieces.size());
    }
    benchmark::DoNotOptimize(out.pieces.data());
  }
  state.SetBytesProcessed(bytes);
  state.counters["pieces/s"] = benchmark::Counter(static_cast<double>(pieces), benchmark::Counter::kIsRate);
  state.counters["texts"] = static_cast<double>(lines.size());
}

void BM_tokenize_english(benchmark::State& state) { run(state, texts().english); }
void BM_tokenize_unicode(benchmark::State& state) { run(state, texts().unicode); }
void BM_tokenize_all(benchmark::State& state) { run(state, texts().all); }

void BM_encode_128(benchmark::State& state) {
  const bert_tokenizer* tok = tokenizer();
  const auto& lines = texts().english;
  if (tok == nullptr || lines.empty()) {
    state.SkipWithError("no MiniLM vocabulary or fixture texts");
    return;
  }
  std::int64_t bytes = 0;
  for (auto _ : state) {
    for (const std::string& text : lines) {
      auto seq = tok->encode(text, 128);
      benchmark::DoNotOptimize(seq.ids.data());
      bytes += static_cast<std::int64_t>(text.size());
    }
  }
  state.SetBytesProcessed(bytes);
}

BENCHMARK(BM_tokenize_english)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_tokenize_unicode)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_tokenize_all)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_encode_128)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
