// Opening a knowledge-plugin file (format: plugin/plugin_file/format.hpp):
// safetensors strictness, checksums, metadata and the tensors its mapper needs.
#pragma once

#include <algorithm>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kplug/core/error.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/core/types.hpp"
#include "kplug/io/dtype.hpp"
#include "kplug/io/safetensors/format.hpp"
#include "kplug/io/safetensors/reader.hpp"
#include "kplug/plugin/checksum.hpp"
#include "kplug/plugin/plugin_file/format.hpp"

namespace kplug::plugin {

// An opened plugin: its metadata and its memory-mapped tensors.
struct loaded_plugin {
  plugin_metadata metadata;
  io::safetensors_file file;
  std::string library_version;  // kplug.library_version, empty if absent
  // False for a file from before checksums (format version 1): it loaded,
  // but nothing vouches for its bytes; `warnings` then says so, for the
  // caller to show (the library does not print).
  bool checksum_verified = false;
  std::vector<std::string> warnings;

  const std::string& path() const noexcept { return file.path(); }
  io::tensor_view tensor(std::string_view name) const { return file.tensor(name); }
  // A float32 tensor of exactly this shape, without a copy; throws naming
  // the file, the tensor and the difference otherwise.
  matrix_view<const float> float_matrix(std::string_view name, index_t rows, index_t cols) const;
  std::span<const float> float_vector(std::string_view name, index_t size) const;
};

// Opens and validates a plugin file (safetensors strictness, checksums,
// metadata, the tensors a known mapper kind needs).
loaded_plugin load_plugin(std::string path);

// ---------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------

inline loaded_plugin load_plugin(std::string path) {
  loaded_plugin p;
  p.file = io::safetensors_file(std::move(path));
  // Verified first, so that damage reads as damage, not as whatever odd
  // value it produced; parse_plugin_metadata requires them from version 2 on.
  p.checksum_verified = has_checksums(p.file.metadata());
  if (p.checksum_verified) verify_checksums(p.file);
  p.metadata = parse_plugin_metadata(p.file.metadata(), p.file.path());
  if (!p.checksum_verified)
    p.warnings.push_back(p.file.path() + " has no checksum (written by an older kplug); its contents are not verified");
  if (const auto it = p.file.metadata().find("kplug.library_version"); it != p.file.metadata().end())
    p.library_version = it->second;
  std::vector<detail::tensor_shape_ref> refs;
  for (const auto& t : p.file.tensors()) refs.push_back({t.name, t.dtype, t.shape});
  detail::check_mapper_tensors(p.metadata, refs, "load plugin", p.file.path());
  return p;
}

inline matrix_view<const float> loaded_plugin::float_matrix(std::string_view name, index_t rows, index_t cols) const {
  const io::tensor_view t = tensor(name);
  const index_t want[] = {rows, cols};
  if (t.dtype() != io::dtype::f32 || !std::equal(t.shape().begin(), t.shape().end(), want, want + 2))
    throw error("read plugin tensor", io::detail::at_tensor(path(), name),
                "expected F32 " + io::detail::shape_text(want) + ", got " + std::string(io::safetensors_dtype_name(t.dtype())) +
                    " " + io::detail::shape_text(t.shape()));
  return t.as_matrix<float>();
}

inline std::span<const float> loaded_plugin::float_vector(std::string_view name, index_t size) const {
  const io::tensor_view t = tensor(name);
  const index_t want[] = {size};
  if (t.dtype() != io::dtype::f32 || !std::equal(t.shape().begin(), t.shape().end(), want, want + 1))
    throw error("read plugin tensor", io::detail::at_tensor(path(), name),
                "expected F32 " + io::detail::shape_text(want) + ", got " + std::string(io::safetensors_dtype_name(t.dtype())) +
                    " " + io::detail::shape_text(t.shape()));
  return t.values<float>();
}

}  // namespace kplug::plugin
