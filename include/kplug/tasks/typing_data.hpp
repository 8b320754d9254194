// Mention-typing data: the JSONL schema every evaluating subcommand reads,
//   {"text": "...", "mentions": [{"start": c0, "end": c1, "entity": "id"}], "label": "noun.animal"}
// with offsets in characters (Unicode code points, as Python slices text)
// and "entity" optional (absent: the linker decides). The first mention is
// the one whose type is the label; further mentions only bring knowledge.
//
// Reading checks the schema and offsets line by line, so a bad line is an
// error naming the file, the line and the field; labels are checked later,
// against the model that evaluates them.
#pragma once

#include <cstdint>
#include "kplug/core/error.hpp"
#include "kplug/core/types.hpp"
#include "kplug/text/wordpiece.hpp"
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "kplug/tasks/jsonl_reader.hpp"

namespace kplug::tasks {

struct typed_mention {
  std::int64_t start = 0;  // code points
  std::int64_t end = 0;
  std::size_t byte_begin = 0;
  std::size_t byte_end = 0;
  std::optional<std::string> entity;
};

struct typing_instance {
  std::string text;
  std::vector<typed_mention> mentions;
  std::string label;
  std::uint64_t line = 0;  // 1-based line in the file
};

struct typing_file {
  std::string path;
  std::vector<typing_instance> instances;
};

namespace detail {

// Byte offset of code point `index` in valid UTF-8 `text` (JSON strings are),
// or npos when the text has fewer code points.
inline std::size_t byte_of_code_point(const std::string& text, std::int64_t index) {
  std::int64_t seen = 0;
  for (std::size_t b = 0; b <= text.size(); ++b) {
    if (b == text.size() || (static_cast<unsigned char>(text[b]) & 0xC0) != 0x80) {
      if (seen == index) return b;
      ++seen;
    }
  }
  return std::string::npos;
}

inline std::int64_t code_points(const std::string& text) {
  std::int64_t n = 0;
  for (char c : text) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

}  // namespace detail

// Without `need_label` a line may omit "label" (general map-tuning's corpus).
inline typing_file read_typing_file(const std::string& path, bool need_label = true,
                                    const input_limits& limits = {}) {
  typing_file out{path, {}};
  jsonl_reader in(path, limits);
  nlohmann::json obj;
  while (in.next(obj)) {
    auto fail = [&](const std::string& field, const std::string& why) {
      throw error("read mention-typing data", at_line(path, in.line()) + ", field " + field, why);
    };
    typing_instance inst;
    inst.line = in.line();
    inst.text = in.string_field(obj, "text");
    if (need_label || obj.contains("label")) inst.label = in.string_field(obj, "label");
    const auto ms = obj.find("mentions");
    if (ms == obj.end()) fail("\"mentions\"", "is missing (a list of {\"start\", \"end\"[, \"entity\"]})");
    if (!ms->is_array() || ms->empty()) fail("\"mentions\"", "must be a non-empty list; the first mention is typed");
    const std::int64_t length = detail::code_points(inst.text);
    for (std::size_t k = 0; k < ms->size(); ++k) {
      const std::string field = "\"mentions\"[" + std::to_string(k) + "]";
      const nlohmann::json& m = (*ms)[k];
      if (!m.is_object()) fail(field, std::string("is ") + m.type_name() + ", expected an object");
      typed_mention tm;
      for (const char* key : {"start", "end"}) {
        const auto it = m.find(key);
        if (it == m.end()) fail(field + "." + key, "is missing");
        if (!it->is_number_integer()) fail(field + "." + key, std::string("is ") + it->type_name() + ", expected an integer");
        (std::string_view(key) == "start" ? tm.start : tm.end) = it->get<std::int64_t>();
      }
      if (tm.start < 0 || tm.end <= tm.start || tm.end > length)
        fail(field, "span [" + std::to_string(tm.start) + ", " + std::to_string(tm.end) +
                        ") is not a non-empty range inside the text's " + std::to_string(length) + " characters");
      tm.byte_begin = detail::byte_of_code_point(inst.text, tm.start);
      tm.byte_end = detail::byte_of_code_point(inst.text, tm.end);
      if (const auto e = m.find("entity"); e != m.end() && !e->is_null()) {
        if (!e->is_string() || e->get_ref<const std::string&>().empty())
          fail(field + ".entity", "must be a non-empty string (or absent: the linker decides)");
        tm.entity = e->get<std::string>();
      }
      inst.mentions.push_back(std::move(tm));
    }
    out.instances.push_back(std::move(inst));
  }
  return out;
}

// One instance in tokens: [CLS] pieces [SEP], each mention as a word span,
// and the index of the typed mention's first piece (what the head reads).
struct tokenized_instance {
  token_sequence tokens;
  std::vector<word_span> spans;  // per mention
  std::int32_t head_token = -1;
};

// A mention must cover whole words of the tokenizer (it is spliced as words):
// a span that starts or ends inside a word is an error naming the line.
inline void tokenize_instance(const text::bert_tokenizer& tokenizer, const typing_file& file,
                              const typing_instance& inst, text::tokenized_text& scratch, tokenized_instance& out) {
  tokenizer.tokenize(inst.text, scratch);
  out.tokens.ids.assign(1, tokenizer.vocab().cls_id());
  out.tokens.word_of.assign(1, -1);
  for (const text::word_piece& p : scratch.pieces) {
    out.tokens.ids.push_back(p.id);
    out.tokens.word_of.push_back(p.word);
  }
  out.tokens.ids.push_back(tokenizer.vocab().sep_id());
  out.tokens.word_of.push_back(-1);
  out.tokens.segment_ids.clear();
  out.spans.clear();
  const auto& words = scratch.words;
  for (std::size_t k = 0; k < inst.mentions.size(); ++k) {
    const typed_mention& m = inst.mentions[k];
    std::int32_t first = -1, last = -1;
    bool clean = true;
    for (std::size_t w = 0; w < words.size(); ++w) {
      if (words[w].end <= m.byte_begin || words[w].begin >= m.byte_end) continue;
      if (first < 0) {
        first = static_cast<std::int32_t>(w);
        clean = clean && words[w].begin >= m.byte_begin;
      }
      last = static_cast<std::int32_t>(w) + 1;
      clean = clean && words[w].end <= m.byte_end;
    }
    const std::string where = at_line(file.path, inst.line) + ", field \"mentions\"[" + std::to_string(k) + "]";
    if (first < 0)
      throw error("read mention-typing data", where,
                  "span [" + std::to_string(m.start) + ", " + std::to_string(m.end) + ") holds no word");
    if (!clean)
      throw error("read mention-typing data", where,
                  "span [" + std::to_string(m.start) + ", " + std::to_string(m.end) +
                      ") starts or ends inside a word: \"" + inst.text.substr(m.byte_begin, m.byte_end - m.byte_begin) +
                      "\"");
    out.spans.push_back({first, last});
  }
  out.head_token = -1;
  for (std::size_t i = 0; i < out.tokens.word_of.size(); ++i)
    if (out.tokens.word_of[i] == out.spans[0].begin) {
      out.head_token = static_cast<std::int32_t>(i);
      break;
    }
  if (out.head_token < 0)
    throw error("read mention-typing data", at_line(file.path, inst.line) + ", field \"mentions\"[0]",
                "the mention's words have no word pieces");
}

}  // namespace kplug::tasks
