// Injecting a knowledge plugin into the real all-MiniLM-L6-v2: the README's
// usage example, compiled and run by the test suite.
//
// Set-up (outside the README snippet): a toy knowledge base of six entities
// with random 16-d vectors, an alias table, and a plugin whose affine mapper
// is the closed-form least-squares alignment of each entity vector to the
// mean word-piece embedding of its name (no training), saved for MiniLM.
// The snippet then does what an inference engine does: load, link, map,
// splice, encode.
//
// Usage: example_minilm [WORK_DIR]   (the model: $KPLUG_MINILM_DIR, else
// ~/.cache/kplug/all-MiniLM-L6-v2, fetched by scripts/fetch-model.sh)
#include <kplug/kplug.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

std::string minilm_dir() {
  if (const char* d = std::getenv("KPLUG_MINILM_DIR")) return d;
  const char* home = std::getenv("HOME");
  return std::string(home ? home : ".") + "/.cache/kplug/all-MiniLM-L6-v2";
}

// entities.npy, entity2id.txt, aliases.tsv and minilm.kplug in `dir`.
void make_knowledge(const std::string& dir, const kplug::text::bert_tokenizer& tokenizer,
                    const kplug::backend::bert_cpu& minilm) {
  const std::vector<std::pair<std::string, std::string>> entities{
      {"Q7186", "Marie Curie"}, {"Q270", "Warsaw"}, {"Q90", "Paris"},
      {"Q937", "Albert Einstein"}, {"Q1726", "Munich"}, {"Q11642", "radium"}};
  const auto n = static_cast<kplug::index_t>(entities.size());
  constexpr kplug::index_t d_kb = 16;
  kplug::xoshiro256 rng(11);
  kplug::matrix<float> vectors(n, d_kb);
  for (kplug::index_t r = 0; r < n; ++r)
    for (float& v : vectors.row(r)) v = static_cast<float>(rng.uniform() * 2 - 1);
  kplug::io::write_npy(dir + "/entities.npy", vectors.view());
  std::ofstream ids(dir + "/entity2id.txt"), aliases(dir + "/aliases.tsv");
  ids << n << '\n';
  for (kplug::index_t r = 0; r < n; ++r) {
    ids << entities[static_cast<std::size_t>(r)].first << '\t' << r << '\n';
    aliases << entities[static_cast<std::size_t>(r)].second << '\t' << entities[static_cast<std::size_t>(r)].first
            << "\t10\n";
  }
  ids.close();
  aliases.close();

  // Alignment targets: the mean word-piece embedding of each entity's name.
  kplug::matrix<float> targets(n, minilm.hidden_size());
  for (kplug::index_t r = 0; r < n; ++r) {
    const auto pieces = tokenizer.tokenize(entities[static_cast<std::size_t>(r)].second).pieces;
    std::vector<kplug::token_id> piece_ids;
    for (const auto& p : pieces) piece_ids.push_back(p.id);
    kplug::matrix<float> rows(static_cast<kplug::index_t>(piece_ids.size()), minilm.hidden_size());
    minilm.embed_tokens(piece_ids, rows.view());
    for (kplug::index_t c = 0; c < minilm.hidden_size(); ++c) {
      float s = 0;
      for (kplug::index_t i = 0; i < rows.rows(); ++i) s += rows(i, c);
      targets(r, c) = s / static_cast<float>(rows.rows());
    }
  }
  const auto kb = kplug::kb::open_knowledge_base(dir + "/entities.npy", dir + "/entity2id.txt", "toy-wikidata");
  kplug::map::affine_mapper affine(d_kb, minilm.hidden_size());
  kplug::map::init_least_squares(affine, vectors.view(), targets.view(), /*ridge=*/1e-3);
  kplug::map::any_mapper mapper(std::move(affine));
  const auto slash = *tokenizer.vocab().find("/");
  const auto meta = kplug::plugin::describe(mapper, kplug::splice::splice_format::entity_slash_mention(slash), kb,
                                            minilm, "all-MiniLM-L6-v2");
  kplug::plugin::save_knowledge_plugin(dir + "/minilm.kplug", meta, mapper);
}

}  // namespace

