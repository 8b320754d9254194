// kplug encode: the last hidden states of a BERT checkpoint for every line
// of a JSONL file, optionally with knowledge spliced into the input
// (docs/cli.md). The input streams through in batches of --batch-size
// sequences, packed without padding; output is appended batch by batch.
//
// Every sequence goes through the splice planner, with or without mentions:
// it is the one place that truncates to --max-length (keeping [CLS] and
// [SEP], never cutting a mention group), so truncation is the same whether
// knowledge is injected or not.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <kplug/backend/bert_cpu.hpp>
#include <kplug/bert/checkpoint.hpp>
#include <kplug/core/error.hpp>
#include <kplug/core/matrix_view.hpp>
#include <kplug/io/npy.hpp>
#include <kplug/kb/knowledge_base.hpp>
#include <kplug/link/linker.hpp>
#include <kplug/splice/batch.hpp>
#include <kplug/splice/planner.hpp>
#include <kplug/tasks/jsonl_reader.hpp>
#include <kplug/text/wordpiece.hpp>
#include <nlohmann/json.hpp>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cli.hpp"
#include "json_output.hpp"
#include "knowledge.hpp"
#include "output_files.hpp"
#include "progress.hpp"

namespace kplug::cli {
namespace {

namespace fs = std::filesystem;

struct encode_settings {
  std::string model;
  std::string input;
  std::string output;
  std::int64_t batch_size = 32;
  int threads = 0;
  std::int32_t max_length = 0;  // 0: the model's maximum
  bool quiet = false;
  knowledge_paths knowledge;
};

// The per-sequence work of one batch, reused across batches.
struct sequence_slot {
  std::int64_t untruncated_rows = 0;
  kb::resolved_mentions found;
  splice::splice_plan plan;
};

class encoder_run {
 public:
  explicit encoder_run(const encode_settings& s);
  void run();

 private:
  void prepare(sequence_slot& slot, std::size_t index, const std::string& text);
  void encode_batch(std::size_t count);
  void write_tokens(const sequence_slot& slot, const splice::splice_plan& plan);
  void report_progress(bool final);

  const encode_settings& settings_;
  backend::bert_cpu model_;
  text::bert_tokenizer tokenizer_;
  std::optional<knowledge> knowledge_;
  std::optional<link::linker> linker_;
  std::int32_t max_length_;
  splice::planner planner_;

  // Scratch reused across sequences and batches.
  text::tokenized_text words_;
  token_sequence tokens_;
  std::vector<mention> linked_;
  std::vector<std::int64_t> pieces_before_word_;
  std::vector<sequence_slot> slots_;
  std::vector<splice::splice_plan> plans_;
  splice::packed_plan packed_;
  matrix<float> gathered_, mapped_, hidden_;
  nlohmann::ordered_json record_;

  std::optional<npy_row_writer> hidden_out_;
  std::optional<staged_file> tokens_out_;
  std::vector<std::int64_t> offsets_{0};

