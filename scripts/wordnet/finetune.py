#!/usr/bin/python3
"""Fine-tune a BERT mention typer (WordNet supersenses) with PyTorch, for kplug to load.

Run with Debian's /usr/bin/python3 (python3-torch 1.13 with OpenBLAS, transformers
4.38.2, safetensors, numpy); the pyenv python3 first on PATH has none of them.

The downstream models of kplug's WordNet experiment are made the way users make
them: Hugging Face BERT + a token classifier, trained in PyTorch. kplug's C++ loader
then reads the result as a BertForTokenClassification checkpoint. The task is one
label per sequence, read at ONE row (the "head": the mention's first word piece), so
the loss and the accuracy use the classifier's output at that row only.

Input (written by `kplug export`): JSONL, one sequence per line,
    {"ids": [101, 2023, -1, ...], "positions": [0, 1, 2, ...], "segments": [0, 0, ...],
     "entity_rows": [123], "head": 3, "label": 7}
ids = -1 marks an entity slot; its input embedding is mapper(kb[entity_rows[k]]) for the
k-th -1 of the line (needs --kb). labels.txt: one label per line, line i = class i.

Modes
  plain          --model BASE --train T --dev D --labels L --out OUT --seed S
                 whole BERT + a fresh classifier, AdamW, linear warmup/decay, lr 5e-5.
  knowledge      ... --kb entities.npy --mapper-init W.npy b.npy [--mapper-lr LR]
                 adds an affine mapper Linear(d_kb, hidden) trained jointly; saves
                 OUT/mapper_weight.npy and OUT/mapper_bias.npy (same layout as the init).
  frozen         ... --freeze-encoder: BERT frozen in eval mode (no dropout anywhere,
                 the classifier's input dropout included); only the classifier (and
                 the mapper) train. Default lr 1e-3: a linear head alone on frozen
                 features needs a far larger step than whole-model fine-tuning.
                 Without knowledge the head-row features are computed once and cached,
                 so epochs cost almost nothing: give a linear probe many (e.g. --epochs 30).
  --init-classifier DIR   start the classifier from DIR's classifier.weight/bias.
  --epochs 0     saves the initial model (e.g. base + an --init-classifier head).
  eval-only      --eval-only DIR --data FILE [--kb entities.npy]: prints accuracy.

Measured on synthetic data (8,000 training sequences of 15-25 rows, 1,000 dev, batch 32,
--threads 2, MiniLM-L6, 2-core machine shared with other jobs, load ~2): plain
fine-tuning 170 s/epoch (315 s CPU); --freeze-encoder with knowledge 86 s/epoch (170 s
CPU); at load ~8 the same runs took 426 s and 133 s. --freeze-encoder without knowledge:
74 s once for the features (load ~4), then 0.2 s/epoch.

The epoch with the best dev accuracy is kept (the first on ties). The saved checkpoint
is reloaded with transformers' AutoModelForTokenClassification and its logits at the
head rows compared with the in-memory model (max abs diff printed; > 1e-4 fails).
OUT also gets finetune_log.json (arguments, per-epoch accuracy and timing).
"""

import argparse
import ctypes
import json
import math
import os
import random
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

# GNU OpenMP threads spin while waiting; on a busy machine with few cores a spinning
# thread steals the core its partner needs, and 2 threads ran 4x slower than 1 (measured).
# Must be set before torch loads libgomp.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import transformers  # noqa: E402
from safetensors import safe_open  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from transformers import AutoModelForTokenClassification, BertConfig, BertForTokenClassification  # noqa: E402

PLAIN_LR = 5e-5
FROZEN_LR = 1e-3
RELOAD_TOLERANCE = 1e-4
RELOAD_CHECK_EXAMPLES = 256
TOKENIZER_FILES = ("vocab.txt", "tokenizer_config.json", "special_tokens_map.json")


