// The knowledge-plugin file format: a safetensors file holding the mapping network's
// tensors, with everything needed to use it correctly in its "__metadata__"
// string map (full description: docs/plugin-file.md).
//
// Metadata keys of format version 2 (all values are strings):
//   kplug.format_version        "2" (version 1 files, without checksums, are read too)
//   kplug.mapper.kind           "affine" | "mlp" | "identity" | ... ([a-z0-9_]+)
//   kplug.mapper.d_kb           knowledge-vector width, decimal
//   kplug.mapper.d_model        encoder hidden size, decimal
//   kplug.mapper.option.<name>  one per mapper option (hidden width, activation, ...)
//   kplug.splice_format         JSON of the splice format (splice_format_to_json)
//   kplug.kb.name / .entity_count / .d_kb / .fingerprint
//   kplug.encoder.name / .hidden_size / .vocab_size / .fingerprint
//   kplug.notes                 free text (optional when reading)
//   kplug.library_version       "MAJOR.MINOR.PATCH" of the kplug that wrote it
//                               (written by save_plugin; optional, informational)
//   kplug.checksum.metadata / kplug.checksum.tensor.<name>
//                               XXH64 sums of the metadata and of each tensor
//                               (checksum.hpp); required from version 2 on,
//                               verified by load_plugin
// Fingerprints are "0x" + 16 hex digits (see fingerprint.hpp). Keys outside
// the "kplug." namespace are the user's: kept in plugin_metadata::extra. An
// unknown "kplug." key is an error: a new field means a new format version.
//
// Tensors (float32): "affine" W x + b holds "weight" [d_model, d_kb] and
// "bias" [d_model], and nothing else; "identity" needs d_kb == d_model and
// holds no required tensor; other kinds define their own names (the MLP's are
// in include/kplug/map/mlp.hpp) and are checked by their loaders.
//
// This header holds the format (metadata, its JSON parts, the tensors a mapper
// kind needs); reading, writing and compatibility checks are in reader.hpp,
// writer.hpp and compatibility.hpp beside it (plugin/plugin_file.hpp includes all).
#pragma once

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_set>
#include <utility>
#include <vector>

#include "kplug/core/error.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/core/types.hpp"
#include "kplug/io/dtype.hpp"
#include "kplug/io/json.hpp"
#include "kplug/io/safetensors/format.hpp"
#include "kplug/plugin/checksum.hpp"
#include "kplug/plugin/fingerprint.hpp"
#include "kplug/splice/format.hpp"
#include "kplug/version.hpp"

