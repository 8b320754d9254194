// The mention linker on arbitrary words (the input split at '\n' and ' '),
// over a small alias table with multi-word, accented and overlapping aliases.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "kplug/link/linker.hpp"

namespace {

const kplug::link::alias_table& aliases() {
  static const kplug::link::alias_table table = [] {
    kplug::link::alias_table_builder b;
    b.add("Marie Curie", "Q7186", 10);
    b.add("Curie", "Q7186", 3);
    b.add("Curie", "Q9021", 2);
    b.add("Paris", "Q90", 50);
    b.add("Paris Hilton", "Q47899", 5);
    b.add("new york city", "Q60", 8);
    b.add("new york", "Q1384", 4);
    b.add("Zürich", "Q72", 2);
    b.add("ΣΟΦΙΑ", "Q472", 1);
    b.add("a b a b", "Q1", 1);
    return b.build();
  }();
  return table;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  kplug_fuzz::byte_reader in(data, size);
  const std::uint8_t flags = in.byte();
  std::vector<std::string_view> words;
  const std::string_view text = size == 0 ? std::string_view() : kplug_fuzz::as_text(data + 1, size - 1);
  for (std::size_t pos = 0; pos <= text.size();) {
    std::size_t cut = text.find_first_of("\n ", pos);
    if (cut == std::string_view::npos) cut = text.size();
    words.push_back(text.substr(pos, cut - pos));
    pos = cut + 1;
  }
  kplug::link::linker_options options;
  options.min_score = (flags & 1) != 0 ? 0.5f : 0.0f;
  options.max_alias_words = (flags >> 1) & 3;
  kplug_fuzz::expect_accept_or_refuse([&] {
    kplug::link::linker linker(aliases(), options);
    for (const kplug::mention& m : linker.link_words(words))
      if (m.words.begin < 0 || m.words.end <= m.words.begin || static_cast<std::size_t>(m.words.end) > words.size())
        std::abort();
  });
  return 0;
}
