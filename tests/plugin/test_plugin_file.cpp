// Plugin files: metadata and tensors round trip, the documented keys, strict
// loading, compatibility checks against the encoder and knowledge base, the
// splice-format JSON, and atomic saving.
#include <gtest/gtest.h>

#include <kplug/backend/mock.hpp>
#include <kplug/io/npy.hpp>
#include <kplug/plugin/plugin_file.hpp>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "plugin/plugin_test_support.hpp"
#include "support/temp_dir.hpp"

namespace {

using kplug::index_t;
using kplug::plugin::plugin_metadata;
using kplug::splice::splice_format;
using kplug_test::temp_dir;

constexpr index_t vocab = 120;
constexpr index_t d_model = 16;
constexpr index_t d_kb = 6;

kplug::backend::mock_backend encoder(std::uint64_t seed = 7, index_t hidden = d_model, index_t v = vocab) {
  return kplug::backend::mock_backend(v, hidden, hidden, 32, seed);
}

kplug::kb::knowledge_base make_kb(index_t entities = 20, index_t dim = d_kb, float shift = 0.f,
                                  std::string name = "toy-kb") {
  kplug::kb::entity_index idx("test");
  kplug::matrix<float> t(entities, dim);
  for (index_t r = 0; r < entities; ++r) {
    std::string name_r = "E";
    name_r += std::to_string(r);
    idx.add(std::move(name_r), r);
    for (index_t c = 0; c < dim; ++c) t(r, c) = 0.01f * static_cast<float>(r * dim + c) + shift;
  }
  return {std::move(name), std::move(idx), kplug::kb::embedding_table(std::move(t), "toy table")};
}

// An affine plugin tuned for encoder() and make_kb().
struct affine_plugin {
  plugin_metadata metadata;
  kplug::matrix<float> weight{d_model, d_kb};
  std::vector<float> bias = std::vector<float>(static_cast<std::size_t>(d_model));

