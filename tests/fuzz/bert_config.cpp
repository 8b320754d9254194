// config.json: load_bert_config on any bytes.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "kplug/bert/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& path = kplug_fuzz::input_file(data, size, "-config.json");
  kplug_fuzz::expect_accept_or_refuse([&] { (void)kplug::bert::load_bert_config(path); });
  return 0;
}
