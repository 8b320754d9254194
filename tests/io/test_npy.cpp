// .npy: hand-built files (bytes written here from the format spec, not by
// kplug's writer), every bad header, a sparse table larger than RAM, and
// cross-checks against xtensor's independent reader and writer.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "support/temp_dir.hpp"
#include "kplug/io/npy.hpp"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wpedantic"
#include <xtensor/xarray.hpp>
#include <xtensor/xnpy.hpp>
#pragma GCC diagnostic pop

namespace {

using kplug::index_t;
using kplug::io::dtype;
using kplug_test::temp_dir;

// A .npy file as the format spec describes it: magic, version, header length
// (u16 LE for 1.x, u32 LE otherwise), `dict` padded with spaces + '\n' so the
// data starts at a multiple of 64, then `data`.
std::string npy_bytes(std::string_view dict, std::string_view data, int major = 1) {
  const std::size_t preamble = major == 1 ? 10 : 12;
  std::string header(dict);
  header += std::string((64 - (preamble + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string out("\x93NUMPY", 6);
  out += static_cast<char>(major);
  out += '\0';
  for (std::size_t i = 0; i < preamble - 8; ++i) out += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return out + header + std::string(data);
}

template <class T>
std::string raw(const std::vector<T>& v) {
  return {reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T)};
}

TEST(Npy, ReadsHandBuiltFloat32Matrix) {
  temp_dir dir;
  const std::vector<float> v{1.5f, -2.f, 3.25f, 0.f, 1e-7f, 42.f};
  const auto path =
      dir.write("a.npy", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", raw(v)));
  const auto a = kplug::io::open_npy(path);
  EXPECT_EQ(a.dtype(), dtype::f32);
  ASSERT_EQ(a.ndim(), 2u);
  EXPECT_EQ(a.shape()[0], 2);
  EXPECT_EQ(a.shape()[1], 3);
  EXPECT_EQ(a.size(), 6u);
  EXPECT_EQ(a.header().data_offset, 128u);
  EXPECT_EQ(a.header().major_version, 1);
  const auto m = a.as_matrix<float>();
  EXPECT_EQ(m.rows(), 2);
  EXPECT_EQ(m.cols(), 3);
  EXPECT_EQ(m(0, 0), 1.5f);
  EXPECT_EQ(m(0, 2), 3.25f);
  EXPECT_EQ(m(1, 1), 1e-7f);
  EXPECT_EQ(m(1, 2), 42.f);
  EXPECT_EQ(a.values<float>()[3], 0.f);
  KPLUG_EXPECT_ERROR(a.as_matrix<std::int32_t>(), "float32", "int32", path.c_str());
  KPLUG_EXPECT_ERROR(a.values<double>(), "float32", "float64");
}

TEST(Npy, AcceptsEveryPythonSpellingNumpyMayWrite) {
  temp_dir dir;
  const std::vector<std::int64_t> v{7, -8, 9};
  struct spelling {
    const char* dict;
    int major;
  };
  for (const spelling s : {
           spelling{"{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", 1},
           spelling{"{'shape': (3,), 'fortran_order': False, 'descr': '<i8'}", 1},  // key order, no comma
           spelling{"{\"descr\": \"<i8\", \"fortran_order\": False, \"shape\": (3L,)}", 1},  // Python 2
           spelling{"{ 'descr' :'<i8' ,'fortran_order':False,'shape':( 3 , ) , }", 1},
           spelling{"{'descr': '<i8', 'fortran_order': True, 'shape': (3,), }", 1},  // 1-D: order is moot
           spelling{"{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", 2},
           spelling{"{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", 3},
       }) {
    const auto path = dir.write("s.npy", npy_bytes(s.dict, raw(v), s.major));
    const auto a = kplug::io::open_npy(path);
    EXPECT_EQ(a.header().major_version, s.major) << s.dict;
    ASSERT_EQ(a.ndim(), 1u) << s.dict;
    const auto vals = a.values<std::int64_t>();
    ASSERT_EQ(vals.size(), 3u);
    EXPECT_EQ(vals[0], 7);
    EXPECT_EQ(vals[1], -8);
    EXPECT_EQ(vals[2], 9);
  }
}

TEST(Npy, ScalarAndEmptyArrays) {
  temp_dir dir;
  const std::vector<std::int32_t> one{-5};
  auto a = kplug::io::open_npy(
      dir.write("s.npy", npy_bytes("{'descr': '<i4', 'fortran_order': False, 'shape': (), }", raw(one))));
  EXPECT_EQ(a.ndim(), 0u);
  EXPECT_EQ(a.size(), 1u);
  EXPECT_EQ(a.values<std::int32_t>()[0], -5);
  a = kplug::io::open_npy(
      dir.write("e.npy", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 128), }", "")));
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(a.as_matrix<float>().rows(), 0);
  EXPECT_EQ(a.as_matrix<float>().cols(), 128);
  // A zero dimension makes the product 0 even when the others are huge.
  a = kplug::io::open_npy(dir.write(
      "z.npy", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 9223372036854775807), }", "")));
  EXPECT_EQ(a.size(), 0u);
}

TEST(Npy, WriterProducesNumpysExactHeader) {
  temp_dir dir;
  const auto path = dir.file("w.npy");
  const std::vector<float> v{1, 2, 3, 4, 5, 6};
  kplug::io::write_npy(path, {2, 3}, v);
  const std::string bytes = kplug_test::read_all(path);
  // numpy.save writes exactly this for np.zeros((2, 3), '<f4') (format 1.0,
  // total header 128 bytes: 10 + 117 + '\n').
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  ASSERT_EQ(bytes.size(), 128u + 24u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  EXPECT_EQ(static_cast<unsigned char>(bytes[8]), 118u);
  EXPECT_EQ(bytes[9], '\0');
  EXPECT_EQ(bytes.substr(10, dict.size()), dict);
  EXPECT_EQ(bytes[127], '\n');
  EXPECT_EQ(bytes.substr(10 + dict.size(), 127 - 10 - dict.size()), std::string(127 - 10 - dict.size(), ' '));
  EXPECT_EQ(bytes.substr(128), raw(v));
  const std::string u1 = "{'descr': '|u1', 'fortran_order': False, 'shape': (5,), }";
  EXPECT_EQ(kplug::io::npy_header_bytes(dtype::u8, {5}).substr(10, u1.size()), u1);
}

TEST(Npy, WriteThenReadEveryDtype) {
  temp_dir dir;
  const auto check = [&](auto sample) {
    using T = decltype(sample);
    std::vector<T> v;
    for (int i = 0; i < 12; ++i) v.push_back(static_cast<T>(sample * static_cast<T>(i % 5) + static_cast<T>(i)));
    const auto path = dir.file("t.npy");
    kplug::io::write_npy(path, {3, 2, 2}, v);
    const auto a = kplug::io::open_npy(path);
    EXPECT_EQ(a.dtype(), kplug::io::dtype_of<T>::value);
    EXPECT_EQ(a.header().data_offset % 64, 0u);
    ASSERT_EQ(a.ndim(), 3u);
    EXPECT_EQ(a.shape()[0], 3);
    const auto got = a.values<T>();
    ASSERT_EQ(got.size(), v.size());
    for (std::size_t i = 0; i < v.size(); ++i) EXPECT_EQ(got[i], v[i]);
  };
  check(1.25f);
  check(-3.5);
  check(std::int8_t{-3});
  check(std::int16_t{-300});
  check(std::int32_t{-70000});
  check(std::int64_t{-5'000'000'000});
  check(std::uint8_t{7});
  check(std::uint16_t{60000});
  check(std::uint32_t{4'000'000'000u});
  check(std::uint64_t{1} << 62);
}

TEST(Npy, WritesStridedMatrixAndFloat16) {
  temp_dir dir;
  std::vector<float> storage{1, 2, 99, 3, 4, 99};
  const kplug::matrix_view<float> m(storage.data(), 2, 2, 3);
  kplug::io::write_npy(dir.file("m.npy"), m);
  const auto a = kplug::io::open_npy(dir.file("m.npy"));
  const auto v = a.values<float>();
  EXPECT_EQ(std::vector<float>(v.begin(), v.end()), (std::vector<float>{1, 2, 3, 4}));

  const std::vector<float> f{1.0f, -2.0f, 65504.0f, 0.333333f};
  kplug::io::write_npy_float16(dir.file("h.npy"), kplug::matrix_view<const float>(f.data(), 2, 2));
  const auto h = kplug::io::open_npy(dir.file("h.npy"));
  EXPECT_EQ(h.dtype(), dtype::f16);
  const auto bytes = h.bytes();
  ASSERT_EQ(bytes.size(), 8u);
  std::uint16_t bits[4];
  std::memcpy(bits, bytes.data(), 8);
  EXPECT_EQ(bits[0], 0x3c00);
  EXPECT_EQ(bits[1], 0xc000);
  EXPECT_EQ(bits[2], 0x7bff);
  EXPECT_EQ(bits[3], 0x3555);  // nearest half to 1/3
}

TEST(Npy, WriterRejectsInconsistentArguments) {
  temp_dir dir;
  const std::vector<float> v{1, 2, 3};
  KPLUG_EXPECT_ERROR(kplug::io::write_npy(dir.file("x.npy"), {2, 2}, v), "needs 16 bytes, got 12");
  KPLUG_EXPECT_ERROR(kplug::io::write_npy(dir.file("x.npy"), {-1, 3}, v), "negative");
  KPLUG_EXPECT_ERROR(kplug::io::write_npy(dir.file("x.npy"), {std::numeric_limits<index_t>::max(), 4}, v),
                     "overflows");
  KPLUG_EXPECT_ERROR(kplug::io::write_npy(dir.path() + "/no/such/dir/x.npy", {3}, v), "cannot create");
  const std::vector<std::byte> two(2);
  KPLUG_EXPECT_ERROR(kplug::io::write_npy(dir.file("x.npy"), dtype::bf16, {1}, two), "bfloat16 has no .npy spelling");
  KPLUG_EXPECT_ERROR(kplug::io::write_npy(dir.file("x.npy"), dtype::boolean, {2}, std::span(two).first(2)),
                     "bool has no .npy spelling");
  EXPECT_TRUE(std::filesystem::is_empty(dir.path())) << "nothing left behind, no temporary either";
}

// ---- bad input: each is an error naming the file and the byte ----------------

struct bad_case {
  const char* name;
  std::string bytes;
  std::vector<const char*> message_parts;
};

void PrintTo(const bad_case& c, std::ostream* os) { *os << c.name; }

class NpyBadInput : public ::testing::TestWithParam<bad_case> {};

TEST_P(NpyBadInput, IsAnErrorNamingFileAndOffset) {
  temp_dir dir;
  const auto path = dir.write("bad.npy", GetParam().bytes);
  bool threw = false;
  try {
    (void)kplug::io::open_npy(path);
  } catch (const kplug::error& e) {
    threw = true;
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    for (const char* part : GetParam().message_parts) EXPECT_NE(msg.find(part), std::string::npos) << msg << "\n  lacks: " << part;
  }
  EXPECT_TRUE(threw);
}

std::string f4(std::string_view shape) {
  return "{'descr': '<f4', 'fortran_order': False, 'shape': " + std::string(shape) + ", }";
}
std::string with_descr(std::string_view descr) {
  return "{'descr': " + std::string(descr) + ", 'fortran_order': False, 'shape': (2,), }";
}
const std::string eight_bytes(8, '\0');

std::string unaligned_data_file() {
  const std::string dict = f4("(2,)");
  const std::string header = dict + std::string(64 - 1 - dict.size(), ' ') + "\n";  // data at 10 + 64 = 74
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  return out + header + eight_bytes;
}

std::vector<bad_case> bad_cases() {
  const std::string v1_prefix("\x93NUMPY\x01\x00", 8);
  return {
      {"empty_file", "", {"byte 0", "bad magic"}},
      {"bad_magic", "\x93NUMPX\x01\x00\x10\x00" + std::string(64, ' '), {"byte 0", "bad magic"}},
      {"short_magic", "\x93NUM", {"bad magic"}},
      {"truncated_version", std::string("\x93NUMPY\x01", 7), {"byte 7", "truncated header"}},
      {"truncated_length", v1_prefix + "\x10", {"byte 9", "truncated header"}},
      {"truncated_length_v2", std::string("\x93NUMPY\x02\x00\x10\x00\x00", 11), {"truncated header"}},
      {"header_length_beyond_file", v1_prefix + std::string("\x00\x01", 2) + "{'descr': '<f4'", {"byte 8", "header length 256", "beyond"}},
      {"header_length_beyond_file_v2", std::string("\x93NUMPY\x02\x00\xff\xff\xff\xff", 12) + "{}",
       {"header length 4294967295"}},
      {"unsupported_version", std::string("\x93NUMPY\x04\x00\x00\x00", 10), {"byte 6", "version 4.0"}},
      {"unsupported_minor", std::string("\x93NUMPY\x01\x01\x00\x00", 10), {"version 1.1"}},
      {"complex_dtype", npy_bytes(with_descr("'<c8'"), eight_bytes), {"unsupported dtype '<c8'"}},
      {"unicode_dtype", npy_bytes(with_descr("'<U5'"), std::string(40, 'a')), {"unsupported dtype '<U5'"}},
      {"object_dtype", npy_bytes(with_descr("'|O'"), std::string(16, '\0')), {"unsupported dtype '|O'"}},
      {"object_dtype_short", npy_bytes(with_descr("'O'"), std::string(16, '\0')), {"unsupported dtype 'O'"}},
      {"bool_dtype", npy_bytes(with_descr("'|b1'"), "ab"), {"unsupported dtype '|b1'"}},
      {"structured_dtype", npy_bytes("{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (2,), }", eight_bytes),
       {"byte 20", "structured"}},
      {"big_endian", npy_bytes(with_descr("'>f4'"), eight_bytes), {"big-endian", "'>f4'", "byte 20"}},
      {"no_byte_order_multibyte", npy_bytes(with_descr("'|f4'"), eight_bytes), {"'|f4'"}},
      {"fortran_order", npy_bytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 1), }", eight_bytes),
       {"fortran_order True"}},
      {"shape_overflow",
       npy_bytes(f4("(4611686018427387904, 4611686018427387904)"), eight_bytes), {"overflows", "byte 10"}},
      {"shape_bytes_overflow", npy_bytes(f4("(4611686018427387904,)"), eight_bytes), {"overflows"}},
      {"dimension_beyond_63_bits", npy_bytes(f4("(99999999999999999999,)"), eight_bytes), {"63 bits"}},
      {"shape_larger_than_file", npy_bytes(f4("(3,)"), eight_bytes),
       {"byte 128", "needs 12 bytes of data but the file holds only 8"}},
      {"shape_much_larger_than_file", npy_bytes(f4("(1000000, 1000000)"), eight_bytes), {"needs 4000000000000 bytes"}},
      {"shape_claims_10e15_elements", npy_bytes(f4("(1000000000000000,)"), eight_bytes),
       {"needs 4000000000000000 bytes", "holds only 8"}},
      {"file_larger_than_shape", npy_bytes(f4("(1,)"), eight_bytes), {"byte 132", "trailing bytes"}},
      {"negative_dimension", npy_bytes(f4("(-2,)"), eight_bytes), {"non-negative integer"}},
      {"one_tuple_without_comma", npy_bytes(f4("(2)"), eight_bytes), {"trailing comma"}},
      {"shape_not_a_tuple", npy_bytes(f4("[2]"), eight_bytes), {"must be a tuple"}},
      {"shape_float", npy_bytes(f4("(2.0,)"), eight_bytes), {"expected ',' or ')'"}},
      {"missing_brace", npy_bytes("'descr': '<f4', 'fortran_order': False, 'shape': (2,)", eight_bytes),
       {"byte 10", "starting with '{'"}},
      {"unterminated_dict", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), ", eight_bytes),
       {"ends inside the dict"}},
      {"unterminated_string", npy_bytes("{'descr: '<f4'}", eight_bytes), {"expected ':'"}},
      {"string_runs_to_end", npy_bytes("{'descr", eight_bytes), {"newline inside a string"}},
      {"missing_colon", npy_bytes("{'descr' '<f4', 'fortran_order': False, 'shape': (2,), }", eight_bytes),
       {"byte 19", "expected ':'"}},
      {"missing_comma", npy_bytes("{'descr': '<f4' 'fortran_order': False, 'shape': (2,), }", eight_bytes),
       {"expected ',' or '}'"}},
      {"missing_shape", npy_bytes("{'descr': '<f4', 'fortran_order': False}", eight_bytes), {"no 'shape'"}},
      {"missing_descr", npy_bytes("{'shape': (2,), 'fortran_order': False}", eight_bytes), {"no 'descr'"}},
      {"missing_order", npy_bytes("{'shape': (2,), 'descr': '<f4'}", eight_bytes), {"no 'fortran_order'"}},
      {"duplicate_key", npy_bytes("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", eight_bytes),
       {"appears twice"}},
      {"unknown_key", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", eight_bytes),
       {"unexpected key 'x'"}},
      {"bad_bool", npy_bytes("{'descr': '<f4', 'fortran_order': false, 'shape': (2,)}", eight_bytes),
       {"True or False"}},
      {"text_after_dict", npy_bytes(f4("(2,)") + " x", eight_bytes), {"after the header dict"}},
      {"escape_in_string", npy_bytes("{'descr': '<f\\x34', 'fortran_order': False, 'shape': (2,)}", eight_bytes),
       {"escape"}},
      {"too_many_dims", npy_bytes(f4("(" + [] {
                                       std::string s;
                                       for (int i = 0; i < 65; ++i) s += "1, ";
                                       return s;
                                     }() + ")"),
                                  std::string(4, '\0')),
       {"more than 64 dimensions"}},
      {"unaligned_data", unaligned_data_file(), {"byte 74", "not a multiple of the 4-byte"}},
  };
}

INSTANTIATE_TEST_SUITE_P(All, NpyBadInput, ::testing::ValuesIn(bad_cases()),
                         [](const auto& p) { return std::string(p.param.name); });

TEST(Npy, ParseHeaderNeverReadsPastAGivenPrefix) {
  // Every prefix of a valid file is an error, never a read past the span
  // (the buffer is exactly sized so ASan/valgrind would catch an overrun).
  const std::string good = npy_bytes(f4("(2,)"), eight_bytes);
  for (std::size_t n = 0; n < good.size(); ++n) {
    std::vector<std::byte> prefix(n);
    if (n > 0) std::memcpy(prefix.data(), good.data(), n);
    EXPECT_THROW((void)kplug::io::parse_npy_header(prefix, "prefix"), kplug::error) << n;
  }
  std::vector<std::byte> all(good.size());
  std::memcpy(all.data(), good.data(), good.size());
  EXPECT_EQ(kplug::io::parse_npy_header(all, "whole").element_count, 2u);
}

TEST(Npy, OpenMissingFileIsAnError) {
  KPLUG_EXPECT_ERROR((void)kplug::io::open_npy("/nonexistent/kplug/t.npy"), "/nonexistent/kplug/t.npy");
}

// ---- larger than RAM ------------------------------------------------------------

std::uint64_t physical_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page = ::sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page) : 0;
}

TEST(Npy, SparseTableLargerThanRamOpensWithoutReading) {
  temp_dir dir;
  // At least 64 GiB and at least twice the machine's RAM, rounded to whole rows of 128 floats.
  constexpr std::uint64_t row_bytes = 128 * sizeof(float);
  std::uint64_t data_bytes = std::max<std::uint64_t>(64ull << 30, 2 * physical_memory_bytes());
  data_bytes = (data_bytes + row_bytes - 1) / row_bytes * row_bytes;
  const auto rows = static_cast<index_t>(data_bytes / row_bytes);
  const std::string header = kplug::io::npy_header_bytes(dtype::f32, {rows, 128});
  const std::string path = dir.file("huge.npy");
  {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, header.data(), header.size()), static_cast<ssize_t>(header.size()));
    const int rc = ::ftruncate(fd, static_cast<off_t>(header.size() + data_bytes));
    ::close(fd);
    if (rc != 0) GTEST_SKIP() << "this filesystem refuses a sparse file of " << data_bytes << " bytes";
  }
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  if (static_cast<std::uint64_t>(st.st_blocks) * 512 >= data_bytes)
    GTEST_SKIP() << "the filesystem allocated the whole file: not sparse";

  const auto a = kplug::io::open_npy(path);
  EXPECT_GT(a.bytes().size(), physical_memory_bytes());
  const auto m = a.as_matrix<float>();
  EXPECT_EQ(m.rows(), rows);
  EXPECT_EQ(m.cols(), 128);
  // Touch one page at the far end: holes read as zeros.
  EXPECT_EQ(m(rows - 1, 127), 0.0f);
  RecordProperty("sparse_bytes", std::to_string(data_bytes));
}

// ---- cross-checks with xtensor's independent implementation ------------------------

TEST(NpyXtensor, KplugReadsWhatXtensorWrites) {
  temp_dir dir;
  xt::xarray<float> f = {{1.5f, -2.25f, 3.0f}, {4e-8f, 5e8f, -0.0f}};
  xt::dump_npy(dir.file("f.npy"), f);
  const auto a = kplug::io::open_npy(dir.file("f.npy"));
  const auto m = a.as_matrix<float>();
  ASSERT_EQ(m.rows(), 2);
  ASSERT_EQ(m.cols(), 3);
  for (index_t r = 0; r < 2; ++r)
    for (index_t c = 0; c < 3; ++c)
      EXPECT_EQ(m(r, c), f(static_cast<std::size_t>(r), static_cast<std::size_t>(c)));

  xt::xarray<std::int64_t> offs = {0, 5, 9, 9, 1ll << 40};
  xt::dump_npy(dir.file("o.npy"), offs);
  const auto o = kplug::io::open_npy(dir.file("o.npy"));
  EXPECT_EQ(o.dtype(), dtype::i64);
  const auto ov = o.values<std::int64_t>();
  ASSERT_EQ(ov.size(), 5u);
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(ov[i], offs(i));

  xt::xarray<std::int32_t> cube = xt::xarray<std::int32_t>::from_shape({2, 3, 4});
  for (std::size_t i = 0; i < cube.size(); ++i) cube.flat(i) = static_cast<std::int32_t>(i * 7) - 40;
  xt::dump_npy(dir.file("c.npy"), cube);
  const auto c = kplug::io::open_npy(dir.file("c.npy"));
  ASSERT_EQ(c.ndim(), 3u);
  EXPECT_EQ(c.shape()[2], 4);
  for (std::size_t i = 0; i < cube.size(); ++i) EXPECT_EQ(c.values<std::int32_t>()[i], cube.flat(i));
}

TEST(NpyXtensor, XtensorReadsWhatKplugWrites) {
  temp_dir dir;
  std::vector<float> f;
  for (int i = 0; i < 4 * 7; ++i) f.push_back(static_cast<float>(i) * 0.37f - 3.0f);
  kplug::io::write_npy(dir.file("f.npy"), {4, 7}, f);
  const auto xf = xt::load_npy<float>(dir.file("f.npy"));
  ASSERT_EQ(xf.dimension(), 2u);
  EXPECT_EQ(xf.shape()[0], 4u);
  EXPECT_EQ(xf.shape()[1], 7u);
  for (std::size_t i = 0; i < f.size(); ++i) EXPECT_EQ(xf.flat(i), f[i]);

  const std::vector<std::int64_t> o{0, 3, 3, 17, -1, std::numeric_limits<std::int64_t>::max()};
  kplug::io::write_npy(dir.file("o.npy"), {6}, o);
  const auto xo = xt::load_npy<std::int64_t>(dir.file("o.npy"));
  ASSERT_EQ(xo.dimension(), 1u);
  ASSERT_EQ(xo.size(), 6u);
  for (std::size_t i = 0; i < o.size(); ++i) EXPECT_EQ(xo(i), o[i]);

  const std::vector<double> d{0.1, -1e300};
  kplug::io::write_npy(dir.file("d.npy"), {1, 2}, d);
  const auto xd = xt::load_npy<double>(dir.file("d.npy"));
  EXPECT_EQ(xd(0, 1), -1e300);
}

}  // namespace
