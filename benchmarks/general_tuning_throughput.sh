#!/usr/bin/env bash
# General map-tuning throughput through the real tool: `kplug tune
# --objective mmlm` on all-MiniLM-L6-v2 with the pipeline's MLM head, on the
# WordNet definition corpus, as 1 process of 2 threads and as 2 MPI ranks of
# 1 thread each (`--data-parallel`), interleaved in the same run. Prints each
# run's training examples/s (steps only: loading and tokenising are not
# counted) and, for 2 ranks, the gradient allreduce's share of the step time,
# both as `kplug tune` reports them.
#
#   benchmarks/general_tuning_throughput.sh WORK [RUNS] [EXAMPLES]
#
# WORK is a pipeline work directory (scripts/wordnet/pipeline.sh) holding
# minilm-mlm/, kb/, aliases.tsv and general.jsonl. RUNS pairs (default 3) of
# EXAMPLES examples (default 2560, batch 64). KPLUG_BUILD_DIR picks the build.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${1:?usage: general_tuning_throughput.sh WORK [RUNS] [EXAMPLES]}"
runs="${2:-3}"
examples="${3:-2560}"
kplug="${KPLUG_BUILD_DIR:-$root/build}/tools/kplug"
for f in "$kplug" "$work/minilm-mlm/model.safetensors" "$work/kb" "$work/aliases.tsv" "$work/general.jsonl"; do
  [[ -e $f ]] || { echo "general_tuning_throughput.sh: $f is missing" >&2; exit 1; }
done
mpi=(mpirun -np 2 --bind-to none)
# Open MPI: as root it wants --allow-run-as-root, and containers lack the
# ptrace rights of its shared-memory single-copy path.
if mpirun --version 2>/dev/null | grep -q "Open MPI"; then
  mpi+=(--allow-run-as-root --oversubscribe)
  export OMPI_MCA_btl_vader_single_copy_mechanism=none
fi
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

# tune 0|1 OPTIONS...: 1 launches it under mpirun.
tune() {
  local launcher=()
  [[ $1 == 1 ]] && launcher=("${mpi[@]}")
  shift
  "${launcher[@]}" "$kplug" tune --objective mmlm --model "$work/minilm-mlm" --kb "$work/kb" --aliases "$work/aliases.tsv" \
    --train "$work/general.jsonl" --max-examples "$examples" --epochs 1 --batch-size 64 --lr 1e-3 \
    --out "$scratch/p.kplug" "$@"
}
# The summary line: "... (X examples/s[ on 2 ranks, gradient allreduce Y% of the step time])".
report() { grep -o '([0-9.]* examples/s[^)]*)' "$1" | tail -1; }

echo "kplug tune --objective mmlm, $examples examples of $work/general.jsonl, batch 64; $(nproc) cores"
for run in $(seq "$runs"); do
  tune 0 --threads 2 2> "$scratch/one.log" || { cat "$scratch/one.log" >&2; exit 1; }
  tune 1 --threads 1 --data-parallel 2> "$scratch/two.log" || { cat "$scratch/two.log" >&2; exit 1; }
  printf 'run %d: 1 rank x 2 threads %s | 2 ranks x 1 thread %s\n' "$run" "$(report "$scratch/one.log")" \
    "$(report "$scratch/two.log")"
done
