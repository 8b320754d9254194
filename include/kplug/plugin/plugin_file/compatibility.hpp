// Whether a plugin fits the knowledge base and encoder it is used with: the
// identities (dimensions, counts, fingerprints) recorded in its metadata
// (plugin/plugin_file/format.hpp) against the actual ones.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "kplug/backend/concepts.hpp"
#include "kplug/core/error.hpp"
#include "kplug/core/types.hpp"
#include "kplug/kb/knowledge_base.hpp"
#include "kplug/plugin/fingerprint.hpp"
#include "kplug/plugin/plugin_file/format.hpp"
#include "kplug/plugin/plugin_file/reader.hpp"

namespace kplug::plugin {

// Identities of what a plugin is used with (computes the fingerprints).
kb_identity identify_kb(const kb::knowledge_base& kb);
template <token_embedder B>
encoder_identity identify_encoder(const B& backend, std::string name);

// What the compatibility checks compare. Dimensions and counts are always
// compared; the fingerprints can be skipped, e.g. to use a plugin with a
// float16 copy of the table or a bf16 copy of the encoder (which have other
// fingerprints) at the caller's risk.
struct compatibility_options {
  bool check_kb_fingerprint = true;
  bool check_encoder_fingerprint = true;
};

// Throw kplug::error naming both sides and what differs. Names are labels
// and are not compared.
void check_kb(const kb_identity& plugin, const kb_identity& actual, const compatibility_options& options = {},
              std::string_view where = "plugin");
void check_encoder(const encoder_identity& plugin, const encoder_identity& actual,
                   const compatibility_options& options = {}, std::string_view where = "plugin");
// Both, computing the actual identities (fingerprints only where checked).
template <token_embedder B>
void check_compatible(const plugin_metadata& metadata, const kb::knowledge_base& kb, const B& backend,
                      const compatibility_options& options = {}, std::string_view where = "plugin");
template <token_embedder B>
void check_compatible(const loaded_plugin& plugin, const kb::knowledge_base& kb, const B& backend,
                      const compatibility_options& options = {});

// ---------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------

inline kb_identity identify_kb(const kb::knowledge_base& kb) {
  return {kb.name(), static_cast<std::uint64_t>(kb.size()), kb.d_kb(), kb_fingerprint(kb)};
}

template <token_embedder B>
encoder_identity identify_encoder(const B& backend, std::string name) {
  return {std::move(name), static_cast<index_t>(backend.hidden_size()), static_cast<index_t>(backend.vocab_size()),
          encoder_fingerprint(backend)};
}

// ---------------------------------------------------------------- compatibility

namespace detail {

// One compared field: whether both sides agree on it, and its name.
struct field_comparison {
  bool same;
  const char* name;
};

// Throws kplug::error if a field differs, naming both sides ("the plugin was
// TUNED 'name' (description); this THING 'name' has description") and the
// fields that differ.
template <class Identity, class Describe>
void throw_if_differs(std::string_view action, std::string_view where, std::string_view tuned, std::string_view thing,
                      const Identity& plugin, const Identity& actual, std::initializer_list<field_comparison> fields,
                      Describe describe) {
  std::string differs;
  for (const field_comparison& f : fields)
    if (!f.same) differs += (differs.empty() ? "" : ", ") + std::string(f.name);
  if (differs.empty()) return;
  throw error(std::string(action), std::string(where),
              "the plugin was " + std::string(tuned) + " '" + plugin.name + "' (" + describe(plugin) + "); this " +
                  std::string(thing) + (actual.name.empty() ? std::string() : " '" + actual.name + "'") + " has " +
                  describe(actual) + "; differs in: " + differs);
}

}  // namespace detail

inline void check_kb(const kb_identity& plugin, const kb_identity& actual, const compatibility_options& options,
                     std::string_view where) {
  const bool fingerprints = options.check_kb_fingerprint;
  detail::throw_if_differs("check plugin against knowledge base", where, "tuned against knowledge base",
                           "knowledge base", plugin, actual,
                           {{plugin.d_kb == actual.d_kb, "d_kb"},
                            {plugin.entity_count == actual.entity_count, "entity count"},
                            {!fingerprints || plugin.fingerprint == actual.fingerprint, "fingerprint"}},
                           [&](const kb_identity& k) {
                             return std::to_string(k.entity_count) + " entities, d_kb " + std::to_string(k.d_kb) +
                                    (fingerprints ? ", fingerprint " + format_fingerprint(k.fingerprint) : "");
                           });
}

inline void check_encoder(const encoder_identity& plugin, const encoder_identity& actual,
                          const compatibility_options& options, std::string_view where) {
  const bool fingerprints = options.check_encoder_fingerprint;
  detail::throw_if_differs(
      "check plugin against encoder", where, "tuned for encoder", "encoder", plugin, actual,
      {{plugin.hidden_size == actual.hidden_size, "hidden size"},
       {plugin.vocab_size == actual.vocab_size, "vocabulary size"},
       {!fingerprints || plugin.fingerprint == actual.fingerprint, "embedding fingerprint"}},
      [&](const encoder_identity& e) {
        return "hidden size " + std::to_string(e.hidden_size) + ", vocabulary " + std::to_string(e.vocab_size) +
               (fingerprints ? ", embedding fingerprint " + format_fingerprint(e.fingerprint) : "");
      });
}

template <token_embedder B>
void check_compatible(const plugin_metadata& metadata, const kb::knowledge_base& kb, const B& backend,
                      const compatibility_options& options, std::string_view where) {
  validate_metadata(metadata, where);
  kb_identity k{kb.name(), static_cast<std::uint64_t>(kb.size()), kb.d_kb(), 0};
  // Compare the cheap fields first so a plain mismatch does not pay for hashing.
  check_kb(metadata.kb, k, compatibility_options{false, false}, where);
  if (options.check_kb_fingerprint) {
    k.fingerprint = kb_fingerprint(kb);
    check_kb(metadata.kb, k, options, where);
  }
  encoder_identity e{"", static_cast<index_t>(backend.hidden_size()), static_cast<index_t>(backend.vocab_size()), 0};
  check_encoder(metadata.encoder, e, compatibility_options{false, false}, where);
  if (options.check_encoder_fingerprint) {
    e.fingerprint = encoder_fingerprint(backend);
    check_encoder(metadata.encoder, e, options, where);
  }
}

template <token_embedder B>
void check_compatible(const loaded_plugin& plugin, const kb::knowledge_base& kb, const B& backend,
                      const compatibility_options& options) {
  check_compatible(plugin.metadata, kb, backend, options, plugin.path());
}

}  // namespace kplug::plugin