namespace kplug::plugin {

// The format version this kplug writes, and the newest it reads. Version 2
// added the checksums; version 1 files still load, reported unverified.
inline constexpr int current_format_version = 2;

// The knowledge base a plugin was tuned against.
struct kb_identity {
  std::string name;
  std::uint64_t entity_count = 0;
  index_t d_kb = 0;
  std::uint64_t fingerprint = 0;  // kb_fingerprint
  friend bool operator==(const kb_identity&, const kb_identity&) = default;
};

// The encoder a plugin was tuned for.
struct encoder_identity {
  std::string name;
  index_t hidden_size = 0;
  index_t vocab_size = 0;
  std::uint64_t fingerprint = 0;  // encoder_fingerprint
  friend bool operator==(const encoder_identity&, const encoder_identity&) = default;
};

struct plugin_metadata {
  // The version of the file read (1 or 2); saving always writes current_format_version.
  int format_version = current_format_version;
  std::string mapper_kind;  // "affine", "mlp", "identity", ...
  index_t d_kb = 0;
  index_t d_model = 0;
  std::map<std::string, std::string> mapper_options;  // e.g. {"hidden", "512"}, {"activation", "gelu"}
  splice::splice_format splice;
  kb_identity kb;
  encoder_identity encoder;
  std::string notes;
  // Metadata keys outside "kplug." (the user's own), written and read as is.
  std::map<std::string, std::string> extra;
  friend bool operator==(const plugin_metadata&, const plugin_metadata&) = default;
};

// The splice format as JSON, and back. The JSON is
//   {"elements":[{"kind":"mention"},{"kind":"literal","token":1013},{"kind":"entity"}],
//    "markers":[{"close":[1001],"open":[1001]}],"share_entity_position":false}
// and the reader is strict (exactly these keys, integer token ids in int32,
// no duplicate keys); `where` names the source in messages.
std::string splice_format_to_json(const splice::splice_format& format);
splice::splice_format splice_format_from_json(std::string_view json, std::string_view where = "splice format JSON");

// Throws unless the metadata is self-consistent (version, kind, positive
// dims that agree with the identities, splice token ids inside the vocabulary,
// option and extra keys well-formed).
void validate_metadata(const plugin_metadata& m, std::string_view where = "plugin metadata");

// The metadata as the safetensors "__metadata__" map, and back (strict:
// missing keys, non-numeric numbers, a newer format version, unknown "kplug."
// keys are errors naming the key and `where`). The map written holds no
// checksums (with_checksums adds them); the reader requires them in a
// version 2 map but does not verify them (load_plugin does).
io::safetensors_metadata to_safetensors_metadata(const plugin_metadata& m);
plugin_metadata parse_plugin_metadata(const io::safetensors_metadata& md, std::string_view where);

// ---------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------

namespace detail {

inline constexpr std::string_view key_prefix = "kplug.";
inline constexpr std::string_view option_prefix = "kplug.mapper.option.";

inline std::string library_version_string() {
  return std::to_string(version_major) + "." + std::to_string(version_minor) + "." + std::to_string(version_patch);
}

inline bool is_kind_name(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (const char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

inline bool is_option_name(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (const char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
          c == '.'))
      return false;
  return true;
}

// An object with exactly the keys in `required` plus any of `optional`.
inline void require_keys(const nlohmann::json& obj, std::initializer_list<std::string_view> required,
                         std::initializer_list<std::string_view> optional, const char* what,
                         const std::string& where) {
  if (!obj.is_object()) throw error(what, where, "expected a JSON object, got " + io::json_snippet(obj));
  for (const auto& [k, v] : obj.items()) {
    (void)v;
    bool known = false;
    for (const auto r : required) known = known || k == r;
    for (const auto o : optional) known = known || k == o;
    if (!known) throw error(what, where, "unexpected key '" + k + "'");
  }
  for (const auto r : required)
    if (!obj.contains(r)) throw error(what, where, "missing key '" + std::string(r) + "'");
}

inline token_id json_token(const nlohmann::json& v, const char* what, const std::string& where) {
  if (v.is_number_unsigned() && v.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<token_id>::max()))
    return static_cast<token_id>(v.get<std::uint64_t>());
  if (v.is_number_integer() && !v.is_number_unsigned())
    throw error(what, where, "token id " + io::json_snippet(v) + " is negative");
  throw error(what, where, "expected a token id (an integer in [0, 2^31)), got " + io::json_snippet(v));
}

inline std::vector<token_id> json_tokens(const nlohmann::json& v, const char* what, const std::string& where) {
  if (!v.is_array()) throw error(what, where, "expected an array of token ids, got " + io::json_snippet(v));
  std::vector<token_id> out;
  for (std::size_t i = 0; i < v.size(); ++i) out.push_back(json_token(v[i], what, where + "[" + std::to_string(i) + "]"));
  return out;
}

inline std::string_view kind_name(splice::element_kind k) noexcept {
  switch (k) {
    case splice::element_kind::literal: return "literal";
    case splice::element_kind::entity: return "entity";
    case splice::element_kind::mention: return "mention";
  }
  return "?";
}

}  // namespace detail

// ---------------------------------------------------------------- splice format JSON

inline std::string splice_format_to_json(const splice::splice_format& format) {
  nlohmann::json elements = nlohmann::json::array();
  for (const auto& e : format.elements()) {
    nlohmann::json j = {{"kind", detail::kind_name(e.kind)}};
    if (e.kind == splice::element_kind::literal) j["token"] = e.token;
    elements.push_back(std::move(j));
  }
  nlohmann::json markers = nlohmann::json::array();
  for (const auto& m : format.markers()) markers.push_back({{"open", m.open}, {"close", m.close}});
  const nlohmann::json root = {
      {"elements", std::move(elements)},
      {"share_entity_position", format.share_entity_position()},
      {"markers", std::move(markers)},
  };
  return root.dump();
}

inline splice::splice_format splice_format_from_json(std::string_view json, std::string_view where) {
  constexpr const char* what = "read splice format";
  const std::string at(where);
  io::json_parse_options strict;
  strict.max_depth = 4;  // root > elements/markers > marker > token list
  const nlohmann::json root = io::parse_json(json, what, where, strict);
  detail::require_keys(root, {"elements", "share_entity_position", "markers"}, {}, what, at);
  const auto& els = root["elements"];
  if (!els.is_array()) throw error(what, at + ", elements", "expected an array, got " + io::json_snippet(els));
  std::vector<splice::group_element> elements;
  for (std::size_t i = 0; i < els.size(); ++i) {
    const std::string w = at + ", elements[" + std::to_string(i) + "]";
    const auto& e = els[i];
    if (!e.is_object() || !e.contains("kind") || !e["kind"].is_string())
      throw error(what, w, "expected {\"kind\": \"literal\"|\"entity\"|\"mention\", ...}, got " +
                               io::json_snippet(e));
    const auto& kind = e["kind"].get_ref<const std::string&>();
    if (kind == "literal") {
      detail::require_keys(e, {"kind", "token"}, {}, what, w);
      elements.push_back(splice::group_element::literal(detail::json_token(e["token"], what, w + ".token")));
    } else if (kind == "entity" || kind == "mention") {
      detail::require_keys(e, {"kind"}, {}, what, w);
      elements.push_back(kind == "entity" ? splice::group_element::entity() : splice::group_element::mention());
    } else {
      throw error(what, w, "unknown element kind '" + kind + "' (literal, entity or mention)");
    }
  }
  const auto& share = root["share_entity_position"];
  if (!share.is_boolean())
    throw error(what, at + ", share_entity_position", "expected true or false, got " + io::json_snippet(share));
  const auto& ms = root["markers"];
  if (!ms.is_array()) throw error(what, at + ", markers", "expected an array, got " + io::json_snippet(ms));
  std::vector<splice::marker_pair> markers;
  for (std::size_t i = 0; i < ms.size(); ++i) {
    const std::string w = at + ", markers[" + std::to_string(i) + "]";
    detail::require_keys(ms[i], {"open", "close"}, {}, what, w);
    markers.push_back({detail::json_tokens(ms[i]["open"], what, w + ".open"),
                       detail::json_tokens(ms[i]["close"], what, w + ".close")});
  }
  try {
    return splice::splice_format(std::move(elements), share.get<bool>(), std::move(markers));
  } catch (const error& e) {
    throw error(what, at + ", " + e.where(), e.why());
  }
}

// ---------------------------------------------------------------- metadata

inline void validate_metadata(const plugin_metadata& m, std::string_view where) {
  constexpr const char* what = "check plugin metadata";
  const std::string at(where);
  if (m.format_version < 1 || m.format_version > current_format_version)
    throw error(what, at, "format_version " + std::to_string(m.format_version) + " cannot be written (this kplug writes " +
                              std::to_string(current_format_version) + ")");
  if (!detail::is_kind_name(m.mapper_kind))
    throw error(what, at, "mapper kind '" + m.mapper_kind + "' is not a name of [a-z0-9_] characters");
  if (m.d_kb <= 0 || m.d_model <= 0)
    throw error(what, at, "d_kb " + std::to_string(m.d_kb) + " and d_model " + std::to_string(m.d_model) +
                              " must be positive");
  if (m.kb.d_kb != m.d_kb)
    throw error(what, at, "the knowledge base's d_kb " + std::to_string(m.kb.d_kb) + " differs from the mapper's d_kb " +
                              std::to_string(m.d_kb));
  if (m.encoder.hidden_size != m.d_model)
    throw error(what, at, "the encoder's hidden size " + std::to_string(m.encoder.hidden_size) +
                              " differs from the mapper's d_model " + std::to_string(m.d_model));
  if (m.encoder.vocab_size <= 0)
    throw error(what, at, "the encoder's vocab_size " + std::to_string(m.encoder.vocab_size) + " must be positive");
  if (m.mapper_kind == "identity" && m.d_kb != m.d_model)
    throw error(what, at, "an identity mapper needs d_kb == d_model, got " + std::to_string(m.d_kb) + " and " +
                              std::to_string(m.d_model));
  const auto check_token = [&](token_id t, const std::string& w) {
    if (t < 0 || t >= m.encoder.vocab_size)
      throw error(what, at + ", splice format " + w,
                  "token id " + std::to_string(t) + " is outside the encoder's vocabulary [0, " +
                      std::to_string(m.encoder.vocab_size) + ")");
  };
  const auto els = m.splice.elements();
  for (std::size_t i = 0; i < els.size(); ++i)
    if (els[i].kind == splice::element_kind::literal) check_token(els[i].token, "elements[" + std::to_string(i) + "]");
  const auto ms = m.splice.markers();
  for (std::size_t i = 0; i < ms.size(); ++i) {
    for (const token_id t : ms[i].open) check_token(t, "markers[" + std::to_string(i) + "].open");
    for (const token_id t : ms[i].close) check_token(t, "markers[" + std::to_string(i) + "].close");
  }
  for (const auto& [k, v] : m.mapper_options) {
    (void)v;
    if (!detail::is_option_name(k))
      throw error(what, at, "mapper option name '" + k + "' is not made of [A-Za-z0-9_.-] characters");
  }
  for (const auto& [k, v] : m.extra) {
    (void)v;
    if (k.starts_with(detail::key_prefix) || k == "__metadata__" || k.empty())
      throw error(what, at, "extra metadata key '" + k + "' is reserved (the \"kplug.\" namespace is kplug's)");
  }
}

inline io::safetensors_metadata to_safetensors_metadata(const plugin_metadata& m) {
  validate_metadata(m);
  io::safetensors_metadata md;
  for (const auto& [k, v] : m.extra) md.emplace(k, v);
  md["kplug.format_version"] = std::to_string(current_format_version);
  md["kplug.library_version"] = detail::library_version_string();
  md["kplug.mapper.kind"] = m.mapper_kind;
  md["kplug.mapper.d_kb"] = std::to_string(m.d_kb);
  md["kplug.mapper.d_model"] = std::to_string(m.d_model);
  for (const auto& [k, v] : m.mapper_options) md[std::string(detail::option_prefix) + k] = v;
  md["kplug.splice_format"] = splice_format_to_json(m.splice);
  md["kplug.kb.name"] = m.kb.name;
  md["kplug.kb.entity_count"] = std::to_string(m.kb.entity_count);
  md["kplug.kb.d_kb"] = std::to_string(m.kb.d_kb);
  md["kplug.kb.fingerprint"] = format_fingerprint(m.kb.fingerprint);
  md["kplug.encoder.name"] = m.encoder.name;
  md["kplug.encoder.hidden_size"] = std::to_string(m.encoder.hidden_size);
  md["kplug.encoder.vocab_size"] = std::to_string(m.encoder.vocab_size);
  md["kplug.encoder.fingerprint"] = format_fingerprint(m.encoder.fingerprint);
  md["kplug.notes"] = m.notes;
  return md;
}

namespace detail {

// Reads the kplug.* keys of a metadata map, remembering which were used.
class metadata_reader {
 public:
  metadata_reader(const io::safetensors_metadata& md, std::string_view where) : md_(md), where_(where) {}

