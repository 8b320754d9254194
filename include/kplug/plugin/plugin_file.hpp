// The knowledge-plugin file (full description: docs/plugin-file.md). This
// header includes its parts:
//   plugin/plugin_file/format.hpp         metadata keys, plugin_metadata, splice format JSON,
//                                          the tensors a mapper kind needs
//   plugin/plugin_file/reader.hpp         load_plugin, loaded_plugin
//   plugin/plugin_file/writer.hpp         save_plugin (atomic)
//   plugin/plugin_file/compatibility.hpp  identify_kb/encoder, check_compatible
#pragma once

#include "kplug/plugin/plugin_file/format.hpp"
#include "kplug/plugin/plugin_file/reader.hpp"
#include "kplug/plugin/plugin_file/writer.hpp"
#include "kplug/plugin/plugin_file/compatibility.hpp"
