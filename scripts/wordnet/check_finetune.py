#!/usr/bin/python3
"""Self-check of finetune.py on tiny synthetic data (run with Debian's /usr/bin/python3).

    /usr/bin/python3 scripts/wordnet/check_finetune.py [--model DIR] [--keep DIR]

Runs one epoch of every mode on ~200 sequences and asserts, for each saved checkpoint:
  - model.safetensors holds exactly BertForTokenClassification's keys ("bert.*",
    "classifier.*"; no pooler, no position_ids), all float32; config.json names the
    architecture and the labels;
  - transformers' AutoModelForTokenClassification.from_pretrained(OUT), run one
    sequence at a time (no padding) with inputs built here from the files alone
    (the mapper .npy + kb for slots), gives the in-memory model's logits at the head
    rows, and `finetune.py --eval-only` (a separate process) its accuracy;
  - --freeze-encoder leaves every encoder tensor bit-identical to the base checkpoint,
    while the classifier and the mapper do move; plain fine-tuning moves the encoder;
  - --init-classifier copies the classifier exactly; a rerun with the same seed gives
    bit-identical files; malformed input is reported with file:line.

    /usr/bin/python3 scripts/wordnet/check_finetune.py --write-synthetic DIR \
        [--train-lines 8000 --dev-lines 1000]
writes the synthetic data only (train.jsonl, dev.jsonl without slots; train_kb.jsonl,
dev_kb.jsonl with them; labels.txt, kb.npy, W.npy, b.npy), e.g. for timing.
"""

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads; see finetune.py

import numpy as np  # noqa: E402
import torch  # noqa: E402
from safetensors import safe_open  # noqa: E402
from transformers import AutoModelForTokenClassification, BertConfig, BertForTokenClassification  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import finetune  # noqa: E402

FINETUNE = Path(__file__).resolve().parent / "finetune.py"
DEFAULT_MODEL = Path.home() / ".cache/kplug/all-MiniLM-L6-v2"
NUM_LABELS, KB_ROWS, D_KB, HIDDEN = 26, 500, 100, 384
CLS, SEP, SLASH = 101, 102, 1013


# --------------------------------------------------------------------------- synthetic data

