// The safetensors reader and writer: byte-exact layout against fixtures built
// by hand from the format description (and matching the reference
// implementation's own serialization tests), round trips of every dtype, and
// one crafted file per way the strict reader refuses a file.
#include <gtest/gtest.h>

#include <kplug/io/npy.hpp>
#include <kplug/io/safetensors.hpp>

#include <algorithm>
#include <bit>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <string>
#include <vector>

#include "plugin/plugin_test_support.hpp"
#include "support/temp_dir.hpp"

namespace {

using kplug::index_t;
using kplug::io::named_tensor;
using kplug::io::safetensors_file;
using kplug::io::dtype;
using kplug_test::temp_dir;

using kplug_test::le64;

template <class T>
std::string le_bytes(std::initializer_list<T> values) {
  std::string s;
  for (const T v : values) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));  // the test host is little-endian, as the reader requires
    s.append(b, sizeof(T));
  }
  return s;
}

// A file of header length + `json` verbatim + `data`.
std::string raw_file(const std::string& json, const std::string& data = "") { return le64(json.size()) + json + data; }

std::span<const std::byte> as_span(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

// Every file in `dir` (names only).
using kplug_test::listing;

// ------------------------------------------------------------------ layout fixtures

// The spec's example tensor: "attn.0", F32, shape [1, 2, 3], values 0..5.
// Header JSON written out by hand: 64 bytes, already a multiple of 8.
TEST(SafetensorsWriter, MatchesHandBuiltFixtureByteForByte) {
  const std::vector<float> values{0, 1, 2, 3, 4, 5};
  const named_tensor t = kplug::io::make_tensor("attn.0", {1, 2, 3}, std::span<const float>(values));
  const std::string json = R"({"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}})";
  ASSERT_EQ(json.size(), 64u);
  const std::string expected = le64(64) + json + le_bytes<float>({0.f, 1.f, 2.f, 3.f, 4.f, 5.f});
  EXPECT_EQ(kplug::io::serialize_safetensors(std::span(&t, 1)), expected);

  // The first bytes as the format describes them: N = 64 little-endian, then '{'.
  const std::string out = kplug::io::serialize_safetensors(std::span(&t, 1));
  EXPECT_EQ(static_cast<unsigned char>(out[0]), 64);
  EXPECT_EQ(out[8], '{');
  // The float 1.0f is 00 00 80 3f.
  EXPECT_EQ(out.substr(72 + 4, 4), std::string("\x00\x00\x80\x3f", 4));
}

TEST(SafetensorsWriter, PadsTheHeaderWithSpacesToAMultipleOfEight) {
  const std::vector<float> values{0, 1, 2, 3, 4, 5};
  const named_tensor t = kplug::io::make_tensor("attn0", {1, 1, 2, 3}, std::span<const float>(values));
  const std::string json = R"({"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}})";
  ASSERT_EQ(json.size(), 65u);
  const std::string expected = le64(72) + json + std::string(7, ' ') + le_bytes<float>({0, 1, 2, 3, 4, 5});
  EXPECT_EQ(kplug::io::serialize_safetensors(std::span(&t, 1)), expected);
}

TEST(SafetensorsWriter, EmptyFileAndMetadataOnly) {
  EXPECT_EQ(kplug::io::serialize_safetensors({}), le64(8) + "{}" + std::string(6, ' '));
  const kplug::io::safetensors_metadata md{{"framework", "pt"}};
  const std::string json = R"({"__metadata__":{"framework":"pt"}})";
  ASSERT_EQ(json.size(), 35u);
  EXPECT_EQ(kplug::io::serialize_safetensors({}, md), le64(40) + json + std::string(5, ' '));
}

