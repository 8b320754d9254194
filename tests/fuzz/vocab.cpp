// vocab.txt: wordpiece_vocab::load on any bytes, then every token looked up
// by id and back.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "kplug/text/wordpiece_vocab.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& path = kplug_fuzz::input_file(data, size, "-vocab.txt");
  kplug_fuzz::expect_accept_or_refuse([&] {
    const auto vocab = kplug::text::wordpiece_vocab::load(path);
    for (kplug::token_id id = 0; id < vocab.size(); ++id)
      if (!vocab.find(vocab.token(id))) std::abort();
  });
  return 0;
}
