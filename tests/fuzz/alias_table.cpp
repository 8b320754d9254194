// Alias TSV: read_alias_table on any bytes, then the candidates of a few of
// its own aliases.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "kplug/io/text_lines.hpp"
#include "kplug/link/alias_table.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& path = kplug_fuzz::input_file(data, size, ".tsv");
  kplug_fuzz::expect_accept_or_refuse([&] {
    const kplug::link::alias_table table = kplug::link::read_alias_table(path);
    kplug::io::for_each_line(kplug_fuzz::as_text(data, size), [&](std::string_view line, std::uint64_t number) {
      if (number > 8) return;
      const auto candidates = table.candidates(line.substr(0, line.find('\t')));
      for (std::size_t i = 0; i < candidates.size(); ++i) (void)table.find_entity(candidates[i].entity);
    });
  });
  return 0;
}
