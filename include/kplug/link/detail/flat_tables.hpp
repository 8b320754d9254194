// Compact open-addressing hash tables behind the alias table: a string
// interner (string -> dense id, all strings in one character arena) and a
// trie-edge map ((parent node, word id) -> child node). Both use linear
// probing over power-of-two slot arrays of small PODs, so a lookup touches one
// or two cache lines and a million entries cost tens of bytes each, not the
// hundreds a node-based std::unordered_map would.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "kplug/core/error.hpp"

namespace kplug::link::detail {

inline constexpr std::uint32_t npos32 = 0xFFFFFFFFu;

// A read prefetch hint (no-op where the compiler has none). The linker looks
// up a whole sentence stage by stage and prefetches each stage's memory for
// all words first, so the cache misses overlap instead of queueing.
inline void prefetch(const void* p) noexcept {
#if defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(p);
#else
  (void)p;
#endif
}

// A fast 64-bit hash of a byte string (8 bytes per step, splitmix finaliser).
inline std::uint64_t hash_bytes(std::string_view s) noexcept;

// Maps distinct strings to ids 0, 1, 2, ... in insertion order.
class string_interner {
 public:
  // The id of `s`, or npos32.
  std::uint32_t find(std::string_view s) const noexcept { return find(s, hash_bytes(s)); }
  std::uint32_t find(std::string_view s, std::uint64_t hash) const noexcept;
  // The id of `s`, inserting it if new.
  std::uint32_t insert(std::string_view s);

  // Staged lookup (all hints; find() alone is always correct): the slot a
  // hash starts probing at; the id of the first probed slot whose tag
  // matches (npos32: the string is certainly absent); the arena bytes of `id`.
  void prefetch_slot(std::uint64_t hash) const noexcept {
    if (!slots_.empty()) prefetch(&slots_[static_cast<std::size_t>(hash) & (slots_.size() - 1)]);
  }
  std::uint32_t first_tag_match(std::uint64_t hash) const noexcept;
  void prefetch_offsets(std::uint32_t id) const noexcept { prefetch(&offsets_[id]); }
  void prefetch_chars(std::uint32_t id) const noexcept { prefetch(chars_.data() + offsets_[id]); }

  std::string_view get(std::uint32_t id) const noexcept {
    return std::string_view(chars_).substr(offsets_[id], offsets_[id + 1] - offsets_[id]);
  }
  std::size_t size() const noexcept { return offsets_.size() - 1; }
  std::size_t memory_bytes() const noexcept {
    return slots_.capacity() * sizeof(slot) + chars_.capacity() + offsets_.capacity() * sizeof(std::uint32_t);
  }
  void shrink_to_fit() {
    chars_.shrink_to_fit();
    offsets_.shrink_to_fit();
  }

 private:
  // The hash's upper half is kept as a tag so that most mismatching probes
  // are rejected without touching the character arena.
  struct slot {
    std::uint32_t tag = 0;
    std::uint32_t id = npos32;
  };
  void grow();

  std::vector<slot> slots_;
  std::string chars_;
  std::vector<std::uint32_t> offsets_{0};
};

// (parent, word) -> child, for the trie of alias words.
class edge_map {
 public:
  std::uint32_t find(std::uint32_t parent, std::uint32_t word) const noexcept;
  void prefetch_slot(std::uint32_t parent, std::uint32_t word) const noexcept {
    if (!slots_.empty()) prefetch(&slots_[index_of(parent, word)]);
  }
  // Inserts a new edge (the caller has checked that it is absent).
  void insert(std::uint32_t parent, std::uint32_t word, std::uint32_t child);
  std::size_t size() const noexcept { return size_; }
  std::size_t memory_bytes() const noexcept { return slots_.capacity() * sizeof(slot); }

 private:
  struct slot {
    std::uint32_t parent = npos32;
    std::uint32_t word = 0;
    std::uint32_t child = 0;
  };
  std::size_t index_of(std::uint32_t parent, std::uint32_t word) const noexcept {
    const std::uint64_t key = (static_cast<std::uint64_t>(parent) << 32) | word;
    return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ull) >> shift_);
  }
  void grow();

  std::vector<slot> slots_;
  std::size_t size_ = 0;
  unsigned shift_ = 64;
};

// ---------------------------------------------------------------------------
// Implementation