  affine_plugin() {
    const auto kb = make_kb();
    const auto enc = encoder();
    metadata.mapper_kind = "affine";
    metadata.d_kb = d_kb;
    metadata.d_model = d_model;
    metadata.mapper_options = {{"init", "lstsq"}, {"dropout", "0.1"}};
    metadata.splice = splice_format::entity_slash_mention(17).with_markers({{{3}, {3}}, {{4, 5}, {}}});
    metadata.kb = kplug::plugin::identify_kb(kb);
    metadata.encoder = kplug::plugin::identify_encoder(enc, "mock-7");
    metadata.notes = "tuned on toy data\nline two: \"quoted\", ünïcödé";
    metadata.extra = {{"author", "tests"}, {"run", "42"}};
    for (index_t r = 0; r < d_model; ++r) {
      bias[static_cast<std::size_t>(r)] = -0.5f * static_cast<float>(r);
      for (index_t c = 0; c < d_kb; ++c) weight(r, c) = static_cast<float>(r) + 0.25f * static_cast<float>(c);
    }
  }
  std::vector<kplug::io::named_tensor> tensors() const {
    return {kplug::io::make_tensor("weight", weight), kplug::io::make_tensor("bias", {d_model}, bias)};
  }
};

using kplug_test::listing;

// ------------------------------------------------------------------ round trip

TEST(PluginFile, SaveAndLoadRoundTripMetadataAndTensors) {
  temp_dir dir;
  const affine_plugin p;
  const std::string path = dir.file("toy.kplug.safetensors");
  kplug::plugin::save_plugin(path, p.metadata, p.tensors());
  const kplug::plugin::loaded_plugin loaded = kplug::plugin::load_plugin(path);
  EXPECT_EQ(loaded.metadata, p.metadata);
  EXPECT_EQ(loaded.path(), path);
  EXPECT_EQ(loaded.library_version, std::to_string(kplug::version_major) + "." +
                                        std::to_string(kplug::version_minor) + "." +
                                        std::to_string(kplug::version_patch));
  const auto w = loaded.float_matrix("weight", d_model, d_kb);
  EXPECT_EQ(w(15, 5), 15.f + 1.25f);
  EXPECT_EQ(w(0, 0), 0.f);
  const auto b = loaded.float_vector("bias", d_model);
  EXPECT_EQ(b[3], -1.5f);
  KPLUG_EXPECT_ERROR((void)loaded.float_matrix("weight", d_kb, d_model), "tensor 'weight'", "expected F32 [6, 16]",
                     "got F32 [16, 6]");
  KPLUG_EXPECT_ERROR((void)loaded.float_vector("bias", 3), "expected F32 [3]");
  // Compatible with what it was tuned with.
  EXPECT_NO_THROW(kplug::plugin::check_compatible(loaded, make_kb(), encoder()));
}

// The keys docs/plugin-file.md lists, exactly, with the documented encodings.
TEST(PluginFile, StoresTheDocumentedMetadataKeys) {
  temp_dir dir;
  const affine_plugin p;
  const std::string path = dir.file("p.safetensors");
  kplug::plugin::save_plugin(path, p.metadata, p.tensors());
  const kplug::io::safetensors_file f(path);
  std::set<std::string> keys;
  for (const auto& [k, v] : f.metadata()) keys.insert(k);
  const std::set<std::string> expected{
      "author", "run", "kplug.format_version", "kplug.library_version", "kplug.mapper.kind", "kplug.mapper.d_kb",
      "kplug.mapper.d_model", "kplug.mapper.option.dropout", "kplug.mapper.option.init", "kplug.splice_format",
      "kplug.kb.name", "kplug.kb.entity_count", "kplug.kb.d_kb", "kplug.kb.fingerprint", "kplug.encoder.name",
      "kplug.encoder.hidden_size", "kplug.encoder.vocab_size", "kplug.encoder.fingerprint", "kplug.notes",
      "kplug.checksum.metadata", "kplug.checksum.tensor.weight", "kplug.checksum.tensor.bias"};
  EXPECT_EQ(keys, expected);
  const auto& md = f.metadata();
  EXPECT_EQ(md.at("kplug.format_version"), "2");
  EXPECT_EQ(md.at("kplug.mapper.kind"), "affine");
  EXPECT_EQ(md.at("kplug.mapper.d_kb"), "6");
  EXPECT_EQ(md.at("kplug.mapper.d_model"), "16");
  EXPECT_EQ(md.at("kplug.mapper.option.init"), "lstsq");
  EXPECT_EQ(md.at("kplug.kb.name"), "toy-kb");
  EXPECT_EQ(md.at("kplug.kb.entity_count"), "20");
  EXPECT_EQ(md.at("kplug.kb.fingerprint"), kplug::plugin::format_fingerprint(kplug::plugin::kb_fingerprint(make_kb())));
  EXPECT_EQ(md.at("kplug.encoder.vocab_size"), "120");
  EXPECT_EQ(md.at("kplug.encoder.fingerprint"),
            kplug::plugin::format_fingerprint(kplug::plugin::encoder_fingerprint(encoder())));
  EXPECT_EQ(md.at("kplug.splice_format"),
            R"({"elements":[{"kind":"entity"},{"kind":"literal","token":17},{"kind":"mention"}],)"
            R"("markers":[{"close":[3],"open":[3]},{"close":[],"open":[4,5]}],"share_entity_position":false})");
  // The tensors, float32, as the affine kind documents them.
  EXPECT_EQ(f.tensor("weight").dtype(), kplug::io::dtype::f32);
  EXPECT_EQ(std::vector<index_t>(f.tensor("weight").shape().begin(), f.tensor("weight").shape().end()),
            (std::vector<index_t>{d_model, d_kb}));
  EXPECT_EQ(f.size(), 2u);
}

TEST(PluginFile, OtherKindsKeepTheirOwnTensors) {
  temp_dir dir;
  affine_plugin p;
  p.metadata.mapper_kind = "mlp";
  p.metadata.mapper_options = {{"hidden", "32"}, {"activation", "gelu"}};
  const std::vector<float> w1(32 * d_kb, 0.5f);
  const std::vector<kplug::io::named_tensor> ts{kplug::io::make_tensor("fc1.weight", {32, d_kb}, w1)};
  kplug::plugin::save_plugin(dir.file("mlp"), p.metadata, ts);
  const auto loaded = kplug::plugin::load_plugin(dir.file("mlp"));
  EXPECT_EQ(loaded.metadata.mapper_kind, "mlp");
  EXPECT_EQ(loaded.metadata.mapper_options.at("activation"), "gelu");
  EXPECT_EQ(loaded.float_matrix("fc1.weight", 32, d_kb)(31, 5), 0.5f);

  // Identity: no tensors, d_kb must equal d_model.
  plugin_metadata id = p.metadata;
  id.mapper_kind = "identity";
  id.mapper_options = {{"rescale", "l2"}};
  KPLUG_EXPECT_ERROR(kplug::plugin::save_plugin(dir.file("id"), id, {}), "identity mapper needs d_kb == d_model");
  id.d_kb = d_model;
  id.kb.d_kb = d_model;
  kplug::plugin::save_plugin(dir.file("id"), id, {});
  EXPECT_EQ(kplug::plugin::load_plugin(dir.file("id")).metadata, id);
}

// ------------------------------------------------------------------ compatibility

TEST(PluginCompatibility, AnotherEncoderIsRefusedNamingWhatDiffers) {
  const affine_plugin p;
  const auto kb = make_kb();
  // Same shape, other weights (another seed): only the fingerprint tells.
  KPLUG_EXPECT_ERROR(kplug::plugin::check_compatible(p.metadata, kb, encoder(8)), "check plugin against encoder",
                     "tuned for encoder 'mock-7'", "hidden size 16, vocabulary 120, embedding fingerprint " +
                         kplug::plugin::format_fingerprint(p.metadata.encoder.fingerprint),
                     "this encoder has hidden size 16, vocabulary 120, embedding fingerprint " +
                         kplug::plugin::format_fingerprint(kplug::plugin::encoder_fingerprint(encoder(8))),
                     "differs in: embedding fingerprint");
  KPLUG_EXPECT_ERROR(kplug::plugin::check_compatible(p.metadata, kb, encoder(7, 32)), "differs in: hidden size");
  KPLUG_EXPECT_ERROR(kplug::plugin::check_compatible(p.metadata, kb, encoder(7, d_model, vocab + 1)),
                     "differs in: vocabulary size");
  // The fingerprint check can be waived (e.g. a bf16 copy of the encoder); sizes cannot.
  const kplug::plugin::compatibility_options lax{true, false};
  EXPECT_NO_THROW(kplug::plugin::check_compatible(p.metadata, kb, encoder(8), lax));
  EXPECT_THROW(kplug::plugin::check_compatible(p.metadata, kb, encoder(7, 32), lax), kplug::error);
}

TEST(PluginCompatibility, AnotherKnowledgeBaseIsRefusedNamingWhatDiffers) {
  temp_dir dir;
  const affine_plugin p;
  kplug::plugin::save_plugin(dir.file("p"), p.metadata, p.tensors());
  const auto loaded = kplug::plugin::load_plugin(dir.file("p"));
  KPLUG_EXPECT_ERROR(kplug::plugin::check_compatible(loaded, make_kb(21), encoder()), dir.file("p"),
                     "tuned against knowledge base 'toy-kb' (20 entities, d_kb 6)", "has 21 entities",
                     "differs in: entity count");
  KPLUG_EXPECT_ERROR(kplug::plugin::check_compatible(loaded, make_kb(20, 8), encoder()), "differs in: d_kb");
  KPLUG_EXPECT_ERROR(kplug::plugin::check_compatible(loaded, make_kb(20, d_kb, 1.f, "toy-kb"), encoder()),
                     "differs in: fingerprint");
  // The name is a label: a renamed copy of the same table is compatible.
  EXPECT_NO_THROW(kplug::plugin::check_compatible(loaded, make_kb(20, d_kb, 0.f, "renamed"), encoder()));
  EXPECT_NO_THROW(
      kplug::plugin::check_compatible(loaded, make_kb(20, d_kb, 1.f), encoder(), {false, true}));
}

TEST(PluginCompatibility, IdentityLevelChecks) {
  const kplug::plugin::encoder_identity a{"bert", 768, 30522, 0x1234};
  kplug::plugin::encoder_identity b = a;
  b.name = "other label";
  EXPECT_NO_THROW(kplug::plugin::check_encoder(a, b));
  b.fingerprint = 0x1235;
  KPLUG_EXPECT_ERROR(kplug::plugin::check_encoder(a, b, {}, "ckpt.safetensors"), "ckpt.safetensors",
                     "encoder 'bert'", "0x0000000000001234", "this encoder 'other label'", "0x0000000000001235");
  const kplug::plugin::kb_identity k{"wn", 117659, 128, 1};
  kplug::plugin::kb_identity k2 = k;
  k2.entity_count = 5;
  k2.d_kb = 100;
  KPLUG_EXPECT_ERROR(kplug::plugin::check_kb(k, k2), "differs in: d_kb, entity count");
}

// ------------------------------------------------------------------ splice format JSON

TEST(SpliceFormatJson, EveryFactoryRoundTrips) {
  const std::vector<splice_format> formats{
      splice_format(),
      splice_format::entity_slash_mention(1013),
      splice_format::mention_slash_entity(1013),
      splice_format::replace_mention(),
      splice_format::mention_paren_entity(1006, 1007),
      splice_format::mention_paren_entity(1006, 1007, false),
      splice_format::entity_slash_mention(1013).with_markers({{{1001}, {1001}}, {{1002}, {1002}}}),
      splice_format::replace_mention().with_markers({{{}, {7, 8}}, {{9}, {}}}),
      splice_format({kplug::splice::group_element::literal(5), kplug::splice::group_element::entity(),
                     kplug::splice::group_element::literal(0)},
                    true),
  };
  for (const auto& f : formats) {
    const std::string json = kplug::plugin::splice_format_to_json(f);
    SCOPED_TRACE(json);
    EXPECT_EQ(kplug::plugin::splice_format_from_json(json), f);
  }
  EXPECT_EQ(kplug::plugin::splice_format_to_json(splice_format::mention_paren_entity(1006, 1007)),
            R"({"elements":[{"kind":"mention"},{"kind":"literal","token":1006},{"kind":"entity"},)"
            R"({"kind":"literal","token":1007}],"markers":[],"share_entity_position":true})");
  // Key order and whitespace do not matter when reading.
  EXPECT_EQ(kplug::plugin::splice_format_from_json(
                R"( { "share_entity_position" : false , "markers" : [ ] , "elements" : [ {"kind":"entity"} ] } )"),
            splice_format::replace_mention());
}

TEST(SpliceFormatJson, StrictReaderRefusesMalformedFormats) {
  const auto bad = [](const std::string& json, const auto&... parts) {
    KPLUG_EXPECT_ERROR(kplug::plugin::splice_format_from_json(json, "here"), "here", std::string(parts)...);
  };
  const std::string tail = R"(,"share_entity_position":false,"markers":[]})";
  bad("{", "invalid JSON");
  bad(R"({"elements":1e999})", "invalid JSON", "number overflow");  // out_of_range, not parse_error
  bad("[]", "expected a JSON object");
  bad(R"({"elements":[{"kind":"entity"}],"share_entity_position":false})", "missing key 'markers'");
  bad(R"({"elements":[{"kind":"entity"}],"share_entity_position":false,"markers":[],"x":1})", "unexpected key 'x'");
  bad(R"({"elements":[{"kind":"entity"}],"elements":[{"kind":"entity"}])" + tail, "duplicate JSON key 'elements'");
  bad(R"({"elements":{"kind":"entity"})" + tail, "elements");
  bad(R"({"elements":[{"kind":"slot"}])" + tail, "unknown element kind 'slot'");
  bad(R"({"elements":[{"kind":"entity"},{"kind":"literal"}])" + tail, "elements[1]", "missing key 'token'");
  bad(R"({"elements":[{"kind":"entity","token":3}])" + tail, "unexpected key 'token'");
  bad(R"({"elements":[{"kind":"entity"},{"kind":"literal","token":-3}])" + tail, "token id -3 is negative");
  bad(R"({"elements":[{"kind":"entity"},{"kind":"literal","token":2.5}])" + tail, "expected a token id");
  bad(R"({"elements":[{"kind":"entity"},{"kind":"literal","token":2147483648}])" + tail, "expected a token id");
  bad(R"({"elements":[{"kind":"entity"},{"kind":"literal","token":"5"}])" + tail, "expected a token id");
  bad(R"({"elements":[{"kind":"entity"},{"kind":"entity"}])" + tail, "exactly one entity element");
  bad(R"({"elements":[])" + tail, "exactly one entity element");
  bad(R"({"elements":[{"kind":"entity"}],"share_entity_position":true,"markers":[]})", "share_entity_position");
  bad(R"({"elements":[{"kind":"entity"}],"share_entity_position":1,"markers":[]})", "expected true or false");
  bad(R"({"elements":[{"kind":"entity"}],"share_entity_position":false,"markers":[{"open":[1]}]})",
      "markers[0]", "missing key 'close'");
  bad(R"({"elements":[{"kind":"entity"}],"share_entity_position":false,"markers":[{"open":1,"close":[]}]})",
      "markers[0].open", "expected an array of token ids");
  bad(R"({"elements":[{"kind":"entity"}],"share_entity_position":false,"markers":[{"open":[[1]],"close":[]}]})",
      "nests deeper");
}

// ------------------------------------------------------------------ strict loading

// Writes a safetensors file with the plugin's tensors and `md` as metadata,
// checksummed as written (so that what is refused is `md`, not damage).
std::string write_with_metadata(const temp_dir& dir, const affine_plugin& p, const kplug::io::safetensors_metadata& md,
                                const std::string& name = "m.safetensors") {
  const std::string path = dir.file(name);
  kplug::io::write_safetensors(path, p.tensors(), kplug::plugin::with_checksums(md, p.tensors()));
  return path;
}

TEST(PluginLoading, EveryMissingRequiredKeyIsNamed) {
  temp_dir dir;
  const affine_plugin p;
  const auto full = kplug::plugin::to_safetensors_metadata(p.metadata);
  const std::vector<std::string> required{
      "kplug.mapper.kind",   "kplug.mapper.d_kb",         "kplug.mapper.d_model",      "kplug.splice_format",
      "kplug.kb.name",       "kplug.kb.entity_count",     "kplug.kb.d_kb",             "kplug.kb.fingerprint",
      "kplug.encoder.name",  "kplug.encoder.hidden_size", "kplug.encoder.vocab_size", "kplug.encoder.fingerprint"};
  for (const auto& key : required) {
    auto md = full;
    md.erase(key);
    const std::string path = write_with_metadata(dir, p, md);
    KPLUG_EXPECT_ERROR(kplug::plugin::load_plugin(path), path + ", " + key, "missing");
  }
  // Optional keys.
  auto md = full;
  md.erase("kplug.notes");
  md.erase("kplug.library_version");
  const auto loaded = kplug::plugin::load_plugin(write_with_metadata(dir, p, md));
  EXPECT_TRUE(loaded.metadata.notes.empty());
  EXPECT_TRUE(loaded.library_version.empty());
}

TEST(PluginLoading, VersionsAndNumbersAreChecked) {
  temp_dir dir;
  const affine_plugin p;
  const auto full = kplug::plugin::to_safetensors_metadata(p.metadata);
  const auto refuse = [&](const std::string& key, const std::string& value, const std::vector<std::string>& parts) {
    auto md = full;
    md[key] = value;
    const std::string path = write_with_metadata(dir, p, md);
    bool threw = false;
    try {
      kplug::plugin::load_plugin(path);
    } catch (const kplug::error& e) {
      threw = true;
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
      for (const auto& part : parts) EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
    EXPECT_TRUE(threw) << key << " = " << value;
  };
  refuse("kplug.format_version", "3", {"kplug.format_version", "format version 3, newer", "up to 2", "upgrade kplug"});
  refuse("kplug.format_version", "0", {"does not exist"});
  refuse("kplug.format_version", "1.0", {"'1.0' is not an integer"});
  refuse("kplug.format_version", "one", {"is not an integer"});
  refuse("kplug.mapper.d_kb", "6a", {"kplug.mapper.d_kb", "'6a' is not an integer"});
  refuse("kplug.mapper.d_kb", " 6", {"is not an integer"});
  refuse("kplug.mapper.d_model", "-16", {"below the minimum"});
  refuse("kplug.mapper.d_model", "0", {"below the minimum"});
  refuse("kplug.kb.entity_count", "99999999999999999999999", {"out of range"});
  refuse("kplug.encoder.vocab_size", "", {"is not an integer"});
  refuse("kplug.kb.fingerprint", "12345", {"kplug.kb.fingerprint", "not a fingerprint"});
  refuse("kplug.mapper.kind", "Affine!", {"not a mapper kind name"});
  refuse("kplug.splice_format", "{}", {"kplug.splice_format", "missing key 'elements'"});
  refuse("kplug.splice_format",
         R"({"elements":[{"kind":"entity"},{"kind":"literal","token":120}],"markers":[],"share_entity_position":false})",
         {"token id 120 is outside the encoder's vocabulary [0, 120)"});
  refuse("kplug.kb.d_kb", "7", {"d_kb 7 differs from the mapper's d_kb 6"});
  refuse("kplug.encoder.hidden_size", "17", {"hidden size 17 differs from the mapper's d_model 16"});
  refuse("kplug.unknown", "x", {"kplug.unknown", "unknown key"});
  refuse("kplug.mapper.option.bad name", "x", {"mapper option name 'bad name'"});
}

TEST(PluginLoading, TensorsMustMatchTheAffineKind) {
  temp_dir dir;
  const affine_plugin p;
  const auto md = kplug::plugin::to_safetensors_metadata(p.metadata);
  const auto ts = p.tensors();
  const std::string only_weight = dir.file("w");
  kplug::io::write_safetensors(only_weight, std::span(ts).first(1),
                               kplug::plugin::with_checksums(md, std::span(ts).first(1)));
  KPLUG_EXPECT_ERROR(kplug::plugin::load_plugin(only_weight), "tensor 'bias'", "affine plugin needs this tensor");

  const kplug::matrix<float> wrong(d_kb, d_model);
  const std::vector<kplug::io::named_tensor> transposed{kplug::io::make_tensor("weight", wrong), ts[1]};
  kplug::io::write_safetensors(dir.file("t"), transposed, kplug::plugin::with_checksums(md, transposed));
  KPLUG_EXPECT_ERROR(kplug::plugin::load_plugin(dir.file("t")), "tensor 'weight'", "expected shape [16, 6]",
                     "got [6, 16]");

  const std::vector<double> wd(static_cast<std::size_t>(d_model * d_kb));
  const std::vector<kplug::io::named_tensor> f64{kplug::io::make_tensor("weight", {d_model, d_kb}, wd), ts[1]};
  kplug::io::write_safetensors(dir.file("d"), f64, kplug::plugin::with_checksums(md, f64));
  KPLUG_EXPECT_ERROR(kplug::plugin::load_plugin(dir.file("d")), "expected F32, got F64");

  const std::vector<float> extra{1};
  const std::vector<kplug::io::named_tensor> three{ts[0], ts[1], kplug::io::make_tensor("scale", {1}, extra)};
  kplug::io::write_safetensors(dir.file("x"), three, kplug::plugin::with_checksums(md, three));
  KPLUG_EXPECT_ERROR(kplug::plugin::load_plugin(dir.file("x")), "tensor 'scale'", "only 'weight' and 'bias'");
}

TEST(PluginLoading, ForeignFilesAreRefused) {
  temp_dir dir;
  // A safetensors file without kplug metadata: a model checkpoint.
  const std::vector<float> v(4, 1.f);
  const std::vector<kplug::io::named_tensor> ts{kplug::io::make_tensor("bert.embeddings.word_embeddings.weight", {2, 2}, v)};
  kplug::io::write_safetensors(dir.file("model.safetensors"), ts, {{"format", "pt"}});
  KPLUG_EXPECT_ERROR(kplug::plugin::load_plugin(dir.file("model.safetensors")), "not a kplug plugin",
                     "kplug.format_version");
  kplug::io::write_npy(dir.file("t.npy"), std::vector<index_t>{2, 2}, v);
  KPLUG_EXPECT_ERROR(kplug::plugin::load_plugin(dir.file("t.npy")), "NumPy");
  KPLUG_EXPECT_ERROR(kplug::plugin::load_plugin(dir.write("e", "")), "empty");
  KPLUG_EXPECT_ERROR(kplug::plugin::load_plugin(dir.write("j.json", R"({"kplug.format_version": "1"})")), "JSON");
  std::string noise(333, '\0');
  for (std::size_t i = 0; i < noise.size(); ++i) noise[i] = static_cast<char>((i * 2654435761u) >> 13);
  EXPECT_THROW(kplug::plugin::load_plugin(dir.write("noise", noise)), kplug::error);
  // A truncated plugin (what a non-atomic writer could leave behind).
  const affine_plugin p;
  kplug::plugin::save_plugin(dir.file("full"), p.metadata, p.tensors());
  const std::string whole = kplug_test::read_all(dir.file("full"));
  KPLUG_EXPECT_ERROR(kplug::plugin::load_plugin(dir.write("cut", whole.substr(0, whole.size() - 5))),
                     "truncated");
}

// ------------------------------------------------------------------ saving

TEST(PluginSaving, InvalidMetadataOrTensorsWriteNothing) {
  temp_dir dir;
  const std::string path = dir.file("p");
  const auto refuse = [&](const plugin_metadata& m, const std::vector<kplug::io::named_tensor>& ts,
                          const std::string& part) {
    KPLUG_EXPECT_ERROR(kplug::plugin::save_plugin(path, m, ts), part);
    EXPECT_TRUE(listing(dir.path()).empty());
  };
  const affine_plugin p;
  auto m = p.metadata;
  m.d_kb = 0;
  refuse(m, p.tensors(), "must be positive");
  m = p.metadata;
  m.mapper_kind = "";
  refuse(m, p.tensors(), "mapper kind ''");
  m = p.metadata;
  m.format_version = 3;
  refuse(m, p.tensors(), "format_version 3 cannot be written");
  m = p.metadata;
  m.extra["kplug.sneaky"] = "x";
  refuse(m, p.tensors(), "reserved");
  m = p.metadata;
  m.mapper_options["bad key"] = "x";
  refuse(m, p.tensors(), "mapper option name 'bad key'");
  m = p.metadata;
  m.splice = splice_format::entity_slash_mention(vocab);
  refuse(m, p.tensors(), "outside the encoder's vocabulary");
  m = p.metadata;
  m.encoder.hidden_size = 8;
  refuse(m, p.tensors(), "hidden size 8 differs from the mapper's d_model 16");
  const std::vector<float> short_bias(3);
  refuse(p.metadata, {p.tensors()[0], kplug::io::make_tensor("bias", {3}, short_bias)}, "expected shape [16]");
}

TEST(PluginSaving, CheckpointsReplaceTheFileAtomically) {
  temp_dir dir;
  const std::string path = dir.file("ckpt.safetensors");
  affine_plugin p;
  kplug::plugin::save_plugin(path, p.metadata, p.tensors());
  EXPECT_EQ(listing(dir.path()), std::vector<std::string>{"ckpt.safetensors"});
  const std::string first = kplug_test::read_all(path);

  // A failing save (bad tensor) leaves the previous checkpoint untouched.
  const std::vector<float> short_bias(3);
  const std::vector<kplug::io::named_tensor> bad{p.tensors()[0], kplug::io::make_tensor("bias", {3}, short_bias)};
  EXPECT_THROW(kplug::plugin::save_plugin(path, p.metadata, bad), kplug::error);
  EXPECT_EQ(kplug_test::read_all(path), first);

  // A later checkpoint replaces it whole; no temporary file remains.
  p.weight(0, 0) = 123.f;
  p.metadata.notes = "epoch 2";
  kplug::plugin::save_plugin(path, p.metadata, p.tensors());
  EXPECT_EQ(listing(dir.path()), std::vector<std::string>{"ckpt.safetensors"});
  const auto loaded = kplug::plugin::load_plugin(path);
  EXPECT_EQ(loaded.metadata.notes, "epoch 2");
  EXPECT_EQ(loaded.float_matrix("weight", d_model, d_kb)(0, 0), 123.f);
}

}  // namespace
