// A knowledge plugin in memory: the mapping network plus the metadata that
// says how and with what it may be used. Saving writes a plugin file
// (plugin_file.hpp); loading rebuilds the mapper from the file's kind,
// dimensions and options, copies its tensors in by name, and checks it
// against the knowledge base and encoder it is about to be used with.
//
//   auto meta = plugin::describe(mapper, format, kb, encoder, "all-MiniLM-L6-v2");
//   plugin::save_knowledge_plugin("wordnet.kplug", meta, mapper);
//   plugin::knowledge_plugin p = plugin::load_knowledge_plugin("wordnet.kplug", kb, encoder);
//   p.mapper.forward(knowledge_rows, mapped_rows);
#pragma once

#include <charconv>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "kplug/backend/concepts.hpp"
#include "kplug/core/error.hpp"
#include "kplug/io/safetensors.hpp"
#include "kplug/kb/knowledge_base.hpp"
#include "kplug/map/mapper.hpp"
#include "kplug/plugin/plugin_file.hpp"
#include "kplug/splice/format.hpp"

namespace kplug::plugin {

struct knowledge_plugin {
  plugin_metadata metadata;
  map::any_mapper mapper;
  // As in loaded_plugin: false, with a warning to show, for a file from
  // before checksums.
  bool checksum_verified = false;
  std::vector<std::string> warnings;
};

// The mapper's options as plugin metadata strings, and back.
std::map<std::string, std::string> mapper_options_to_strings(const map::any_mapper& mapper);
map::mapper_options mapper_options_from_strings(const std::map<std::string, std::string>& options,
                                                std::string_view where);

// Metadata for `mapper` tuned with `format` against `kb` and `encoder`
// (computes both fingerprints).
template <token_embedder Backend>
plugin_metadata describe(const map::any_mapper& mapper, const splice::splice_format& format,
                         const kb::knowledge_base& kb, const Backend& encoder, std::string encoder_name);

// Writes the mapper's parameters (F32, named as parameters() names them)
// with `metadata`, whose mapper fields must describe this mapper.
void save_knowledge_plugin(const std::string& path, const plugin_metadata& metadata, map::any_mapper& mapper);

// Reads a plugin and rebuilds its mapper (no compatibility check).
knowledge_plugin read_knowledge_plugin(const std::string& path);

// Reads a plugin and refuses it unless it was tuned for this knowledge base
// and this encoder (check_compatible).
template <token_embedder Backend>
knowledge_plugin load_knowledge_plugin(const std::string& path, const kb::knowledge_base& kb, const Backend& encoder,
                                       const compatibility_options& options = {});

// ---------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------

inline std::map<std::string, std::string> mapper_options_to_strings(const map::any_mapper& mapper) {
  std::map<std::string, std::string> out;
  const map::mapper_options o = mapper.options();
  if (mapper.kind() == map::mlp_mapper::kind_name) {
    out["hidden"] = std::to_string(o.hidden);
    out["activation"] = std::string(map::activation_name(o.act));
  }
  if (o.target_norm) {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, *o.target_norm);  // shortest round-trip form
    out["target_norm"] = std::string(buf, r.ptr);
  }
  return out;
}

inline map::mapper_options mapper_options_from_strings(const std::map<std::string, std::string>& options,
                                                       std::string_view where) {
  constexpr const char* what = "read mapper options";
  map::mapper_options o;
  for (const auto& [key, value] : options) {
    const std::string at = std::string(where) + ", option '" + key + "'";
    const char* first = value.data();
    const char* last = value.data() + value.size();
    if (key == "hidden") {
      const auto r = std::from_chars(first, last, o.hidden);
      if (r.ec != std::errc() || r.ptr != last || o.hidden < 1)
        throw error(what, at, "'" + value + "' is not a positive integer");
    } else if (key == "activation") {
      o.act = map::parse_activation(value);
    } else if (key == "target_norm") {
      float v = 0;
      const auto r = std::from_chars(first, last, v);
      if (r.ec != std::errc() || r.ptr != last || !std::isfinite(v) || v <= 0)
        throw error(what, at, "'" + value + "' is not a finite number > 0");
      o.target_norm = v;
    } else {
      throw error(what, at, "unknown option (known: hidden, activation, target_norm)");
    }
  }
  return o;
}

