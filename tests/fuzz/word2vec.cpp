// word2vec / Wikipedia2Vec text: parse_word2vec_text on any bytes.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "kplug/kb/word2vec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  kplug_fuzz::expect_accept_or_refuse(
      [&] { (void)kplug::kb::parse_word2vec_text(kplug_fuzz::as_text(data, size), "fuzz.txt"); });
  return 0;
}
