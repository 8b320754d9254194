// Reading shared objects from many threads at once. One knowledge base,
// alias table, tokenizer, planner and affine mapper serve eight threads;
// each thread owns what keeps scratch state (a linker, an MLP mapper copy, a
// bert_cpu). Half the encoders own a thread pool, the other half share one.
// Every thread's results must equal, bit for bit, the same inputs run on one
// thread. scripts/test-sanitizers.sh builds this with -fsanitize=thread,
// where any data race fails the run even when the results happen to agree.
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <fstream>
#include <latch>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <kplug/backend/bert_cpu.hpp>
#include <kplug/core/random.hpp>
#include <kplug/io/npy.hpp>
#include <kplug/kb/knowledge_base.hpp>
#include <kplug/link/alias_table.hpp>
#include <kplug/link/linker.hpp>
#include <kplug/map/mapper.hpp>
#include <kplug/splice/batch.hpp>
#include <kplug/splice/planner.hpp>
#include <kplug/text/wordpiece.hpp>

#include "support/model_paths.hpp"
#include "support/temp_dir.hpp"

namespace {

using kplug::index_t;
using kplug::matrix;
namespace sp = kplug::splice;

constexpr int thread_count = 8;
constexpr int rounds = 3;  // each thread runs its batches this many times
constexpr index_t d_kb = 8;
const std::string model_dir = kplug_test::fixture("tiny_mlm");

const std::vector<std::string> entity_names = {"Q90", "Q7186", "Q36", "Q60", "Q84", "Q64", "Q1726", "Q220"};
const std::vector<std::pair<std::string, std::string>> aliases = {
    {"paris", "Q90"},  {"marie curie", "Q7186"}, {"poland", "Q36"}, {"new york", "Q60"}, {"london", "Q84"},
    {"berlin", "Q64"}, {"munich", "Q1726"},      {"rome", "Q220"},  {"curie", "Q7186"}};
const std::vector<std::string> texts = {
    "Marie Curie moved from Poland to Paris.",   "London and Berlin are far apart.",
    "New York is not Rome.",                     "Munich, Berlin, Paris: three cities.",
    "Curie worked in Paris for decades.",        "Nothing links here at all.",
    "Rome was not built in a day, said London.", "From New York to Munich via Poland.",
    "Paris Paris Paris.",                        "Berlin!",
    "Marie Curie and Curie are one person.",     "Poland, Rome and London.",
};

// The tiny model's vocabulary with the words above in its unused slots, so
// that the words become real pieces rather than [UNK].
kplug::text::bert_tokenizer make_tokenizer() {
  std::ifstream in(model_dir + "/vocab.txt");
  std::vector<std::string> tokens;
  for (std::string line; std::getline(in, line);) tokens.push_back(line);
  const std::vector<std::string> words = {"marie", "curie", "moved", "from", "poland", "to", "paris", "london",
                                          "and",   "berlin", "are",  "far",  "apart",  "new", "york",  "is",
                                          "not",   "rome",   "munich", "three", "cities", "##s", "worked", "in"};
  std::size_t slot = 0;
  for (const std::string& w : words) {
    while (tokens.at(slot).rfind("[unused", 0) != 0) ++slot;
    tokens[slot++] = w;
  }
  return kplug::text::bert_tokenizer(kplug::text::wordpiece_vocab::from_tokens(std::move(tokens)));
}

// What the pipeline gives for one batch of texts.
struct result {
  std::vector<kplug::mention> mentions;
  std::vector<kplug::token_id> input_ids;
  std::vector<std::int32_t> position_ids;
  matrix<float> affine, mlp, hidden, logits, grad_entities;
};

bool same_bits(const matrix<float>& a, const matrix<float>& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return false;
  for (index_t r = 0; r < a.rows(); ++r)
    for (index_t c = 0; c < a.cols(); ++c)
      if (std::bit_cast<std::uint32_t>(a(r, c)) != std::bit_cast<std::uint32_t>(b(r, c))) return false;
  return true;
}

bool operator==(const result& a, const result& b) {
  return a.mentions == b.mentions && a.input_ids == b.input_ids && a.position_ids == b.position_ids &&
         same_bits(a.affine, b.affine) && same_bits(a.mlp, b.mlp) && same_bits(a.hidden, b.hidden) &&
         same_bits(a.logits, b.logits) && same_bits(a.grad_entities, b.grad_entities);
}

// The objects every thread reads at once.
struct shared_objects {
  kplug_test::temp_dir dir;
  kplug::kb::knowledge_base kb;
  kplug::link::alias_table table;
  kplug::text::bert_tokenizer tokenizer = make_tokenizer();
  sp::planner planner;
  kplug::map::any_mapper affine = make_mapper("affine", 1);
  kplug::map::any_mapper mlp = make_mapper("mlp", 2);

  shared_objects()
      : kb(open_kb(dir)),
        table(build_table()),
        planner(planner_config(tokenizer)) {}