template <token_embedder Backend>
plugin_metadata describe(const map::any_mapper& mapper, const splice::splice_format& format,
                         const kb::knowledge_base& kb, const Backend& encoder, std::string encoder_name) {
  plugin_metadata m;
  m.mapper_kind = std::string(mapper.kind());
  m.d_kb = mapper.input_dim();
  m.d_model = mapper.output_dim();
  m.mapper_options = mapper_options_to_strings(mapper);
  m.splice = format;
  m.kb = identify_kb(kb);
  m.encoder = identify_encoder(encoder, std::move(encoder_name));
  return m;
}

inline void save_knowledge_plugin(const std::string& path, const plugin_metadata& metadata, map::any_mapper& mapper) {
  constexpr const char* what = "save knowledge plugin";
  if (metadata.mapper_kind != mapper.kind() || metadata.d_kb != mapper.input_dim() ||
      metadata.d_model != mapper.output_dim())
    throw error(what, at_file(path),
                "metadata describes a " + metadata.mapper_kind + " mapper " + std::to_string(metadata.d_kb) + " -> " +
                    std::to_string(metadata.d_model) + ", the mapper is " + std::string(mapper.kind()) + " " +
                    std::to_string(mapper.input_dim()) + " -> " + std::to_string(mapper.output_dim()));
  const std::vector<map::parameter> params = mapper.parameters();
  std::vector<io::named_tensor> tensors;
  for (const map::parameter& p : params) tensors.push_back(io::make_tensor(p.name, matrix_view<const float>(p.value)));
  // Parameters are stored with the shapes parameters() gives; 1-row biases
  // are written as vectors, the nn.Linear convention.
  for (io::named_tensor& t : tensors)
    if (t.shape.size() == 2 && t.shape[0] == 1 && t.name.ends_with("bias")) t.shape = {t.shape[1]};
  save_plugin(path, metadata, tensors);
}

inline knowledge_plugin read_knowledge_plugin(const std::string& path) {
  constexpr const char* what = "load knowledge plugin";
  loaded_plugin file = load_plugin(path);
  const plugin_metadata& m = file.metadata;
  map::any_mapper mapper = map::make_mapper(m.mapper_kind, m.d_kb, m.d_model,
                                            mapper_options_from_strings(m.mapper_options, file.path()));
  std::set<std::string, std::less<>> expected;
  for (const map::parameter& p : mapper.parameters()) {
    expected.insert(p.name);
    const io::tensor_view t = file.tensor(p.name);
    if (t.dtype() != io::dtype::f32 || t.element_count() != static_cast<std::uint64_t>(p.value.rows() * p.value.cols()))
      throw error(what, at_file(path) + ", tensor '" + p.name + "'",
                  "expected " + std::to_string(p.value.rows() * p.value.cols()) + " F32 values (" +
                      std::to_string(p.value.rows()) + " x " + std::to_string(p.value.cols()) + "), got " +
                      std::to_string(t.element_count()) + " " + std::string(io::safetensors_dtype_name(t.dtype())));
    const std::span<const float> values = t.values<float>();
    for (index_t r = 0; r < p.value.rows(); ++r)
      std::copy_n(values.data() + r * p.value.cols(), p.value.cols(), p.value.row(r).data());
  }
  for (std::string_view name : file.file.names())
    if (!expected.contains(name))
      throw error(what, at_file(path) + ", tensor '" + std::string(name) + "'",
                  "a " + m.mapper_kind + " mapper has no such parameter");
  return {std::move(file.metadata), std::move(mapper), file.checksum_verified, std::move(file.warnings)};
}

template <token_embedder Backend>
knowledge_plugin load_knowledge_plugin(const std::string& path, const kb::knowledge_base& kb, const Backend& encoder,
                                       const compatibility_options& options) {
  knowledge_plugin p = read_knowledge_plugin(path);
  check_compatible(p.metadata, kb, encoder, options, path);
  return p;
}

}  // namespace kplug::plugin
