// safetensors files: a strict, memory-mapped, zero-copy reader and a writer
// that produces the reference's bytes. This header includes the three parts:
//   io/safetensors/format.hpp  the layout, header validation, limits
//   io/safetensors/reader.hpp  safetensors_file, tensor_view
//   io/safetensors/writer.hpp  named_tensor, make_tensor, write_safetensors
#pragma once

#include "kplug/io/safetensors/format.hpp"
#include "kplug/io/safetensors/reader.hpp"
#include "kplug/io/safetensors/writer.hpp"
