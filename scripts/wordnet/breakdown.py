#!/usr/bin/env python3
"""Where map-tuning's gain comes from: no knowledge against the map-tuned
plugin (gold entities) on slices of the test split, per downstream model,
mean over seeds. Reads a finished pipeline's work directory and runs
`kplug eval --predictions` for the two conditions (standard library only).

    python3 scripts/wordnet/breakdown.py --work DIR --seeds "1 2 3" [--pos noun|verb] [--kplug build/tools/kplug]

Slices: the rare subset and the rest; whether the mention's surface form is
a training mention; whether that surface form is an alias of one synset or of
several.
"""
import argparse
import collections
import json
import os
import statistics
import subprocess
import sys

from table import seed_dir

MODELS = [("a", "(a) linear head"), ("b", "(b) fine-tuned")]
SLICES = ["whole test", "rare", "not rare", "mention seen in train", "mention unseen in train",
          "alias of 1 synset", "alias of 2+ synsets"]


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def predictions(kplug, work, seed, pos, model, cond):
    """Per-instance correctness of one condition on the test split."""
    d = os.path.join(work, f"data-{pos}-{seed}")
    s = seed_dir(work, seed, pos)
    out = os.path.join(s, "eval", f"{model}-{cond}-gold-test.predictions.jsonl")
    cmd = [kplug, "eval", "--model", os.path.join(s, "models", model),
           "--data", os.path.join(d, "test.jsonl"), "--quiet", "--predictions", out]
    if cond != "none":
        cmd += ["--plugin", os.path.join(s, "plugins", f"{model}-{cond}.kplug"),
                "--kb", os.path.join(work, "kb"), "--aliases", os.path.join(d, "aliases.tsv"),
                "--entities", "gold"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return [p["correct"] for p in read_jsonl(out)]


def slices_of_seed(work, seed, pos):
    """For each test instance, the slices it belongs to."""
    d = os.path.join(work, f"data-{pos}-{seed}")
    with open(os.path.join(d, "test.jsonl")) as f:
        test_lines = [line.strip() for line in f]
    with open(os.path.join(d, "test-rare.jsonl")) as f:
        rare = {line.strip() for line in f}
    surface = lambda inst: inst["text"][inst["mentions"][0]["start"]:inst["mentions"][0]["end"]].lower()
    seen = {surface(t) for t in read_jsonl(os.path.join(d, "train.jsonl"))}
    senses = collections.defaultdict(set)
    with open(os.path.join(d, "aliases.tsv")) as f:
        for line in f:
            alias, entity, _ = line.rstrip("\n").split("\t")
            senses[alias].add(entity)
    out = []
    for line in test_lines:
        inst = json.loads(line)
        w = surface(inst)
        out.append(["whole test",
                    "rare" if line in rare else "not rare",
                    "mention seen in train" if w in seen else "mention unseen in train",
                    "alias of 1 synset" if len(senses.get(w, ())) <= 1 else "alias of 2+ synsets"])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", required=True)
    ap.add_argument("--seeds", default="1")
    ap.add_argument("--pos", default="noun", choices=["noun", "verb"])
    ap.add_argument("--kplug", default=os.path.join(os.path.dirname(__file__), "..", "..", "build", "tools", "kplug"))
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split()]
    # acc[(model, slice, cond)]: per-seed accuracies; count[slice]: per-seed instance counts
    acc = collections.defaultdict(list)
    count = collections.defaultdict(list)
    for seed in seeds:
        membership = slices_of_seed(args.work, seed, args.pos)
        for name in SLICES:
            count[name].append(sum(name in m for m in membership))
        for model, _ in MODELS:
            for cond in ("none", "tuned"):
                correct = predictions(args.kplug, args.work, seed, args.pos, model, cond)
                if len(correct) != len(membership):
                    sys.exit(f"breakdown.py: {len(correct)} predictions for {len(membership)} test lines (seed {seed})")
                for name in SLICES:
                    hits = [c for c, m in zip(correct, membership) if name in m]
                    acc[(model, name, cond)].append(100 * sum(hits) / len(hits))
    fmt = lambda v: f"{statistics.mean(v):.1f}" + (f" ± {statistics.stdev(v):.1f}" if len(v) > 1 else "")
    print(f"Map-tuned against no knowledge ({args.pos}s), gold entities, accuracy (%) over seeds {', '.join(map(str, seeds))}\n")
    print("| model | slice | share of test | no knowledge | map-tuned | gain |")
    print("|---|---|---|---|---|---|")
    for model, label in MODELS:
        for name in SLICES:
            share = 100 * sum(count[name]) / sum(count["whole test"])
            none, tuned = acc[(model, name, "none")], acc[(model, name, "tuned")]
            gain = statistics.mean(t - n for n, t in zip(none, tuned))
            print(f"| {label} | {name} | {share:.0f}% | {fmt(none)} | {fmt(tuned)} | {gain:+.1f} |")


if __name__ == "__main__":
    main()
