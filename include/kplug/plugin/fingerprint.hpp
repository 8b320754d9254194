// 64-bit content fingerprints that tie a plugin to the encoder and the
// knowledge base it was tuned with.
//
// The hash is XXH64 (core/xxh64.hpp), seed 0 unless stated. It is not
// cryptographic: fingerprints catch the accident of loading a plugin against
// the wrong encoder or table, not an adversary.
// Every integer below is fed to the hash as 8 bytes little-endian ("u64"),
// floats as their IEEE bytes, exactly as stored (so -0.0 != 0.0 and NaN
// payloads count).
//
//   fingerprint_matrix(m)       XXH64( u64 rows, u64 cols, the rows' float32
//                               bytes in row-major order )
//   encoder_fingerprint(b)      fingerprint_matrix of the word-embedding
//                               matrix, vocab_size x hidden_size, obtained with
//                               b.embed_tokens(0 .. vocab_size-1) in chunks:
//                               it identifies the vocabulary and the embeddings
//                               (a reduced-precision copy of the same encoder
//                               embeds differently and so has another print).
//   kb_fingerprint(kb)          XXH64 of
//                                 u64 entity count, u64 table rows, u64 d_kb,
//                                 u64 bytes per stored element (4 float32, 2 float16),
//                                 u64 names digest,
//                                 u64 number of hashed rows H,
//                                 then the stored bytes of each hashed row,
//                                 in increasing row order;
//                               names digest = sum over entities (mod 2^64) of
//                                 XXH64( u64 row, the name's UTF-8 bytes ),
//                               (an order-free digest of the name -> row map, so
//                               it needs neither sorting nor a copy of the
//                               names); hashed rows: all rows when the table
//                               holds at most kb_full_hash_bytes (64 MiB), else
//                               H = min(rows, kb_sample_rows) rows
//                               r_i = floor(i * (rows - 1) / (H - 1)),
//                               i = 0 .. H-1 (first and last included), so the
//                               rows of a multi-GB table are checked in
//                               milliseconds; the names are always hashed
//                               (about 0.1 us per entity).
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kplug/backend/concepts.hpp"
#include "kplug/core/error.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/core/types.hpp"
#include "kplug/core/xxh64.hpp"
#include "kplug/io/npy.hpp"
#include "kplug/kb/embedding_table.hpp"
#include "kplug/kb/knowledge_base.hpp"