  const std::string* find(std::string_view key) {
    const auto it = md_.find(key);
    if (it == md_.end()) return nullptr;
    used_.insert(it->first);
    return &it->second;
  }
  const std::string& text(std::string_view key) {
    if (const std::string* v = find(key)) return *v;
    fail(key, "the key is missing");
  }
  template <class Int>
  Int number(std::string_view key, Int min) {
    const std::string& v = text(key);
    Int out{};
    const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    if (ec == std::errc::result_out_of_range) fail(key, "'" + v + "' is out of range");
    if (ec != std::errc() || ptr != v.data() + v.size() || v.empty()) fail(key, "'" + v + "' is not an integer");
    if (out < min) fail(key, v + " is below the minimum " + std::to_string(min));
    return out;
  }
  std::uint64_t fingerprint(std::string_view key) {
    const std::string& v = text(key);
    const auto fp = parse_fingerprint(v);
    if (!fp) fail(key, "'" + v + "' is not a fingerprint (\"0x\" and 16 hex digits)");
    return *fp;
  }
  [[noreturn]] void fail(std::string_view key, const std::string& why) const {
    throw error("read plugin metadata", where_ + ", " + std::string(key), why);
  }
  bool used(const std::string& key) const { return used_.contains(key); }

 private:
  const io::safetensors_metadata& md_;
  std::string where_;
  std::unordered_set<std::string> used_;
};

}  // namespace detail

inline plugin_metadata parse_plugin_metadata(const io::safetensors_metadata& md, std::string_view where) {
  constexpr const char* what = "read plugin metadata";
  detail::metadata_reader r(md, where);
  if (r.find("kplug.format_version") == nullptr)
    throw error(what, std::string(where),
                "not a kplug plugin: the safetensors metadata has no 'kplug.format_version' (a model checkpoint or "
                "another program's file?)");
  plugin_metadata m;
  {
    const std::string& v = r.text("kplug.format_version");
    long long version = 0;
    const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), version);
    if (ec != std::errc() || ptr != v.data() + v.size() || v.empty())
      r.fail("kplug.format_version", "'" + v + "' is not an integer");
    if (version > current_format_version)
      r.fail("kplug.format_version",
             "the plugin was written in format version " + v + ", newer than this kplug (" +
                 detail::library_version_string() + ") reads (up to " + std::to_string(current_format_version) +
                 "); upgrade kplug");
    if (version < 1) r.fail("kplug.format_version", "format version " + v + " does not exist (versions start at 1)");
    m.format_version = static_cast<int>(version);
  }
  m.mapper_kind = r.text("kplug.mapper.kind");
  if (!detail::is_kind_name(m.mapper_kind))
    r.fail("kplug.mapper.kind", "'" + m.mapper_kind + "' is not a mapper kind name ([a-z0-9_]+)");
  m.d_kb = r.number<index_t>("kplug.mapper.d_kb", 1);
  m.d_model = r.number<index_t>("kplug.mapper.d_model", 1);
  {
    const std::string& json = r.text("kplug.splice_format");
    m.splice = splice_format_from_json(json, std::string(where) + ", kplug.splice_format");
  }
  m.kb.name = r.text("kplug.kb.name");
  m.kb.entity_count = r.number<std::uint64_t>("kplug.kb.entity_count", 0);
  m.kb.d_kb = r.number<index_t>("kplug.kb.d_kb", 1);
  m.kb.fingerprint = r.fingerprint("kplug.kb.fingerprint");
  m.encoder.name = r.text("kplug.encoder.name");
  m.encoder.hidden_size = r.number<index_t>("kplug.encoder.hidden_size", 1);
  m.encoder.vocab_size = r.number<index_t>("kplug.encoder.vocab_size", 1);
  m.encoder.fingerprint = r.fingerprint("kplug.encoder.fingerprint");
  if (const std::string* notes = r.find("kplug.notes")) m.notes = *notes;
  r.find("kplug.library_version");
  // Version 1 had no checksums (its checksum keys are unknown keys below).
  const bool checksummed = m.format_version >= 2;
  if (checksummed && r.find(metadata_checksum_key) == nullptr)
    r.fail(metadata_checksum_key,
           "the key is missing: a format version 2 plugin carries checksums (removed, or the key is damaged)");
  for (const auto& [k, v] : md) {
    if (k.starts_with(detail::option_prefix)) {
      const std::string name = k.substr(detail::option_prefix.size());
      if (!detail::is_option_name(name))
        r.fail(k, "mapper option name '" + name + "' is not made of [A-Za-z0-9_.-] characters");
      m.mapper_options.emplace(name, v);
    } else if (checksummed && k.starts_with(tensor_checksum_key_prefix)) {
      continue;  // verified against the tensors by load_plugin
    } else if (k.starts_with(detail::key_prefix)) {
      if (!r.used(k))
        r.fail(k, "unknown key in a format version " + std::to_string(m.format_version) +
                      " plugin (edited by hand, or written by a kplug that added a field without a new version)");
    } else {
      m.extra.emplace(k, v);
    }
  }
  try {
    validate_metadata(m, where);
  } catch (const error& e) {
    throw error(what, e.where(), e.why());
  }
  return m;
}

