// Inputs the fuzzers found (tests/fuzz/regressions/), each now refused with a
// kplug::error instead of crashing.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "kplug/io/text_lines.hpp"
#include "kplug/plugin/plugin_file.hpp"
#include "support/temp_dir.hpp"

namespace {

// The metadata map as fuzz_plugin_metadata builds it: one key<TAB>value a line.
kplug::io::safetensors_metadata metadata_lines(const std::string& path) {
  const std::string text = kplug_test::read_all(path);
  kplug::io::safetensors_metadata md;
  kplug::io::for_each_line(text, [&](std::string_view line, std::uint64_t) {
    const std::size_t tab = line.find('\t');
    if (tab != std::string_view::npos)
      md.insert_or_assign(std::string(line.substr(0, tab)), std::string(line.substr(tab + 1)));
  });
  return md;
}

// A splice format of "2222...e0008662591908546900423": nlohmann's out_of_range
// escaped parse_plugin_metadata.
TEST(FuzzRegressions, PluginMetadataNumberOverflow) {
  const auto md = metadata_lines(KPLUG_SOURCE_DIR "/tests/fuzz/regressions/plugin_metadata-number-overflow.tsv");
  ASSERT_TRUE(md.contains("kplug.splice_format"));
  KPLUG_EXPECT_ERROR(kplug::plugin::parse_plugin_metadata(md, "regression"), "kplug.splice_format", "invalid JSON",
                     "number overflow");
}

}  // namespace