// Descending dtype order of the reference's enum, then name; offsets back to back.
TEST(SafetensorsWriter, OrdersByDescendingDtypeThenNameLikeTheReference) {
  const std::vector<std::uint8_t> a{1, 2, 3};
  const std::vector<float> b{1.5f, -2.f};
  const std::vector<double> c{0.25};
  const std::vector<std::uint16_t> d{0x3c00};  // F16 1.0
  const std::vector<float> b2{7.f};
  const std::vector<named_tensor> ts{
      kplug::io::make_tensor("a", {3}, a),
      kplug::io::make_tensor("b", {2}, b),
      kplug::io::make_tensor("c", {1}, c),
      {"d", dtype::f16, {1}, std::as_bytes(std::span<const std::uint16_t>(d))},
      kplug::io::make_tensor("a2", {1}, b2),
  };
  const kplug::io::safetensors_metadata md{{"z", "last"}, {"a", "first \"quoted\"\n"}};
  const std::string json =
      R"({"__metadata__":{"a":"first \"quoted\"\n","z":"last"},)"
      R"("c":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},)"
      R"("a2":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},)"
      R"("b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]},)"
      R"("d":{"dtype":"F16","shape":[1],"data_offsets":[20,22]},)"
      R"("a":{"dtype":"U8","shape":[3],"data_offsets":[22,25]}})";
  const std::string padded = json + std::string((8 - json.size() % 8) % 8, ' ');
  const std::string data = le_bytes<double>({0.25}) + le_bytes<float>({7.f}) + le_bytes<float>({1.5f, -2.f}) +
                           le_bytes<std::uint16_t>({0x3c00}) + std::string("\x01\x02\x03", 3);
  EXPECT_EQ(kplug::io::serialize_safetensors(ts, md), le64(padded.size()) + padded + data);
}

// ------------------------------------------------------------------ round trips

TEST(SafetensorsRoundTrip, EveryDtypeIsReadBackExactlyAndAligned) {
  temp_dir dir;
  // Distinct bytes per tensor; sizes chosen so that a naive name order would misalign.
  std::vector<std::vector<std::byte>> storage;
  std::vector<named_tensor> ts;
  std::size_t k = 0;
  for (const dtype t : kplug::io::all_dtypes) {
    const std::vector<index_t> shape{3, static_cast<index_t>(k % 3 + 1)};
    const std::size_t n = 3 * (k % 3 + 1) * kplug::io::dtype_size(t);
    std::vector<std::byte> bytes(n);
    for (std::size_t i = 0; i < n; ++i) bytes[i] = static_cast<std::byte>((k * 31 + i * 7 + 1) & 0xff);
    if (t == dtype::boolean)
      for (auto& b : bytes) b = static_cast<std::byte>(static_cast<unsigned>(b) & 1u);
    storage.push_back(std::move(bytes));
    ts.push_back({"t_" + std::string(kplug::io::safetensors_dtype_name(t)), t, shape, storage.back()});
    ++k;
  }
  const std::string path = dir.file("all.safetensors");
  kplug::io::write_safetensors(path, ts, {{"note", "every dtype"}});
  const safetensors_file f(path);
  ASSERT_EQ(f.size(), ts.size());
  EXPECT_EQ(f.metadata().at("note"), "every dtype");
  for (const auto& t : ts) {
    SCOPED_TRACE(t.name);
    ASSERT_TRUE(f.contains(t.name));
    const auto v = f.tensor(t.name);
    EXPECT_EQ(v.dtype(), t.dtype);
    EXPECT_TRUE(std::equal(v.shape().begin(), v.shape().end(), t.shape.begin(), t.shape.end()));
    EXPECT_EQ(v.element_count(), static_cast<std::uint64_t>(t.shape[0] * t.shape[1]));
    ASSERT_EQ(v.bytes().size(), t.bytes.size());
    EXPECT_EQ(std::memcmp(v.bytes().data(), t.bytes.data(), t.bytes.size()), 0);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(v.bytes().data()) % kplug::io::dtype_size(t.dtype), 0u);
  }
  // Typed views without a copy.
  const auto i64 = f.tensor("t_I64").values<std::int64_t>();
  std::int64_t first = 0;
  std::memcpy(&first, storage[13].data(), 8);
  EXPECT_EQ(i64[0], first);
  EXPECT_EQ(f.tensor("t_BOOL").values<bool>().size(), 3u);
  // Names are sorted.
  const auto names = f.names();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
}

TEST(SafetensorsRoundTrip, ScalarsEmptyTensorsAndMatrices) {
  temp_dir dir;
  const std::vector<double> scalar{2.5};
  const std::vector<float> none;
  kplug::matrix<float> m(3, 4);
  for (index_t r = 0; r < 3; ++r)
    for (index_t c = 0; c < 4; ++c) m(r, c) = static_cast<float>(10 * r + c);
  const std::vector<named_tensor> ts{
      kplug::io::make_tensor("scalar", {}, scalar),
      kplug::io::make_tensor("empty", {0, 5}, none),
      kplug::io::make_tensor("m", m),
  };
  const std::string path = dir.file("x.safetensors");
  kplug::io::write_safetensors(path, ts);
  const safetensors_file f(path);
  EXPECT_EQ(f.tensor("scalar").ndim(), 0u);
  EXPECT_EQ(f.tensor("scalar").values<double>()[0], 2.5);
  EXPECT_EQ(f.tensor("empty").element_count(), 0u);
  EXPECT_TRUE(f.tensor("empty").bytes().empty());
  const auto view = f.tensor("m").as_matrix<float>();
  ASSERT_EQ(view.rows(), 3);
  ASSERT_EQ(view.cols(), 4);
  EXPECT_EQ(view(2, 3), 23.f);
  EXPECT_EQ(f.tensor("m").to_float32_matrix()(1, 2), 12.f);
}

