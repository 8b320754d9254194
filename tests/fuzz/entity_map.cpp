// Entity maps: OpenKE entity2id.txt and entity<TAB>row tables, chosen as
// open_knowledge_base chooses, then checked against a table of 16 rows.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "kplug/kb/entity_index.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace kb = kplug::kb;
  const std::string_view text = kplug_fuzz::as_text(data, size);
  kplug_fuzz::expect_accept_or_refuse([&] {
    const kb::entity_index index = kb::looks_like_openke(text) ? kb::parse_openke_entity2id(text, "fuzz.txt")
                                                               : kb::parse_entity_rows_tsv(text, "fuzz.tsv");
    for (kplug::row_index r = 0; r < 4; ++r)
      if (const auto name = index.name_of(r); name && index.at(*name) != r) std::abort();
    index.check_against(16, "fuzz.npy");
  });
  return 0;
}
