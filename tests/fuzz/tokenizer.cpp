// The WordPiece tokenizer on arbitrary bytes, under options picked by the
// first byte, with the vocabulary of tests/fixtures/tiny_cls.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "kplug/text/wordpiece.hpp"

namespace {

const kplug::text::wordpiece_vocab& vocab() {
  static const auto v = kplug::text::wordpiece_vocab::load(KPLUG_SOURCE_DIR "/tests/fixtures/tiny_cls/vocab.txt");
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  kplug_fuzz::byte_reader in(data, size);
  const std::uint8_t flags = in.byte();
  kplug::text::tokenizer_options options;
  options.lower_case = (flags & 1) != 0;
  if ((flags & 2) != 0) options.strip_accents = (flags & 4) != 0;
  options.tokenize_chinese_chars = (flags & 8) != 0;
  options.on_invalid_utf8 = (flags & 16) != 0 ? kplug::text::invalid_utf8::replace : kplug::text::invalid_utf8::reject;
  options.split_special_tokens = (flags & 32) != 0;
  options.max_chars_per_word = (flags & 64) != 0 ? 3 : 100;
  const std::string_view text = size == 0 ? std::string_view() : kplug_fuzz::as_text(data + 1, size - 1);
  const kplug::text::bert_tokenizer tokenizer(vocab(), options);
  kplug_fuzz::expect_accept_or_refuse([&] {
    const auto t = tokenizer.tokenize(text);
    for (const auto& p : t.pieces)
      if (p.begin > p.end || p.end > text.size() || p.word < 0 || static_cast<std::size_t>(p.word) >= t.words.size())
        std::abort();
  });
  kplug_fuzz::expect_accept_or_refuse([&] {
    const kplug::token_sequence s = tokenizer.encode(text, (flags & 128) != 0 ? 8 : 512);
    if (s.ids.size() != s.word_of.size()) std::abort();
  });
  return 0;
}