TEST(SafetensorsRoundTrip, ViewsSurviveAMoveOfTheFile) {
  temp_dir dir;
  const std::vector<float> v{1, 2, 3};
  const std::vector<named_tensor> ts{kplug::io::make_tensor("v", {3}, v)};
  kplug::io::write_safetensors(dir.file("a"), ts);
  safetensors_file f(dir.file("a"));
  const auto view = f.tensor("v");
  safetensors_file g = std::move(f);
  EXPECT_EQ(view.name(), "v");
  EXPECT_EQ(view.values<float>()[2], 3.f);
  EXPECT_EQ(view.source(), dir.file("a"));
  EXPECT_EQ(g.tensor("v").values<float>()[1], 2.f);
}

TEST(SafetensorsRoundTrip, StridedMatrixViewIsRefusedByMakeTensor) {
  kplug::matrix<float> m(4, 4);
  const kplug::matrix_view<const float> strided(m.data(), 4, 2, 4);
  EXPECT_THROW(kplug::io::make_tensor("s", strided), kplug::error);
}

// ------------------------------------------------------------------ conversions

TEST(SafetensorsConvert, HalfBfloatAndDoubleWidenToFloat) {
  temp_dir dir;
  // IEEE binary16: 0x3c00 = 1, 0xc000 = -2, 0x7c00 = +inf, 0x0001 = 2^-24, 0x3555 = 0.333251953125.
  const std::vector<std::uint16_t> f16{0x3c00, 0xc000, 0x7c00, 0x0001, 0x3555};
  // bfloat16 = top 16 bits of binary32: 0x3f80 = 1, 0x4049 = 3.140625, 0xc2f7 = -123.5.
  const std::vector<std::uint16_t> bf16{0x3f80, 0x4049, 0xc2f7};
  const std::vector<double> f64{0.1, -1e300};
  const std::vector<named_tensor> ts{
      {"h", dtype::f16, {5}, std::as_bytes(std::span<const std::uint16_t>(f16))},
      {"b", dtype::bf16, {3}, std::as_bytes(std::span<const std::uint16_t>(bf16))},
      kplug::io::make_tensor("d", {2}, f64),
  };
  kplug::io::write_safetensors(dir.file("c"), ts);
  const safetensors_file f(dir.file("c"));
  const auto h = f.tensor("h").to_float32();
  EXPECT_EQ(h, (std::vector<float>{1.f, -2.f, std::numeric_limits<float>::infinity(), 0x1p-24f, 0.333251953125f}));
  EXPECT_EQ(f.tensor("b").to_float32(), (std::vector<float>{1.f, 3.140625f, -123.5f}));
  const auto d = f.tensor("d").to_float32();
  EXPECT_EQ(d[0], 0.1f);
  EXPECT_EQ(d[1], -std::numeric_limits<float>::infinity());
  KPLUG_EXPECT_ERROR((void)f.tensor("h").values<float>(), "tensor 'h'", "holds F16, not F32");
  KPLUG_EXPECT_ERROR((void)f.tensor("h").as_matrix<float>(), "expected a 2-D tensor");
  std::vector<float> small(2);
  KPLUG_EXPECT_ERROR(f.tensor("h").to_float32(small), "holds 2 floats");
}

TEST(SafetensorsConvert, IntegerTensorsDoNotConvertToFloat) {
  temp_dir dir;
  const std::vector<std::int32_t> v{1, 2};
  const std::vector<named_tensor> ts{kplug::io::make_tensor("i", {2}, v)};
  kplug::io::write_safetensors(dir.file("i"), ts);
  const safetensors_file f(dir.file("i"));
  KPLUG_EXPECT_ERROR((void)f.tensor("i").to_float32(), "tensor 'i'", "I32 is not a floating-point type");
}

