#!/usr/bin/env python3
"""The WordNet results table from the pipeline's kplug eval summaries
(standard library only; any python3).

    python3 scripts/wordnet/table.py --work DIR --seeds "1 2 3" [--pos noun|verb] [--kb-report FILE]
"""
import argparse
import json
import os
import statistics

MODELS = [("a", "(a) linear head over frozen MiniLM"), ("b", "(b) MiniLM fine-tuned (PyTorch)")]
CONDITIONS = [
    ("none", "no knowledge"),
    ("random", "random mapper (untrained)"),
    ("closed", "closed-form alignment mapper"),
    ("general", "general plugin (MMLM on definitions), as is"),
    ("tuned", "map-tuned from the closed-form mapper (model frozen)"),
    ("general-tuned", "map-tuned from the general plugin (model frozen)"),
    ("upper", "trained with knowledge from the start (upper ref.)"),
]
COLUMNS = [("gold", "test"), ("gold", "test-rare"), ("linker", "test"), ("linker", "test-rare")]


def seed_dir(work, seed, pos):
    """pipeline.sh's directory for one seed: plain for nouns, suffixed otherwise."""
    return os.path.join(work, f"seed-{seed}" if pos == "noun" else f"seed-{seed}-{pos}")


def load(work, seed, model, cond, ents, subset, pos):
    if cond == "none":
        ents = "gold"  # no entities are used: the same figure in both column groups
    path = os.path.join(seed_dir(work, seed, pos), "eval", f"{model}-{cond}-{ents}-{subset}.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def cell(values):
    if not values:
        return "n/a"
    mean = 100 * statistics.mean(values)
    if len(values) == 1:
        return f"{mean:.1f}"
    return f"{mean:.1f} ± {100 * statistics.stdev(values):.1f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--seeds", required=True)
    ap.add_argument("--pos", default="noun", choices=["noun", "verb"])
    ap.add_argument("--kb-report")
    args = ap.parse_args()
    seeds = args.seeds.split()
    print(f"## WordNet supersense typing ({args.pos}s): accuracy (%), mean ± std over seeds {', '.join(seeds)}\n")
    print("| model | knowledge | test, gold entities | rare, gold | test, linker entities | rare, linker |")
    print("|---|---|---|---|---|---|")
    for m, mname in MODELS:
        for c, cname in CONDITIONS:
            cells = []
            for ents, subset in COLUMNS:
                vals = [s["accuracy"] for seed in seeds if (s := load(args.work, seed, m, c, ents, subset, args.pos))]
                cells.append(cell(vals) if len(vals) == len(seeds) else "n/a")
            print(f"| {mname} | {cname} | " + " | ".join(cells) + " |")
    # The targets: map-tuning against no knowledge, gold entities.
    print("\nMap-tuned against no knowledge (gold entities), in points: the gain is the mean of the "
          "per-seed differences; 'seed std' is the larger standard deviation of the two conditions.\n")
    print("| model | subset | no knowledge | map-tuned | gain | seed std | gain > 2 x seed std |")
    print("|---|---|---|---|---|---|---|")
    for m, mname in MODELS:
        for subset in ("test", "test-rare"):
            base = [load(args.work, seed, m, "none", "gold", subset, args.pos) for seed in seeds]
            tuned = [load(args.work, seed, m, "tuned", "gold", subset, args.pos) for seed in seeds]
            if not all(base) or not all(tuned):
                continue
            b = [x["accuracy"] for x in base]
            t = [x["accuracy"] for x in tuned]
            gain = 100 * statistics.mean(t[i] - b[i] for i in range(len(b)))
            std = 100 * max(statistics.stdev(b), statistics.stdev(t)) if len(b) > 1 else float("nan")
            verdict = "n/a (one seed)" if len(b) < 2 else ("yes" if gain > 2 * std else "NO")
            print(f"| {mname} | {subset} | {cell(b)} | {cell(t)} | {gain:+.1f} | {std:.1f} | {verdict} |")
    # General map-tuning (the paper's "+General" rows), gold entities, whole test set.
    pairs = [("general", "none", "general plugin as is, against no knowledge"),
             ("general-tuned", "tuned", "map-tuned from the general plugin, against from the closed-form mapper")]
    rows = []
    for m, mname in MODELS:
        for cond, ref, what in pairs:
            a = [load(args.work, seed, m, cond, "gold", "test", args.pos) for seed in seeds]
            b = [load(args.work, seed, m, ref, "gold", "test", args.pos) for seed in seeds]
            if all(a) and all(b):
                diff = [100 * (x["accuracy"] - y["accuracy"]) for x, y in zip(a, b)]
                spread = f" ± {statistics.stdev(diff):.1f}" if len(diff) > 1 else ""
                rows.append(f"| {mname} | {what} | {statistics.mean(diff):+.1f}{spread} |")
    if rows:
        print("\nGeneral map-tuning, gold entities, whole test set: mean (± std) over seeds of the "
              "per-seed difference, in points.\n")
        print("| model | comparison | difference |")
        print("|---|---|---|")
        print("\n".join(rows))
    # Sizes and linking quality, from the first seed's summaries.
    seed = seeds[0]
    t = load(args.work, seed, "a", "tuned", "linker", "test", args.pos)
    r = load(args.work, seed, "a", "tuned", "linker", "test-rare", args.pos)
    g = load(args.work, seed, "a", "tuned", "gold", "test", args.pos)
    if t and r and g:
        print(f"\nSeed {seed}: {t['instances']} test instances, {r['instances']} in the rare subset; "
              f"{g['typed_with_entity']} of {g['instances']} gold entities are in the knowledge base; "
              f"the linker found a candidate for {t['linked']} test mentions, "
              f"{t['linked_correct']} of them the gold synset "
              f"({100 * t['linked_correct'] / max(1, t['instances']):.1f}% of all test mentions).")
    if args.kb_report and os.path.exists(args.kb_report):
        print("\nKnowledge-base embeddings (kplug_transe report):\n")
        with open(args.kb_report) as f:
            print("```\n" + f.read().strip() + "\n```")


if __name__ == "__main__":
    main()
