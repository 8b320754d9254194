// XXH64 against published test vectors and against the xxhsum command (an
// independent program), streaming, and the byte order of update_u64.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <kplug/core/xxh64.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "support/temp_dir.hpp"

namespace {

using kplug::xxh64;

// "0123456789:;<=>?@AB..." : the first n characters counting up from '0'.
std::string ascending(std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += static_cast<char>('0' + i);
  return s;
}

// Published XXH64 values (xxHash's reference implementation, as listed by
// several independent ports' test suites).
TEST(Xxh64, MatchesPublishedTestVectors) {
  EXPECT_EQ(xxh64(""), 0xEF46DB3751D8E999ULL);
  EXPECT_EQ(xxh64("a"), 0xD24EC4F1A98C6E5BULL);
  EXPECT_EQ(xxh64("abc"), 0x44BC2CF5AD770999ULL);
  EXPECT_EQ(xxh64("ABC"), 0xE66AE7354FCFEE98ULL);
  EXPECT_EQ(xxh64("xxhash"), 0x32DD38952C4BC720ULL);
  EXPECT_EQ(
      xxh64("This code is derived from software contributed to The DragonFly Project", 0x4d617474446c6c6eULL),
      0x103C241EEDDC8D32ULL);
  struct vec {
    std::size_t n;
    std::uint64_t no_seed;
    std::uint64_t with_seed;  // seed 0x1234567890abcdef
  };
  // Lengths that reach every branch: < 4, 4..7, 8-byte tails, exactly one
  // 32-byte stripe, stripes plus tails.
  const vec vectors[] = {
      {0, 0xef46db3751d8e999ULL, 0xa2f5c44d0f46c872ULL},  {1, 0x633457081244afecULL, 0xf47ebf7f5cb6795bULL},
      {4, 0x4c33072b45647dcbULL, 0xe19fff0227e3b861ULL},  {8, 0xe4ba22a49ad89d3fULL, 0x5981b4a4e0a07d38ULL},
      {31, 0xc506e23012915790ULL, 0xa2c0eddf74983bfeULL}, {32, 0x96ee2fa935fdd556ULL, 0x1396bc2a00938b77ULL},
      {33, 0xa5cdc6940c6fde9eULL, 0x65cd9ed37dff8753ULL}, {64, 0x3fe627fabdb30aeaULL, 0xd2ff1b3750571f15ULL},
      {65, 0xeddce6ec01f7e595ULL, 0xb0aa81bc38df17b9ULL},
  };
  for (const vec& v : vectors) {
    SCOPED_TRACE(v.n);
    EXPECT_EQ(xxh64(ascending(v.n)), v.no_seed);
    EXPECT_EQ(xxh64(ascending(v.n), 0x1234567890abcdefULL), v.with_seed);
  }
}

#ifdef KPLUG_TEST_XXHSUM
// What `xxhsum -H64 path` prints as the hash of the file's bytes.
std::uint64_t xxhsum_of(const std::string& path) {
  const std::string command = std::string(KPLUG_TEST_XXHSUM) + " -H64 '" + path + "'";
  const std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  if (!pipe) throw std::runtime_error("cannot run " + command);
  char line[256] = {};
  if (std::fgets(line, sizeof line, pipe.get()) == nullptr) throw std::runtime_error("no output from " + command);
  return std::stoull(std::string(line, 16), nullptr, 16);
}
#endif

TEST(Xxh64, AgreesWithTheXxhsumCommand) {
#ifndef KPLUG_TEST_XXHSUM
  GTEST_SKIP() << "xxhsum not found when configuring (Debian: xxhash)";
#else
  const kplug_test::temp_dir dir;
  // Every byte value, and lengths on both sides of the 4-, 8- and 32-byte steps.
  for (const std::size_t n : {0, 1, 3, 4, 7, 8, 15, 31, 32, 33, 63, 64, 100, 1000, 4099}) {
    SCOPED_TRACE(n);
    std::string bytes;
    for (std::size_t i = 0; i < n; ++i) bytes += static_cast<char>((i * 131 + n) & 0xff);
    const std::uint64_t expected = xxhsum_of(dir.write("input", bytes));
    EXPECT_EQ(xxh64(bytes), expected);
    kplug::xxh64_stream s;
    s.update(std::string_view(bytes).substr(0, n / 3));
    s.update(std::string_view(bytes).substr(n / 3));
    EXPECT_EQ(s.digest(), expected);
  }
#endif
}

TEST(Xxh64, StreamingInAnyPiecesEqualsOneShot) {
  std::string text;
  for (int i = 0; i < 200; ++i) text += static_cast<char>((i * 37 + 11) & 0xff);
  const std::uint64_t whole = xxh64(text, 42);
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    kplug::xxh64_stream s(42);
    s.update(std::string_view(text).substr(0, cut));
    s.update(std::string_view(text).substr(cut));
    ASSERT_EQ(s.digest(), whole) << cut;
  }
  kplug::xxh64_stream bytewise(42);
  for (const char c : text) bytewise.update(std::string_view(&c, 1));
  EXPECT_EQ(bytewise.digest(), whole);
  // digest() does not consume the state.
  EXPECT_EQ(bytewise.digest(), whole);
}

TEST(Xxh64, U64IsFedLittleEndian) {
  kplug::xxh64_stream s;
  s.update_u64(0x0102030405060708ULL);
  EXPECT_EQ(s.digest(), xxh64(std::string_view("\x08\x07\x06\x05\x04\x03\x02\x01", 8)));
}

}  // namespace