// A file from a writer that does not align (old safetensors sorted by name only):
// U8[2] at [0,2) then F32[2] at [2,10). Typed views refuse, conversion copies.
TEST(SafetensorsConvert, UnalignedDataIsRefusedByViewsAndCopiedByConversion) {
  const std::string json =
      R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"F32","shape":[2],"data_offsets":[2,10]}})";
  const std::string padded = json + std::string((8 - json.size() % 8) % 8, ' ');
  temp_dir dir;
  const std::string path = dir.write("u.safetensors", raw_file(padded, "\x07\x08" + le_bytes<float>({1.5f, -3.f})));
  const safetensors_file f(path);
  KPLUG_EXPECT_ERROR((void)f.tensor("b").values<float>(), "tensor 'b'", "not aligned");
  EXPECT_EQ(f.tensor("b").to_float32(), (std::vector<float>{1.5f, -3.f}));
  EXPECT_EQ(f.tensor("a").values<std::uint8_t>()[1], 8);
}

// ------------------------------------------------------------------ strict reader

struct bad_case {
  const char* label;
  std::string file;
  std::vector<std::string> message_parts;
};
void PrintTo(const bad_case& c, std::ostream* os) { *os << c.label; }

class SafetensorsStrict : public ::testing::TestWithParam<bad_case> {};

TEST_P(SafetensorsStrict, RefusesWithAClearError) {
  const bad_case& c = GetParam();
  temp_dir dir;
  const std::string path = dir.write("bad.safetensors", c.file);
  bool threw = false;
  try {
    safetensors_file f(path);
  } catch (const kplug::error& e) {
    threw = true;
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    for (const auto& part : c.message_parts) EXPECT_NE(msg.find(part), std::string::npos) << msg << "\n lacks: " << part;
  }
  EXPECT_TRUE(threw) << c.label;
  // The same bytes from memory give the same verdict.
  EXPECT_THROW(kplug::io::parse_safetensors_header(as_span(c.file), "mem"), kplug::error);
}

std::string entry(const std::string& name, const std::string& body) { return "\"" + name + "\":" + body; }
std::string f32(const std::string& name, const std::string& shape, const std::string& offsets) {
  return entry(name, R"({"dtype":"F32","shape":)" + shape + R"(,"data_offsets":)" + offsets + "}");
}
std::string zeros(std::size_t n) { return std::string(n, '\0'); }

