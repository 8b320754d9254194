// .npy header and body: parse_npy_header on any bytes, then every data byte
// the header claims (the body must lie inside the input).
#include <cstddef>
#include <cstdint>
#include <span>

#include "fuzz_support.hpp"
#include "kplug/io/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  kplug_fuzz::expect_accept_or_refuse([&] {
    const std::span<const std::byte> file(reinterpret_cast<const std::byte*>(data), size);
    const kplug::io::npy_header h = kplug::io::parse_npy_header(file, "fuzz.npy");
    unsigned sum = 0;
    for (const std::byte b : file.subspan(h.data_offset, h.data_bytes)) sum += static_cast<unsigned>(b);
    if (sum == 0xffffffffu) std::abort();  // keeps the reads
  });
  return 0;
}