namespace kplug::plugin {

inline constexpr std::uint64_t kb_full_hash_bytes = std::uint64_t{64} << 20;
inline constexpr index_t kb_sample_rows = 4096;

std::uint64_t fingerprint_matrix(matrix_view<const float> m);

template <token_embedder B>
std::uint64_t encoder_fingerprint(const B& backend, index_t chunk_rows = 1024);

std::uint64_t kb_fingerprint(const kb::knowledge_base& kb);

// "0x" + 16 lower-case hex digits, the form plugin files store.
std::string format_fingerprint(std::uint64_t fp);
// The inverse: exactly "0x" + 16 hex digits (either case), else nullopt.
std::optional<std::uint64_t> parse_fingerprint(std::string_view text) noexcept;

namespace detail {
// kb_fingerprint with the size limit and sample count as parameters (tests
// exercise the sampling on small tables). The public function uses the
// documented constants; plugin files depend on them.
std::uint64_t kb_fingerprint(const kb::knowledge_base& kb, std::uint64_t full_hash_bytes, index_t sample_rows);
}  // namespace detail

// ---------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------

namespace detail {

inline void hash_float_rows(xxh64_stream& s, matrix_view<const float> m) {
  const auto row_bytes = static_cast<std::size_t>(m.cols()) * sizeof(float);
  if (m.contiguous() && m.rows() > 0) {
    s.update(std::span<const std::byte>(reinterpret_cast<const std::byte*>(m.data()),
                                        row_bytes * static_cast<std::size_t>(m.rows())));
    return;
  }
  for (index_t r = 0; r < m.rows(); ++r) s.update(std::as_bytes(m.row(r)));
}

}  // namespace detail

inline std::uint64_t fingerprint_matrix(matrix_view<const float> m) {
  if (m.rows() < 0 || m.cols() < 0) throw error("fingerprint matrix", "m", "negative extent");
  xxh64_stream s;
  s.update_u64(static_cast<std::uint64_t>(m.rows()));
  s.update_u64(static_cast<std::uint64_t>(m.cols()));
  detail::hash_float_rows(s, m);
  return s.digest();
}

template <token_embedder B>
std::uint64_t encoder_fingerprint(const B& backend, index_t chunk_rows) {
  constexpr const char* what = "fingerprint encoder embeddings";
  const auto vocab = static_cast<index_t>(backend.vocab_size());
  const auto hidden = static_cast<index_t>(backend.hidden_size());
  if (vocab < 0 || hidden < 0)
    throw error(what, "backend", "negative vocab_size " + std::to_string(vocab) + " or hidden_size " +
                                     std::to_string(hidden));
  if (chunk_rows <= 0) throw error(what, "chunk_rows", "must be positive, got " + std::to_string(chunk_rows));
  if (vocab > std::numeric_limits<token_id>::max())
    throw error(what, "backend", "vocab_size " + std::to_string(vocab) + " exceeds the token_id range");
  xxh64_stream s;
  s.update_u64(static_cast<std::uint64_t>(vocab));
  s.update_u64(static_cast<std::uint64_t>(hidden));
  const index_t chunk = std::min(chunk_rows, std::max<index_t>(vocab, 1));
  matrix<float> rows(chunk, hidden);
  std::vector<token_id> ids(static_cast<std::size_t>(chunk));
  for (index_t first = 0; first < vocab; first += chunk) {
    const index_t n = std::min(chunk, vocab - first);
    ids.resize(static_cast<std::size_t>(n));
    for (index_t i = 0; i < n; ++i) ids[static_cast<std::size_t>(i)] = static_cast<token_id>(first + i);
    const matrix_view<float> out = rows.view().middle_rows(0, n);
    backend.embed_tokens(std::span<const token_id>(ids), out);
    detail::hash_float_rows(s, out);
  }
  return s.digest();
}

namespace detail {

inline std::uint64_t kb_fingerprint(const kb::knowledge_base& kb, std::uint64_t full_hash_bytes,
                                    index_t sample_rows) {
  const kb::embedding_table& table = kb.table();
  const auto rows = static_cast<std::uint64_t>(table.rows());
  const auto item = static_cast<std::uint64_t>(io::dtype_size(table.dtype()));
  const std::uint64_t row_bytes = static_cast<std::uint64_t>(table.dim()) * item;

  std::uint64_t names = 0;
  kb.entities().for_each([&](std::string_view name, row_index row) {
    xxh64_stream e;
    e.update_u64(static_cast<std::uint64_t>(row));
    e.update(name);
    names += e.digest();
  });

  xxh64_stream s;
  s.update_u64(kb.size());
  s.update_u64(rows);
  s.update_u64(static_cast<std::uint64_t>(table.dim()));
  s.update_u64(item);
  s.update_u64(names);
  // rows * row_bytes fits: the table exists in memory or in a file.
  const bool full = rows * row_bytes <= full_hash_bytes;
  const std::uint64_t hashed =
      full ? rows : std::min<std::uint64_t>(rows, static_cast<std::uint64_t>(std::max<index_t>(sample_rows, 2)));
  s.update_u64(hashed);
  for (std::uint64_t i = 0; i < hashed; ++i) {
    // hashed <= rows, and i * (rows - 1) fits 64 bits for any table under 2^51 rows.
    const std::uint64_t r = hashed == rows ? i : i * (rows - 1) / (hashed - 1);
    s.update(table.row_bytes(static_cast<row_index>(r)));
  }
  return s.digest();
}

}  // namespace detail

inline std::uint64_t kb_fingerprint(const kb::knowledge_base& kb) {
  return detail::kb_fingerprint(kb, kb_full_hash_bytes, kb_sample_rows);
}

inline std::string format_fingerprint(std::uint64_t fp) {
  constexpr char hex[] = "0123456789abcdef";
  std::string s = "0x";
  for (int shift = 60; shift >= 0; shift -= 4) s += hex[(fp >> shift) & 15];
  return s;
}

inline std::optional<std::uint64_t> parse_fingerprint(std::string_view text) noexcept {
  if (text.size() != 18 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) return std::nullopt;
  std::uint64_t v = 0;
  for (const char c : text.substr(2)) {
    std::uint64_t d = 0;
    if (c >= '0' && c <= '9')
      d = static_cast<std::uint64_t>(c - '0');
    else if (c >= 'a' && c <= 'f')
      d = static_cast<std::uint64_t>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      d = static_cast<std::uint64_t>(c - 'A' + 10);
    else
      return std::nullopt;
    v = (v << 4) | d;
  }
  return v;
}

}  // namespace kplug::plugin