std::vector<bad_case> bad_cases() {
  std::vector<bad_case> v;
  const std::string good_a = f32("a", "[2]", "[0,8]");
  v.push_back({"empty file", "", {"empty"}});
  v.push_back({"short file", "abcde", {"only 5 bytes"}});
  v.push_back({"header beyond the file", le64(100) + "{}", {"beyond the end", "100"}});
  v.push_back({"header above the cap", le64(200'000'000) + "{}", {"exceeds the limit", "100000000"}});
  v.push_back({"header of 4 GiB", le64(std::uint64_t{4} << 30) + "{}",
               {"header length 4294967296 exceeds the limit of 100000000 bytes"}});
  v.push_back({"header too small", le64(1) + "{", {"cannot hold"}});
  v.push_back({"not starting with {", raw_file("[]"), {"does not start with '{'"}});
  v.push_back({"leading space", raw_file(" {}"), {"does not start with '{'"}});
  v.push_back({"invalid JSON", raw_file("{\"a\":"), {"invalid JSON"}});
  v.push_back({"trailing garbage in header", raw_file("{} x"), {"invalid JSON"}});
  v.push_back({"number beyond double's range", raw_file("{\"a\":1e999}"), {"invalid JSON", "number overflow"}});
  v.push_back({"invalid UTF-8", raw_file("{\"\xff\xfe\":1}"), {"invalid JSON"}});
  v.push_back({"entry not an object", raw_file("{" + entry("a", "5") + "}"), {"tensor 'a'", "not an object"}});
  v.push_back({"missing dtype", raw_file("{" + entry("a", R"({"shape":[1],"data_offsets":[0,4]})") + "}", zeros(4)),
               {"tensor 'a'", "no 'dtype'"}});
  v.push_back({"missing shape", raw_file("{" + entry("a", R"({"dtype":"F32","data_offsets":[0,4]})") + "}", zeros(4)),
               {"tensor 'a'", "no 'shape'"}});
  v.push_back({"missing data_offsets", raw_file("{" + entry("a", R"({"dtype":"F32","shape":[1]})") + "}", zeros(4)),
               {"tensor 'a'", "no 'data_offsets'"}});
  v.push_back({"extra field",
               raw_file("{" + entry("a", R"({"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1})") + "}", zeros(4)),
               {"tensor 'a'", "unexpected field 'x'"}});
  v.push_back({"dtype not a string",
               raw_file("{" + entry("a", R"({"dtype":4,"shape":[1],"data_offsets":[0,4]})") + "}", zeros(4)),
               {"tensor 'a'", "dtype is not a string"}});
  v.push_back({"unknown dtype",
               raw_file("{" + entry("a", R"({"dtype":"float32","shape":[1],"data_offsets":[0,4]})") + "}", zeros(4)),
               {"tensor 'a'", "unknown dtype \"float32\"", "F32"}});
  v.push_back({"lower-case dtype",
               raw_file("{" + entry("a", R"({"dtype":"f32","shape":[1],"data_offsets":[0,4]})") + "}", zeros(4)),
               {"unknown dtype"}});
  v.push_back({"shape not an array", raw_file("{" + f32("a", "4", "[0,16]") + "}", zeros(16)), {"shape is not an array"}});
  v.push_back({"negative dim", raw_file("{" + f32("a", "[-1]", "[0,4]") + "}", zeros(4)),
               {"tensor 'a'", "shape[0] is not a non-negative integer", "-1"}});
  v.push_back({"fractional dim", raw_file("{" + f32("a", "[1,2.5]", "[0,4]") + "}", zeros(4)),
               {"shape[1] is not a non-negative integer", "2.5"}});
  v.push_back({"string dim", raw_file("{" + f32("a", "[\"3\"]", "[0,12]") + "}", zeros(12)),
               {"shape[0] is not a non-negative integer"}});
  v.push_back({"dim beyond int64", raw_file("{" + f32("a", "[9223372036854775808]", "[0,4]") + "}", zeros(4)),
               {"does not fit int64"}});
  v.push_back({"dim beyond uint64", raw_file("{" + f32("a", "[18446744073709551616]", "[0,4]") + "}", zeros(4)),
               {"shape[0] is not a non-negative integer"}});
  v.push_back({"shape product overflow", raw_file("{" + f32("a", "[4294967296,4294967296]", "[0,4]") + "}", zeros(4)),
               {"tensor 'a'", "overflows"}});
  v.push_back({"offsets not an array", raw_file("{" + f32("a", "[1]", "4") + "}", zeros(4)),
               {"data_offsets is not an array of two integers"}});
  v.push_back({"three offsets", raw_file("{" + f32("a", "[1]", "[0,4,8]") + "}", zeros(4)),
               {"data_offsets is not an array of two integers"}});
  v.push_back({"negative offset", raw_file("{" + f32("a", "[1]", "[-4,0]") + "}", zeros(4)),
               {"two non-negative integers"}});
  v.push_back({"fractional offset", raw_file("{" + f32("a", "[1]", "[0,4.0]") + "}", zeros(4)),
               {"two non-negative integers"}});
  v.push_back({"reversed offsets", raw_file("{" + f32("a", "[0]", "[4,0]") + "}", zeros(4)),
               {"tensor 'a'", "end before they begin"}});
  v.push_back({"range beyond the buffer", raw_file("{" + f32("a", "[4]", "[0,16]") + "}", zeros(12)),
               {"tensor 'a'", "beyond the data buffer of 12 bytes"}});
  v.push_back({"shape claiming 10^15 elements",
               raw_file("{" + f32("a", "[1000000000000000]", "[0,4000000000000000]") + "}", zeros(4)),
               {"tensor 'a'", "beyond the data buffer of 4 bytes"}});
  v.push_back({"huge range", raw_file("{" + f32("a", "[1]", "[18446744073709551611,18446744073709551615]") + "}", zeros(4)),
               {"beyond the data buffer"}});
  v.push_back({"size disagrees with shape", raw_file("{" + f32("a", "[3]", "[0,8]") + "}", zeros(8)),
               {"tensor 'a'", "needs 12 bytes", "hold 8"}});
  v.push_back({"overlapping ranges", raw_file("{" + good_a + "," + f32("b", "[2]", "[4,12]") + "}", zeros(12)),
               {"tensor 'b'", "overlap tensor 'a'", "[0, 8)"}});
  v.push_back({"identical ranges", raw_file("{" + good_a + "," + f32("b", "[2]", "[0,8]") + "}", zeros(8)),
               {"overlap tensor"}});
  v.push_back({"gap between tensors", raw_file("{" + good_a + "," + f32("b", "[1]", "[12,16]") + "}", zeros(16)),
               {"tensor 'b'", "bytes [8, 12)", "belong to no tensor"}});
  v.push_back({"gap at the start", raw_file("{" + f32("a", "[1]", "[4,8]") + "}", zeros(8)),
               {"tensor 'a'", "bytes [0, 4)"}});
  v.push_back({"trailing bytes", raw_file("{" + good_a + "}", zeros(9)), {"holds 9 bytes", "cover only 8"}});
  v.push_back({"data without tensors", raw_file("{}", zeros(3)), {"holds 3 bytes", "cover only 0"}});
  v.push_back({"duplicate tensor name", raw_file("{" + good_a + "," + f32("a", "[2]", "[8,16]") + "}", zeros(16)),
               {"tensor 'a'", "twice"}});
  v.push_back({"duplicate key inside an entry",
               raw_file("{" + entry("a", R"({"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]})") + "}",
                        zeros(4)),
               {"duplicate JSON key 'dtype'"}});
  v.push_back({"metadata not an object", raw_file(R"({"__metadata__":[1]})"), {"__metadata__ is not an object"}});
  v.push_back({"metadata value not a string", raw_file(R"({"__metadata__":{"k":1}})"),
               {"__metadata__['k']", "must be strings"}});
  v.push_back({"metadata nested object", raw_file(R"({"__metadata__":{"k":{"x":"y"}}})"), {"must be strings"}});
  v.push_back({"duplicate metadata", raw_file(R"({"__metadata__":{},"__metadata__":{}})"), {"twice"}});
  v.push_back({"nesting too deep", raw_file("{" + f32("a", "[[1]]", "[0,4]") + "}", zeros(4)), {"nests deeper"}});
  v.push_back({"empty tensor name", raw_file("{" + f32("", "[1]", "[0,4]") + "}", zeros(4)), {"empty name"}});
  return v;
}