inline std::uint64_t hash_bytes(std::string_view s) noexcept {
  constexpr std::uint64_t k = 0x9E3779B97F4A7C15ull;
  std::uint64_t h = k ^ (s.size() * 0xC2B2AE3D27D4EB4Full);
  const char* p = s.data();
  std::size_t n = s.size();
  while (n >= 8) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    h = (h ^ v) * k;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    std::uint64_t v = 0;
    std::memcpy(&v, p, n);
    h = (h ^ v) * k;
    h ^= h >> 29;
  }
  h ^= h >> 30;
  h *= 0xBF58476D1CE4E5B9ull;
  h ^= h >> 27;
  h *= 0x94D049BB133111EBull;
  h ^= h >> 31;
  return h;
}

inline std::uint32_t string_interner::find(std::string_view s, std::uint64_t hash) const noexcept {
  if (slots_.empty()) return npos32;
  const std::size_t mask = slots_.size() - 1;
  const auto tag = static_cast<std::uint32_t>(hash >> 32);
  for (std::size_t i = static_cast<std::size_t>(hash) & mask;; i = (i + 1) & mask) {
    const slot& sl = slots_[i];
    if (sl.id == npos32) return npos32;
    if (sl.tag == tag && get(sl.id) == s) return sl.id;
  }
}

inline std::uint32_t string_interner::first_tag_match(std::uint64_t hash) const noexcept {
  if (slots_.empty()) return npos32;
  const std::size_t mask = slots_.size() - 1;
  const auto tag = static_cast<std::uint32_t>(hash >> 32);
  for (std::size_t i = static_cast<std::size_t>(hash) & mask;; i = (i + 1) & mask) {
    const slot& sl = slots_[i];
    if (sl.id == npos32 || sl.tag == tag) return sl.id;
  }
}

inline std::uint32_t string_interner::insert(std::string_view s) {
  const std::uint64_t hash = hash_bytes(s);
  if (const std::uint32_t id = find(s, hash); id != npos32) return id;
  if (size() + 1 >= npos32)
    throw error("intern string", "string table", "more than 2^32 - 2 distinct strings");
  if (chars_.size() + s.size() > npos32)
    throw error("intern string", "string table", "more than 4 GiB of distinct string text");
  // Keep the load factor at or below 0.7: failed lookups are the common case
  // when linking (most text words are not alias words) and stay short.
  if ((size() + 1) * 10 > slots_.size() * 7) grow();
  const auto id = static_cast<std::uint32_t>(size());
  chars_.append(s);
  offsets_.push_back(static_cast<std::uint32_t>(chars_.size()));
  const std::size_t mask = slots_.size() - 1;
  std::size_t i = static_cast<std::size_t>(hash) & mask;
  while (slots_[i].id != npos32) i = (i + 1) & mask;
  slots_[i] = slot{static_cast<std::uint32_t>(hash >> 32), id};
  return id;
}

inline void string_interner::grow() {
  const std::size_t capacity = slots_.empty() ? 16 : slots_.size() * 2;
  slots_.assign(capacity, slot{});
  const std::size_t mask = capacity - 1;
  for (std::uint32_t id = 0; id < size(); ++id) {
    const std::uint64_t hash = hash_bytes(get(id));
    std::size_t i = static_cast<std::size_t>(hash) & mask;
    while (slots_[i].id != npos32) i = (i + 1) & mask;
    slots_[i] = slot{static_cast<std::uint32_t>(hash >> 32), id};
  }
}

inline std::uint32_t edge_map::find(std::uint32_t parent, std::uint32_t word) const noexcept {
  if (slots_.empty()) return npos32;
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = index_of(parent, word);; i = (i + 1) & mask) {
    const slot& sl = slots_[i];
    if (sl.parent == parent && sl.word == word) return sl.child;
    if (sl.parent == npos32) return npos32;
  }
}

inline void edge_map::insert(std::uint32_t parent, std::uint32_t word, std::uint32_t child) {
  if ((size_ + 1) * 10 > slots_.size() * 7) grow();
  const std::size_t mask = slots_.size() - 1;
  std::size_t i = index_of(parent, word);
  while (slots_[i].parent != npos32) i = (i + 1) & mask;
  slots_[i] = slot{parent, word, child};
  ++size_;
}

inline void edge_map::grow() {
  std::vector<slot> old;
  old.swap(slots_);
  const std::size_t capacity = old.empty() ? 16 : old.size() * 2;
  slots_.assign(capacity, slot{});
  shift_ = 64u - static_cast<unsigned>(std::countr_zero(capacity));
  const std::size_t mask = capacity - 1;
  for (const slot& sl : old) {
    if (sl.parent == npos32) continue;
    std::size_t i = index_of(sl.parent, sl.word);
    while (slots_[i].parent != npos32) i = (i + 1) & mask;
    slots_[i] = sl;
  }
}

}  // namespace kplug::link::detail