class UsageError(Exception):
    """Bad input or arguments: reported as one line naming what, where and why."""


# --------------------------------------------------------------------------- data

@dataclass
class Example:
    ids: list
    positions: list
    segments: list
    entity_rows: list
    head: int
    label: int


@dataclass
class Batch:
    ids: torch.Tensor          # [B, T] long, -1 at entity slots, 0 at padding
    positions: torch.Tensor    # [B, T] long
    segments: torch.Tensor     # [B, T] long
    mask: torch.Tensor         # [B, T] long, 1 = real row
    heads: torch.Tensor        # [B] long
    labels: torch.Tensor       # [B] long
    entity_rows: np.ndarray    # kb rows of all slots, row-major = the order of (ids == -1).nonzero()


def read_labels(path):
    try:
        lines = Path(path).read_text(encoding="utf-8").split("\n")
    except OSError as e:
        raise UsageError(f"{path}: cannot be read ({e.strerror})")
    if lines and lines[-1] == "":
        lines.pop()
    labels = [line.strip() for line in lines]
    for i, name in enumerate(labels):
        if not name:
            raise UsageError(f"{path}:{i + 1}: empty label")
    if len(set(labels)) != len(labels):
        dup = next(n for n in labels if labels.count(n) > 1)
        raise UsageError(f"{path}: label '{dup}' appears more than once")
    if not labels:
        raise UsageError(f"{path}: no labels")
    return labels


def _int_list(obj, key, where, lo, hi):
    v = obj.get(key)
    if not isinstance(v, list) or not all(type(x) is int for x in v):
        raise UsageError(f"{where}: \"{key}\" must be a list of integers")
    bad = next((x for x in v if not lo <= x < hi), None)
    if bad is not None:
        raise UsageError(f"{where}: \"{key}\" holds {bad}, outside [{lo}, {hi})")
    return v


def read_examples(path, config, num_labels, kb_rows):
    """Reads and validates a JSONL file; kb_rows is None when no --kb was given."""
    examples = []
    try:
        f = open(path, encoding="utf-8")
    except OSError as e:
        raise UsageError(f"{path}: cannot be read ({e.strerror})")
    with f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{path}:{n}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise UsageError(f"{where}: not valid JSON ({e.msg})")
            if not isinstance(obj, dict):
                raise UsageError(f"{where}: not a JSON object")
            ids = _int_list(obj, "ids", where, -1, config.vocab_size)
            positions = _int_list(obj, "positions", where, 0, config.max_position_embeddings)
            segments = _int_list(obj, "segments", where, 0, config.type_vocab_size)
            rows = _int_list(obj, "entity_rows", where, 0, kb_rows if kb_rows is not None else 2**62)
            if not ids:
                raise UsageError(f"{where}: empty sequence")
            if len(positions) != len(ids) or len(segments) != len(ids):
                raise UsageError(f"{where}: ids, positions and segments have lengths "
                                 f"{len(ids)}, {len(positions)}, {len(segments)}")
            slots = ids.count(-1)
            if slots != len(rows):
                raise UsageError(f"{where}: {slots} entity slots (-1) but {len(rows)} entity_rows")
            if slots and kb_rows is None:
                raise UsageError(f"{where}: has entity slots (-1) but no --kb was given")
            head, label = obj.get("head"), obj.get("label")
            if type(head) is not int or not 0 <= head < len(ids):
                raise UsageError(f"{where}: \"head\" must be a row index in [0, {len(ids)})")
            if ids[head] == -1:
                raise UsageError(f"{where}: \"head\" {head} is an entity slot, not a word piece")
            if type(label) is not int or not 0 <= label < num_labels:
                raise UsageError(f"{where}: \"label\" must be a class index in [0, {num_labels})")
            examples.append(Example(ids, positions, segments, rows, head, label))
    if not examples:
        raise UsageError(f"{path}: no sequences")
    return examples


