// BERT's WordPiece tokenizer, giving the same token ids as Hugging Face's
// slow BertTokenizer (transformers 4.38.2): the basic tokenizer
// (bert_normalizer.hpp) splits text into words, then each word becomes word
// pieces by greedy longest match against the vocabulary, continuation pieces
// carrying a "##" prefix. A word longer than max_chars_per_word code points,
// or one the vocabulary cannot cover, is a single [UNK].
//
// Alongside the ids it keeps the alignment the rest of kplug needs: the words
// (what the linker matches mentions against) and, per piece, its word and
// the bytes of the original text it covers. The pieces of a word tile the
// word's byte range in order: the first starts where the word starts, each
// next one where the previous ends, the last ends where the word ends
// (characters the cleaner dropped inside a word go to the piece before them).
//
// A tokenizer is immutable once built: its const members may be called from
// many threads at once (their scratch buffers are per thread).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "kplug/core/error.hpp"
#include "kplug/core/limits.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/core/types.hpp"
#include "kplug/io/json.hpp"
#include "kplug/text/bert_normalizer.hpp"
#include "kplug/text/tokenizer_options.hpp"
#include "kplug/text/utf8.hpp"
#include "kplug/text/wordpiece_vocab.hpp"
#include "kplug/text/words.hpp"

namespace kplug::text {

// One word piece: its id, the index of its word in tokenized_text::words,
// and the bytes [begin, end) of the original text it covers.
struct word_piece {
  token_id id = 0;
  std::int32_t word = 0;
  std::size_t begin = 0;
  std::size_t end = 0;
};

// Words and pieces of one text. Each word's `text` is a view of the original
// text (so it lives only as long as that text) with its byte offsets; a
// literal special token is one word with one piece.
struct tokenized_text {
  std::vector<word> words;
  std::vector<word_piece> pieces;
};

class bert_tokenizer {
 public:
  // Throws kplug::error if options.max_chars_per_word < 1.
  explicit bert_tokenizer(wordpiece_vocab vocab, tokenizer_options options = {});

  // `dir`/vocab.txt plus, if present, `dir`/tokenizer_config.json, from which
  // do_lower_case, strip_accents and tokenize_chinese_chars are read (absent
  // keys keep their defaults). Settings this tokenizer does not implement
  // (do_basic_tokenize false, a never_split list) are errors.
  static bert_tokenizer from_directory(const std::string& dir, const input_limits& limits = {});

  // Words and pieces of `text`, without [CLS] and [SEP].
  tokenized_text tokenize(std::string_view text) const;
  // The same into `out`, reusing its capacity.
  void tokenize(std::string_view text, tokenized_text& out) const;

  // [CLS] pieces [SEP], with word_of the piece's word index (-1 for [CLS] and
  // [SEP]) and segment ids all 0. `max_length` counts [CLS] and [SEP]: a
  // longer input keeps its first max_length - 2 pieces (a word may be cut
  // between pieces) and still ends with [SEP], as Hugging Face's
  // truncation=True does. Throws kplug::error if max_length < 2.
  token_sequence encode(std::string_view text, index_t max_length) const;

  const wordpiece_vocab& vocab() const noexcept { return vocab_; }
  const tokenizer_options& options() const noexcept { return normalizer_.options(); }

 private:
  struct workspace {
    bert_normalizer::workspace normalizer;
    std::string bytes;      // UTF-8 of the current word
    std::vector<std::size_t> char_at;  // byte offset of each of its characters, then its length
    std::string candidate;  // "##" + a suffix of the word
    std::vector<std::uint64_t> prefix_hash;  // hashes of the candidate's prefixes, by end character
  };

  void add_pieces(const normalized_word& w, std::int32_t word_index, workspace& ws, tokenized_text& out) const;

