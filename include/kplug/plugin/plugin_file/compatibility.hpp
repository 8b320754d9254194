// Whether a plugin fits the knowledge base and encoder it is used with: the
// identities (dimensions, counts, fingerprints) recorded in its metadata
// (plugin/plugin_file/format.hpp) against the actual ones.
#pragma once

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

inline void check_kb(const kb_identity& plugin, const kb_identity& actual, const compatibility_options& options,
                     std::string_view where) {
  std::string differs;
  const auto note = [&](bool same, const char* what) {
    if (!same) differs += (differs.empty() ? "" : ", ") + std::string(what);
  };
  note(plugin.d_kb == actual.d_kb, "d_kb");
  note(plugin.entity_count == actual.entity_count, "entity count");
  if (options.check_kb_fingerprint) note(plugin.fingerprint == actual.fingerprint, "fingerprint");
  if (differs.empty()) return;
  const auto describe = [&](const kb_identity& k) {
    return std::to_string(k.entity_count) + " entities, d_kb " + std::to_string(k.d_kb) +
           (options.check_kb_fingerprint ? ", fingerprint " + format_fingerprint(k.fingerprint) : std::string());
  };
  throw error("check plugin against knowledge base", std::string(where),
              "the plugin was tuned against knowledge base '" + plugin.name + "' (" + describe(plugin) +
                  "); this knowledge base '" + actual.name + "' has " + describe(actual) + "; differs in: " + differs);
}

inline void check_encoder(const encoder_identity& plugin, const encoder_identity& actual,
                          const compatibility_options& options, std::string_view where) {
  std::string differs;
  const auto note = [&](bool same, const char* what) {
    if (!same) differs += (differs.empty() ? "" : ", ") + std::string(what);
  };
  note(plugin.hidden_size == actual.hidden_size, "hidden size");
  note(plugin.vocab_size == actual.vocab_size, "vocabulary size");
  if (options.check_encoder_fingerprint) note(plugin.fingerprint == actual.fingerprint, "embedding fingerprint");
  if (differs.empty()) return;
  const auto describe = [&](const encoder_identity& e) {
    return "hidden size " + std::to_string(e.hidden_size) + ", vocabulary " + std::to_string(e.vocab_size) +
           (options.check_encoder_fingerprint ? ", embedding fingerprint " + format_fingerprint(e.fingerprint)
                                              : std::string());
  };
  throw error("check plugin against encoder", std::string(where),
              "the plugin was tuned for encoder '" + plugin.name + "' (" + describe(plugin) + "); this encoder" +
                  (actual.name.empty() ? std::string() : " '" + actual.name + "'") + " has " + describe(actual) +
                  "; differs in: " + differs);
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
