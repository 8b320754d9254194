// kplug train-head: a linear mention-typing head over a frozen encoder,
// trained without knowledge (a downstream model of the simplest kind: a
// probe). The encoder's hidden state at the typed mention's first piece is
// computed once per instance; softmax regression on those features is then
// cheap. The result is a token-classification checkpoint (the encoder's
// tensors plus classifier.weight/bias, id2label) that kplug eval and
// kplug tune open like any fine-tuned model.
#include <unistd.h>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <kplug/core/error.hpp>
#include <kplug/core/random.hpp>
#include <kplug/io/safetensors.hpp>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>
#include <vector>

#include "args.hpp"
#include "commands.hpp"
#include "output_files.hpp"
#include "typing_task.hpp"

namespace kplug::cli {
namespace {

namespace fs = std::filesystem;
using row_matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

command_line train_head_command_line() {
  command_line cl("kplug train-head",
                  "Train a linear mention-typing head over a frozen BERT encoder (no knowledge) and save\n"
                  "encoder + head as a token-classification checkpoint.");
  cl.option("--model", "DIR", "the frozen encoder (BERT checkpoint with vocab.txt)", true)
      .option("--train", "FILE", "JSONL training data (the mention-typing schema)", true)
      .option("--dev", "FILE", "JSONL dev data: the epoch with the best dev accuracy is kept", true)
      .option("--labels", "FILE", "labels.txt: one label per line, in class order", true)
      .option("--out", "DIR", "the checkpoint directory to write (created)", true)
      .option("--epochs", "N", "passes of softmax regression over the features (default 100)")
      .option("--lr", "X", "Adam learning rate (default 3e-3)")
      .option("--weight-decay", "X", "L2 penalty on the weights (default 1e-4)")
      .option("--batch-size", "N", "examples per step (default 128)")
      .option("--seed", "N", "initialisation and shuffling (default 1)")
      .option("--threads", "N", "encoder threads (default: one per hardware thread)");
  cl.flag("--quiet", "no progress");
  cl.epilog("Exit status: 0 done, 1 failed (message on stderr), 2 bad command line.\n");
  return cl;
}

double positive(const command_line& cl, const char* name, double fallback, bool allow_zero = false) {
  const auto v = cl.value(name);
  if (!v) return fallback;
  try {
    std::size_t used = 0;
    const double x = std::stod(*v, &used);
    if (used == v->size() && (x > 0 || (allow_zero && x == 0))) return x;
  } catch (const std::exception&) {
  }
  cl.fail(std::string(name) + " must be a positive number, not " + *v);
}

struct features {
  row_matrix x;                    // n x hidden
  std::vector<std::int32_t> y;     // labels
};

features extract(typing_model& model, const std::string& path, bool quiet) {
  const typing_file f = read_typing_file(path);
  example_stats stats;
  const auto examples = make_typing_examples(f, model, nullptr, stats);
  for (std::size_t i = 0; i < examples.size(); ++i)
    if (examples[i].targets[0].label < 0)
      throw error("read training data", at_line(path, f.instances[i].line) + ", field \"label\"",
                  "\"" + f.instances[i].label + "\" is not in --labels");
  features out;
  out.x.resize(static_cast<Eigen::Index>(examples.size()), model.encoder->hidden_size());
  for (const auto& e : examples) out.y.push_back(e.targets[0].label);
  splice::planner_config config;
  config.max_length = static_cast<std::int32_t>(model.encoder->max_positions());
  const auto start = std::chrono::steady_clock::now();
  forward_examples<map::affine_mapper>(*model.encoder, splice::planner(config), nullptr, nullptr,
                                       std::span<const train::example>(examples), 64,
                                       [&](std::size_t first, matrix_view<const float> h) {
                                         for (index_t r = 0; r < h.rows(); ++r)
                                           std::copy(h.row(r).begin(), h.row(r).end(),
                                                     out.x.row(static_cast<Eigen::Index>(first) + r).data());
                                       });
  if (!quiet)
    std::fprintf(stderr, "kplug train-head: encoded %zu instances of %s in %.1f s\n", examples.size(), path.c_str(),
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return out;
}

double accuracy(const row_matrix& w, const Eigen::VectorXf& b, const features& f) {
  if (f.y.empty()) return 0.0;
  const row_matrix logits = (f.x * w.transpose()).rowwise() + b.transpose();
  std::size_t right = 0;
  for (Eigen::Index i = 0; i < logits.rows(); ++i) {
    Eigen::Index best = 0;
    logits.row(i).maxCoeff(&best);
    right += best == f.y[static_cast<std::size_t>(i)];
  }
  return static_cast<double>(right) / static_cast<double>(f.y.size());
}

// Encoder tensors as they are, plus the head; config.json says what the
// checkpoint now is.
void write_checkpoint(const std::string& base, const std::string& out, const std::vector<std::string>& labels,
                      const row_matrix& w, const Eigen::VectorXf& b) {
  fs::create_directories(out);
  const io::safetensors_file encoder(base + "/model.safetensors");
  std::vector<io::named_tensor> tensors;
  for (const io::tensor_info& info : encoder.tensors()) {
    if (info.name.starts_with("classifier.") || info.name.starts_with("cls.")) continue;  // an old head
    tensors.push_back({info.name, info.dtype, info.shape, encoder.tensor(info.name).bytes()});
  }
  const auto labels_n = static_cast<index_t>(w.rows());
  tensors.push_back(io::make_tensor("classifier.weight", {labels_n, static_cast<index_t>(w.cols())},
                                    std::span<const float>(w.data(), static_cast<std::size_t>(w.size()))));
  tensors.push_back(io::make_tensor("classifier.bias", {labels_n},
                                    std::span<const float>(b.data(), static_cast<std::size_t>(b.size()))));
  io::write_safetensors(out + "/model.safetensors", tensors, {{"format", "pt"}});

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

}  // namespace

int run_train_head(std::span<char* const> args) {
  command_line cl = train_head_command_line();
  if (!cl.parse(args)) {
    std::fputs(cl.usage().c_str(), stdout);
    return exit_ok;
  }
  const bool quiet = cl.has("--quiet");
  const int epochs = static_cast<int>(cl.integer("--epochs", 100, 1, 100000));
  const auto batch = static_cast<Eigen::Index>(cl.integer("--batch-size", 128, 1, 1 << 20));
  const auto seed = static_cast<std::uint64_t>(cl.integer("--seed", 1, 0, INT64_MAX));
  const float lr = static_cast<float>(positive(cl, "--lr", 3e-3));
  const float decay = static_cast<float>(positive(cl, "--weight-decay", 1e-4, true));

  typing_model model(cl.required("--model"), static_cast<int>(cl.integer("--threads", 0, 0, 4096)), false, false);
  model.labels = read_label_file(cl.required("--labels"));
  if (model.encoder->output_kind() != "hidden") model.encoder->use_hidden_output();
  const features train = extract(model, cl.required("--train"), quiet);
  const features dev = extract(model, cl.required("--dev"), quiet);

  const auto L = static_cast<Eigen::Index>(model.labels.size());
  const Eigen::Index H = train.x.cols(), n = train.x.rows();
  // Small random weights (a zero start is as good for a convex loss, but
  // the seed should matter the way it does for any trained head).
  xoshiro256 rng(seed);
  row_matrix w(L, H);
  for (Eigen::Index i = 0; i < w.size(); ++i) w.data()[i] = static_cast<float>((rng.uniform() * 2 - 1) * 0.01);
  Eigen::VectorXf b = Eigen::VectorXf::Zero(L);
  row_matrix mw = row_matrix::Zero(L, H), vw = row_matrix::Zero(L, H);
  Eigen::VectorXf mb = Eigen::VectorXf::Zero(L), vb = Eigen::VectorXf::Zero(L);
  row_matrix best_w = w;
  Eigen::VectorXf best_b = b;
  double best_acc = -1;
  int best_epoch = 0;
  std::vector<Eigen::Index> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), Eigen::Index{0});
  row_matrix xb, logits, gw;
  long step = 0;
  const bool tty = ::isatty(2) == 1;
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.next() % i]);
    double loss = 0;
    for (Eigen::Index first = 0; first < n; first += batch) {
      const Eigen::Index m = std::min(batch, n - first);
      xb.resize(m, H);
      for (Eigen::Index i = 0; i < m; ++i) xb.row(i) = train.x.row(order[static_cast<std::size_t>(first + i)]);
      logits = (xb * w.transpose()).rowwise() + b.transpose();
      for (Eigen::Index i = 0; i < m; ++i) {  // softmax cross-entropy gradient, in place
        const float peak = logits.row(i).maxCoeff();
        logits.row(i) = (logits.row(i).array() - peak).exp();
        const float sum = logits.row(i).sum();
        const auto y = train.y[static_cast<std::size_t>(order[static_cast<std::size_t>(first + i)])];
        loss += std::log(sum) - std::log(logits(i, y));
        logits.row(i) /= sum * static_cast<float>(m);
        logits(i, y) -= 1.0f / static_cast<float>(m);
      }
      gw = logits.transpose() * xb + decay * w;
      const Eigen::VectorXf gb = logits.colwise().sum().transpose();
      ++step;
      const float c1 = 1 - std::pow(0.9f, static_cast<float>(step)), c2 = 1 - std::pow(0.999f, static_cast<float>(step));
      mw = 0.9f * mw + 0.1f * gw;
      vw = 0.999f * vw + 0.001f * gw.cwiseProduct(gw);
      mb = 0.9f * mb + 0.1f * gb;
      vb = 0.999f * vb + 0.001f * gb.cwiseProduct(gb);
      w.array() -= lr * (mw.array() / c1) / ((vw.array() / c2).sqrt() + 1e-8f);
      b.array() -= lr * (mb.array() / c1) / ((vb.array() / c2).sqrt() + 1e-8f);
    }
    const double acc = accuracy(w, b, dev);
    if (acc > best_acc) {
      best_acc = acc;
      best_w = w;
      best_b = b;
      best_epoch = epoch;
    }
    if (!quiet && (tty || epoch % 10 == 0 || epoch == epochs))
      std::fprintf(stderr, "%skplug train-head: epoch %d/%d loss %.4f dev acc %.4f (best %.4f @ %d)%s",
                   tty ? "\r" : "", epoch, epochs, loss / static_cast<double>(n), acc, best_acc, best_epoch,
                   tty ? "\033[K" : "\n");
  }
  if (tty && !quiet) std::fputs("\n", stderr);
  write_checkpoint(model.dir, cl.required("--out"), model.labels, best_w, best_b);
  std::printf("train accuracy %.4f, dev accuracy %.4f (epoch %d) -> %s\n", accuracy(best_w, best_b, train), best_acc,
              best_epoch, cl.required("--out").c_str());
  return exit_ok;
}

}  // namespace kplug::cli