def write_synthetic(out, train_lines, dev_lines, seed=7, hidden=HIDDEN):
    """Sequences of 15-25 rows: [CLS] words [SEP], the head a random word. The label is
    the head id mod 26 (learnable without knowledge) and, in the _kb files, also encoded
    in the kb row of a "/ <slot>" pair inserted after the head (learnable through the mapper)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    (out / "labels.txt").write_text("".join(f"noun.synthetic{i:02d}\n" for i in range(NUM_LABELS)))
    row_label = nrng.integers(0, NUM_LABELS, KB_ROWS)
    centers = nrng.normal(size=(NUM_LABELS, D_KB)).astype(np.float32)
    kb = centers[row_label] + 0.5 * nrng.normal(size=(KB_ROWS, D_KB)).astype(np.float32)
    np.save(out / "kb.npy", kb.astype(np.float32))
    np.save(out / "W.npy", (0.02 * nrng.normal(size=(hidden, D_KB))).astype(np.float32))
    np.save(out / "b.npy", np.zeros(hidden, np.float32))

    def line(with_kb):
        row = rng.randrange(KB_ROWS)
        label = int(row_label[row])
        n_words = rng.randint(13, 23) - (2 if with_kb else 0)
        words = [rng.randrange(2000, 30522) for _ in range(n_words)]
        head = rng.randrange(n_words)
        words[head] = rng.randrange(2000 // NUM_LABELS + 1, 30522 // NUM_LABELS) * NUM_LABELS + label
        ids = [CLS] + words[:head + 1] + ([SLASH, -1] if with_kb else []) + words[head + 1:] + [SEP]
        return json.dumps({"ids": ids, "positions": list(range(len(ids))), "segments": [0] * len(ids),
                           "entity_rows": [row] if with_kb else [], "head": head + 1, "label": label})

    for name, n in (("train", train_lines), ("dev", dev_lines)):
        for suffix, with_kb in (("", False), ("_kb", True)):
            (out / f"{name}{suffix}.jsonl").write_text("".join(line(with_kb) + "\n" for _ in range(n)))
    return out


# --------------------------------------------------------------------------- checks

def tensors(path):
    with safe_open(str(path), "pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}


def check(condition, what):
    if not condition:
        raise AssertionError(what)
    print(f"  ok: {what}")


def check_files(out, base, labels, knowledge, mapper_init=None):
    saved = tensors(out / "model.safetensors")
    config = json.loads((out / "config.json").read_text())
    expected = set(BertForTokenClassification(BertConfig.from_pretrained(str(out))).state_dict())
    base_keys = {"bert." + k for k in base if not k.startswith("pooler.") and not k.endswith("position_ids")}
    check(set(saved) == expected and set(saved) == base_keys | {"classifier.weight", "classifier.bias"},
          "safetensors keys = BertForTokenClassification's (bert.* + classifier.*)")
    check(not any("pooler" in k or "position_ids" in k for k in saved), "no pooler / position_ids keys")
    check(all(t.dtype == torch.float32 for t in saved.values()), "all tensors float32")
    check(tuple(saved["classifier.weight"].shape) == (len(labels), HIDDEN), "classifier shape")
    check(config["architectures"] == ["BertForTokenClassification"] and config["num_labels"] == len(labels)
          and [config["id2label"][str(i)] for i in range(len(labels))] == labels
          and all(config["label2id"][n] == i for i, n in enumerate(labels)), "config architecture and labels")
    check(all((out / n).exists() for n in ("vocab.txt", "tokenizer_config.json", "special_tokens_map.json")),
          "tokenizer files copied")
    check((out / "mapper_weight.npy").exists() == knowledge, "mapper files present iff knowledge")
    if knowledge:
        w, b = np.load(out / "mapper_weight.npy"), np.load(out / "mapper_bias.npy")
        w0, b0 = np.load(mapper_init[0]), np.load(mapper_init[1])
        check(w.shape == w0.shape and b.shape == b0.shape and w.dtype == b.dtype == np.float32,
              "mapper files have the init files' layout")
    return saved


@torch.no_grad()
def reference_logits(out, examples, kb):
    """Head-row logits from the saved files alone, one unpadded sequence at a time."""
    model = AutoModelForTokenClassification.from_pretrained(str(out)).eval()
    if kb is not None:
        w = torch.from_numpy(np.load(out / "mapper_weight.npy"))
        b = torch.from_numpy(np.load(out / "mapper_bias.npy")).reshape(-1)
    rows = []
    for e in examples:
        ids = torch.tensor([e.ids])
        kwargs = dict(position_ids=torch.tensor([e.positions]), token_type_ids=torch.tensor([e.segments]))
        if kb is None:
            logits = model(input_ids=ids, **kwargs).logits
        else:
            embeds = model.bert.embeddings.word_embeddings(ids.clamp(min=0))
            slots = (ids[0] == -1).nonzero().flatten().tolist()
            for k, row in zip(slots, e.entity_rows):
                embeds[0, k] = torch.from_numpy(kb[row]) @ w.t() + b
            logits = model(inputs_embeds=embeds, **kwargs).logits
        rows.append(logits[0, e.head])
    return torch.stack(rows)


def check_reload(out, typer, examples, kb, data_path, kb_path):
    ours = finetune.predict(typer, examples, 64)
    diff = (ours - reference_logits(out, examples, kb)).abs().max().item()
    print(f"  max abs diff, in-memory vs AutoModelForTokenClassification reload: {diff:.3g}")
    check(diff < 1e-4, "reloaded checkpoint gives the in-memory logits at the head rows")
    cmd = [sys.executable, str(FINETUNE), "--eval-only", str(out), "--data", str(data_path), "--threads", "2"]
    if kb is not None:
        cmd += ["--kb", str(kb_path)]
    printed = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    got = float(re.match(r"accuracy (\S+)", printed).group(1))
    check(abs(got - finetune.accuracy(ours, examples)) < 1e-6, f"--eval-only prints the same accuracy ({got:.4f})")


def encoder_identical(saved, base):
    return all(torch.equal(saved["bert." + k], base[k]) for k in base
               if not k.startswith("pooler.") and not k.endswith("position_ids"))


def run_checks(model_dir, work):
    data = write_synthetic(work / "data", 200, 60)
    base = tensors(model_dir / "model.safetensors")
    labels = finetune.read_labels(data / "labels.txt")
    kb = np.load(data / "kb.npy")
    init = [str(data / "W.npy"), str(data / "b.npy")]
    config = BertConfig.from_pretrained(str(model_dir))
    dev = {kbs: finetune.read_examples(data / f"dev{kbs}.jsonl", config, len(labels), KB_ROWS)
           for kbs in ("", "_kb")}

    def fine_tune(name, *extra, knowledge=False, epochs=1):
        out = work / name
        argv = ["--model", str(model_dir), "--labels", str(data / "labels.txt"), "--out", str(out),
                "--seed", "3", "--epochs", str(epochs), "--batch-size", "16"]
        s = "_kb" if knowledge else ""
        argv += ["--train", str(data / f"train{s}.jsonl"), "--dev", str(data / f"dev{s}.jsonl")]
        if knowledge:
            argv += ["--kb", str(data / "kb.npy"), "--mapper-init", *init]
        print(f"\n== {name}: finetune.py {' '.join(extra)}{' (knowledge)' if knowledge else ''}")
        typer, _ = finetune.main(argv + list(extra))
        saved = check_files(out, base, labels, knowledge, init)
        check_reload(out, typer, dev[s], kb if knowledge else None, data / f"dev{s}.jsonl", data / "kb.npy")
        return out, saved

    out, saved = fine_tune("plain")
    check(not encoder_identical(saved, base), "plain fine-tuning changed the encoder")
    plain_classifier = saved["classifier.weight"]

    out, saved = fine_tune("knowledge", knowledge=True)
    check(not encoder_identical(saved, base), "fine-tuning with knowledge changed the encoder")
    check(not np.array_equal(np.load(out / "mapper_weight.npy"), np.load(init[0])), "mapper trained")

    out, saved = fine_tune("frozen", "--freeze-encoder")
    check(encoder_identical(saved, base), "--freeze-encoder: encoder bit-identical to the base")

    out, saved = fine_tune("frozen_knowledge", "--freeze-encoder", knowledge=True)
    check(encoder_identical(saved, base), "--freeze-encoder with knowledge: encoder bit-identical to the base")
    check(not np.array_equal(np.load(out / "mapper_weight.npy"), np.load(init[0]))
          and not np.array_equal(np.load(out / "mapper_bias.npy"), np.load(init[1])), "mapper trained")
    again, _ = fine_tune("frozen_knowledge_again", "--freeze-encoder", knowledge=True)
    check(all((out / f).read_bytes() == (again / f).read_bytes()
              for f in ("model.safetensors", "mapper_weight.npy", "mapper_bias.npy")),
          "same seed, same files (bit-identical)")

    out, saved = fine_tune("init_classifier", "--init-classifier", str(work / "plain"), epochs=0)
    check(torch.equal(saved["classifier.weight"], plain_classifier), "--init-classifier copies the classifier")
    check(encoder_identical(saved, base), "--epochs 0 saves the base encoder untouched")

    print("\n== malformed input")
    bad = data / "train_bad.jsonl"
    lines = (data / "train_kb.jsonl").read_text().splitlines()
    lines[1] = lines[1].replace('"entity_rows": [', '"entity_rows": [1, ')
    bad.write_text("\n".join(lines[:5]) + "\n")
    try:
        finetune.main(["--model", str(model_dir), "--labels", str(data / "labels.txt"), "--out",
                       str(work / "bad"), "--train", str(bad), "--kb", str(data / "kb.npy"), "--mapper-init", *init])
        raise AssertionError("malformed input was accepted")
    except finetune.UsageError as e:
        print(f"  {e}")
        check(str(e).startswith(f"{bad}:2: 1 entity slots (-1) but 2 entity_rows"), "error names file:line and why")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    p.add_argument("--keep", type=Path, help="work in this directory and keep it")
    p.add_argument("--write-synthetic", type=Path, metavar="DIR", help="only write synthetic data to DIR")
    p.add_argument("--train-lines", type=int, default=8000)
    p.add_argument("--dev-lines", type=int, default=1000)
    args = p.parse_args()
    if args.write_synthetic:
        write_synthetic(args.write_synthetic, args.train_lines, args.dev_lines)
        print(f"wrote {args.write_synthetic}")
        return
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        run_checks(args.model, args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="check_finetune.") as work:
            run_checks(args.model, Path(work))
    print("\nall finetune checks passed")


if __name__ == "__main__":
    main()
