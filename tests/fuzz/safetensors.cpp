// safetensors header and tensor table: parse_safetensors_header on any bytes,
// then every tensor's bytes and its float32 conversion where the dtype has one.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "fuzz_support.hpp"
#include "kplug/io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace io = kplug::io;
  const std::span<const std::byte> file(reinterpret_cast<const std::byte*>(data), size);
  kplug_fuzz::expect_accept_or_refuse([&] {
    const io::safetensors_header h = io::parse_safetensors_header(file, "fuzz.safetensors");
    for (const io::tensor_info& t : h.tensors) {
      const io::tensor_view v(t, file.data() + h.data_offset + t.begin, "fuzz.safetensors");
      kplug_fuzz::expect_accept_or_refuse([&] {
        std::vector<float> out = v.to_float32();
        if (out.size() != v.element_count()) std::abort();
      });
    }
  });
  return 0;
}