// ---------------------------------------------------------------- tensors

namespace detail {

struct tensor_shape_ref {
  std::string_view name;
  io::dtype dtype;
  std::span<const index_t> shape;
};

// The tensors a known mapper kind needs; unknown kinds are left to their loaders.
inline void check_mapper_tensors(const plugin_metadata& m, std::span<const tensor_shape_ref> tensors,
                                 const char* what, const std::string& where) {
  if (m.mapper_kind != "affine") return;
  struct wanted {
    std::string_view name;
    std::vector<index_t> shape;
  };
  const wanted need[] = {{"weight", {m.d_model, m.d_kb}}, {"bias", {m.d_model}}};
  for (const auto& t : tensors) {
    bool known = false;
    for (const auto& w : need) known = known || t.name == w.name;
    if (!known)
      throw error(what, io::detail::at_tensor(where, t.name),
                  "an affine plugin holds only 'weight' and 'bias', not this tensor");
  }
  for (const auto& w : need) {
    const tensor_shape_ref* found = nullptr;
    for (const auto& t : tensors)
      if (t.name == w.name) found = &t;
    const std::string at = io::detail::at_tensor(where, w.name);
    if (found == nullptr)
      throw error(what, at, "an affine plugin needs this tensor (shape " + io::detail::shape_text(w.shape) + ", F32)");
    if (found->dtype != io::dtype::f32)
      throw error(what, at, "expected F32, got " + std::string(io::safetensors_dtype_name(found->dtype)));
    if (!std::equal(found->shape.begin(), found->shape.end(), w.shape.begin(), w.shape.end()))
      throw error(what, at, "expected shape " + io::detail::shape_text(w.shape) + " (d_model " +
                                std::to_string(m.d_model) + ", d_kb " + std::to_string(m.d_kb) + "), got " +
                                io::detail::shape_text(found->shape));
  }
}

}  // namespace detail

}  // namespace kplug::plugin