  std::uint64_t truncated_ = 0;
  std::uint64_t entity_rows_ = 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  progress_line progress_;
};

encoder_run::encoder_run(const encode_settings& s)
    : settings_(s),
      model_(bert::load_checkpoint(s.model), {.threads = s.threads, .keep_activations = false}),
      tokenizer_(text::bert_tokenizer::from_directory(s.model)),
      max_length_(s.max_length > 0 ? s.max_length : static_cast<std::int32_t>(model_.max_positions())),
      planner_(splice::planner_config{}),
      progress_(s.quiet) {
  if (max_length_ > model_.max_positions()) {
    std::string why = "--max-length ";
    why += std::to_string(max_length_);
    why += " exceeds the model's max_position_embeddings, ";
    why += std::to_string(model_.max_positions());
    throw error("check the model for kplug encode", s.model, why);
  }
  if (tokenizer_.vocab().size() > model_.vocab_size()) {
    std::string why = "vocab.txt has ";
    why += std::to_string(tokenizer_.vocab().size());
    why += " tokens, the model's embeddings ";
    why += std::to_string(model_.vocab_size());
    throw error("check the model for kplug encode", s.model, why);
  }
  splice::planner_config config;
  config.max_length = max_length_;
  if (!s.knowledge.kb.empty()) {
    knowledge_.emplace(s.knowledge, model_);
    linker_.emplace(*knowledge_->aliases);
    config.format = knowledge_->plugin->metadata.splice;
  }
  planner_ = splice::planner(config);
  const auto batch = static_cast<std::size_t>(s.batch_size);
  slots_.resize(batch);
  plans_.resize(batch);
}

// Tokenises, links and plans one sequence into `slot`. Errors name the line.
void encoder_run::prepare(sequence_slot& slot, std::size_t index, const std::string& text) {
  tokenizer_.tokenize(text, words_);
  tokens_.ids.assign(1, tokenizer_.vocab().cls_id());
  tokens_.word_of.assign(1, -1);
  for (const text::word_piece& p : words_.pieces) {
    tokens_.ids.push_back(p.id);
    tokens_.word_of.push_back(p.word);
  }
  tokens_.ids.push_back(tokenizer_.vocab().sep_id());
  tokens_.word_of.push_back(-1);
  tokens_.segment_ids.clear();

  slot.found.mentions.clear();
  slot.found.rows.clear();
  slot.untruncated_rows = static_cast<std::int64_t>(tokens_.size());
  if (knowledge_) {
    linker_->link_words(std::span<const text::word>(words_.words), linked_);
    knowledge_->kb.resolve(linked_, kb::unknown_entity::skip, slot.found);
    // A mention of p pieces becomes a group of format.group_size(p) rows.
    pieces_before_word_.assign(words_.words.size() + 1, 0);
    for (const text::word_piece& p : words_.pieces)
      ++pieces_before_word_[static_cast<std::size_t>(p.word) + 1];
    for (std::size_t w = 1; w < pieces_before_word_.size(); ++w)
      pieces_before_word_[w] += pieces_before_word_[w - 1];
    for (const mention& m : slot.found.mentions) {
      const std::int64_t pieces = pieces_before_word_[static_cast<std::size_t>(m.words.end)] -
                                  pieces_before_word_[static_cast<std::size_t>(m.words.begin)];
      slot.untruncated_rows += planner_.config().format.group_size(pieces, m.marker) - pieces;
    }
  }
  planner_.build_into(tokens_, slot.found.mentions, slot.found.rows, plans_[index]);
  if (plans_[index].length() < slot.untruncated_rows) ++truncated_;
}

void encoder_run::encode_batch(std::size_t count) {
  splice::pack_into(std::span<const splice::splice_plan>(plans_).first(count), packed_);
  const index_t hidden = model_.hidden_size();

  // Each distinct entity of the batch goes through the mapper once.
  const auto n = static_cast<index_t>(packed_.entities());
  mapped_.resize(n, hidden);
  if (n > 0) {
    const std::vector<row_index>& rows = packed_.distinct_rows[0];
    gathered_.resize(n, knowledge_->kb.d_kb());
    knowledge_->kb.gather(rows, gathered_.view());
    knowledge_->plugin->mapper.forward(gathered_.view(), mapped_.view());
  }
  hidden_.resize(packed_.tokens(), hidden);
  model_.encode(packed_.input(), mapped_.view(), hidden_.view());
  hidden_out_->append(hidden_.view());
  entity_rows_ += packed_.slots.size();

  for (std::size_t s = 0; s < count; ++s) {
    offsets_.push_back(offsets_.back() + plans_[s].length());
    write_tokens(slots_[s], plans_[s]);
  }
}

void encoder_run::write_tokens(const sequence_slot& slot, const splice::splice_plan& plan) {
  using json = nlohmann::ordered_json;
  json tokens = json::array(), ids = json::array(), entity = json::array();
  for (std::int32_t r = 0; r < plan.length(); ++r) {
    const std::int32_t e = plan.entity_slot_of[static_cast<std::size_t>(r)];
    if (e >= 0) {
      // An entity row has no vocabulary token: its input is the mapped vector.
      const splice::entity_slot& s = plan.slots[static_cast<std::size_t>(e)];
      tokens.push_back("[ENTITY]");
      ids.push_back(-1);
      entity.push_back(slot.found.mentions[static_cast<std::size_t>(s.mention)].entity);
    } else {
      const token_id id = plan.input_ids[static_cast<std::size_t>(r)];
      tokens.push_back(std::string(tokenizer_.vocab().token(id)));
      ids.push_back(id);
      entity.push_back(nullptr);
    }
  }
  record_ = nlohmann::ordered_json::object();
  record_["tokens"] = std::move(tokens);
  record_["ids"] = std::move(ids);
  if (knowledge_) record_["entity"] = std::move(entity);
  tokens_out_->write(json_line(record_));
}

void encoder_run::report_progress(bool final) {
  if (!progress_.due(final)) return;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const std::size_t sequences = offsets_.size() - 1;
  const double rate = seconds > 0 ? static_cast<double>(sequences) / seconds : 0.0;
  if (!final) {
    progress_.show("kplug encode: %zu sequences, %.1f sequences/s", sequences, rate);
    return;
  }
  progress_.clear();
  std::fprintf(stderr, "kplug encode: %zu sequences, %lld rows in %.2f s (%.1f sequences/s)", sequences,
               static_cast<long long>(offsets_.back()), seconds, rate);
  if (knowledge_) std::fprintf(stderr, ", %llu entity rows", static_cast<unsigned long long>(entity_rows_));
  std::fprintf(stderr, " -> %s\n", settings_.output.c_str());
}

void encoder_run::run() {
  tasks::jsonl_reader input(settings_.input);
  const fs::path out(settings_.output);
  std::error_code ec;
  fs::create_directories(out, ec);
  if (!fs::is_directory(out)) {
    std::string why = "cannot create the output directory";
    if (ec) why += ": " + ec.message();
    throw error("create output directory", at_file(settings_.output), why);
  }
  hidden_out_.emplace((out / "hidden.npy").string(), model_.hidden_size());
  tokens_out_.emplace((out / "tokens.jsonl").string());

  nlohmann::json object;
  for (;;) {
    std::size_t count = 0;
    while (count < slots_.size() && input.next(object)) {
      const std::string& text = input.string_field(object, "text");
      try {
        prepare(slots_[count], count, text);
      } catch (const error& e) {
        throw error(e.what_failed(),
                    at_line(input.path(), input.line()) + (e.where().empty() ? "" : ", " + e.where()),
                    e.why());
      }
      ++count;
    }
    if (count == 0) break;
    encode_batch(count);
    report_progress(false);
  }

  hidden_out_->finish();
  tokens_out_->commit();
  io::write_npy((out / "offsets.npy").string(), {static_cast<index_t>(offsets_.size())},
                std::span<const std::int64_t>(offsets_));
  report_progress(true);
  if (truncated_ > 0)
    std::fprintf(stderr, "kplug encode: %llu of %zu sequences were longer than %d rows and were truncated\n",
                 static_cast<unsigned long long>(truncated_), offsets_.size() - 1, max_length_);
}

int run_encode(const encode_settings& s, const CLI::App& app) {
  // --kb, --aliases and --plugin come together or not at all.
  const bool any = given(app, "--kb") || given(app, "--aliases") || given(app, "--plugin") || given(app, "--entity-ids");
  for (const char* name : {"--kb", "--aliases", "--plugin"})
    if (any && !given(app, name))
      fail(std::string("injecting knowledge needs --kb, --aliases and --plugin; ") + name + " is missing");
  encoder_run run(s);
  run.run();
  return exit_ok;
}

}  // namespace

command add_encode(CLI::App& root) {
  const auto [app, s] = add_command<encode_settings>(
      root, "encode",
      "Encode every line {\"text\": ...} of a JSONL file with a BERT checkpoint and write the\n"
      "last hidden state of every token. With --kb, --aliases and --plugin, mentions are\n"
      "linked and their entities spliced into the input before encoding.",
      "Hugging Face BERT checkpoint (config.json, model.safetensors, vocab.txt)");
  add_value(*app, "--input", s->input, "FILE", "JSONL: one {\"text\": ...} object per line; blank lines are skipped")
      ->required();
  add_value(*app, "--output", s->output, "DIR", "directory for hidden.npy, offsets.npy, tokens.jsonl (created if needed)")
      ->required();
  add_value(*app, "--batch-size", s->batch_size, "N", "sequences per encoder call (default 32)")->check(integer_in(1, 1 << 16));
  add_threads_option(*app, s->threads);
  add_value(*app, "--max-length", s->max_length, "N",
            "rows per sequence, entity rows included; longer input is\n"
            "truncated (default: the model's max_position_embeddings)")
      ->check(integer_in(2, 1 << 20));
  add_kb_options(*app, s->knowledge);
  add_value(*app, "--aliases", s->knowledge.aliases, "FILE", "alias table, alias<TAB>entity<TAB>count per line, to link mentions");
  add_value(*app, "--plugin", s->knowledge.plugin, "FILE", "knowledge plugin tuned for this knowledge base and this model");
  app->add_flag("--quiet", s->quiet, "no progress or summary on stderr (truncation is still reported)");
  app->footer(
      "Outputs (sequence i is the i-th non-blank input line):\n"
      "  hidden.npy    float32, rows x hidden: every sequence's rows packed in input order\n"
      "  offsets.npy   int64, sequences + 1: sequence i is rows [offsets[i], offsets[i+1])\n"
      "  tokens.jsonl  per sequence {\"tokens\": [...], \"ids\": [...]} (+ \"entity\" with knowledge)\n" +
      std::string(exit_status_help));
  return {app, [settings = s, sub = app] { return run_encode(*settings, *sub); }};
}

}  // namespace kplug::cli
