// kplug tune: map-tuning. The model stays frozen; only the affine mapper is
// trained, through the model's input gradient. Task-specific (the default):
// a mention-typing model (token-classification head) on the task's loss.
// General (--objective mmlm): a masked-LM model on mention-masked language
// modelling over a corpus with entity mentions; the plugin then serves any
// downstream model built on that encoder. With --epochs 0 it writes the
// initial mapper as a plugin: the untrained (random) and closed-form
// baselines, or a mapper trained elsewhere (npy, or another plugin).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <kplug/core/error.hpp>
#include <kplug/core/random.hpp>
#include <kplug/io/npy.hpp>
#include <kplug/kb/knowledge_base.hpp>
#include <kplug/link/alias_table.hpp>
#include <kplug/map/affine.hpp>
#include <kplug/map/init.hpp>
#include <kplug/plugin/knowledge_plugin.hpp>
#include <kplug/train/map_tuner.hpp>
#if KPLUG_CLI_MPI
#include <kplug/distributed/mpi.hpp>
#endif
#include <optional>
#include <string>
#include <unordered_map>

#include "args.hpp"
#include "commands.hpp"
#include "knowledge.hpp"
#include "mmlm_task.hpp"
#include "splice_options.hpp"
#include "typing_task.hpp"

namespace kplug::cli {
namespace {

command_line tune_command_line() {
  command_line cl("kplug tune",
                  "Map-tune a knowledge plugin for a frozen model: only the mapper from knowledge-base\n"
                  "vectors to input rows is trained, on a mention-typing task's loss (task-specific) or\n"
                  "by mention-masked language modelling (general, --objective mmlm).");
  cl.option("--model", "DIR",
            "the frozen checkpoint: a mention-typing model (token-classification head, id2label),\n"
            "or for --objective mmlm a masked-LM one (BertForMaskedLM)",
            true)
      .option("--objective", "NAME",
              "task (default): the typing task's cross-entropy; mmlm: general map-tuning, the\n"
              "mentions of --train masked and predicted from their entities' mapped rows")
      .option("--kb", "PATH", "knowledge base (directory with entities.npy + entity2id.txt, or .npy)", true)
      .option("--entity-ids", "FILE", "entity2id.txt of a --kb .npy table")
      .option("--aliases", "FILE",
              "alias table (alias<TAB>entity<TAB>count): entity names for --init closed-form,\n"
              "and links mentions that have no entity")
      .option("--out", "FILE", "the plugin file to write", true)
      .option("--train", "FILE",
              "JSONL training data (the mention-typing schema; \"label\" unused by mmlm);\n"
              "needed unless --epochs 0")
      .option("--dev", "FILE", "JSONL dev data: evaluated after each epoch; the best epoch is kept")
      .option("--max-examples", "N", "train on N examples drawn at random (--seed) from --train")
      .option("--init", "HOW",
              "the mapper's start: closed-form (default; least-squares alignment of each entity's\n"
              "vector to the mean word embedding of its most frequent alias), random (Xavier\n"
              "uniform), npy:W.npy,b.npy (W hidden x d_kb, b hidden), or plugin:FILE (an affine\n"
              "plugin for this knowledge base, e.g. a general one; tuned on any encoder of these sizes)")
      .option("--format", "NAME", splice_format_help())
      .option("--epochs", "N", "passes over --train (default 3; 0 writes the initial mapper)")
      .option("--lr", "X", "Adam learning rate (default 1e-3)")
      .option("--batch-size", "N", "examples per step (default 32)")
      .option("--seed", "N", "shuffling and random init (default 1)")
      .option("--threads", "N", "encoder threads (default: one per hardware thread)")
      .option("--name", "TEXT", "the encoder's name in the plugin's metadata (default: the model directory)");
  cl.flag("--quiet", "no progress bar");
  cl.flag("--data-parallel",
          "be one rank of an MPI job (mpirun -np N kplug tune ... --data-parallel): every rank\n"
          "reads the same files and runs its share of each batch; gradients are summed over the\n"
          "ranks; rank 0 alone reports and writes --out (docs/distributed.md)");
  cl.epilog("With --dev, --out is written each time the dev loss improves, so a run stopped\n"
            "midway leaves the best plugin so far.\n"
            "Exit status: 0 done, 1 failed (message on stderr), 2 bad command line.\n");
  return cl;
}

double parse_double(const command_line& cl, const char* name, double fallback) {
  const auto v = cl.value(name);
  if (!v) return fallback;
  try {
    std::size_t used = 0;
    const double x = std::stod(*v, &used);
    if (used == v->size() && x > 0) return x;
  } catch (const std::exception&) {
  }
  cl.fail(std::string(name) + " must be a positive number, not " + *v);
}

// Each entity's most frequent alias (ties: the first in the file).
std::unordered_map<std::string, std::string> best_aliases(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw error("read aliases", at_file(path), "cannot open");
  std::unordered_map<std::string, std::pair<std::string, unsigned long long>> best;
  std::string line;
  for (std::uint64_t n = 1; std::getline(in, line); ++n) {
    const auto t1 = line.find('\t'), t2 = line.find('\t', t1 + 1);
    if (t1 == std::string::npos || t2 == std::string::npos)
      throw error("read aliases", at_line(path, n), "expected alias<TAB>entity<TAB>count");
    const unsigned long long count = std::stoull(line.substr(t2 + 1));
    auto [it, fresh] = best.try_emplace(line.substr(t1 + 1, t2 - t1 - 1), line.substr(0, t1), count);
    if (!fresh && count > it->second.second) it->second = {line.substr(0, t1), count};
  }
  std::unordered_map<std::string, std::string> out;
  for (auto& [entity, alias] : best) out.emplace(entity, std::move(alias.first));
  return out;
}

// Closed-form alignment: entity vector -> mean input embedding of its name.
void init_closed_form(map::affine_mapper& mapper, const kb::knowledge_base& kb, const typing_model& model,
                      const std::string& aliases_path, bool quiet) {
  const auto names = best_aliases(aliases_path);
  std::vector<row_index> rows;
  std::vector<std::vector<token_id>> pieces;
  kb.entities().for_each([&](std::string_view entity, row_index row) {
    const auto it = names.find(std::string(entity));
    if (it == names.end()) return;
    std::vector<token_id> ids;
    for (const auto& p : model.tokenizer.tokenize(it->second).pieces) ids.push_back(p.id);
    if (ids.empty()) return;
    rows.push_back(row);
    pieces.push_back(std::move(ids));
  });
  if (rows.size() < static_cast<std::size_t>(kb.d_kb()) + 1)
    throw error("closed-form alignment", at_file(aliases_path),
                "names only " + std::to_string(rows.size()) + " entities of the knowledge base; need more than d_kb");
  const auto n = static_cast<index_t>(rows.size());
  const index_t hidden = model.encoder->hidden_size();
  matrix<float> x(n, kb.d_kb()), targets(n, hidden), emb;
  kb.gather(rows, x.view());
  for (index_t r = 0; r < n; ++r) {
    const auto& ids = pieces[static_cast<std::size_t>(r)];
    emb.resize(static_cast<index_t>(ids.size()), hidden);
    model.encoder->embed_tokens(ids, emb.view());
    for (index_t c = 0; c < hidden; ++c) {
      float s = 0;
      for (index_t i = 0; i < emb.rows(); ++i) s += emb(i, c);
      targets(r, c) = s / static_cast<float>(emb.rows());
    }
  }
  const auto fit = map::init_least_squares(mapper, x.view(), targets.view(), 1e-3);
  if (!quiet)
    std::fprintf(stderr, "kplug tune: closed-form alignment on %lld named entities (rms residual %.4f)\n",
                 static_cast<long long>(n), fit.rms_residual);
}

void init_from_npy(map::affine_mapper& mapper, const std::string& spec) {
  const auto comma = spec.find(',');
  if (comma == std::string::npos) throw error("initialise the mapper", "--init " + spec, "expected npy:W.npy,b.npy");
  const io::npy_array w = io::open_npy(spec.substr(0, comma)), b = io::open_npy(spec.substr(comma + 1));
  const auto wm = w.as_matrix<float>();
  if (wm.rows() != mapper.output_dim() || wm.cols() != mapper.input_dim())
    throw error("initialise the mapper", at_file(w.path()),
                "is " + std::to_string(wm.rows()) + " x " + std::to_string(wm.cols()) + ", expected " +
                    std::to_string(mapper.output_dim()) + " x " + std::to_string(mapper.input_dim()));
  const auto bv = b.values<float>();
  if (bv.size() != static_cast<std::size_t>(mapper.output_dim()))
    throw error("initialise the mapper", at_file(b.path()),
                "has " + std::to_string(bv.size()) + " values, expected " + std::to_string(mapper.output_dim()));
  for (index_t r = 0; r < wm.rows(); ++r) std::copy(wm.row(r).begin(), wm.row(r).end(), mapper.weight().row(r).begin());
  std::copy(bv.begin(), bv.end(), mapper.bias().row(0).begin());
}

// The start of a task's tuning from a plugin tuned elsewhere (the general
// one): its knowledge base must be this one; its encoder may differ (the
// general plugin was tuned on the base encoder), its sizes may not. Its
// warnings are shown when `report` (rank 0 only, not once per rank).
void init_from_plugin(map::affine_mapper& mapper, const std::string& path, const kb::knowledge_base& kb,
                      const backend::bert_cpu& encoder, bool report) {
  plugin::compatibility_options options;
  options.check_encoder_fingerprint = false;
  const plugin::knowledge_plugin p = plugin::load_knowledge_plugin(path, kb, encoder, options);
  if (report) print_plugin_warnings(p);
  const auto* affine = p.mapper.get_if<map::affine_mapper>();
  if (!affine)
    throw error("initialise the mapper", at_file(path),
                "holds a " + std::string(p.mapper.kind()) + " mapper; kplug tune trains affine ones");
  mapper = *affine;
}

std::vector<train::example> load_task_examples(const std::string& path, const typing_model& model,
                                               const knowledge_inputs& inputs, bool quiet) {
  const typing_file f = read_typing_file(path);
  example_stats stats;
  auto ex = make_typing_examples(f, model, &inputs, stats);
  for (std::size_t i = 0; i < ex.size(); ++i)
    if (ex[i].targets[0].label < 0)
      throw error("read training data", at_line(path, f.instances[i].line) + ", field \"label\"",
                  "\"" + f.instances[i].label + "\" is not one of the model's " + std::to_string(model.labels.size()) +
                      " labels");
  if (!quiet)
    std::fprintf(stderr, "kplug tune: %s: %zu instances, %zu typed mentions with a knowledge-base entity\n",
                 path.c_str(), stats.instances, stats.typed_with_entity);
  return ex;
}

std::vector<train::example> load_mmlm_examples(const std::string& path, const typing_model& model,
                                               const knowledge_inputs& inputs, const splice::planner& planner,
                                               bool quiet) {
  mmlm_stats stats;
  auto ex = make_mmlm_examples(read_typing_file(path, false), model, inputs, planner, stats);
  if (!quiet)
    std::fprintf(stderr,
                 "kplug tune: %s: %zu instances (%zu without a mention in the knowledge base), %zu MMLM examples, "
                 "%zu masked pieces\n",
                 path.c_str(), stats.instances, stats.without_knowledge, stats.examples, stats.targets);
  if (ex.empty()) throw error("read MMLM data", at_file(path), "no line has a mention with a knowledge-base entity");
  return ex;
}

// `n` examples drawn without replacement by kplug's own generator (the same
// draw on every platform).
void keep_random_sample(std::vector<train::example>& examples, std::size_t n, std::uint64_t seed) {
  if (n >= examples.size()) return;
  xoshiro256 rng(seed ^ 0x73616d706c65ull);
  for (std::size_t i = 0; i < n; ++i) std::swap(examples[i], examples[i + rng.next() % (examples.size() - i)]);
  examples.resize(n);
}

std::string format_seconds(double s) {
  char buf[32];
  const auto t = static_cast<long long>(s + 0.5);
  std::snprintf(buf, sizeof buf, "%lld:%02lld", t / 60, t % 60);
  return buf;
}

// The whole command on a parsed command line; with `reduction`, as one
// rank of a data-parallel group (only rank 0 reports and writes files).
int tune(const command_line& cl, const std::optional<train::gradient_reduction>& reduction) {
  const bool leader = !reduction || reduction->rank == 0;
  const int epochs = static_cast<int>(cl.integer("--epochs", 3, 0, 1000));
  if (epochs > 0 && !cl.has("--train")) cl.fail("--train is needed unless --epochs 0");
  const std::string objective = cl.value("--objective").value_or("task");
  if (objective != "task" && objective != "mmlm") cl.fail("--objective must be task or mmlm, not " + objective);
  const bool mmlm = objective == "mmlm";
  const std::string init = cl.value("--init").value_or("closed-form");
  if (init != "closed-form" && init != "random" && !init.starts_with("npy:") && !init.starts_with("plugin:"))
    cl.fail("--init must be closed-form, random, npy:W.npy,b.npy or plugin:FILE");
  if (init == "closed-form" && !cl.has("--aliases")) cl.fail("--init closed-form needs --aliases (entity names)");
  const bool quiet = cl.has("--quiet") || !leader;
  const auto seed = static_cast<std::uint64_t>(cl.integer("--seed", 1, 0, INT64_MAX));
  const auto max_examples = static_cast<std::size_t>(cl.integer("--max-examples", 0, 1, INT64_MAX));

  typing_model model(cl.required("--model"), static_cast<int>(cl.integer("--threads", 0, 0, 4096)), !mmlm, true);
  if (mmlm && model.encoder->output_kind() != "masked_lm")
    throw error("open the masked-LM model", model.dir,
                "has no masked-LM head (its output is " + std::string(model.encoder->output_kind()) +
                    "); --objective mmlm needs a BertForMaskedLM checkpoint (scripts/wordnet/train_mlm_head.py "
                    "trains a head over a frozen encoder)");
  const knowledge_paths paths{cl.required("--kb"), cl.value("--entity-ids").value_or(""), "", ""};
  const kb::knowledge_base kb = open_knowledge_base(paths, paths.kb);
  std::optional<link::alias_table> aliases;
  if (cl.has("--aliases")) aliases.emplace(link::read_alias_table(*cl.value("--aliases")));

  map::affine_mapper affine(kb.d_kb(), model.encoder->hidden_size());
  if (init == "random") map::initialize(affine, map::init_scheme::xavier_uniform, seed);
  else if (init == "closed-form") init_closed_form(affine, kb, model, *cl.value("--aliases"), quiet);
  else if (init.starts_with("plugin:")) init_from_plugin(affine, init.substr(7), kb, *model.encoder, leader);
  else init_from_npy(affine, init.substr(4));

  const splice::splice_format format = parse_splice_format(cl, model.tokenizer.vocab());
  if (mmlm && !format.keeps_mention())
    cl.fail("--objective mmlm predicts the mention's pieces; --format replace-mention drops them");
  const std::string name = cl.value("--name").value_or(model.dir);
  const std::string out = cl.required("--out");
  auto save = [&](const map::affine_mapper& m) {
    map::any_mapper any(m);
    const auto meta = plugin::describe(any, format, kb, *model.encoder, name);
    plugin::save_knowledge_plugin(out, meta, any);
  };
  if (epochs == 0) {
    if (leader) save(affine);
    if (!quiet) std::fprintf(stderr, "kplug tune: wrote the %s mapper to %s\n", init.c_str(), out.c_str());
    return exit_ok;
  }

  splice::planner_config config;
  config.format = format;
  config.max_length = static_cast<std::int32_t>(model.encoder->max_positions());
  const splice::planner planner(config);
  const knowledge_inputs inputs{&kb, aliases ? &*aliases : nullptr, entity_source::gold};
  auto load = [&](const std::string& path) {
    return mmlm ? load_mmlm_examples(path, model, inputs, planner, quiet)
                : load_task_examples(path, model, inputs, quiet);
  };
  std::vector<train::example> train_set = load(cl.required("--train"));
  if (max_examples > 0) keep_random_sample(train_set, max_examples, seed);
  std::vector<train::example> dev_set;
  if (cl.has("--dev")) dev_set = load(*cl.value("--dev"));

  train::tuning_options options;
  options.epochs = epochs;
  options.batch_size = static_cast<std::size_t>(cl.integer("--batch-size", 32, 1, 1 << 16));
  options.seed = seed;
  options.optimizer.lr = parse_double(cl, "--lr", 1e-3);
  train::map_tuner tuner(*model.encoder, kb, affine, planner, options);
  if (reduction) tuner.on_reduce(*reduction);
  tuner.on_checkpoint([&](const map::affine_mapper& m, const train::evaluation&) { save(m); });  // rank 0 only

  const bool tty = ::isatty(2) == 1;
  auto last = std::chrono::steady_clock::now() - std::chrono::hours(1);
  const auto result = tuner.fit(train_set, dev_set, [&](const train::progress& p) {
    if (quiet) return;
    const auto now = std::chrono::steady_clock::now();
    const bool milestone = p.stage != train::progress::phase::train;
    if (!milestone && now - last < std::chrono::seconds(tty ? 1 : 10)) return;
    last = now;
    if (p.stage == train::progress::phase::eval) return;
    std::fprintf(stderr, "%skplug tune: epoch %d/%d step %zu/%zu loss %.4f (epoch mean %.4f) %.1f ex/s ETA %s",
                 tty ? "\r" : "", p.epoch, p.epochs, p.step, p.total_steps, p.loss, p.mean_loss,
                 p.examples_per_second, format_seconds(p.eta_seconds).c_str());
    if (p.dev && p.dev->accuracy) std::fprintf(stderr, " | dev acc %.4f loss %.4f", *p.dev->accuracy, p.dev->loss);
    std::fputs(tty ? "\033[K" : "\n", stderr);
  });
  if (tty && !quiet) std::fputs("\n", stderr);
  if (leader) save(affine);
  if (!quiet) {
    const train::step_timing& t = tuner.timing();
    std::fprintf(stderr, "kplug tune: %zu steps in %d epochs (%.1f examples/s", result.steps, result.epochs_run,
                 t.total_seconds > 0 ? double(train_set.size()) * result.epochs_run / t.total_seconds : 0.0);
    if (reduction)
      std::fprintf(stderr, " on %d ranks, gradient allreduce %.2f%% of the step time", reduction->ranks,
                   t.total_seconds > 0 ? 100 * t.reduce_seconds / t.total_seconds : 0.0);
    std::fputs(")", stderr);
    if (result.best_dev && result.best_dev->accuracy)
      std::fprintf(stderr, ", best dev accuracy %.4f (loss %.4f)", *result.best_dev->accuracy, result.best_dev->loss);
    std::fprintf(stderr, " -> %s\n", out.c_str());
  }
  return exit_ok;
}

}  // namespace

int run_tune(std::span<char* const> args) {
  command_line cl = tune_command_line();
  if (!cl.parse(args)) {
    std::fputs(cl.usage().c_str(), stdout);
    return exit_ok;
  }
  if (!cl.has("--data-parallel")) return tune(cl, std::nullopt);
#if KPLUG_CLI_MPI
  // MPI may take its own arguments from the command line; kplug's are ours.
  int argc = 0;
  char** argv = nullptr;
  const distributed::mpi_context mpi(argc, argv);
  // An error on any rank stops every rank (printed with the rank, exit status 1).
  return mpi.run([&] { return tune(cl, distributed::allreduce_gradients(mpi)); });
#else
  cl.fail("--data-parallel needs a kplug built with MPI (Debian: libopenmpi-dev when it was configured)");
#endif
}

}  // namespace kplug::cli