def collate(examples):
    # Padding rows get id 0 ([PAD]) and mask 0; they never reach the loss because
    # only head rows are classified, and the mask keeps them out of attention.
    width = max(len(e.ids) for e in examples)
    shape = (len(examples), width)
    ids = torch.zeros(shape, dtype=torch.long)
    positions = torch.zeros(shape, dtype=torch.long)
    segments = torch.zeros(shape, dtype=torch.long)
    mask = torch.zeros(shape, dtype=torch.long)
    for b, e in enumerate(examples):
        n = len(e.ids)
        ids[b, :n] = torch.tensor(e.ids)
        positions[b, :n] = torch.tensor(e.positions)
        segments[b, :n] = torch.tensor(e.segments)
        mask[b, :n] = 1
    rows = np.array([r for e in examples for r in e.entity_rows], dtype=np.int64)
    return Batch(ids, positions, segments, mask,
                 torch.tensor([e.head for e in examples]), torch.tensor([e.label for e in examples]),
                 rows)


def training_batches(examples, batch_size, rng):
    """Shuffled batches; within windows of 8 batches, examples of similar length are
    grouped so that per-batch padding stays small (as Hugging Face's group_by_length)."""
    order = list(range(len(examples)))
    rng.shuffle(order)
    window = 8 * batch_size
    batches = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start:start + window], key=lambda i: len(examples[i].ids))
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def eval_batches(examples, batch_size):
    # Order does not matter for accuracy: sort by length to minimise padding.
    order = sorted(range(len(examples)), key=lambda i: len(examples[i].ids))
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


# --------------------------------------------------------------------------- model

def set_threads(n):
    torch.set_num_threads(n)
    # Debian's torch does its GEMMs in OpenBLAS, whose pool ignores torch.set_num_threads
    # and would take every core; pin it too so --threads means what it says.
    try:
        with open("/proc/self/maps") as maps:
            libs = {line.split()[-1] for line in maps if "libopenblas" in line}
        for lib in libs:
            ctypes.CDLL(lib).openblas_set_num_threads(n)
    except (OSError, AttributeError):
        pass


def spliced_embeddings(word_embeddings, mapper, kb, batch):
    """Input embeddings of a batch: word embeddings, with mapper(kb row) at every entity
    slot. Out of place, so that gradients reach the mapper."""
    embeds = word_embeddings(batch.ids.clamp(min=0))
    if len(batch.entity_rows):
        vectors = torch.from_numpy(np.asarray(kb[batch.entity_rows], dtype=np.float32))
        embeds = embeds.index_put(tuple(batch.ids.eq(-1).nonzero().t()), mapper(vectors))
    return embeds


class MentionTyper(torch.nn.Module):
    """BertForTokenClassification read at one head row per sequence, plus an optional
    affine mapper that turns knowledge-base rows into the input embeddings of slots."""

    def __init__(self, model, mapper=None, kb=None):
        super().__init__()
        self.model = model
        self.mapper = mapper
        self.kb = kb  # numpy array (possibly memory-mapped); rows gathered per batch

    def head_states(self, batch):
        bert = self.model.bert
        common = dict(attention_mask=batch.mask, token_type_ids=batch.segments,
                      position_ids=batch.positions)
        if self.mapper is None:
            out = bert(input_ids=batch.ids, **common)
        else:
            # The slot's vector takes the place of a word embedding; position, segment
            # embeddings and LayerNorm are still added by BertEmbeddings.
            embeds = spliced_embeddings(bert.embeddings.word_embeddings, self.mapper, self.kb, batch)
            out = bert(inputs_embeds=embeds, **common)
        return out.last_hidden_state[torch.arange(len(batch.heads)), batch.heads]

    def classify(self, states):
        # Same order as BertForTokenClassification.forward: dropout, then classifier.
        return self.model.classifier(self.model.dropout(states))

    def forward(self, batch):
        return self.classify(self.head_states(batch))


