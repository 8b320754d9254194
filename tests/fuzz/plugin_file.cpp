// Plugin files: load_plugin on any bytes (the safetensors reader, the
// metadata parser and the mapper tensors' checks together).
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "kplug/plugin/plugin_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& path = kplug_fuzz::input_file(data, size, ".kplug");
  kplug_fuzz::expect_accept_or_refuse([&] { (void)kplug::plugin::load_plugin(path); });
  return 0;
}