  wordpiece_vocab vocab_;
  std::vector<token_id> special_ids_;  // parallel to normalizer_.special_tokens(); filled by its initialiser
  bert_normalizer normalizer_;
};

// ---------------------------------------------------------------------------
// Implementation

namespace detail {

inline std::vector<std::string> present_specials(const wordpiece_vocab& v, std::vector<token_id>& ids) {
  // Hugging Face's special tokens; [PAD] only where the vocabulary has it.
  std::vector<std::string> names;
  for (const char* name : {"[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]"}) {
    if (const auto id = v.find(name)) {
      names.emplace_back(name);
      ids.push_back(*id);
    }
  }
  return names;
}

inline tokenizer_options checked_options(const tokenizer_options& o) {
  if (o.max_chars_per_word < 1) {
    std::string why = "max_chars_per_word is ";
    why += std::to_string(o.max_chars_per_word);
    why += ", it must be at least 1";
    throw error("create BERT tokenizer", "tokenizer_options", why);
  }
  return o;
}

}  // namespace detail

inline bert_tokenizer::bert_tokenizer(wordpiece_vocab vocab, tokenizer_options options)
    : vocab_(std::move(vocab)),
      normalizer_(detail::checked_options(options), detail::present_specials(vocab_, special_ids_)) {}

inline bert_tokenizer bert_tokenizer::from_directory(const std::string& dir, const input_limits& limits) {
  namespace fs = std::filesystem;
  const char* what = "load BERT tokenizer";
  wordpiece_vocab vocab = wordpiece_vocab::load((fs::path(dir) / "vocab.txt").string(), limits);
  tokenizer_options options;
  const std::string config_path = (fs::path(dir) / "tokenizer_config.json").string();
  std::error_code ec;
  if (fs::exists(config_path, ec)) {
    const nlohmann::json doc = io::read_json_file(config_path, what, limits);
    if (!doc.is_object()) throw error(what, at_file(config_path), "expected a JSON object");
    const auto flag = [&](const char* key, bool& out, bool allow_null) {
      if (!allow_null && doc.contains(key) && doc[key].is_null())
        throw error(what, io::json_key_where(config_path, key), "must be true or false, found null");
      const std::optional<bool> v = io::json_optional<bool>(doc, key, what, config_path);
      if (v) out = *v;
      return v.has_value();
    };
    flag("do_lower_case", options.lower_case, false);
    if (bool strip = false; flag("strip_accents", strip, true)) options.strip_accents = strip;
    flag("tokenize_chinese_chars", options.tokenize_chinese_chars, false);
    if (bool basic = true; flag("do_basic_tokenize", basic, false) && !basic)
      throw error(what, at_file(config_path), "do_basic_tokenize=false is not supported");
    if (const auto it = doc.find("never_split"); it != doc.end() && !it->is_null() && !(it->is_array() && it->empty()))
      throw error(what, at_file(config_path), "a never_split list is not supported");
  }
  return bert_tokenizer(std::move(vocab), options);
}

inline tokenized_text bert_tokenizer::tokenize(std::string_view text) const {
  tokenized_text out;
  tokenize(text, out);
  return out;
}

inline void bert_tokenizer::tokenize(std::string_view text, tokenized_text& out) const {
  out.words.clear();
  out.pieces.clear();
  // Scratch buffers kept per thread, so tokenizing allocates only when a
  // text is longer than any before it.
  thread_local workspace ws;
  normalizer_.run(text, ws.normalizer, [&](const normalized_word& w) {
    const auto index = static_cast<std::int32_t>(out.words.size());
    out.words.push_back(word{text.substr(w.begin, w.end - w.begin), w.begin, w.end});
    if (w.special >= 0) {
      out.pieces.push_back(word_piece{special_ids_[static_cast<std::size_t>(w.special)], index, w.begin, w.end});
    } else {
      add_pieces(w, index, ws, out);
    }
  });
}

inline void bert_tokenizer::add_pieces(const normalized_word& w, std::int32_t word_index, workspace& ws,
                                       tokenized_text& out) const {
  const std::size_t n = w.chars.size();
  const std::size_t first_piece = out.pieces.size();
  const auto unknown = [&] {
    out.pieces.resize(first_piece);
    out.pieces.push_back(word_piece{vocab_.unk_id(), word_index, w.begin, w.end});
  };
  if (n > static_cast<std::size_t>(options().max_chars_per_word)) return unknown();

  ws.bytes.clear();
  ws.char_at.resize(n + 1);
  for (std::size_t k = 0; k < n; ++k) {
    ws.char_at[k] = ws.bytes.size();
    const char32_t cp = w.chars[k].code_point;
    if (cp < 0x80) {
      ws.bytes += static_cast<char>(cp);
    } else {
      append_utf8(cp, ws.bytes);
    }
  }
  ws.char_at[n] = ws.bytes.size();

  // Greedy longest match first. The hashes of all prefixes of "##" + suffix
  // come from one pass; a candidate longer than the longest token cannot
  // match, so the search starts below that length.
  const std::size_t longest = vocab_.longest_token_bytes();
  std::size_t start = 0;
  while (start < n) {
    const std::size_t prefix = start > 0 ? 2 : 0;
    ws.candidate.assign("##", prefix);
    ws.candidate.append(ws.bytes, ws.char_at[start]);
    std::size_t end = start;
    std::uint64_t h = wordpiece_vocab::hash_seed;
    for (std::size_t b = 0; b < prefix; ++b) h = wordpiece_vocab::hash_byte(h, '#');
    ws.prefix_hash.clear();
    for (; end < n && prefix + ws.char_at[end + 1] - ws.char_at[start] <= longest; ++end) {
      for (std::size_t b = ws.char_at[end]; b < ws.char_at[end + 1]; ++b)
        h = wordpiece_vocab::hash_byte(h, ws.bytes[b]);
      ws.prefix_hash.push_back(h);  // of the candidate ending after character `end`
    }
    std::optional<token_id> id;
    for (; end > start; --end) {
      const std::size_t length = prefix + ws.char_at[end] - ws.char_at[start];
      id = vocab_.find_hashed(std::string_view(ws.candidate).substr(0, length), ws.prefix_hash[end - start - 1]);
      if (id) break;
    }
    if (!id) return unknown();
    out.pieces.push_back(word_piece{*id, word_index, w.chars[start].begin, 0});
    start = end;
  }

  // Tile the word: each piece ends where the next begins (clamped so that a
  // reordered combining mark cannot make ranges overlap).
  out.pieces[first_piece].begin = w.begin;
  for (std::size_t p = first_piece + 1; p < out.pieces.size(); ++p)
    out.pieces[p].begin = std::clamp(out.pieces[p].begin, out.pieces[p - 1].begin, w.end);
  for (std::size_t p = first_piece; p + 1 < out.pieces.size(); ++p) out.pieces[p].end = out.pieces[p + 1].begin;
  out.pieces.back().end = w.end;
}

inline token_sequence bert_tokenizer::encode(std::string_view text, index_t max_length) const {
  if (max_length < 2) {
    std::string why = "max_length is ";
    why += std::to_string(max_length);
    why += ", it must be at least 2 to hold [CLS] and [SEP]";
    throw error("encode text", "max_length", why);
  }
  const tokenized_text t = tokenize(text);
  const std::size_t kept = std::min(t.pieces.size(), static_cast<std::size_t>(max_length - 2));
  token_sequence seq;
  seq.ids.reserve(kept + 2);
  seq.word_of.reserve(kept + 2);
  seq.ids.push_back(vocab_.cls_id());
  seq.word_of.push_back(-1);
  for (std::size_t p = 0; p < kept; ++p) {
    seq.ids.push_back(t.pieces[p].id);
    seq.word_of.push_back(t.pieces[p].word);
  }
  seq.ids.push_back(vocab_.sep_id());
  seq.word_of.push_back(-1);
  seq.segment_ids.assign(seq.ids.size(), 0);
  return seq;
}

}  // namespace kplug::text
