#include <gtest/gtest.h>

#include <cctype>
#include <random>
#include <string>
#include <string_view>

#include "kplug/text/case_fold.hpp"

namespace {

using kplug::text::case_fold;

// Expected values below are written as literal UTF-8 text, taken from the
// Unicode charts (capital on the left, its lower case on the right), not
// computed with the arithmetic the implementation uses.

TEST(CaseFold, AsciiLettersOnly) {
  EXPECT_EQ(case_fold("Hello WORLD 123 !@[`{~"), "hello world 123 !@[`{~");
  EXPECT_EQ(case_fold(""), "");
  std::string all;
  for (int c = 0; c < 128; ++c) all.push_back(static_cast<char>(c));
  const std::string folded = case_fold(all);
  ASSERT_EQ(folded.size(), all.size());
  for (std::size_t i = 0; i < all.size(); ++i)
    EXPECT_EQ(folded[i], static_cast<char>(std::tolower(static_cast<unsigned char>(all[i])))) << i;
}

TEST(CaseFold, Latin1Supplement) {
  EXPECT_EQ(case_fold("ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝÞ"), "àáâãäåæçèéêëìíîïðñòóôõöøùúûüýþ");
  EXPECT_EQ(case_fold("×"), "×");  // U+00D7 multiplication sign is not a letter
  EXPECT_EQ(case_fold("÷"), "÷");
  EXPECT_EQ(case_fold("ß"), "ß");  // full folding "ss" is not simple folding
  EXPECT_EQ(case_fold("µ"), "μ");  // micro sign folds to Greek small mu
  EXPECT_EQ(case_fold("àéÿ©®"), "àéÿ©®");
  EXPECT_EQ(case_fold("ÉCOLE Ça"), "école ça");
}

TEST(CaseFold, LatinExtendedA) {
  EXPECT_EQ(case_fold("ĀĂĄĆĈĊČĎĐĒĔĖĘĚĜĞĠĢĤĦĨĪĬĮ"), "āăąćĉċčďđēĕėęěĝğġģĥħĩīĭį");
  EXPECT_EQ(case_fold("ĲĴĶ"), "ĳĵķ");
  EXPECT_EQ(case_fold("ĹĻĽĿŁŃŅŇ"), "ĺļľŀłńņň");
  EXPECT_EQ(case_fold("ŊŌŎŐŒŔŖŘŚŜŞŠŢŤŦŨŪŬŮŰŲŴŶ"), "ŋōŏőœŕŗřśŝşšţťŧũūŭůűųŵŷ");
  EXPECT_EQ(case_fold("ŹŻŽ"), "źżž");
  EXPECT_EQ(case_fold("Ÿ"), "ÿ");   // U+0178 -> U+00FF, outside the block
  EXPECT_EQ(case_fold("İ"), "i");   // U+0130 -> its lower case 'i' (one byte)
  EXPECT_EQ(case_fold("ſ"), "s");   // long s folds to s
  EXPECT_EQ(case_fold("ıĸŉ"), "ıĸŉ");  // lower-case singletons stay
  EXPECT_EQ(case_fold("āĺŋźķ"), "āĺŋźķ");  // already lower case
  EXPECT_EQ(case_fold("ŁÓDŹ"), "łódź");
  EXPECT_EQ(case_fold("İSTANBUL"), "istanbul");
}

TEST(CaseFold, Greek) {
  EXPECT_EQ(case_fold("ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩ"), "αβγδεζηθικλμνξοπρστυφχψω");
  EXPECT_EQ(case_fold("ΆΈΉΊΌΎΏΪΫ"), "άέήίόύώϊϋ");
  EXPECT_EQ(case_fold("\xCE\xA2"), "\xCE\xA2");  // U+03A2 is unassigned
  EXPECT_EQ(case_fold("ς"), "σ");                // final sigma folds to sigma
  EXPECT_EQ(case_fold("ΟΔΟΣ"), case_fold("οδος"));
  EXPECT_EQ(case_fold("ϐϑϕϖϰϱϵ"), "βθφπκρε");
  EXPECT_EQ(case_fold("ϴ"), "θ");
  EXPECT_EQ(case_fold("ϘϚϜϞϠϢϤϦϨϪϬϮ"), "ϙϛϝϟϡϣϥϧϩϫϭϯ");
  EXPECT_EQ(case_fold("ϷϺϹ"), "ϸϻϲ");
  EXPECT_EQ(case_fold("ϽϾϿ"), "ͻͼͽ");
  EXPECT_EQ(case_fold("ͰͲͶͿϏ"), "ͱͳͷϳϗ");
  EXPECT_EQ(case_fold("ΐΰ"), "ΐΰ");  // lower case with no capital
  EXPECT_EQ(case_fold("ϒ"), "ϒ");      // upsilon with hook has no lower case
}

TEST(CaseFold, Cyrillic) {
  EXPECT_EQ(case_fold("АБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ"), "абвгдежзийклмнопрстуфхцчшщъыьэюя");
  EXPECT_EQ(case_fold("ЀЁЂЃЄЅІЇЈЉЊЋЌЍЎЏ"), "ѐёђѓєѕіїјљњћќѝўџ");
  EXPECT_EQ(case_fold("МОСКВА"), "москва");
  EXPECT_EQ(case_fold("ѢѲҐҒҖҶӀӁӃӐӒӘӨӮ"), "ѣѳґғҗҷӏӂӄӑӓәөӯ");
  EXPECT_EQ(case_fold("ӏ"), "ӏ");
}

TEST(CaseFold, OtherScriptsUnchanged) {
  EXPECT_EQ(case_fold("日本語 Ա ẞ 😀"), "日本語 Ա ẞ 😀");  // not covered: copied as is
}

TEST(CaseFold, InvalidUtf8PassesThroughUnchanged) {
  EXPECT_EQ(case_fold(std::string_view("\xC3", 1)), std::string("\xC3"));          // truncated at end
  EXPECT_EQ(case_fold("\xC3" "A"), "\xC3" "a");                                      // lead without continuation
  EXPECT_EQ(case_fold("\x80\xBF\xFF\xFE"), "\x80\xBF\xFF\xFE");                      // stray bytes
  EXPECT_EQ(case_fold("\xC1\x81"), "\xC1\x81");                                      // overlong 'A' stays
  EXPECT_EQ(case_fold("\xC0\x80"), "\xC0\x80");
  EXPECT_EQ(case_fold("\xE0\xA0" "Ä"), "\xE0\xA0" "ä");                              // resync after truncation
  EXPECT_EQ(case_fold("\xF0\x9F\x98" "Ω"), "\xF0\x9F\x98" "ω");
}

TEST(CaseFold, NeverReadsPastTheEnd) {
  // The byte after the view would complete "À"; folding must not look at it.
  const std::string buffer = "x\xC3\x80";
  EXPECT_EQ(case_fold(std::string_view(buffer.data(), 2)), std::string("x\xC3"));
}

TEST(CaseFold, OutputReplacesAndReusesTheBuffer) {
  std::string out = "a long previous content that must disappear";
  case_fold("ABC", out);
  EXPECT_EQ(out, "abc");
  case_fold("", out);
  EXPECT_EQ(out, "");
}

TEST(CaseFold, IdempotentOnEveryTwoByteCodePoint) {
  for (char32_t c = 0x80; c < 0x800; ++c) {
    const std::string s{static_cast<char>(0xC0 | (c >> 6)), static_cast<char>(0x80 | (c & 0x3F))};
    const std::string once = case_fold(s);
    EXPECT_EQ(case_fold(once), once) << "U+" << std::hex << static_cast<unsigned>(c);
    EXPECT_LE(once.size(), s.size());
  }
}

TEST(CaseFold, RandomBytesNeverGrow) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> byte(0, 255), len(0, 24);
  std::string out;
  for (int trial = 0; trial < 20000; ++trial) {
    std::string s(static_cast<std::size_t>(len(rng)), '\0');
    for (char& ch : s) ch = static_cast<char>(byte(rng));
    case_fold(s, out);
    ASSERT_LE(out.size(), s.size());
  }
}

}  // namespace
