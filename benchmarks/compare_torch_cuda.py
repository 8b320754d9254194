#!/usr/bin/env python3
"""kplug's CUDA backend against PyTorch on the same GPU, same checkpoints.

Runs bench_cuda (which also writes the random BERT-base- and MiniLM-shaped
checkpoints it measures under the temporary directory), then times PyTorch
(transformers' BertModel, float32 with TF32 off, as kplug's SGEMMs) at the
same points: forward from token ids to the last hidden states, and forward
plus the gradient with respect to inputs_embeds (what kplug's entity-row
backward computes when every row is an entity slot). Prints one table of
tokens/s and ratios, kplug / PyTorch, and kplug's GEMM floor.

    python3 benchmarks/compare_torch_cuda.py --bench build/benchmarks/bench_cuda [--out results.json]
"""
import argparse
import json
import os
import subprocess
import tempfile
import time

import torch
from transformers import BertModel

POINTS = [(b, l) for l in (32, 128) for b in (1, 32, 256)]


def model_dirs():
    tmp = tempfile.gettempdir()
    minilm = os.environ.get("KPLUG_MINILM_DIR", os.path.expanduser("~/.cache/kplug/all-MiniLM-L6-v2"))
    if not os.path.exists(os.path.join(minilm, "model.safetensors")):
        minilm = os.path.join(tmp, "kplug-random-minilm")
    return {"minilm": minilm, "bert_base": os.path.join(tmp, "kplug-random-bert-base")}


def run_kplug(bench, min_time):
    out = subprocess.run([bench, "--benchmark_format=json", f"--benchmark_min_time={min_time}"], check=True,
                         capture_output=True, text=True).stdout
    results = {}
    for b in json.loads(out)["benchmarks"]:
        if "error_message" in b:
            raise SystemExit(f"bench_cuda: {b['name']}: {b['error_message']}")
        results[b["name"]] = b
    return results


def timed(fn, repeats):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - start) / repeats


def torch_points(directory, repeats):
    model = BertModel.from_pretrained(directory, add_pooling_layer=False).cuda().eval()
    for p in model.parameters():
        p.requires_grad_(False)
    gen = torch.Generator().manual_seed(42)
    rates = {}
    for batch, length in POINTS:
        ids = torch.randint(1000, 30000, (batch, length), generator=gen).cuda()
        with torch.inference_mode():
            fwd = timed(lambda: model(input_ids=ids).last_hidden_state, repeats)

        def fwd_bwd():
            emb = model.embeddings.word_embeddings(ids).detach().requires_grad_(True)
            out = model(inputs_embeds=emb).last_hidden_state
            out.backward(torch.full_like(out, 1e-3))
            return emb.grad

        both = timed(fwd_bwd, repeats)
        rates[(batch, length)] = (batch * length / fwd, batch * length / both)
    return rates


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", required=True)
    ap.add_argument("--min-time", type=float, default=0.5)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--out")
    args = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False

    kplug = run_kplug(args.bench, args.min_time)
    print(f"GPU: {torch.cuda.get_device_name(0)}; PyTorch {torch.__version__}")
    print("| model | batch x length | kplug fwd tok/s | PyTorch fwd tok/s | ratio | GEMM floor tok/s | "
          "kplug / floor | kplug fwd+bwd tok/s | PyTorch fwd+bwd tok/s | ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    table = []
    for name, directory in model_dirs().items():
        theirs = torch_points(directory, args.repeats)
        for batch, length in POINTS:
            key = f"{name}/batch:{batch}/length:{length}/real_time"
            fwd = kplug[f"BM_cuda_forward/{key}"]["tokens_per_second"]
            floor = kplug[f"BM_cuda_gemm_floor/{key}"]["tokens_per_second"]
            both = kplug[f"BM_cuda_forward_backward/{key}"]["tokens_per_second"]
            t_fwd, t_both = theirs[(batch, length)]
            row = dict(model=name, batch=batch, length=length, kplug_fwd=fwd, torch_fwd=t_fwd, floor=floor,
                       kplug_fwd_bwd=both, torch_fwd_bwd=t_both)
            table.append(row)
            print(f"| {name} | {batch} x {length} | {fwd:.0f} | {t_fwd:.0f} | {fwd / t_fwd:.2f} | {floor:.0f} | "
                  f"{fwd / floor:.2f} | {both:.0f} | {t_both:.0f} | {both / t_both:.2f} |")
    step = kplug["BM_cuda_tuning_step/real_time"]
    print(f"map-tuning step (MiniLM, batch 64, length 64): {step['real_time']:.1f} ms")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"points": table, "tuning_step_ms": step["real_time"]}, f, indent=1)


if __name__ == "__main__":
    main()
