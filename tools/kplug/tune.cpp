// kplug tune: map-tuning. The model stays frozen; only the mapper (affine by
// default, --mapper mlp, or identity) is trained, through the model's input
// gradient. Task-specific (the default): a mention-typing model
// (token-classification head) on the task's loss. General (--objective mmlm):
// a masked-LM model on mention-masked language modelling over a corpus with
// entity mentions; the plugin then serves any downstream model built on that
// encoder. With --epochs 0 it writes the initial mapper as a plugin: the
// untrained (random) and closed-form baselines, or a mapper trained
// elsewhere (npy, or another plugin).
#include <cstdio>
#include <kplug/core/error.hpp>
#include <kplug/core/random.hpp>
#include <kplug/io/npy.hpp>
#include <kplug/map/affine.hpp>
#include <kplug/map/identity.hpp>
#include <kplug/map/init.hpp>
#include <kplug/map/mlp.hpp>
#include <kplug/plugin/knowledge_plugin.hpp>
#include <kplug/tasks/entity_names.hpp>
#include <kplug/tasks/mmlm_data.hpp>
#include <kplug/tasks/typing_data.hpp>
#include <kplug/train/map_tuner.hpp>
#if KPLUG_CLI_MPI
#include <kplug/distributed/mpi.hpp>
#endif
#include <memory>
#include <optional>
#include <string>

#include "cli.hpp"
#include "knowledge.hpp"
#include "progress.hpp"
#include "splice_options.hpp"
#include "typing_options.hpp"