INSTANTIATE_TEST_SUITE_P(Bad, SafetensorsStrict, ::testing::ValuesIn(bad_cases()),
                         [](const ::testing::TestParamInfo<bad_case>& param_info) {
                           std::string s = param_info.param.label;
                           for (char& c : s)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return s;
                         });

TEST(SafetensorsStrictness, EmptyTensorsMayShareOffsetsAndSitAnywhereInside) {
  const std::string json = "{" + f32("a", "[2]", "[0,8]") + "," + f32("e1", "[0]", "[4,4]") + "," +
                           f32("e2", "[0,3]", "[8,8]") + "}";
  const auto h = kplug::io::parse_safetensors_header(as_span(raw_file(json, zeros(8))), "mem");
  EXPECT_EQ(h.tensors.size(), 3u);
  // ... but not outside the buffer.
  const std::string out = "{" + f32("a", "[2]", "[0,8]") + "," + f32("e", "[0]", "[9,9]") + "}";
  KPLUG_EXPECT_ERROR(kplug::io::parse_safetensors_header(as_span(raw_file(out, zeros(8))), "mem"), "tensor 'e'",
                     "beyond the data buffer");
}

TEST(SafetensorsStrictness, ZeroDimensionMakesAnyShapeEmpty) {
  // A huge dim times zero is zero bytes, not an overflow.
  const std::string json = "{" + f32("z", "[4294967296,4294967296,0]", "[0,0]") + "}";
  const auto h = kplug::io::parse_safetensors_header(as_span(raw_file(json)), "mem");
  EXPECT_EQ(h.tensors[0].element_count, 0u);
}

TEST(SafetensorsStrictness, WhitespacePaddingAfterTheJsonIsAccepted) {
  const std::string json = "{" + f32("a", "[1]", "[0,4]") + "}\n\t  ";
  EXPECT_NO_THROW(kplug::io::parse_safetensors_header(as_span(raw_file(json, zeros(4))), "mem"));
}

// ------------------------------------------------------------------ foreign files

TEST(SafetensorsForeign, NpyFileIsRecognised) {
  temp_dir dir;
  const std::vector<float> v(16, 1.f);
  kplug::io::write_npy(dir.file("t.npy"), std::vector<index_t>{4, 4}, v);
  KPLUG_EXPECT_ERROR((void)safetensors_file(dir.file("t.npy")), dir.file("t.npy"), "NumPy .npy");
}

