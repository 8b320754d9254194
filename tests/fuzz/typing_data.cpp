// The JSONL dataset schema (kplug/tasks/typing_data.hpp): read_typing_file on any bytes,
// with and without labels required.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "kplug/tasks/typing_data.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& path = kplug_fuzz::input_file(data, size, ".jsonl");
  for (const bool need_label : {true, false})
    kplug_fuzz::expect_accept_or_refuse([&] {
      const auto file = kplug::tasks::read_typing_file(path, need_label);
      for (const auto& inst : file.instances)
        for (const auto& m : inst.mentions)
          if (m.byte_begin > m.byte_end || m.byte_end > inst.text.size()) std::abort();
    });
  return 0;
}
