// XXH64, the hash of plugin fingerprints, checksums and backend cache keys,
// from the xxHash library (Debian: libxxhash-dev) compiled inline into the
// including file (XXH_INLINE_ALL), so kplug stays header-only and links
// nothing. This header only gives it kplug's interface: spans and string
// views, and 64-bit integers fed little-endian. Not cryptographic.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

// GCC 12, once XXH64_update is inlined into a call with a short constant
// length, warns that its end-minus-32 pointer (on a path that the state's
// buffered count < 32 rules out) lies outside the caller's object: a false
// positive inside xxhash.h, silenced for it and the calls here only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"
#endif

#if __has_include(<xxhash.h>)
#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#define KPLUG_DEFINED_XXH_INLINE_ALL
#endif
#include <xxhash.h>
#ifdef KPLUG_DEFINED_XXH_INLINE_ALL
#undef XXH_INLINE_ALL
#undef KPLUG_DEFINED_XXH_INLINE_ALL
#endif
#else
#error "kplug needs xxhash.h, the xxHash library (Debian: libxxhash-dev)"
#endif

namespace kplug {

// XXH64 of `bytes`.
inline std::uint64_t xxh64(std::span<const std::byte> bytes, std::uint64_t seed = 0) noexcept {
  return XXH64(bytes.data(), bytes.size(), seed);
}
inline std::uint64_t xxh64(std::string_view text, std::uint64_t seed = 0) noexcept {
  return XXH64(text.data(), text.size(), seed);
}

// Incremental XXH64: update() in any pieces gives the hash of their concatenation.
class xxh64_stream {
 public:
  explicit xxh64_stream(std::uint64_t seed = 0) noexcept { XXH64_reset(&state_, seed); }
  void update(std::span<const std::byte> bytes) noexcept { XXH64_update(&state_, bytes.data(), bytes.size()); }
  void update(std::string_view text) noexcept { XXH64_update(&state_, text.data(), text.size()); }
  // 8 bytes little-endian, whatever the machine's byte order.
  void update_u64(std::uint64_t v) noexcept {
    std::byte b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<std::byte>((v >> (8 * i)) & 0xff);
    update(b);
  }
  // The hash of everything so far; more updates may follow.
  std::uint64_t digest() const noexcept { return XXH64_digest(&state_); }

 private:
  XXH64_state_t state_;  // a plain struct in XXH_INLINE_ALL mode: copyable, no allocation
};

}  // namespace kplug

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