TEST(SafetensorsForeign, JsonTextFileIsRecognised) {
  temp_dir dir;
  const std::string p = dir.write("config.json", R"({"hidden_size": 384, "vocab_size": 30522})");
  KPLUG_EXPECT_ERROR((void)safetensors_file(p), p, "JSON text file");
}

TEST(SafetensorsForeign, ZipArchiveIsRecognised) {
  temp_dir dir;
  const std::string p = dir.write("pytorch_model.bin", std::string("PK\x03\x04", 4) + std::string(60, '\x01'));
  KPLUG_EXPECT_ERROR((void)safetensors_file(p), p, "zip archive");
}

TEST(SafetensorsForeign, EmptyAndRandomFiles) {
  temp_dir dir;
  KPLUG_EXPECT_ERROR((void)safetensors_file(dir.write("e", "")), "empty");
  std::uint64_t x = 0x9e3779b97f4a7c15ULL;
  for (int trial = 0; trial < 50; ++trial) {
    std::string bytes(static_cast<std::size_t>(trial * 37 % 500), '\0');
    for (auto& c : bytes) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      c = static_cast<char>(x & 0xff);
    }
    EXPECT_THROW(kplug::io::parse_safetensors_header(as_span(bytes), "random"), kplug::error) << trial;
  }
  KPLUG_EXPECT_ERROR((void)safetensors_file(dir.file("missing")), "missing");
  KPLUG_EXPECT_ERROR((void)safetensors_file(dir.path()), "not a regular file");
}

// Every truncation and every single-byte corruption of a valid file is either
// accepted or refused with kplug::error: never another exception, never a crash
// (the sanitizer / valgrind run checks the "never out of bounds" part).
TEST(SafetensorsForeign, TruncationsAndCorruptionsNeverEscapeAsAnythingButKplugError) {
  const std::vector<float> a{1, 2, 3, 4};
  const std::vector<std::int64_t> b{5, 6};
  const std::vector<named_tensor> ts{kplug::io::make_tensor("a", {2, 2}, a), kplug::io::make_tensor("b", {2}, b)};
  const std::string good = kplug::io::serialize_safetensors(ts, {{"k", "v"}});
  ASSERT_NO_THROW(kplug::io::parse_safetensors_header(as_span(good), "good"));
  for (std::size_t n = 0; n < good.size(); ++n) {
    // Copy into an exactly-sized buffer so a sanitizer sees any overrun.
    const std::vector<std::byte> cut(as_span(good).begin(), as_span(good).begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_THROW(kplug::io::parse_safetensors_header(cut, "cut"), kplug::error) << n;
  }
  std::size_t accepted = 0;
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (const unsigned flip : {0x01u, 0x80u, 0x20u}) {
      std::string bad = good;
      bad[i] = static_cast<char>(static_cast<unsigned char>(bad[i]) ^ flip);
      const std::vector<std::byte> buf(as_span(bad).begin(), as_span(bad).end());
      try {
        kplug::io::parse_safetensors_header(buf, "flip");
        ++accepted;
      } catch (const kplug::error&) {
      }
    }
  }
  // Flips in the data buffer (and some harmless ones in names) are accepted.
  EXPECT_GT(accepted, 0u);
}

// ------------------------------------------------------------------ lookups

TEST(SafetensorsLookup, MissingTensorNamesTheFileAndWhatItHolds) {
  temp_dir dir;
  const std::vector<float> v{1};
  const std::vector<named_tensor> ts{kplug::io::make_tensor("weight", {1}, v), kplug::io::make_tensor("bias", {1}, v)};
  kplug::io::write_safetensors(dir.file("m"), ts);
  const safetensors_file f(dir.file("m"));
  EXPECT_FALSE(f.contains("Weight"));
  EXPECT_FALSE(f.find("nope").has_value());
  EXPECT_TRUE(f.find("bias").has_value());
  KPLUG_EXPECT_ERROR((void)f.tensor("embeddings"), dir.file("m"), "tensor 'embeddings'", "'bias', 'weight'");
}

// ------------------------------------------------------------------ writer errors and atomicity

