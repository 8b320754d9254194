// A plugin file checks its own contents: any damaged tensor byte or metadata
// value is refused naming the file and the part; files from before checksums
// (format version 1) still load, reported unverified; the sums follow the
// documented canonical form, independent of JSON key order and whitespace.
#include <gtest/gtest.h>

#include <kplug/core/xxh64.hpp>
#include <kplug/io/safetensors.hpp>
#include <kplug/plugin/checksum.hpp>
#include <kplug/plugin/knowledge_plugin.hpp>
#include <kplug/plugin/plugin_file.hpp>

#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "plugin/plugin_test_support.hpp"
#include "support/temp_dir.hpp"

namespace {

using kplug::index_t;
using kplug::plugin::plugin_metadata;
using kplug_test::temp_dir;

constexpr index_t small_d_model = 8;
constexpr index_t small_d_kb = 4;

// An affine plugin read_knowledge_plugin can rebuild (no unknown options).
struct small_affine_plugin {
  plugin_metadata metadata;
  kplug::matrix<float> weight{small_d_model, small_d_kb};
  std::vector<float> bias = std::vector<float>(static_cast<std::size_t>(small_d_model));

  small_affine_plugin() {
    metadata.mapper_kind = "affine";
    metadata.d_kb = small_d_kb;
    metadata.d_model = small_d_model;
    metadata.splice = kplug::splice::splice_format::entity_slash_mention(17);
    metadata.kb = {"toy-kb", 20, small_d_kb, 0x1111};
    metadata.encoder = {"toy-encoder", small_d_model, 100, 0x2222};
    metadata.notes = "tuned on toy data";
    metadata.extra = {{"author", "tests"}};
    for (index_t r = 0; r < small_d_model; ++r) {
      bias[static_cast<std::size_t>(r)] = 0.5f * static_cast<float>(r) - 1.f;
      for (index_t c = 0; c < small_d_kb; ++c) weight(r, c) = static_cast<float>(r) - 0.25f * static_cast<float>(c);
    }
  }
  std::vector<kplug::io::named_tensor> tensors() const {
    return {kplug::io::make_tensor("weight", weight), kplug::io::make_tensor("bias", {small_d_model}, bias)};
  }
};

std::string saved(const temp_dir& dir, const std::string& name = "p.kplug") {
  const small_affine_plugin p;
  const std::string path = dir.file(name);
  kplug::plugin::save_plugin(path, p.metadata, p.tensors());
  return path;
}

// The message of the kplug::error `load` throws, or "" if it loads.
template <class Load>
std::string error_of(Load&& load) {
  try {
    load();
  } catch (const kplug::error& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

using kplug_test::le64;

// ------------------------------------------------------------------ round trip

TEST(PluginChecksum, RoundTripIsVerified) {
  temp_dir dir;
  const small_affine_plugin p;
  const std::string path = saved(dir);
  const auto loaded = kplug::plugin::load_plugin(path);
  EXPECT_TRUE(loaded.checksum_verified);
  EXPECT_TRUE(loaded.warnings.empty());
  EXPECT_EQ(loaded.metadata, p.metadata);
  EXPECT_EQ(loaded.float_matrix("weight", small_d_model, small_d_kb)(7, 3), 7.f - 0.75f);
  const auto rebuilt = kplug::plugin::read_knowledge_plugin(path);
  EXPECT_TRUE(rebuilt.checksum_verified);
  EXPECT_TRUE(rebuilt.warnings.empty());
}

// ------------------------------------------------------------------ damage

// Every byte of the data buffer, inverted alone, is refused naming the file
// and the tensor that byte belongs to (found from the header's offsets).
TEST(PluginChecksum, EveryInvertedTensorByteIsRefusedNamingTheTensor) {
  temp_dir dir;
  const std::string good = kplug_test::read_all(saved(dir));
  const kplug::io::safetensors_file f(dir.file("p.kplug"));
  const std::uint64_t data = f.header().data_offset;
  ASSERT_EQ(good.size(), data + f.header().data_bytes);
  std::size_t refused = 0;
  for (const kplug::io::tensor_info& t : f.tensors())
    for (std::uint64_t b = t.begin; b < t.end; ++b) {
      std::string bad = good;
      bad[data + b] = static_cast<char>(~bad[data + b]);
      const std::string path = dir.write("bad.kplug", bad);
      const std::string e = error_of([&] { (void)kplug::plugin::load_plugin(path); });
      const bool named = contains(e, "verify plugin checksum") && contains(e, path + ", tensor '" + t.name + "'") &&
                         contains(e, "damaged or edited");
      EXPECT_TRUE(named) << "byte " << b << " of '" << t.name << "': " << (e.empty() ? "loaded" : e);
      refused += named ? 1 : 0;
    }
  EXPECT_EQ(refused, static_cast<std::size_t>(small_d_model * small_d_kb + small_d_model) * 4);
}

// A single flipped bit is enough, in the low bits of a float where the value
// barely changes.
TEST(PluginChecksum, ALowBitFlipIsRefused) {
  temp_dir dir;
  std::string bytes = kplug_test::read_all(saved(dir));
  const kplug::io::safetensors_file f(dir.file("p.kplug"));
  const auto& bias = f.tensors()[0];
  ASSERT_EQ(bias.name, "bias");
  bytes[f.header().data_offset + bias.begin] ^= 1;
  const std::string path = dir.write("flipped.kplug", bytes);
  KPLUG_EXPECT_ERROR((void)kplug::plugin::load_plugin(path), path + ", tensor 'bias'", "hashes to");
  KPLUG_EXPECT_ERROR((void)kplug::plugin::read_knowledge_plugin(path), path + ", tensor 'bias'");
}

// Any metadata value edited (the checksum keys copied as saved), the user's
// own keys and free text included, is refused naming the metadata.
TEST(PluginChecksum, AnAlteredMetadataValueIsRefused) {
  temp_dir dir;
  const small_affine_plugin p;
  const kplug::io::safetensors_file f(saved(dir));
  std::size_t edited = 0;
  for (const auto& [key, value] : f.metadata()) {
    if (key.starts_with("kplug.checksum.")) continue;
    auto md = f.metadata();
    md[key] = value.empty() ? "x" : value.substr(0, value.size() - 1) + (value.back() == '1' ? "2" : "1");
    const std::string path = dir.file("edited.kplug");
    kplug::io::write_safetensors(path, p.tensors(), md);
    KPLUG_EXPECT_ERROR((void)kplug::plugin::load_plugin(path), "verify plugin checksum", path + ", metadata",
                       "kplug.checksum.metadata");
    ++edited;
  }
  EXPECT_EQ(edited, 16u);  // 15 kplug keys (no mapper options) + "author"
  // A key added or removed changes the metadata too.
  auto md = f.metadata();
  md["added"] = "";
  kplug::io::write_safetensors(dir.file("added"), p.tensors(), md);
  KPLUG_EXPECT_ERROR((void)kplug::plugin::load_plugin(dir.file("added")), dir.file("added") + ", metadata");
  md = f.metadata();
  md.erase("kplug.notes");
  kplug::io::write_safetensors(dir.file("removed"), p.tensors(), md);
  KPLUG_EXPECT_ERROR((void)kplug::plugin::load_plugin(dir.file("removed")), dir.file("removed") + ", metadata");
}

// The same edit made in the file's bytes, as damage would: one character of
// the notes inside the JSON header.
TEST(PluginChecksum, ADamagedHeaderByteIsRefused) {
  temp_dir dir;
  std::string bytes = kplug_test::read_all(saved(dir));
  const auto at = bytes.find("tuned on toy data");
  ASSERT_NE(at, std::string::npos);
  bytes[at] = 'T';
  const std::string path = dir.write("damaged.kplug", bytes);
  KPLUG_EXPECT_ERROR((void)kplug::plugin::load_plugin(path), path + ", metadata");
}

TEST(PluginChecksum, MissingOrStrayChecksumKeysAreRefused) {
  temp_dir dir;
  const small_affine_plugin p;
  const kplug::io::safetensors_file f(saved(dir));
  const auto rewrite = [&](const kplug::io::safetensors_metadata& md) {
    kplug::io::write_safetensors(dir.file("k"), p.tensors(), md);
    return dir.file("k");
  };
  auto md = f.metadata();
  md.erase("kplug.checksum.tensor.bias");
  KPLUG_EXPECT_ERROR((void)kplug::plugin::load_plugin(rewrite(md)), "tensor 'bias', kplug.checksum.tensor.bias",
                     "removed or damaged");
  md = f.metadata();
  md["kplug.checksum.tensor.scale"] = md.at("kplug.checksum.tensor.bias");
  KPLUG_EXPECT_ERROR((void)kplug::plugin::load_plugin(rewrite(md)), "kplug.checksum.tensor.scale",
                     "names a tensor the file does not hold");
  md = f.metadata();
  md["kplug.checksum.weights"] = "0x0000000000000000";
  KPLUG_EXPECT_ERROR((void)kplug::plugin::load_plugin(rewrite(md)), "kplug.checksum.weights", "unknown checksum key");
  md = f.metadata();
  md["kplug.checksum.metadata"] = "12";
  KPLUG_EXPECT_ERROR((void)kplug::plugin::load_plugin(rewrite(md)), "kplug.checksum.metadata", "is not a checksum");
  // A version 2 file stripped of its checksums is not taken for an old one.
  md = f.metadata();
  std::erase_if(md, [](const auto& kv) { return kv.first.starts_with("kplug.checksum."); });
  KPLUG_EXPECT_ERROR((void)kplug::plugin::load_plugin(rewrite(md)), "kplug.checksum.metadata",
                     "format version 2 plugin carries checksums");
}

// ------------------------------------------------------------------ files from before checksums

// What kplug wrote before checksums: format version 1, no checksum keys.
kplug::io::safetensors_metadata version_1_metadata(const plugin_metadata& m) {
  auto md = kplug::plugin::to_safetensors_metadata(m);
  md["kplug.format_version"] = "1";
  md["kplug.library_version"] = "0.9.0";
  return md;
}

TEST(PluginChecksum, AFileFromBeforeChecksumsLoadsReportedUnverified) {
  temp_dir dir;
  const small_affine_plugin p;
  const std::string path = dir.file("old.kplug");
  kplug::io::write_safetensors(path, p.tensors(), version_1_metadata(p.metadata));
  const auto loaded = kplug::plugin::load_plugin(path);
  EXPECT_FALSE(loaded.checksum_verified);
  const std::vector<std::string> warning{path +
                                         " has no checksum (written by an older kplug); its contents are not verified"};
  EXPECT_EQ(loaded.warnings, warning);
  EXPECT_EQ(loaded.metadata.format_version, 1);
  plugin_metadata expected = p.metadata;
  expected.format_version = 1;
  EXPECT_EQ(loaded.metadata, expected);
  const auto rebuilt = kplug::plugin::read_knowledge_plugin(path);
  EXPECT_FALSE(rebuilt.checksum_verified);
  EXPECT_EQ(rebuilt.warnings, warning);
  // Saved again, it is a verified version 2 file.
  kplug::plugin::save_plugin(dir.file("new.kplug"), loaded.metadata, p.tensors());
  const auto again = kplug::plugin::load_plugin(dir.file("new.kplug"));
  EXPECT_TRUE(again.checksum_verified);
  EXPECT_EQ(again.file.metadata().at("kplug.format_version"), "2");
}

// Version 1 never had checksum keys: one there is an unknown key.
TEST(PluginChecksum, AVersion1FileWithChecksumKeysIsRefused) {
  temp_dir dir;
  const small_affine_plugin p;
  const auto md = kplug::plugin::with_checksums(version_1_metadata(p.metadata), p.tensors());
  kplug::io::write_safetensors(dir.file("v1"), p.tensors(), md);
  KPLUG_EXPECT_ERROR((void)kplug::plugin::load_plugin(dir.file("v1")), "kplug.checksum.", "unknown key");
}

// ------------------------------------------------------------------ the canonical form

// The metadata sum as docs/plugin-file.md spells it, built by hand.
TEST(PluginChecksum, MetadataSumFollowsTheDocumentedLayout) {
  const kplug::io::safetensors_metadata md{{"b", "22"}, {"a", ""}, {"kplug.checksum.metadata", "0x0"}};
  const std::string canonical = le64(2) + le64(1) + "a" + le64(0) + "" + le64(1) + "b" + le64(2) + "22";
  EXPECT_EQ(kplug::plugin::metadata_checksum(md), kplug::xxh64(canonical));
  const float values[] = {1.f, -2.f};
  const index_t shape[] = {2};
  std::string bytes(8, '\0');
  std::memcpy(bytes.data(), values, 8);
  const std::string tensor = le64(1) + "w" + le64(3) + "F32" + le64(1) + le64(2) + le64(8) + bytes;
  EXPECT_EQ(kplug::plugin::tensor_checksum("w", kplug::io::dtype::f32, shape,
                                           std::as_bytes(std::span<const float>(values))),
            kplug::xxh64(tensor));
}

// Another writer may order the header's keys differently, escape characters
// and add whitespace: the contents are the same, so the file verifies.
TEST(PluginChecksum, JsonKeyOrderAndWhitespaceDoNotMatter) {
  temp_dir dir;
  const std::string bytes = kplug_test::read_all(saved(dir));
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  const auto header = nlohmann::ordered_json::parse(bytes.substr(8, n));
  nlohmann::ordered_json reordered;  // tensors first, then the metadata with its keys reversed
  for (const auto& [k, v] : header.items())
    if (k != "__metadata__") reordered[k] = v;
  nlohmann::ordered_json md;
  const auto& saved_md = header.at("__metadata__");
  for (auto it = saved_md.rbegin(); it != saved_md.rend(); ++it) md[it.key()] = *it;
  reordered["__metadata__"] = md;
  std::string json = reordered.dump(2, ' ', true);  // indented, non-ASCII escaped
  json.append((8 - json.size() % 8) % 8, ' ');
  ASSERT_NE(json, bytes.substr(8, n));
  const std::string path = dir.write("reordered.kplug", le64(json.size()) + json + bytes.substr(8 + n));
  const auto loaded = kplug::plugin::load_plugin(path);
  EXPECT_TRUE(loaded.checksum_verified);
  EXPECT_EQ(loaded.metadata, small_affine_plugin().metadata);
}

}  // namespace