def load_kb(path, d_kb=None):
    try:
        kb = np.load(path, mmap_mode="r")
    except (OSError, ValueError) as e:
        raise UsageError(f"{path}: cannot be read as .npy ({e})")
    if kb.ndim != 2 or kb.dtype.kind != "f":
        raise UsageError(f"{path}: must be a 2-D float array, found {kb.dtype} {kb.shape}")
    if d_kb is not None and kb.shape[1] != d_kb:
        raise UsageError(f"{path}: rows have {kb.shape[1]} values but the mapper expects {d_kb}")
    return kb


def load_mapper(weight_path, bias_path, hidden):
    """nn.Linear(d_kb, hidden) from W [hidden, d_kb] and b [hidden] (or [1, hidden])."""
    try:
        w, b = np.load(weight_path), np.load(bias_path)
    except (OSError, ValueError) as e:
        raise UsageError(f"mapper {weight_path}, {bias_path}: cannot be read as .npy ({e})")
    if w.ndim != 2 or w.shape[0] != hidden:
        raise UsageError(f"{weight_path}: must be [hidden={hidden}, d_kb], found {w.shape}")
    if b.size != hidden or b.ndim not in (1, 2):
        raise UsageError(f"{bias_path}: must be [{hidden}] or [1, {hidden}], found {b.shape}")
    mapper = torch.nn.Linear(w.shape[1], hidden)
    with torch.no_grad():
        mapper.weight.copy_(torch.from_numpy(w.astype(np.float32)))
        mapper.bias.copy_(torch.from_numpy(b.astype(np.float32).reshape(-1)))
    return mapper, b.shape


def read_classifier(directory, labels, hidden):
    directory = Path(directory)
    config = json.loads((directory / "config.json").read_text())
    theirs = [config.get("id2label", {}).get(str(i)) for i in range(len(labels))]
    if len(config.get("id2label", {})) != len(labels) or theirs != labels:
        raise UsageError(f"{directory}/config.json: id2label differs from the --labels file; "
                         f"the classifier rows would mean other classes")
    with safe_open(str(directory / "model.safetensors"), "pt") as f:
        w, b = f.get_tensor("classifier.weight"), f.get_tensor("classifier.bias")
    if tuple(w.shape) != (len(labels), hidden) or tuple(b.shape) != (len(labels),):
        raise UsageError(f"{directory}: classifier is {tuple(w.shape)}, expected ({len(labels)}, {hidden})")
    return w.float(), b.float()


# --------------------------------------------------------------------------- training

class Progress:
    """A progress line on stderr at most every `every` seconds."""

    def __init__(self, total_examples, epochs, every=10.0):
        self.total, self.epochs, self.every = total_examples, epochs, every
        self.start = self.last = time.monotonic()
        self.done = 0

    def step(self, epoch, done_in_epoch, n, loss):
        self.done += n
        now = time.monotonic()
        if now - self.last < self.every:
            return
        self.last = now
        rate = self.done / (now - self.start)
        left_epoch = (self.total - done_in_epoch) / rate
        left_all = (self.total * self.epochs - self.done) / rate
        log(f"epoch {epoch}/{self.epochs}  {done_in_epoch}/{self.total}  {rate:.1f} ex/s  "
            f"loss {loss:.4f}  ETA epoch {left_epoch:.0f} s, all {left_all:.0f} s")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


@torch.no_grad()
def predict(typer, examples, batch_size, features=None):
    """Logits at the head rows, in example order."""
    typer.eval()
    logits = [None] * len(examples)
    for idx in eval_batches(examples, batch_size):
        if features is not None:
            out = typer.classify(features[idx])
        else:
            out = typer(collate([examples[i] for i in idx]))
        for i, row in zip(idx, out):
            logits[i] = row
    return torch.stack(logits)


def accuracy(logits, examples):
    labels = torch.tensor([e.label for e in examples])
    return (logits.argmax(1) == labels).float().mean().item()