int main(int argc, char** argv) try {
  namespace fs = std::filesystem;
  const std::string dir = argc > 1 ? argv[1] : (fs::temp_directory_path() / "kplug-minilm-example").string();
  fs::create_directories(dir);
  const std::string model_dir = minilm_dir();
  {
    const auto tokenizer = kplug::text::bert_tokenizer::from_directory(model_dir);
    const kplug::backend::bert_cpu minilm(kplug::bert::load_checkpoint(model_dir));
    make_knowledge(dir, tokenizer, minilm);
  }

  // readme-begin
  namespace sp = kplug::splice;
  auto tokenizer = kplug::text::bert_tokenizer::from_directory(model_dir);     // vocab.txt
  kplug::backend::bert_cpu minilm(kplug::bert::load_checkpoint(model_dir));   // config.json, model.safetensors
  auto kb = kplug::kb::open_knowledge_base(dir + "/entities.npy", dir + "/entity2id.txt", "toy-wikidata");
  auto aliases = kplug::link::read_alias_table(dir + "/aliases.tsv");          // alias<TAB>entity<TAB>count
  kplug::link::linker linker(aliases);
  auto plugin = kplug::plugin::load_knowledge_plugin(dir + "/minilm.kplug", kb, minilm);  // checks kb + encoder

  const std::string text = "Marie Curie discovered radium in Paris.";
  auto linked = kb.resolve(linker.link_words(tokenizer.tokenize(text).words), kplug::kb::unknown_entity::skip);
  sp::planner planner({.format = plugin.metadata.splice, .max_length = 512});   // MiniLM's max positions
  std::vector<sp::splice_plan> plans{planner.build(tokenizer.encode(text, 512), linked.mentions, linked.rows)};
  sp::packed_plan batch = sp::pack(plans);                     // ragged batch, one row per distinct entity

  kplug::matrix<float> knowledge(batch.entities(), kb.d_kb()), mapped(batch.entities(), minilm.hidden_size());
  kb.gather(batch.distinct_rows[0], knowledge);
  plugin.mapper.forward(knowledge, mapped);                    // entity vectors -> word-embedding space
  kplug::matrix<float> hidden(batch.tokens(), minilm.hidden_size());
  minilm.encode(batch.input(), mapped, hidden);                // the backend splices; the frozen model runs
  // readme-end

  std::printf("%zu mentions linked:", linked.mentions.size());
  for (const auto& m : linked.mentions) std::printf(" %s", m.entity.c_str());
  std::printf("\nspliced sequence (%lld rows):", static_cast<long long>(batch.tokens()));
  const auto& plan = plans[0];
  for (std::size_t i = 0; i < plan.input_ids.size(); ++i) {
    if (plan.entity_slot_of[i] >= 0)
      std::printf(" <%s>", linked.mentions[static_cast<std::size_t>(plan.slots[static_cast<std::size_t>(plan.entity_slot_of[i])].mention)].entity.c_str());
    else
      std::printf(" %.*s", static_cast<int>(tokenizer.vocab().token(plan.input_ids[i]).size()),
                  tokenizer.vocab().token(plan.input_ids[i]).data());
  }
  // Sanity: three mentions, finite outputs.
  double norm = 0;
  for (kplug::index_t r = 0; r < hidden.rows(); ++r)
    for (const float v : hidden.row(r)) norm += double(v) * v;
  std::printf("\nhidden %lld x %lld, mean squared %.4f\n", static_cast<long long>(hidden.rows()),
              static_cast<long long>(hidden.cols()), norm / double(hidden.rows() * hidden.cols()));
  return linked.mentions.size() == 3 && std::isfinite(norm) ? 0 : 2;
} catch (const std::exception& e) {
  std::fprintf(stderr, "%s\n", e.what());
  return 1;
}
