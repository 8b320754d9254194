#!/usr/bin/python3
"""Compares kplug's CPU encoder with PyTorch on all-MiniLM-L6-v2 or BERT-base, same thread count.

Both sides run the same points (batch x length, random ids in [1000, 30000) between
[CLS] and [SEP], no padding). The two sides alternate point by point so that machine
noise hits both; results are reported as ratios. Run it on an idle machine.

Usage: compare_torch.py [--threads 2] [--bench build/benchmarks/bench_encoder]
                        [--model minilm|bert-base] [--model-dir DIR] [--markdown FILE]
                        [--ghz G] [--torch-only] [--seconds S] [--points 1x32,32x128]
                        [--omp-wait-policy PASSIVE]

--model minilm (the default): all-MiniLM-L6-v2 from --model-dir, else $KPLUG_MINILM_DIR,
else ~/.cache/kplug/all-MiniLM-L6-v2 (scripts/fetch-model.sh fetches it).
--model bert-base: a BertModel of bert-base-uncased's shape (hidden 768, 12 layers, 12
heads, intermediate 3072) with random weights, from --model-dir, else
$KPLUG_BERT_BASE_DIR, else ~/.cache/kplug/bert-base-random; when that directory has no
checkpoint, scripts/fixtures/make_model_fixtures.py --bert-base-dir writes one there
(fixed seed, about 440 MB; vocab.txt from the MiniLM directory).
bench_encoder reads the model directory from $KPLUG_MINILM_DIR, which this script sets.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

POINTS = [(1, 32), (32, 32), (1, 128), (32, 128)]
MODELS = {"minilm": "all-MiniLM-L6-v2", "bert-base": "BERT-base (random weights)"}
CHECKPOINT_FILES = ("config.json", "model.safetensors", "vocab.txt")


def parse_args():
    repo = Path(__file__).resolve().parents[1]
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bench", default=str(repo / "build/benchmarks/bench_encoder"))
    ap.add_argument("--model", choices=sorted(MODELS), default="minilm",
                    help="which checkpoint to time (default: minilm)")
    ap.add_argument("--model-dir", help="the checkpoint directory (default: by --model)")
    ap.add_argument("--markdown", metavar="FILE", help="also write the table here")
    ap.add_argument("--ghz", type=float, help="clock for the peak (default: /proc/cpuinfo)")
    ap.add_argument("--seconds", type=float, default=4.0,
                    help="approximate time PyTorch spends on each timed measurement")
    ap.add_argument("--torch-only", action="store_true", help="skip kplug's benchmark")
    ap.add_argument("--points", help="e.g. 1x32,32x128 (default: all four)")
    ap.add_argument("--omp-wait-policy", default="PASSIVE",
                    help="OMP_WAIT_POLICY for PyTorch (PASSIVE, ACTIVE, or 'unset')")
    args = ap.parse_args()
    args.minilm_dir = os.environ.get(
        "KPLUG_MINILM_DIR", str(Path.home() / ".cache/kplug/all-MiniLM-L6-v2"))
    if args.model_dir is None:
        args.model_dir = args.minilm_dir if args.model == "minilm" else os.environ.get(
            "KPLUG_BERT_BASE_DIR", str(Path.home() / ".cache/kplug/bert-base-random"))
    return args


ARGS = parse_args()
# kplug's benchmark gets the caller's environment, not the tuning below for PyTorch.
CALLER_ENV = dict(os.environ)
# Thread pools read these when the libraries load, so they go before `import torch`.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)
# Debian's torch runs element-wise ops on OpenMP threads and GEMMs on OpenBLAS's own
# pthreads. With spinning OpenMP workers the two pools fight over the cores; on a
# 2-core machine that made PyTorch up to several times slower and erratic, so give
# PyTorch its best setting unless told otherwise.
if ARGS.omp_wait_policy.lower() != "unset":
    os.environ["OMP_WAIT_POLICY"] = ARGS.omp_wait_policy

import torch  # noqa: E402
from transformers import BertModel  # noqa: E402


# --------------------------------------------------------------------------- model

def ensure_bert_base(model_dir):
    """Writes the random BERT-base checkpoint into `model_dir` unless it is there."""
    d = Path(model_dir)
    if all((d / f).is_file() for f in CHECKPOINT_FILES):
        return
    script = Path(__file__).resolve().parents[1] / "scripts/fixtures/make_model_fixtures.py"
    print(f"compare_torch: no BERT-base checkpoint in {d}; making one (about 440 MB)",
          flush=True)
    run = subprocess.run([sys.executable, str(script), "--bert-base-dir", str(d),
                          "--model-dir", ARGS.minilm_dir])
    if run.returncode != 0:
        sys.exit(f"compare_torch: {script} --bert-base-dir {d} failed ({run.returncode})")


# --------------------------------------------------------------------------- machine

def cpu_ghz():
    mhz = [float(m) for m in re.findall(r"^cpu MHz\s*:\s*([\d.]+)",
                                         Path("/proc/cpuinfo").read_text(), re.M)]
    return max(mhz) / 1000.0 if mhz else None


def loaded_libraries():
    return {line.split()[-1] for line in Path("/proc/self/maps").read_text().splitlines()
            if line.count("/") and ".so" in line}


def check_blas():
    """torch's BLAS_INFO says "generic" on Debian: which BLAS runs is decided by the
    libblas.so.3 alternative, so look at what is actually mapped after a matmul."""
    print("PyTorch build:", torch.__version__)
    for line in torch.__config__.show().splitlines():
        if "BLAS" in line or "LAPACK" in line or "CPU capability" in line:
            for part in line.split(","):
                if "BLAS_INFO" in part or "LAPACK_INFO" in part or "capability" in part:
                    print("  " + part.strip())
    a = torch.randn(64, 64)
    torch.mm(a, a)
    libs = sorted(lib for lib in loaded_libraries()
                  if re.search(r"blas|lapack|mkl|omp", Path(lib).name, re.I))
    for lib in libs:
        print("  loaded:", lib)
    if any("openblas" in lib for lib in libs):
        print("  BLAS in use: OpenBLAS")
    elif any("mkl" in lib for lib in libs):
        print("  BLAS in use: MKL")
    else:
        bar = "!" * 78
        print(f"\n{bar}\n!! WARNING: PyTorch is NOT using OpenBLAS (reference BLAS or unknown).\n"
              f"!! Its numbers are meaningless: apt-get install libopenblas0-pthread\n{bar}\n",
              file=sys.stderr)
    print(" ", torch.__config__.parallel_info().splitlines()[1].strip())


def cpu_busy(seconds=1.0):
    """Fraction of all CPUs busy over `seconds` (this process is idle meanwhile)."""
    def sample():
        v = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(v) - v[3] - v[4], sum(v)
    b0, t0 = sample()
    time.sleep(seconds)
    b1, t1 = sample()
    return (b1 - b0) / max(t1 - t0, 1)


def flops_per_token(config, length):
    """Multiply-adds counted as 2 FLOPs: Q, K, V, output, and the two FFN matrices, plus
    Q.K^T and attention.V (each L x hidden per token per layer). Embeddings, layer norm,
    softmax and GELU are left out: they are O(hidden) per token."""
    h, i, n = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    linear = 2 * (4 * h * h + 2 * h * i)
    attention = 2 * 2 * length * h
    return n * (linear + attention)


# --------------------------------------------------------------------------- PyTorch

def timed_repeats(fn, seconds):
    """Warms up, then picks a repeat count that takes about `seconds` in all."""
    fn()
    t0 = time.perf_counter()
    fn()
    one = time.perf_counter() - t0
    return max(3, min(500, round(seconds / max(one, 1e-6))))


def torch_point(model, batch, length, seconds, gen):
    ids = torch.randint(1000, 30000, (batch, length), generator=gen)
    ids[:, 0], ids[:, -1] = 101, 102
    mask = torch.ones(batch, length, dtype=torch.long)
    tokens = batch * length

    def forward():
        with torch.inference_mode():
            model(input_ids=ids, attention_mask=mask)

    times = []
    for _ in range(timed_repeats(forward, seconds)):
        t0 = time.perf_counter()
        forward()
        times.append(time.perf_counter() - t0)
    fwd = statistics.median(times)

    # Input gradient only, as kplug computes it: the weights are frozen.
    with torch.no_grad():
        embeds = model.embeddings.word_embeddings(ids)
    r = torch.randn(batch, length, model.config.hidden_size, generator=gen)

    def step():
        x = embeds.clone().requires_grad_(True)
        hidden = model(inputs_embeds=x, attention_mask=mask).last_hidden_state
        loss = (hidden * r).sum()
        t0 = time.perf_counter()
        loss.backward()
        return time.perf_counter() - t0

    both, back = [], []
    for _ in range(timed_repeats(step, seconds)):
        t0 = time.perf_counter()
        b = step()
        both.append(time.perf_counter() - t0)
        back.append(b)
    return {"fwd_s": fwd, "fwd_tps": tokens / fwd,
            "fwdbwd_s": statistics.median(both), "fwdbwd_tps": tokens / statistics.median(both),
            "bwd_s": statistics.median(back)}


# --------------------------------------------------------------------------- kplug

def kplug_point(batch, length):
    name = f"batch:{batch}/length:{length}"
    # Each repetition runs for about a third of PyTorch's measuring time, so
    # both sides are exposed to the shared machine's noise for as long.
    cmd = [ARGS.bench, "--benchmark_format=json", "--benchmark_repetitions=3",
           "--benchmark_report_aggregates_only=true",
           f"--benchmark_min_time={max(0.5, ARGS.seconds / 3):.2f}",
           f"--benchmark_filter=^BM_minilm_(forward|backward)/{name}(/|$)"]
    env = dict(CALLER_ENV, KPLUG_NUM_THREADS=str(ARGS.threads),
               KPLUG_MINILM_DIR=ARGS.model_dir)
    run = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"compare_torch: {' '.join(cmd)} failed ({run.returncode}):\n{run.stderr}")
    result = {}
    for b in json.loads(run.stdout)["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        m = re.match(r"BM_minilm_(forward|backward)/" + re.escape(name) + r"(/|$)",
                     b.get("run_name", b["name"]))
        if m and "tokens_per_second" in b:
            result[m.group(1)] = float(b["tokens_per_second"])
    for side in ("forward", "backward"):
        if side not in result:
            sys.exit(f"compare_torch: {ARGS.bench} reported no BM_minilm_{side}/{name} "
                     "median with a tokens_per_second counter")
    return {"fwd_tps": result["forward"], "bwd_tps": result["backward"]}


# --------------------------------------------------------------------------- report

def fmt(x, spec):
    return "-" if x is None else format(x, spec)


def main():
    if not ARGS.torch_only and not os.access(ARGS.bench, os.X_OK):
        sys.exit(f"compare_torch: no benchmark binary at {ARGS.bench} "
                 "(build the bench_encoder target, pass --bench, or use --torch-only)")
    torch.set_num_threads(ARGS.threads)
    busy = cpu_busy()
    print(f"CPU busy before the run: {100 * busy:.0f}% (load average "
          f"{Path('/proc/loadavg').read_text().split()[0]})")
    if busy > 0.1:
        print("WARNING: something else is using the CPUs; timings will be noisy",
              file=sys.stderr)
    check_blas()
    print(f"OMP_WAIT_POLICY for PyTorch: {os.environ.get('OMP_WAIT_POLICY', 'unset')}")
    ghz = ARGS.ghz or cpu_ghz()
    if ghz is None:
        sys.exit("compare_torch: no 'cpu MHz' in /proc/cpuinfo; pass --ghz")
    peak = ARGS.threads * ghz * 1e9 * 32  # AVX2: two 8-wide FMAs per cycle per core
    print(f"threads {ARGS.threads} (torch.get_num_threads() = {torch.get_num_threads()}), "
          f"clock {ghz:.3f} GHz{' (--ghz)' if ARGS.ghz else ' (/proc/cpuinfo cpu MHz)'}, "
          f"peak fp32 {peak / 1e9:.1f} GFLOP/s")

    if ARGS.model == "bert-base":
        ensure_bert_base(ARGS.model_dir)
    model = BertModel.from_pretrained(ARGS.model_dir).eval()
    c = model.config
    print(f"model: {MODELS[ARGS.model]} from {ARGS.model_dir} (hidden {c.hidden_size}, "
          f"{c.num_hidden_layers} layers, {c.num_attention_heads} heads, intermediate "
          f"{c.intermediate_size})")
    for p in model.parameters():
        p.requires_grad_(False)
    points = POINTS
    if ARGS.points:
        points = [tuple(int(v) for v in p.split("x")) for p in ARGS.points.split(",")]

    gen = torch.Generator().manual_seed(0)
    rows = []
    for k, (batch, length) in enumerate(points):
        # Alternate who goes first so slow drifts (thermal, neighbours) do not favour a side.
        order = ("torch", "kplug") if k % 2 == 0 else ("kplug", "torch")
        tr = kr = None
        for side in order:
            if side == "torch":
                tr = torch_point(model, batch, length, ARGS.seconds, gen)
            elif not ARGS.torch_only:
                kr = kplug_point(batch, length)
        f = flops_per_token(model.config, length)
        row = {
            "point": f"{batch}x{length}",
            "kplug_fwd": kr and kr["fwd_tps"],
            "torch_fwd": tr["fwd_tps"],
            "ratio": kr and kr["fwd_tps"] / tr["fwd_tps"],
            "kplug_bwd_fwd": kr and kr["fwd_tps"] / kr["bwd_tps"],
            "torch_bwd_fwd": tr["bwd_s"] / tr["fwd_s"],
            "torch_fwdbwd": tr["fwdbwd_tps"],
            "kplug_peak": kr and kr["fwd_tps"] * f / peak,
            "torch_peak": tr["fwd_tps"] * f / peak,
        }
        # Others' load since the point; reads ~10% on an idle machine because this
        # process's OpenBLAS workers keep spinning for a moment after their last GEMM.
        row["busy"] = cpu_busy(0.5)
        rows.append(row)
        print(f"  {row['point']:>7}: torch fwd {tr['fwd_tps']:8.0f} tok/s, fwd+bwd "
              f"{tr['fwdbwd_tps']:7.0f} tok/s, bwd alone {tr['bwd_s'] * 1e3:7.1f} ms"
              + (f"; kplug fwd {kr['fwd_tps']:8.0f}, bwd {kr['bwd_tps']:8.0f} tok/s" if kr
                 else "") + f" (CPU busy after: {100 * row['busy']:.0f}%)", flush=True)

    header = ["point", "kplug fwd tok/s", "torch fwd tok/s", "kplug/torch",
              "kplug bwd/fwd time", "torch bwd/fwd time", "torch fwd+bwd tok/s",
              "kplug fwd % peak", "torch fwd % peak"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        cells = [r["point"], fmt(r["kplug_fwd"], ".0f"), fmt(r["torch_fwd"], ".0f"),
                 fmt(r["ratio"], ".2f"), fmt(r["kplug_bwd_fwd"], ".2f"),
                 fmt(r["torch_bwd_fwd"], ".2f"), fmt(r["torch_fwdbwd"], ".0f"),
                 fmt(r["kplug_peak"] and 100 * r["kplug_peak"], ".0f"),
                 fmt(100 * r["torch_peak"], ".0f")]
        lines.append("| " + " | ".join(cells) + " |")
    notes = (f"\n{MODELS[ARGS.model]}, {ARGS.threads} threads on both sides, peak "
             f"{peak / 1e9:.1f} GFLOP/s ({ARGS.threads} cores x {ghz:.2f} GHz x 32). "
             "torch: median of timed repeats; kplug: median of 3 Google Benchmark "
             "repetitions. bwd/fwd time: input-gradient backward alone (after a forward "
             "that keeps activations) over an inference forward.\n")
    table = "\n".join(lines) + "\n" + notes
    print("\n" + table)
    if ARGS.markdown:
        Path(ARGS.markdown).write_text(table, encoding="utf-8")
        print(f"written to {ARGS.markdown}")


if __name__ == "__main__":
    main()