def set_training_mode(typer, frozen):
    typer.train()
    if frozen:
        # The frozen reference uses the encoder as kplug does: deterministic, no dropout.
        typer.model.eval()


def train(typer, train_examples, dev_examples, args, frozen, trainable):
    features = None
    if frozen and typer.mapper is None:
        # Nothing upstream of the classifier trains: encode every sequence once.
        t0 = time.monotonic()
        features = {name: encode_all(typer, ex, args.batch_size * 2)
                    for name, ex in (("train", train_examples), ("dev", dev_examples)) if ex}
        log(f"frozen encoder: cached head-row features in {time.monotonic() - t0:.1f} s")

    optimizer = torch.optim.AdamW(
        [{"params": p, "lr": lr} for p, lr in trainable], weight_decay=args.weight_decay)
    steps_per_epoch = math.ceil(len(train_examples) / args.batch_size)
    total_steps = steps_per_epoch * args.epochs
    scheduler = transformers.get_linear_schedule_with_warmup(
        optimizer, int(args.warmup_ratio * total_steps), total_steps)
    params = [p for group, _ in trainable for p in group]

    rng = random.Random(args.seed)
    progress = Progress(len(train_examples), args.epochs)
    history, best = [], None
    for epoch in range(1, args.epochs + 1):
        t0, cpu0 = time.monotonic(), time.process_time()
        set_training_mode(typer, frozen)
        loss_sum, done = 0.0, 0
        for idx in training_batches(train_examples, args.batch_size, rng):
            if features is not None:
                logits = typer.classify(features["train"][idx])
                labels = torch.tensor([train_examples[i].label for i in idx])
            else:
                batch = collate([train_examples[i] for i in idx])
                logits, labels = typer(batch), batch.labels
            loss = F.cross_entropy(logits, labels)
            loss.backward()
            if args.max_grad_norm > 0:
                torch.nn.utils.clip_grad_norm_(params, args.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            loss_sum += loss.item() * len(idx)
            done += len(idx)
            progress.step(epoch, done, len(idx), loss.item())
        # CPU seconds too: on a shared machine they say more about the cost than wall time.
        train_seconds, train_cpu = time.monotonic() - t0, time.process_time() - cpu0
        entry = {"epoch": epoch, "train_loss": loss_sum / done, "train_seconds": round(train_seconds, 2),
                 "train_cpu_seconds": round(train_cpu, 2)}
        if dev_examples:
            dev_logits = predict(typer, dev_examples, args.batch_size * 2,
                                 features["dev"] if features else None)
            entry["dev_accuracy"] = accuracy(dev_logits, dev_examples)
        entry["seconds"] = round(time.monotonic() - t0, 2)
        history.append(entry)
        dev_text = f"dev accuracy {entry['dev_accuracy']:.4f}" if dev_examples else "no dev set"
        log(f"epoch {epoch}/{args.epochs}: train loss {entry['train_loss']:.4f}, {dev_text}, "
            f"training {train_seconds:.1f} s ({done / train_seconds:.1f} ex/s, {train_cpu:.1f} s CPU), "
            f"{entry['seconds']:.1f} s with dev")
        # Without a dev set the last epoch is kept; with one, the first best.
        if not dev_examples or best is None or entry["dev_accuracy"] > best[1]:
            best = (epoch, entry.get("dev_accuracy"), trainable_state(typer, frozen))
    if best is not None:
        typer.load_state_dict(best[2], strict=False)
    return history, (best[0] if best else 0)


@torch.no_grad()
def encode_all(typer, examples, batch_size):
    typer.eval()
    states = torch.empty(len(examples), typer.model.config.hidden_size)
    for idx in eval_batches(examples, batch_size):
        states[idx] = typer.head_states(collate([examples[i] for i in idx]))
    return states


def trainable_state(typer, frozen):
    # A frozen encoder never changes, so only the head (and mapper) need a snapshot.
    state = typer.state_dict()
    if frozen:
        state = {k: v for k, v in state.items() if not k.startswith("model.bert.")}
    return {k: v.detach().clone() for k, v in state.items()}


# --------------------------------------------------------------------------- saving

def save_checkpoint(typer, base_dir, labels, out_dir, mapper_bias_shape):
    out_dir.mkdir(parents=True, exist_ok=True)
    config = json.loads((base_dir / "config.json").read_text())
    config["architectures"] = ["BertForTokenClassification"]
    config["id2label"] = {str(i): name for i, name in enumerate(labels)}
    config["label2id"] = {name: i for i, name in enumerate(labels)}
    config["num_labels"] = len(labels)
    (out_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n")

    # state_dict() of BertForTokenClassification is exactly what save_pretrained
    # writes ("bert.embeddings...", "classifier..."; no pooler; position_ids is a
    # non-persistent buffer). safetensors needs contiguous, unshared tensors.
    state = {k: v.detach().to(torch.float32).contiguous().clone()
             for k, v in typer.model.state_dict().items()}
    save_file(state, str(out_dir / "model.safetensors"), metadata={"format": "pt"})
    for name in TOKENIZER_FILES:
        if (base_dir / name).exists():
            shutil.copyfile(base_dir / name, out_dir / name)
    if typer.mapper is not None:
        np.save(out_dir / "mapper_weight.npy", typer.mapper.weight.detach().numpy().astype(np.float32))
        np.save(out_dir / "mapper_bias.npy",
                typer.mapper.bias.detach().numpy().astype(np.float32).reshape(mapper_bias_shape))


def load_saved(out_dir):
    """The checkpoint as a user would load it: transformers' Auto class (+ the mapper)."""
    transformers.logging.set_verbosity_error()
    model = AutoModelForTokenClassification.from_pretrained(str(out_dir)).eval()
    mapper = None
    if (out_dir / "mapper_weight.npy").exists():
        mapper, _ = load_mapper(out_dir / "mapper_weight.npy", out_dir / "mapper_bias.npy",
                                model.config.hidden_size)
    return model, mapper


@torch.no_grad()
def reloaded_head_logits(model, mapper, kb, examples, batch_size):
    """Logits at the head rows through the model's own forward (classifier on every row)."""
    logits = [None] * len(examples)
    for idx in eval_batches(examples, batch_size):
        batch = collate([examples[i] for i in idx])
        common = dict(attention_mask=batch.mask, token_type_ids=batch.segments, position_ids=batch.positions)
        if mapper is None:
            out = model(input_ids=batch.ids, **common).logits
        else:
            embeds = spliced_embeddings(model.get_input_embeddings(), mapper, kb, batch)
            out = model(inputs_embeds=embeds, **common).logits
        for i, row in zip(idx, out[torch.arange(len(idx)), batch.heads]):
            logits[i] = row
    return torch.stack(logits)


# --------------------------------------------------------------------------- main

def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="See the module docstring for the input format and modes.")
    p.add_argument("--model", help="base BERT directory (config.json, model.safetensors, vocab.txt)")
    p.add_argument("--train", help="training JSONL")
    p.add_argument("--dev", help="dev JSONL; the epoch with the best dev accuracy is kept")
    p.add_argument("--labels", help="labels.txt: one label per line, line i = class i")
    p.add_argument("--out", help="output checkpoint directory")
    p.add_argument("--seed", type=int, default=0, help="seeds torch, random, numpy (default %(default)s)")
    p.add_argument("--epochs", type=int, default=3, help="0 saves the initial model (default %(default)s)")
    p.add_argument("--lr", type=float, help=f"default {PLAIN_LR}, or {FROZEN_LR} with --freeze-encoder")
    p.add_argument("--mapper-lr", type=float, help="default: --lr")
    p.add_argument("--batch-size", type=int, default=32, help="sequences per step (default %(default)s)")
    p.add_argument("--warmup-ratio", type=float, default=0.1, help="share of steps with linear warmup (default %(default)s)")
    p.add_argument("--weight-decay", type=float, default=0.0, help="AdamW decoupled weight decay (default %(default)s)")
    p.add_argument("--max-grad-norm", type=float, default=1.0, help="gradient clipping; 0 = off (default %(default)s)")
    p.add_argument("--threads", type=int, default=2, help="torch and OpenBLAS threads (default %(default)s)")
    p.add_argument("--kb", help="entities.npy: float [rows, d_kb] knowledge-base embeddings")
    p.add_argument("--mapper-init", nargs=2, metavar=("W.npy", "b.npy"),
                   help="affine mapper init: W [hidden, d_kb] (nn.Linear.weight layout), b [hidden]")
    p.add_argument("--freeze-encoder", action="store_true",
                   help="train only the classifier (and mapper) over a frozen BERT in eval mode")
    p.add_argument("--init-classifier", metavar="DIR", help="start the classifier from DIR's")
    p.add_argument("--eval-only", metavar="DIR", help="evaluate checkpoint DIR on --data and exit")
    p.add_argument("--data", help="JSONL to evaluate with --eval-only")
    args = p.parse_args(argv)

    def need(*names):
        missing = [n for n in names if getattr(args, n.replace("-", "_")) is None]
        if missing:
            p.error("missing " + ", ".join("--" + n for n in missing))

    if args.eval_only:
        need("data")
    else:
        need("model", "train", "labels", "out")
        if args.mapper_init and not args.kb:
            p.error("--mapper-init needs --kb")
        if args.kb and not args.mapper_init:
            p.error("--kb needs --mapper-init (the mapper to train)")
        if args.mapper_lr is not None and not args.mapper_init:
            p.error("--mapper-lr needs --mapper-init")
    if args.epochs < 0 or args.batch_size < 1 or args.threads < 1:
        p.error("--epochs must be >= 0, --batch-size and --threads >= 1")
    if args.lr is None:
        args.lr = FROZEN_LR if args.freeze_encoder else PLAIN_LR
    if args.mapper_lr is None:
        args.mapper_lr = args.lr
    return args


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def evaluate_only(args):
    directory = Path(args.eval_only)
    if not (directory / "config.json").is_file():
        raise UsageError(f"{directory}: no config.json; --eval-only needs a saved checkpoint directory")
    kb = load_kb(args.kb) if args.kb else None
    model, mapper = load_saved(directory)
    if kb is not None and mapper is None:
        raise UsageError(f"{directory}: --kb given but the checkpoint has no mapper_weight.npy")
    examples = read_examples(args.data, model.config, model.config.num_labels,
                             kb.shape[0] if kb is not None and mapper is not None else None)
    logits = reloaded_head_logits(model, mapper, kb, examples, args.batch_size * 2)
    correct = int((logits.argmax(1) == torch.tensor([e.label for e in examples])).sum())
    print(f"accuracy {correct / len(examples):.6f} ({correct}/{len(examples)}) {args.data}")
    return correct / len(examples)


def fine_tune(args):
    """Trains and saves; returns (typer, summary) so that checks can inspect the model."""
    base_dir, out_dir = Path(args.model), Path(args.out)
    transformers.logging.set_verbosity_error()  # the unused pooler / new classifier are expected
    for name in ("config.json", "model.safetensors"):
        if not (base_dir / name).is_file():
            raise UsageError(f"{base_dir}: no {name}; --model must be a Hugging Face BERT directory")
    if out_dir.resolve() == base_dir.resolve():
        raise UsageError(f"{out_dir}: --out must differ from --model (it would overwrite the base)")
    labels = read_labels(args.labels)
    config = BertConfig.from_pretrained(str(base_dir))

    kb, mapper, bias_shape = None, None, None
    if args.mapper_init:
        mapper, bias_shape = load_mapper(*args.mapper_init, config.hidden_size)
        kb = load_kb(args.kb, mapper.in_features)
    kb_rows = kb.shape[0] if kb is not None else None
    train_examples = read_examples(args.train, config, len(labels), kb_rows)
    dev_examples = read_examples(args.dev, config, len(labels), kb_rows) if args.dev else []

    # Seeded right before the classifier's random initialisation.
    seed_everything(args.seed)
    model = BertForTokenClassification.from_pretrained(
        str(base_dir), num_labels=len(labels),
        id2label=dict(enumerate(labels)), label2id={n: i for i, n in enumerate(labels)})
    if args.init_classifier:
        w, b = read_classifier(args.init_classifier, labels, config.hidden_size)
        with torch.no_grad():
            model.classifier.weight.copy_(w)
            model.classifier.bias.copy_(b)
    typer = MentionTyper(model, mapper, kb)

    frozen = args.freeze_encoder
    if frozen:
        model.bert.requires_grad_(False)
    head_params = list(model.classifier.parameters())
    body_params = [] if frozen else list(model.bert.parameters())
    trainable = [(body_params + head_params, args.lr)]
    if mapper is not None:
        trainable.append((list(mapper.parameters()), args.mapper_lr))

    mode = ("frozen" if frozen else "plain") + (" + knowledge" if mapper is not None else "")
    log(f"fine-tuning ({mode}): {len(train_examples)} train, {len(dev_examples)} dev, "
        f"{len(labels)} labels, lr {args.lr:g}" + (f", mapper lr {args.mapper_lr:g}" if mapper else "")
        + f", batch {args.batch_size}, {args.epochs} epochs, seed {args.seed}, {args.threads} threads")

    t0 = time.monotonic()
    history, best_epoch = train(typer, train_examples, dev_examples, args, frozen, trainable)
    typer.eval()
    save_checkpoint(typer, base_dir, labels, out_dir, bias_shape)

    # Cross-check the files, not the in-memory model: reload as a user would.
    check = (dev_examples or train_examples)[:RELOAD_CHECK_EXAMPLES]
    ours = predict(typer, check, args.batch_size * 2)
    reloaded, reloaded_mapper = load_saved(out_dir)
    theirs = reloaded_head_logits(reloaded, reloaded_mapper, kb, check, args.batch_size * 2)
    diff = (ours - theirs).abs().max().item()
    best_acc = next((h.get("dev_accuracy") for h in history if h["epoch"] == best_epoch), None)
    log(f"saved {out_dir} (epoch {best_epoch}" + (f", dev accuracy {best_acc:.4f}" if best_acc is not None else "")
        + f"); reload check on {len(check)} sequences: max abs logit diff {diff:.3g}")

    summary = {"mode": mode, "args": vars(args), "labels": len(labels), "train": len(train_examples),
               "dev": len(dev_examples), "epochs": history, "best_epoch": best_epoch,
               "best_dev_accuracy": best_acc, "reload_max_abs_diff": diff,
               "seconds": round(time.monotonic() - t0, 2), "torch": torch.__version__,
               "transformers": transformers.__version__}
    (out_dir / "finetune_log.json").write_text(json.dumps(summary, indent=2) + "\n")
    if not diff <= RELOAD_TOLERANCE:
        raise RuntimeError(f"{out_dir}: reloaded checkpoint differs from the trained model "
                           f"(max abs logit diff {diff:.3g} > {RELOAD_TOLERANCE})")
    return typer, summary


def main(argv=None):
    args = parse_args(argv)
    set_threads(args.threads)
    try:
        if args.eval_only:
            return evaluate_only(args)
        return fine_tune(args)
    except UsageError as e:
        if __name__ != "__main__":
            raise
        print(f"finetune.py: error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