namespace kplug::cli {
namespace {

struct tune_settings {
  std::string model, objective = "task", out, train, dev, init, format = "entity-slash-mention", name;
  knowledge_paths knowledge;
  std::string mapper = "affine", activation = "gelu";
  index_t mlp_hidden = 0;     // 0: the encoder's hidden size
  double target_norm = 0.0;   // identity: 0 keeps the vectors as they are
  int epochs = 3;
  double lr = 1e-3;
  std::size_t batch_size = 32;
  std::uint64_t seed = 1;
  std::size_t max_examples = 0;
  int threads = 0;
  bool quiet = false;
  bool data_parallel = false;
};

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
template <class Mapper>
void init_from_plugin(Mapper& mapper, const std::string& path, const kb::knowledge_base& kb,
                      const backend::bert_cpu& encoder, bool report) {
  plugin::compatibility_options options;
  options.check_encoder_fingerprint = false;
  const plugin::knowledge_plugin p = plugin::load_knowledge_plugin(path, kb, encoder, options);
  if (report) print_plugin_warnings(p);
  const auto* same = p.mapper.get_if<Mapper>();
  if (!same)
    throw error("initialise the mapper", at_file(path),
                "holds a " + std::string(p.mapper.kind()) + " mapper; --mapper is " + std::string(Mapper::kind_name));
  mapper = *same;
}

// The mapper before tuning, as --init says.
template <class Mapper>
void start_mapper(Mapper& mapper, const tune_settings& s, const tasks::typing_model& model,
                const kb::knowledge_base& kb, bool leader) {
  if (s.init.starts_with("plugin:")) return init_from_plugin(mapper, s.init.substr(7), kb, *model.encoder, leader);
  if constexpr (std::is_same_v<Mapper, map::affine_mapper>) {
    if (s.init == "closed-form") {
      const auto aligned = tasks::fit_to_entity_names(mapper, kb, model.tokenizer, *model.encoder,
                                                      tasks::entity_names(s.knowledge.aliases),
                                                      at_file(s.knowledge.aliases));
      if (!s.quiet && leader)
        std::fprintf(stderr, "kplug tune: closed-form alignment on %lld named entities (rms residual %.4f)\n",
                     static_cast<long long>(aligned.named), aligned.fit.rms_residual);
      return;
    }
    if (s.init.starts_with("npy:")) return init_from_npy(mapper, s.init.substr(4));
  }
  if (s.init == "random") map::initialize(mapper, map::init_scheme::xavier_uniform, s.seed);
}

std::vector<train::example> load_task_examples(const std::string& path, const tasks::typing_model& model,
                                               const tasks::knowledge_inputs& inputs, bool quiet) {
  const tasks::typing_file f = tasks::read_typing_file(path);
  tasks::example_stats stats;
  auto ex = tasks::make_typing_examples(f, model.tokenizer, model.labels, &inputs, stats);
  tasks::require_known_labels(std::span<const train::example>(ex), f, model.labels, "read training data");
  if (!quiet)
    std::fprintf(stderr, "kplug tune: %s: %zu instances, %zu typed mentions with a knowledge-base entity\n",
                 path.c_str(), stats.instances, stats.typed_with_entity);
  return ex;
}

std::vector<train::example> load_mmlm_examples(const std::string& path, const tasks::typing_model& model,
                                               const tasks::knowledge_inputs& inputs, const splice::planner& planner,
                                               bool quiet) {
  tasks::mmlm_stats stats;
  auto ex = tasks::make_mmlm_examples(tasks::read_typing_file(path, false), model.tokenizer, inputs, planner, stats);
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

void report_progress(progress_line& progress, const train::progress& p) {
  if (!progress.due(p.stage != train::progress::phase::train) || p.stage == train::progress::phase::eval) return;
  std::string dev;
  if (p.dev && p.dev->accuracy) {
    char buf[64];
    std::snprintf(buf, sizeof buf, " | dev acc %.4f loss %.4f", *p.dev->accuracy, p.dev->loss);
    dev = buf;
  }
  progress.show("kplug tune: epoch %d/%d step %zu/%zu loss %.4f (epoch mean %.4f) %.1f ex/s ETA %s%s", p.epoch,
                p.epochs, p.step, p.total_steps, p.loss, p.mean_loss, p.examples_per_second,
                format_seconds(p.eta_seconds).c_str(), dev.c_str());
}

// The opened model and knowledge, checked against the command line.
struct tuning_inputs {
  tasks::typing_model& model;
  const kb::knowledge_base& kb;
  const std::optional<link::alias_table>& aliases;
  splice::splice_format format;
};

// Tunes `mapper` and writes it to --out; with `reduction`, as one rank of a
// data-parallel group (only rank 0 reports and writes files).
template <class Mapper>
int tune_mapper(Mapper& mapper, const tune_settings& s, tuning_inputs& in,
                const std::optional<train::gradient_reduction>& reduction) {
  const bool leader = !reduction || reduction->rank == 0;
  const bool quiet = s.quiet || !leader;
  start_mapper(mapper, s, in.model, in.kb, leader);
  const std::string name = s.name.empty() ? in.model.dir : s.name;
  auto save = [&](const Mapper& m) {
    map::any_mapper any(m);
    plugin::save_knowledge_plugin(s.out, plugin::describe(any, in.format, in.kb, *in.model.encoder, name), any);
  };
  if (s.epochs == 0) {
    if (leader) save(mapper);
    if (!quiet)
      std::fprintf(stderr, "kplug tune: wrote the %s mapper to %s\n",
                   (s.mapper == "affine" ? s.init : s.init.empty() ? s.mapper : s.init + " " + s.mapper).c_str(),
                   s.out.c_str());
    return exit_ok;
  }
  const splice::planner planner = planner_for(in.model, in.format);
  const tasks::knowledge_inputs inputs{&in.kb, in.aliases ? &*in.aliases : nullptr, tasks::entity_source::gold};
  auto load = [&](const std::string& path) {
    return s.objective == "mmlm" ? load_mmlm_examples(path, in.model, inputs, planner, quiet)
                                 : load_task_examples(path, in.model, inputs, quiet);
  };
  std::vector<train::example> train_set = load(s.train);
  if (s.max_examples > 0) keep_random_sample(train_set, s.max_examples, s.seed);
  std::vector<train::example> dev_set;
  if (!s.dev.empty()) dev_set = load(s.dev);

  train::tuning_options options;
  options.epochs = s.epochs;
  options.batch_size = s.batch_size;
  options.seed = s.seed;
  options.optimizer.lr = s.lr;
  train::map_tuner tuner(*in.model.encoder, in.kb, mapper, planner, options);
  if (reduction) tuner.on_reduce(*reduction);
  tuner.on_checkpoint([&](const Mapper& m, const train::evaluation&) { save(m); });  // rank 0 only

  progress_line progress(quiet);
  const auto result = tuner.fit(train_set, dev_set, [&](const train::progress& p) { report_progress(progress, p); });
  progress.finish();
  if (leader) save(mapper);
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
    std::fprintf(stderr, " -> %s\n", s.out.c_str());
  }
  return exit_ok;
}

// The options that need each other; fills in --init's default.
void check_options(tune_settings& s, const CLI::App& app) {
  if (s.mapper != "mlp" && (given(app, "--mlp-hidden") || given(app, "--activation")))
    fail("--mlp-hidden and --activation are for --mapper mlp");
  if (s.mapper != "identity" && given(app, "--target-norm")) fail("--target-norm is for --mapper identity");
  if (s.mapper == "identity") {
    if (given(app, "--init")) fail("--mapper identity has no parameters to initialise");
    if (s.epochs > 0) fail("--mapper identity has no parameters to tune; give --epochs 0");
    return;
  }
  if (s.epochs > 0 && s.train.empty()) fail("--train is needed unless --epochs 0");
  if (s.init.empty()) s.init = s.mapper == "affine" ? "closed-form" : "random";
  const bool affine_only = s.init == "closed-form" || s.init.starts_with("npy:");
  if (!affine_only && s.init != "random" && !s.init.starts_with("plugin:"))
    fail("--init must be closed-form, random, npy:W.npy,b.npy or plugin:FILE");
  if (affine_only && s.mapper != "affine") fail("--init " + s.init + " is for --mapper affine");
  if (s.init == "closed-form" && !given(app, "--aliases")) fail("--init closed-form needs --aliases (entity names)");
}

int tune(tune_settings s, const CLI::App& app, const std::optional<train::gradient_reduction>& reduction) {
  check_options(s, app);
  if (reduction && reduction->rank != 0) s.quiet = true;
  const bool mmlm = s.objective == "mmlm";
  tasks::typing_model model(s.model, s.threads, !mmlm, true);
  if (mmlm && model.encoder->output_kind() != "masked_lm")
    throw error("open the masked-LM model", model.dir,
                "has no masked-LM head (its output is " + std::string(model.encoder->output_kind()) +
                    "); --objective mmlm needs a BertForMaskedLM checkpoint (scripts/wordnet/train_mlm_head.py "
                    "trains a head over a frozen encoder)");
  const kb::knowledge_base kb = open_knowledge_base(s.knowledge);
  std::optional<link::alias_table> aliases;
  if (!s.knowledge.aliases.empty()) aliases.emplace(link::read_alias_table(s.knowledge.aliases));
  const splice::splice_format format = parse_splice_format(s.format, model.tokenizer.vocab());
  if (mmlm && !format.keeps_mention())
    fail("--objective mmlm predicts the mention's pieces; --format replace-mention drops them");
  tuning_inputs in{model, kb, aliases, format};
  const index_t d_kb = in.kb.d_kb(), hidden = in.model.encoder->hidden_size();
  if (s.mapper == "mlp") {
    map::mlp_mapper mlp(d_kb, s.mlp_hidden > 0 ? s.mlp_hidden : hidden, hidden, map::parse_activation(s.activation));
    return tune_mapper(mlp, s, in, reduction);
  }
  if (s.mapper == "identity") {
    if (d_kb != hidden)
      throw error("make the identity mapper", at_file(s.knowledge.kb),
                  "has " + std::to_string(d_kb) + "-dimensional vectors; the encoder's rows have " +
                      std::to_string(hidden) + " (the identity mapper needs them equal)");
    map::identity_mapper identity(d_kb, s.target_norm > 0 ? std::optional<float>(static_cast<float>(s.target_norm))
                                                          : std::nullopt);
    return tune_mapper(identity, s, in, reduction);
  }
  map::affine_mapper affine(d_kb, hidden);
  return tune_mapper(affine, s, in, reduction);
}

int run_tune(const tune_settings& s, const CLI::App& app) {
  if (!s.data_parallel) return tune(s, app, std::nullopt);
#if KPLUG_CLI_MPI
  // MPI may take its own arguments from the command line; kplug's are ours.
  int argc = 0;
  char** argv = nullptr;
  const distributed::mpi_context mpi(argc, argv);
  // An error on any rank stops every rank (printed with the rank, exit status 1).
  return mpi.run([&] { return tune(s, app, distributed::allreduce_gradients(mpi)); });
#else
  fail("--data-parallel needs a kplug built with MPI (Debian: libopenmpi-dev when it was configured)");
#endif
}

}  // namespace

command add_tune(CLI::App& root) {
  const auto [app, s] = add_command<tune_settings>(
      root, "tune",
      "Map-tune a knowledge plugin for a frozen model: only the mapper from knowledge-base\n"
      "vectors to input rows is trained, on a mention-typing task's loss (task-specific) or\n"
      "by mention-masked language modelling (general, --objective mmlm).",
      "the frozen checkpoint: a mention-typing model (token-classification head, id2label),\n"
            "or for --objective mmlm a masked-LM one (BertForMaskedLM)");
  add_value(*app, "--objective", s->objective, "NAME",
            "task (default): the typing task's cross-entropy; mmlm: general map-tuning, the\n"
            "mentions of --train masked and predicted from their entities' mapped rows")
      ->check(one_of({"task", "mmlm"}));
  add_kb_options(*app, s->knowledge);
  app->get_option("--kb")->required();
  add_value(*app, "--aliases", s->knowledge.aliases, "FILE",
            "alias table (alias<TAB>entity<TAB>count): entity names for --init closed-form,\n"
            "and links mentions that have no entity");
  add_value(*app, "--out", s->out, "FILE", "the plugin file to write")->required();
  add_value(*app, "--train", s->train, "FILE",
            "JSONL training data (the mention-typing schema; \"label\" unused by mmlm);\n"
            "needed unless --epochs 0");
  add_value(*app, "--dev", s->dev, "FILE", "JSONL dev data: evaluated after each epoch; the best epoch is kept");
  add_value(*app, "--max-examples", s->max_examples, "N", "train on N examples drawn at random (--seed) from --train")
      ->check(integer_in(1, INT64_MAX));
  add_value(*app, "--mapper", s->mapper, "KIND",
            "the mapping network: affine (default; W x + b), mlp (two layers, --mlp-hidden,\n"
            "--activation), or identity (the vectors as they are, d_kb = hidden; --epochs 0)")
      ->check(one_of({"affine", "mlp", "identity"}));
  add_value(*app, "--mlp-hidden", s->mlp_hidden, "N", "--mapper mlp: its hidden width (default: the model's hidden size)")
      ->check(integer_in(1, 1 << 20));
  add_value(*app, "--activation", s->activation, "NAME", "--mapper mlp: gelu (default), relu or tanh")
      ->check(one_of({"gelu", "relu", "tanh"}));
  add_value(*app, "--target-norm", s->target_norm, "X",
            "--mapper identity: rescale every vector to this L2 norm (default: keep it)")
      ->check(positive_number());
  add_value(*app, "--init", s->init, "HOW",
            "the mapper's start: closed-form (default for affine; least-squares alignment of each\n"
            "entity's vector to the mean word embedding of its most frequent alias), random (Xavier\n"
            "uniform; default for mlp), npy:W.npy,b.npy (affine: W hidden x d_kb, b hidden), or\n"
            "plugin:FILE (a plugin of this mapper kind for this knowledge base, e.g. a general one;\n"
            "tuned on any encoder of these sizes)");
  add_format_option(*app, s->format, splice_format_help());
  add_value(*app, "--epochs", s->epochs, "N", "passes over --train (default 3; 0 writes the initial mapper)")
      ->check(integer_in(0, 1000));
  add_value(*app, "--lr", s->lr, "X", "Adam learning rate (default 1e-3)")->check(positive_number());
  add_value(*app, "--batch-size", s->batch_size, "N", "examples per step (default 32)")->check(integer_in(1, 1 << 16));
  add_value(*app, "--seed", s->seed, "N", "shuffling and random init (default 1)")->check(integer_in(0, INT64_MAX));
  add_threads_option(*app, s->threads);
  add_value(*app, "--name", s->name, "TEXT", "the encoder's name in the plugin's metadata (default: the model directory)");
  app->add_flag("--quiet", s->quiet, "no progress bar");
  app->add_flag("--data-parallel", s->data_parallel,
                "be one rank of an MPI job (mpirun -np N kplug tune ... --data-parallel): every rank\n"
                "reads the same files and runs its share of each batch; gradients are summed over the\n"
                "ranks; rank 0 alone reports and writes --out (docs/distributed.md)");
  app->footer(
      "With --dev, --out is written each time the dev loss improves, so a run stopped\n"
      "midway leaves the best plugin so far.\n" +
      std::string(exit_status_help));
  return {app, [settings = s, sub = app] { return run_tune(*settings, *sub); }};
}

}  // namespace kplug::cli
