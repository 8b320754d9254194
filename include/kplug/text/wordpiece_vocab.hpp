// A WordPiece vocabulary read from a BERT vocab.txt: one token per line,
// the token's id being its line number counted from 0, as Hugging Face's
// load_vocab reads it (lines end at "\n", "\r\n" or "\r", the way Python's
// text mode sees them; a final line without a newline is still a token).
// If a token occurs twice, find() returns its later id, again like
// load_vocab; token(id) still returns each line's own text.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kplug/core/error.hpp"
#include "kplug/core/limits.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/core/types.hpp"
#include "kplug/io/mapped_file.hpp"
#include "kplug/text/utf8.hpp"

namespace kplug::text {

class wordpiece_vocab {
 public:
  // Reads `path`. Throws kplug::error naming the file if it cannot be read,
  // naming the line if a line is not valid UTF-8, and naming every missing
  // token if [CLS], [SEP], [MASK] or [UNK] is absent ([PAD] is optional),
  // and at the first line beyond limits.max_vocab_tokens.
  static wordpiece_vocab load(const std::string& path, const input_limits& limits = {});

  // The same from tokens in memory (token i has id i); `source` names them
  // in error messages.
  static wordpiece_vocab from_tokens(std::vector<std::string> tokens, std::string_view source = "vocabulary");

  std::optional<token_id> find(std::string_view token) const noexcept;
  // The token with id `id`; throws kplug::error if `id` is out of range.
  std::string_view token(token_id id) const;
  // Number of ids (lines), which is what an embedding matrix must cover.
  index_t size() const noexcept { return static_cast<index_t>(starts_.size() - 1); }

  token_id cls_id() const noexcept { return cls_; }
  token_id sep_id() const noexcept { return sep_; }
  token_id mask_id() const noexcept { return mask_id_; }
  token_id unk_id() const noexcept { return unk_; }
  // -1 if the vocabulary has no [PAD].
  token_id pad_id() const noexcept { return pad_; }

  // Length in bytes of the longest token: no longer string can be found.
  std::size_t longest_token_bytes() const noexcept { return longest_; }

  // find() split in two, for callers that hash many prefixes of one string
  // incrementally (WordPiece's longest-match search): `h` must be the result
  // of hash_bytes over `token`'s bytes, starting from hash_seed.
  static constexpr std::uint64_t hash_seed = 0xcbf29ce484222325ull;  // FNV-1a
  static constexpr std::uint64_t hash_byte(std::uint64_t h, char byte) noexcept {
    return (h ^ static_cast<unsigned char>(byte)) * 0x100000001b3ull;
  }
  std::optional<token_id> find_hashed(std::string_view token, std::uint64_t h) const noexcept;

 private:
  // Open addressing with linear probing over a power-of-two table: one probe
  // usually touches one slot and the token's bytes, which matters because
  // WordPiece looks up many candidates per word.
  struct slot {
    std::uint32_t tag = 0;  // high bits of the mixed hash, to skip most string compares
    token_id id = -1;       // -1: empty
  };

  wordpiece_vocab() = default;
  void add(std::string_view token, std::string_view source);
  void index(std::string_view source);
  std::string_view at(token_id id) const noexcept {
    const auto i = static_cast<std::size_t>(id);
    return std::string_view(bytes_).substr(starts_[i], starts_[i + 1] - starts_[i]);
  }
  static std::uint64_t mix(std::uint64_t h) noexcept {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
  }

  // Token i is bytes_[starts_[i], starts_[i + 1]): one block, small enough
  // to stay in cache while the probes run.
  std::string bytes_;
  std::vector<std::uint32_t> starts_{0};
  std::vector<slot> slots_;
  std::size_t mask_ = 0;
  std::size_t longest_ = 0;
  token_id cls_ = -1;
  token_id sep_ = -1;
  token_id mask_id_ = -1;
  token_id unk_ = -1;
  token_id pad_ = -1;
};

// ---------------------------------------------------------------------------
// Implementation

inline wordpiece_vocab wordpiece_vocab::load(const std::string& path, const input_limits& limits) {
  const char* what = "load WordPiece vocabulary";
  const io::mapped_file file = [&] {
    try {
      return io::mapped_file(path);
    } catch (const error& e) {
      throw error(what, at_file(path), e.why());
    }
  }();
  const std::string_view text = file.text();
  wordpiece_vocab v;
  std::uint64_t line = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t stop = text.find_first_of("\r\n", pos);
    if (stop == std::string_view::npos) stop = text.size();
    const std::string_view tok = text.substr(pos, stop - pos);
    if (++line > limits.max_vocab_tokens)
      throw limit_exceeded(what, at_line(path, line), "the number of tokens", limits.max_vocab_tokens,
                           "max_vocab_tokens");
    for (std::size_t k = 0; k < tok.size();) {
      const utf8_char c = decode_utf8(tok, k);
      if (c.defect != nullptr) {
        std::string why = "token is not valid UTF-8 at byte ";
        why += std::to_string(k);
        why += " of the line: ";
        why += c.defect;
        throw error(what, at_line(path, line), why);
      }
      k += c.length;
    }
    v.add(tok, path);
    pos = stop;
    if (pos < text.size()) pos += (text[pos] == '\r' && pos + 1 < text.size() && text[pos + 1] == '\n') ? 2 : 1;
  }
  v.index(path);
  return v;
}

