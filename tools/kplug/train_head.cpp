// kplug train-head: a linear mention-typing head over a frozen encoder,
// trained without knowledge (a downstream model of the simplest kind: a
// probe). The encoder's hidden state at the typed mention's first piece is
// computed once per instance; softmax regression on those features
// (tasks::train_linear_probe) is then cheap. The result is a
// token-classification checkpoint (the encoder's tensors plus
// classifier.weight/bias, id2label) that kplug eval and kplug tune open like
// any fine-tuned model.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <kplug/core/error.hpp>
#include <kplug/io/safetensors.hpp>
#include <kplug/map/affine.hpp>
#include <kplug/tasks/forward.hpp>
#include <kplug/tasks/labels.hpp>
#include <kplug/tasks/linear_probe.hpp>
#include <kplug/tasks/typing_examples.hpp>
#include <kplug/tasks/typing_model.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli.hpp"
#include "output_files.hpp"
#include "progress.hpp"
#include "typing_options.hpp"

namespace kplug::cli {
namespace {

namespace fs = std::filesystem;

struct train_head_settings {
  std::string model, train, dev, labels, out;
  tasks::linear_probe_options probe;
  int threads = 0;
  bool quiet = false;
};

// The hidden state at each instance's typed mention, and its label.
tasks::labelled_features extract(tasks::typing_model& model, const std::string& path, bool quiet) {
  const tasks::typing_file f = tasks::read_typing_file(path);
  tasks::example_stats stats;
  const auto examples = tasks::make_typing_examples(f, model.tokenizer, model.labels, nullptr, stats);
  tasks::require_known_labels(std::span<const train::example>(examples), f, model.labels, "read training data");
  tasks::labelled_features out;
  out.x.resize(static_cast<index_t>(examples.size()), model.encoder->hidden_size());
  for (const auto& e : examples) out.y.push_back(e.targets[0].label);
  const auto start = std::chrono::steady_clock::now();
  tasks::forward_examples<backend::bert_cpu, map::affine_mapper>(
      *model.encoder, planner_for(model), nullptr, nullptr, std::span<const train::example>(examples), 64,
      [&](std::size_t first, matrix_view<const float> h) {
        for (index_t r = 0; r < h.rows(); ++r)
          std::copy(h.row(r).begin(), h.row(r).end(), out.x.row(static_cast<index_t>(first) + r).begin());
      });
  if (!quiet)
    std::fprintf(stderr, "kplug train-head: encoded %zu instances of %s in %.1f s\n", examples.size(), path.c_str(),
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return out;
}

// Encoder tensors as they are, plus the head; config.json says what the
// checkpoint now is.
void write_checkpoint(const std::string& base, const std::string& out, const std::vector<std::string>& labels,
                      const tasks::linear_head& head) {
  fs::create_directories(out);
  const io::safetensors_file encoder(base + "/model.safetensors");
  std::vector<io::named_tensor> tensors;
  for (const io::tensor_info& info : encoder.tensors()) {
    if (info.name.starts_with("classifier.") || info.name.starts_with("cls.")) continue;  // an old head
    tensors.push_back({info.name, info.dtype, info.shape, encoder.tensor(info.name).bytes()});
  }
  const index_t labels_n = head.weight.rows(), features = head.weight.cols();
  tensors.push_back(io::make_tensor("classifier.weight", {labels_n, features},
                                    std::span<const float>(head.weight.data(), static_cast<std::size_t>(labels_n * features))));
  tensors.push_back(io::make_tensor("classifier.bias", {labels_n},
                                    std::span<const float>(head.bias.data(), static_cast<std::size_t>(labels_n))));
  io::write_safetensors(out + "/model.safetensors", tensors, {{"format", "pt"}});

  // The base config.json was read strictly when the model was opened
  // (io::read_json_file); read again here in its own key order, which the
  // written copy keeps.
  std::ifstream in(base + "/config.json");
  nlohmann::ordered_json config = nlohmann::ordered_json::parse(in);
  config["architectures"] = {"BertForTokenClassification"};
  nlohmann::ordered_json id2label = nlohmann::ordered_json::object(), label2id = nlohmann::ordered_json::object();
  for (std::size_t i = 0; i < labels.size(); ++i) {
    id2label[std::to_string(i)] = labels[i];
    label2id[labels[i]] = i;
  }
  config["id2label"] = id2label;
  config["label2id"] = label2id;
  staged_file cfg(out + "/config.json");
  cfg.write(config.dump(2) + "\n");
  cfg.commit();
  for (const char* name : {"vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.json"})
    if (fs::exists(fs::path(base) / name))
      fs::copy_file(fs::path(base) / name, fs::path(out) / name, fs::copy_options::overwrite_existing);
}

int run_train_head(const train_head_settings& s) {
  tasks::typing_model model(s.model, s.threads, false, false);
  model.labels = tasks::read_label_file(s.labels);
  if (model.encoder->output_kind() != "hidden") model.encoder->use_hidden_output();
  const tasks::labelled_features train = extract(model, s.train, s.quiet);
  const tasks::labelled_features dev = extract(model, s.dev, s.quiet);

  progress_line progress(s.quiet);
  const int epochs = s.probe.epochs;
  const tasks::probe_result best = tasks::train_linear_probe(
      train, dev, static_cast<index_t>(model.labels.size()), s.probe, [&](const tasks::probe_epoch& e) {
        // A terminal line every epoch; a log every tenth and the last.
        if (progress.on_terminal() || e.epoch % 10 == 0 || e.epoch == epochs)
          progress.show("kplug train-head: epoch %d/%d loss %.4f dev acc %.4f (best %.4f @ %d)", e.epoch, epochs, e.loss,
                        e.dev_accuracy, e.best_dev_accuracy, e.best_epoch);
      });
  progress.finish();
  write_checkpoint(model.dir, s.out, model.labels, best.head);
  std::printf("train accuracy %.4f, dev accuracy %.4f (epoch %d) -> %s\n", tasks::probe_accuracy(best.head, train),
              best.dev_accuracy, best.epoch, s.out.c_str());
  return exit_ok;
}

}  // namespace

command add_train_head(CLI::App& root) {
  const auto [app, s] = add_command<train_head_settings>(
      root, "train-head",
      "Train a linear mention-typing head over a frozen BERT encoder (no knowledge) and save\n"
      "encoder + head as a token-classification checkpoint.",
      "the frozen encoder (BERT checkpoint with vocab.txt)");
  add_value(*app, "--train", s->train, "FILE", "JSONL training data (the mention-typing schema)")->required();
  add_value(*app, "--dev", s->dev, "FILE", "JSONL dev data: the epoch with the best dev accuracy is kept")->required();
  add_value(*app, "--labels", s->labels, "FILE", "labels.txt: one label per line, in class order")->required();
  add_value(*app, "--out", s->out, "DIR", "the checkpoint directory to write (created)")->required();
  add_value(*app, "--epochs", s->probe.epochs, "N", "passes of softmax regression over the features (default 100)")
      ->check(integer_in(1, 100000));
  add_value(*app, "--lr", s->probe.lr, "X", "Adam learning rate (default 3e-3)")->check(positive_number());
  add_value(*app, "--weight-decay", s->probe.weight_decay, "X", "L2 penalty on the weights (default 1e-4)")
      ->check(positive_number(true));
  add_value(*app, "--batch-size", s->probe.batch_size, "N", "examples per step (default 128)")
      ->check(integer_in(1, 1 << 20));
  add_value(*app, "--seed", s->probe.seed, "N", "initialisation and shuffling (default 1)")
      ->check(integer_in(0, INT64_MAX));
  add_threads_option(*app, s->threads);
  app->add_flag("--quiet", s->quiet, "no progress");
  app->footer(exit_status_help);
  return {app, [settings = s] { return run_train_head(*settings); }};
}

}  // namespace kplug::cli
