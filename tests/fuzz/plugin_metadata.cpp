// Plugin metadata: parse_plugin_metadata on any key/value map (one
// "key<TAB>value" per line of the input), the splice-format JSON included.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_support.hpp"
#include "kplug/io/text_lines.hpp"
#include "kplug/plugin/plugin_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  kplug::io::safetensors_metadata md;
  kplug::io::for_each_line(kplug_fuzz::as_text(data, size), [&](std::string_view line, std::uint64_t) {
    const std::size_t tab = line.find('\t');
    if (tab == std::string_view::npos) return;
    md.insert_or_assign(std::string(line.substr(0, tab)), std::string(line.substr(tab + 1)));
  });
  kplug_fuzz::expect_accept_or_refuse([&] { (void)kplug::plugin::parse_plugin_metadata(md, "fuzz metadata"); });
  return 0;
}
