// Writing a knowledge-plugin file (format: plugin/plugin_file/format.hpp).
//
// save_plugin writes atomically (temporary file, fsync, rename, fsync of the
// directory): a crash while a checkpoint is saved leaves the previous
// checkpoint intact.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "kplug/io/safetensors/writer.hpp"
#include "kplug/plugin/checksum.hpp"
#include "kplug/plugin/plugin_file/format.hpp"

namespace kplug::plugin {

// Writes a plugin file atomically, with the checksums of its metadata and
// tensors. Throws (writing nothing) on invalid metadata or tensors that
// disagree with the mapper kind.
void save_plugin(const std::string& path, const plugin_metadata& metadata, std::span<const io::named_tensor> tensors);

// ---------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------

inline void save_plugin(const std::string& path, const plugin_metadata& metadata,
                        std::span<const io::named_tensor> tensors) {
  constexpr const char* what = "save plugin";
  validate_metadata(metadata, path);
  const io::safetensors_metadata md = to_safetensors_metadata(metadata);
  std::vector<detail::tensor_shape_ref> refs;
  for (const auto& t : tensors) refs.push_back({t.name, t.dtype, t.shape});
  detail::check_mapper_tensors(metadata, refs, what, path);
  io::write_safetensors(path, tensors, with_checksums(md, tensors));
}

}  // namespace kplug::plugin
