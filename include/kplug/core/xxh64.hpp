// XXH64 (xxHash, 64-bit variant, as specified in Cyan4973/xxHash
// doc/xxhash_spec.md), implemented here from the spec: the hash of plugin
// fingerprints and of backend cache keys. Not cryptographic.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace kplug {

// XXH64 of `bytes`.
std::uint64_t xxh64(std::span<const std::byte> bytes, std::uint64_t seed = 0) noexcept;
inline std::uint64_t xxh64(std::string_view text, std::uint64_t seed = 0) noexcept {
  return xxh64(std::as_bytes(std::span<const char>(text.data(), text.size())), seed);
}

// Incremental XXH64: update() in any pieces gives the hash of their concatenation.
class xxh64_stream {
 public:
  explicit xxh64_stream(std::uint64_t seed = 0) noexcept;
  void update(std::span<const std::byte> bytes) noexcept;
  void update(std::string_view text) noexcept {
    update(std::as_bytes(std::span<const char>(text.data(), text.size())));
  }
  // 8 bytes little-endian.
  void update_u64(std::uint64_t v) noexcept;
  std::uint64_t digest() const noexcept;

 private:
  std::uint64_t seed_;
  std::uint64_t v_[4];
  std::uint64_t total_ = 0;
  std::byte buf_[32]{};
  std::size_t buffered_ = 0;
};

// ---------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------

namespace detail {

inline constexpr std::uint64_t xxh_p1 = 0x9E3779B185EBCA87ULL;
inline constexpr std::uint64_t xxh_p2 = 0xC2B2AE3D27D4EB4FULL;
inline constexpr std::uint64_t xxh_p3 = 0x165667B19E3779F9ULL;
inline constexpr std::uint64_t xxh_p4 = 0x85EBCA77C2B2AE63ULL;
inline constexpr std::uint64_t xxh_p5 = 0x27D4EB2F165667C5ULL;

inline std::uint64_t xxh_read64(const std::byte* p) noexcept {
  std::uint64_t v = 0;
  std::memcpy(&v, p, 8);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}
inline std::uint32_t xxh_read32(const std::byte* p) noexcept {
  std::uint32_t v = 0;
  std::memcpy(&v, p, 4);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap32(v);
  return v;
}
constexpr std::uint64_t xxh_round(std::uint64_t acc, std::uint64_t lane) noexcept {
  acc += lane * xxh_p2;
  acc = std::rotl(acc, 31);
  return acc * xxh_p1;
}
constexpr std::uint64_t xxh_merge(std::uint64_t acc, std::uint64_t v) noexcept {
  acc ^= xxh_round(0, v);
  return acc * xxh_p1 + xxh_p4;
}
// Consumes the tail (< 32 bytes) and applies the final avalanche.
inline std::uint64_t xxh_finish(std::uint64_t h, const std::byte* p, std::size_t n) noexcept {
  while (n >= 8) {
    h ^= xxh_round(0, xxh_read64(p));
    h = std::rotl(h, 27) * xxh_p1 + xxh_p4;
    p += 8;
    n -= 8;
  }
  if (n >= 4) {
    h ^= static_cast<std::uint64_t>(xxh_read32(p)) * xxh_p1;
    h = std::rotl(h, 23) * xxh_p2 + xxh_p3;
    p += 4;
    n -= 4;
  }
  while (n > 0) {
    h ^= static_cast<std::uint64_t>(std::to_integer<std::uint8_t>(*p)) * xxh_p5;
    h = std::rotl(h, 11) * xxh_p1;
    ++p;
    --n;
  }
  h ^= h >> 33;
  h *= xxh_p2;
  h ^= h >> 29;
  h *= xxh_p3;
  h ^= h >> 32;
  return h;
}

}  // namespace detail

inline xxh64_stream::xxh64_stream(std::uint64_t seed) noexcept
    : seed_(seed),
      v_{seed + detail::xxh_p1 + detail::xxh_p2, seed + detail::xxh_p2, seed, seed - detail::xxh_p1} {}

inline void xxh64_stream::update(std::span<const std::byte> bytes) noexcept {
  if (bytes.empty()) return;  // an empty span may have a null data(): no memcpy from it
  const std::byte* p = bytes.data();
  std::size_t n = bytes.size();
  total_ += n;
  if (buffered_ > 0) {
    const std::size_t take = std::min(n, 32 - buffered_);
    std::memcpy(buf_ + buffered_, p, take);
    buffered_ += take;
    p += take;
    n -= take;
    if (buffered_ < 32) return;
    for (int i = 0; i < 4; ++i) v_[i] = detail::xxh_round(v_[i], detail::xxh_read64(buf_ + 8 * i));
    buffered_ = 0;
  }
  while (n >= 32) {
    for (int i = 0; i < 4; ++i) v_[i] = detail::xxh_round(v_[i], detail::xxh_read64(p + 8 * i));
    p += 32;
    n -= 32;
  }
  if (n > 0) {
    std::memcpy(buf_, p, n);
    buffered_ = n;
  }
}

inline void xxh64_stream::update_u64(std::uint64_t v) noexcept {
  std::byte b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<std::byte>((v >> (8 * i)) & 0xff);
  update(b);
}

inline std::uint64_t xxh64_stream::digest() const noexcept {
  std::uint64_t h;
  if (total_ >= 32) {
    h = std::rotl(v_[0], 1) + std::rotl(v_[1], 7) + std::rotl(v_[2], 12) + std::rotl(v_[3], 18);
    for (int i = 0; i < 4; ++i) h = detail::xxh_merge(h, v_[i]);
  } else {
    h = seed_ + detail::xxh_p5;
  }
  h += total_;
  return detail::xxh_finish(h, buf_, buffered_);
}

inline std::uint64_t xxh64(std::span<const std::byte> bytes, std::uint64_t seed) noexcept {
  xxh64_stream s(seed);
  s.update(bytes);
  return s.digest();
}

}  // namespace kplug