  static sp::planner_config planner_config(const kplug::text::bert_tokenizer& tokenizer) {
    sp::planner_config config;
    config.format = sp::splice_format::entity_slash_mention(*tokenizer.vocab().find("/"));
    config.max_length = 64;
    return config;
  }
  static kplug::map::any_mapper make_mapper(std::string_view kind, std::uint64_t seed) {
    kplug::map::mapper_options options;
    options.hidden = 16;
    options.seed = seed;
    return kplug::map::make_mapper(kind, d_kb, 32, options);
  }
  static kplug::kb::knowledge_base open_kb(const kplug_test::temp_dir& dir) {
    kplug::xoshiro256 rng(7);
    matrix<float> rows(static_cast<index_t>(entity_names.size()), d_kb);
    for (index_t r = 0; r < rows.rows(); ++r)
      for (float& v : rows.row(r)) v = static_cast<float>(rng.uniform() - 0.5);
    kplug::io::write_npy(dir.file("entities.npy"), rows);
    std::ofstream ids(dir.file("entity2id.txt"));
    ids << entity_names.size() << '\n';
    for (std::size_t i = 0; i < entity_names.size(); ++i) ids << entity_names[i] << '\t' << i << '\n';
    ids.close();
    return kplug::kb::open_knowledge_base(dir.file("entities.npy"), dir.file("entity2id.txt"), "cities");
  }
  static kplug::link::alias_table build_table() {
    kplug::link::alias_table_builder b;
    for (const auto& [alias, entity] : aliases) b.add(alias, entity, 3);
    return b.build();
  }
};

// What each thread owns: the objects that keep scratch state between calls.
struct own_objects {
  kplug::link::linker linker;
  kplug::map::any_mapper mlp;  // a copy: forward caches for backward
  kplug::backend::bert_cpu encoder;

  own_objects(const shared_objects& s, kplug::backend::bert_cpu_options options)
      : linker(s.table), mlp(s.mlp), encoder(kplug::bert::load_checkpoint(model_dir), std::move(options)) {}
};

kplug::backend::bert_cpu_options two_threads() {
  kplug::backend::bert_cpu_options options;
  options.threads = 2;
  return options;
}

// Texts `i` and `i + 5` (wrapping) as one packed batch, through the whole pipeline.
result run_batch(const shared_objects& s, own_objects& own, std::size_t i) {
  result r;
  std::vector<sp::splice_plan> plans;
  for (const std::size_t t : {i % texts.size(), (i + 5) % texts.size()}) {
    const auto words = s.tokenizer.tokenize(texts[t]).words;
    const auto linked = s.kb.resolve(own.linker.link_words(words), kplug::kb::unknown_entity::error);
    r.mentions.insert(r.mentions.end(), linked.mentions.begin(), linked.mentions.end());
    plans.push_back(s.planner.build(s.tokenizer.encode(texts[t], 64), linked.mentions, linked.rows));
  }
  const sp::packed_plan batch = sp::pack(plans);
  r.input_ids = batch.input_ids;
  r.position_ids = batch.position_ids;

  matrix<float> knowledge(batch.entities(), d_kb);
  if (!batch.distinct_rows.empty()) s.kb.gather(batch.distinct_rows[0], knowledge);
  r.affine.resize(batch.entities(), 32);
  s.affine.get_if<kplug::map::affine_mapper>()->forward(knowledge, r.affine);  // const: shared
  r.mlp.resize(batch.entities(), 32);
  own.mlp.forward(knowledge, r.mlp);

  r.hidden.resize(batch.tokens(), 32);
  own.encoder.encode(batch.input(), r.mlp, r.hidden);
  const std::vector<std::int32_t> positions = {0, batch.tokens() - 1};
  r.logits.resize(2, own.encoder.output_size());
  own.encoder.forward(batch.input(), r.mlp, positions, r.logits);
  matrix<float> grad_out(2, own.encoder.output_size());
  for (index_t c = 0; c < grad_out.cols(); ++c) grad_out(0, c) = grad_out(1, c) = static_cast<float>(c % 7) - 3.0f;
  r.grad_entities.resize(batch.entities(), 32);
  own.encoder.backward(batch.input(), r.mlp, positions, grad_out, r.grad_entities);
  return r;
}

TEST(SharedReads, EightThreadsGiveTheSingleThreadedResultsBitForBit) {
  const shared_objects shared;
  const std::size_t batches = texts.size();

  std::vector<result> expected;
  {
    own_objects alone(shared, two_threads());
    for (std::size_t i = 0; i < batches; ++i) expected.push_back(run_batch(shared, alone, i));
  }
  std::size_t with_entities = 0;
  for (const result& r : expected) with_entities += r.affine.rows() > 0;
  ASSERT_GE(with_entities, batches - 1) << "the inputs should link entities";

  // Each thread runs every batch, starting at its own, so that different
  // inputs are in flight at once.
  const auto pool = std::make_shared<kplug::thread_pool>(2);
  std::vector<std::vector<result>> got(thread_count);
  std::latch start(thread_count);
  std::vector<std::jthread> threads;
  for (int t = 0; t < thread_count; ++t) {
    threads.emplace_back([&, t] {
      kplug::backend::bert_cpu_options options = two_threads();
      if (t % 2 == 1) options.pool = pool;
      own_objects own(shared, options);
      start.arrive_and_wait();
      for (int round = 0; round < rounds; ++round)
        for (std::size_t k = 0; k < batches; ++k)
          got[t].push_back(run_batch(shared, own, (static_cast<std::size_t>(t) + k) % batches));
    });
  }
  threads.clear();  // joins

  for (int t = 0; t < thread_count; ++t) {
    ASSERT_EQ(got[t].size(), rounds * batches);
    for (std::size_t k = 0; k < got[t].size(); ++k)
      EXPECT_TRUE(got[t][k] == expected[(static_cast<std::size_t>(t) + k) % batches])
          << "thread " << t << ", batch " << (t + k) % batches;
  }
}

}  // namespace
