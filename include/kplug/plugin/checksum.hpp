// Plugin file checksums (format version 2): a plugin file checks its own
// contents, so a flipped bit in a weight or a metadata value is refused on
// load instead of silently changing predictions. Stored in the metadata:
//   kplug.checksum.metadata        XXH64 of the metadata (below)
//   kplug.checksum.tensor.<name>   XXH64 of one tensor, one key per tensor
// each "0x" + 16 hex digits. Both sums are taken over canonical forms of what
// a reader gets, not over the header's bytes, so JSON key order, whitespace
// and escapes do not matter (seed 0; integers as 8 bytes little-endian):
//   metadata: entry count, then per key in byte order: key length, key,
//             value length, value; every "kplug.checksum." key left out
//             (a sum cannot cover itself; tensor sums check themselves);
//   tensor:   name length, name, dtype name length, dtype name ("F32"),
//             rank, each dimension, byte count, the bytes.
// Not cryptographic: it catches damage, not a forger who recomputes it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "kplug/core/error.hpp"
#include "kplug/core/types.hpp"
#include "kplug/core/xxh64.hpp"
#include "kplug/io/safetensors.hpp"
#include "kplug/plugin/fingerprint.hpp"

namespace kplug::plugin {

inline constexpr std::string_view checksum_key_prefix = "kplug.checksum.";
inline constexpr std::string_view metadata_checksum_key = "kplug.checksum.metadata";
inline constexpr std::string_view tensor_checksum_key_prefix = "kplug.checksum.tensor.";

std::uint64_t metadata_checksum(const io::safetensors_metadata& metadata);
std::uint64_t tensor_checksum(std::string_view name, io::dtype dtype, std::span<const index_t> shape,
                              std::span<const std::byte> bytes);

// `metadata` with the checksum keys of itself and `tensors` (any checksum
// keys it had are replaced).
io::safetensors_metadata with_checksums(io::safetensors_metadata metadata, std::span<const io::named_tensor> tensors);

// Whether the metadata holds any "kplug.checksum." key.
bool has_checksums(const io::safetensors_metadata& metadata);

// Throws kplug::error naming the file and the part (the metadata, or the
// tensor) whose contents do not match their checksum, and refuses checksum
// keys that are missing, malformed or name no tensor. For a file with
// has_checksums(); a file without them has nothing to verify.
void verify_checksums(const io::safetensors_file& file);

// ---------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------

namespace detail {

inline void hash_text(xxh64_stream& h, std::string_view s) noexcept {
  h.update_u64(s.size());
  h.update(s);
}

inline bool is_checksum_key(std::string_view key) noexcept { return key.starts_with(checksum_key_prefix); }

}  // namespace detail

inline std::uint64_t metadata_checksum(const io::safetensors_metadata& metadata) {
  std::uint64_t count = 0;
  for (const auto& [k, v] : metadata) count += detail::is_checksum_key(k) ? 0 : 1;
  xxh64_stream h;
  h.update_u64(count);
  for (const auto& [k, v] : metadata) {  // std::map: keys in byte order
    if (detail::is_checksum_key(k)) continue;
    detail::hash_text(h, k);
    detail::hash_text(h, v);
  }
  return h.digest();
}

inline std::uint64_t tensor_checksum(std::string_view name, io::dtype dtype, std::span<const index_t> shape,
                                     std::span<const std::byte> bytes) {
  xxh64_stream h;
  detail::hash_text(h, name);
  detail::hash_text(h, io::safetensors_dtype_name(dtype));
  h.update_u64(shape.size());
  for (const index_t d : shape) h.update_u64(static_cast<std::uint64_t>(d));
  h.update_u64(bytes.size());
  h.update(bytes);
  return h.digest();
}

inline io::safetensors_metadata with_checksums(io::safetensors_metadata metadata,
                                               std::span<const io::named_tensor> tensors) {
  std::erase_if(metadata, [](const auto& kv) { return detail::is_checksum_key(kv.first); });
  for (const auto& t : tensors)
    metadata[std::string(tensor_checksum_key_prefix) + t.name] =
        format_fingerprint(tensor_checksum(t.name, t.dtype, t.shape, t.bytes));
  metadata[std::string(metadata_checksum_key)] = format_fingerprint(metadata_checksum(metadata));
  return metadata;
}

inline bool has_checksums(const io::safetensors_metadata& metadata) {
  const auto it = metadata.lower_bound(checksum_key_prefix);
  return it != metadata.end() && detail::is_checksum_key(it->first);
}

namespace detail {

inline std::uint64_t stored_checksum(const io::safetensors_metadata& md, std::string_view key,
                                     const std::string& path, const char* what) {
  const auto it = md.find(key);
  if (it == md.end())
    throw error(what, path + ", " + std::string(key),
                "the file carries checksums but not this one (a checksum key was removed or damaged)");
  const auto sum = parse_fingerprint(it->second);
  if (!sum) throw error(what, path + ", " + std::string(key), "'" + it->second + "' is not a checksum (\"0x\" and 16 hex digits)");
  return *sum;
}

}  // namespace detail

inline void verify_checksums(const io::safetensors_file& file) {
  constexpr const char* what = "verify plugin checksum";
  const std::string& path = file.path();
  const io::safetensors_metadata& md = file.metadata();
  const std::string damaged = ": the file was damaged or edited after it was written";
  for (const auto& [k, v] : md) {
    if (!detail::is_checksum_key(k) || k == metadata_checksum_key) continue;
    if (!k.starts_with(tensor_checksum_key_prefix))
      throw error(what, path + ", " + k, "unknown checksum key (known: kplug.checksum.metadata, kplug.checksum.tensor.<name>)");
    if (!file.contains(std::string_view(k).substr(tensor_checksum_key_prefix.size())))
      throw error(what, path + ", " + k, "names a tensor the file does not hold" + damaged);
  }
  const std::uint64_t want_md = detail::stored_checksum(md, metadata_checksum_key, path, what);
  if (const std::uint64_t got = metadata_checksum(md); got != want_md)
    throw error(what, path + ", metadata",
                "the metadata hashes to " + format_fingerprint(got) + ", not to the " + format_fingerprint(want_md) +
                    " saved in kplug.checksum.metadata" + damaged);
  for (const io::tensor_info& t : file.tensors()) {
    const std::string key = std::string(tensor_checksum_key_prefix) + t.name;
    const std::uint64_t want = detail::stored_checksum(md, key, io::detail::at_tensor(path, t.name), what);
    const std::uint64_t got = tensor_checksum(t.name, t.dtype, t.shape, file.tensor(t.name).bytes());
    if (got != want)
      throw error(what, io::detail::at_tensor(path, t.name),
                  "the tensor hashes to " + format_fingerprint(got) + ", not to the " + format_fingerprint(want) +
                      " saved in " + key + damaged);
  }
}

}  // namespace kplug::plugin