inline wordpiece_vocab wordpiece_vocab::from_tokens(std::vector<std::string> tokens, std::string_view source) {
  wordpiece_vocab v;
  for (const std::string& t : tokens) v.add(t, source);
  v.index(source);
  return v;
}

inline void wordpiece_vocab::add(std::string_view token, std::string_view source) {
  if (bytes_.size() + token.size() > UINT32_MAX || starts_.size() > static_cast<std::size_t>(INT32_MAX)) {
    std::string why = "more than ";
    why += std::to_string(starts_.size() - 1);
    why += " tokens or 4 GiB of text";
    throw error("load WordPiece vocabulary", at_file(source), why);
  }
  bytes_ += token;
  starts_.push_back(static_cast<std::uint32_t>(bytes_.size()));
}

inline void wordpiece_vocab::index(std::string_view source) {
  const std::size_t n = starts_.size() - 1;
  std::size_t capacity = 16;
  while (capacity < 2 * n) capacity *= 2;
  slots_.assign(capacity, slot{});
  mask_ = capacity - 1;
  for (std::size_t i = 0; i < n; ++i) {
    const std::string_view t = at(static_cast<token_id>(i));
    longest_ = std::max(longest_, t.size());
    std::uint64_t h = hash_seed;
    for (const char b : t) h = hash_byte(h, b);
    const std::uint64_t m = mix(h);
    for (std::size_t k = m & mask_;; k = (k + 1) & mask_) {
      slot& s = slots_[k];
      if (s.id < 0 || (s.tag == static_cast<std::uint32_t>(m >> 32) && at(s.id) == t)) {
        s = slot{static_cast<std::uint32_t>(m >> 32), static_cast<token_id>(i)};  // a duplicate takes the later id
        break;
      }
    }
  }
  const auto id_of = [&](std::string_view t) { return find(t).value_or(-1); };
  cls_ = id_of("[CLS]");
  sep_ = id_of("[SEP]");
  mask_id_ = id_of("[MASK]");
  unk_ = id_of("[UNK]");
  pad_ = id_of("[PAD]");
  std::string missing;
  for (const auto& [name, id] : {std::pair<const char*, token_id>{"[CLS]", cls_}, {"[SEP]", sep_},
                                 {"[MASK]", mask_id_}, {"[UNK]", unk_}}) {
    if (id >= 0) continue;
    if (!missing.empty()) missing += ", ";
    missing += name;
  }
  if (!missing.empty())
    throw error("load WordPiece vocabulary", at_file(source), "lacks the special token(s) " + missing);
}

inline std::optional<token_id> wordpiece_vocab::find(std::string_view token) const noexcept {
  std::uint64_t h = hash_seed;
  for (const char b : token) h = hash_byte(h, b);
  return find_hashed(token, h);
}

inline std::optional<token_id> wordpiece_vocab::find_hashed(std::string_view token, std::uint64_t h) const noexcept {
  if (slots_.empty()) return std::nullopt;
  const std::uint64_t m = mix(h);
  const auto tag = static_cast<std::uint32_t>(m >> 32);
  for (std::size_t k = m & mask_;; k = (k + 1) & mask_) {
    const slot& s = slots_[k];
    if (s.id < 0) return std::nullopt;
    if (s.tag == tag && at(s.id) == token) return s.id;
  }
}

inline std::string_view wordpiece_vocab::token(token_id id) const {
  if (id < 0 || id >= size()) {
    std::string where = "token id ";
    where += std::to_string(id);
    std::string why = "out of range for a vocabulary of ";
    why += std::to_string(size());
    why += " tokens";
    throw error("look up WordPiece token", where, why);
  }
  return at(id);
}

}  // namespace kplug::text