TEST(SafetensorsWriterErrors, InvalidInputsAreRefusedBeforeAnythingIsWritten) {
  temp_dir dir;
  const std::vector<float> v{1, 2};
  const std::string p = dir.file("w.safetensors");
  const auto refuse = [&](std::vector<named_tensor> ts, const kplug::io::safetensors_metadata& md,
                          const std::string& part) {
    KPLUG_EXPECT_ERROR(kplug::io::write_safetensors(p, ts, md), part);
    EXPECT_FALSE(std::filesystem::exists(p));
    EXPECT_TRUE(listing(dir.path()).empty());
  };
  refuse({kplug::io::make_tensor("a", {2}, v), kplug::io::make_tensor("a", {2}, v)}, {}, "appears twice");
  refuse({kplug::io::make_tensor("", {2}, v)}, {}, "empty tensor name");
  refuse({kplug::io::make_tensor("__metadata__", {2}, v)}, {}, "reserved");
  refuse({kplug::io::make_tensor("a", {3}, v)}, {}, "needs 12 bytes, got 8");
  refuse({kplug::io::make_tensor("a", {-1, -2}, v)}, {}, "negative");
  const std::vector<float> none;
  refuse({kplug::io::make_tensor("a", {index_t{1} << 32, index_t{1} << 32}, none)}, {}, "overflows 64 bits");
  refuse({kplug::io::make_tensor("a", {index_t{1} << 62, 4}, none)}, {}, "overflows 64 bits");
  refuse({kplug::io::make_tensor("a", {2}, v)}, {{"k", "bad \xff utf8"}}, "not valid UTF-8");
  // Same name with different dtypes is still a duplicate.
  const std::vector<double> d{1};
  refuse({kplug::io::make_tensor("a", {2}, v), kplug::io::make_tensor("a", {1}, d)}, {}, "appears twice");
}

TEST(SafetensorsWriterErrors, AFailedWriteKeepsTheOldFileAndLeavesNoTemporary) {
  temp_dir dir;
  const std::vector<float> v{1, 2};
  const std::string p = dir.file("w.safetensors");
  const std::vector<named_tensor> good{kplug::io::make_tensor("a", {2}, v)};
  kplug::io::write_safetensors(p, good);
  const std::string before = kplug_test::read_all(p);
  EXPECT_EQ(listing(dir.path()), std::vector<std::string>{"w.safetensors"});

  const std::vector<named_tensor> bad{kplug::io::make_tensor("a", {5}, v)};
  EXPECT_THROW(kplug::io::write_safetensors(p, bad), kplug::error);
  EXPECT_EQ(kplug_test::read_all(p), before);

  // The target is a directory: the rename fails after the data was written.
  std::filesystem::create_directory(dir.file("sub"));
  KPLUG_EXPECT_ERROR(kplug::io::write_safetensors(dir.file("sub"), good), "rename failed");
  EXPECT_EQ(listing(dir.path()), (std::vector<std::string>{"sub", "w.safetensors"}));
  // A directory that does not exist.
  KPLUG_EXPECT_ERROR(kplug::io::write_safetensors(dir.file("nope/x.safetensors"), good), "temporary file");
  EXPECT_EQ(listing(dir.path()), (std::vector<std::string>{"sub", "w.safetensors"}));

  // Overwriting with new content replaces the file whole.
  const std::vector<float> w{9, 8, 7};
  const std::vector<named_tensor> next{kplug::io::make_tensor("b", {3}, w)};
  kplug::io::write_safetensors(p, next);
  const safetensors_file f(p);
  EXPECT_FALSE(f.contains("a"));
  EXPECT_EQ(f.tensor("b").values<float>()[2], 7.f);
  EXPECT_EQ(listing(dir.path()), (std::vector<std::string>{"sub", "w.safetensors"}));
}

TEST(SafetensorsDtype, NamesAndSizesFollowTheFormat) {
  EXPECT_EQ(kplug::io::parse_safetensors_dtype("BF16"), dtype::bf16);
  EXPECT_EQ(kplug::io::parse_safetensors_dtype("F8_E4M3"), dtype::f8_e4m3);
  EXPECT_FALSE(kplug::io::parse_safetensors_dtype("F4").has_value());
  EXPECT_EQ(kplug::io::dtype_size(dtype::boolean), 1u);
  EXPECT_EQ(kplug::io::dtype_size(dtype::bf16), 2u);
  EXPECT_EQ(kplug::io::dtype_size(dtype::u32), 4u);
  EXPECT_EQ(kplug::io::dtype_size(dtype::i64), 8u);
  for (const dtype t : kplug::io::all_dtypes)
    EXPECT_EQ(kplug::io::parse_safetensors_dtype(kplug::io::safetensors_dtype_name(t)), t);
}

}  // namespace
