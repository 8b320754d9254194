#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang in build-fuzz/ and runs
# each for SECONDS (default 60), one after another:
#   scripts/fuzz.sh [SECONDS] [TARGET...]      (targets: npy safetensors ...; default all)
# Each target starts from its seeds in tests/fuzz/corpus/<target>/ (never
# written to) and keeps what it learns in build-fuzz/corpus/<target>/.
# Crashes, sanitizer reports, timeouts and huge allocations are left in
# build-fuzz/findings/<target>/ (crash-*, timeout-*, oom-*, with the log);
# build-fuzz/findings/summary.tsv gets one line per run: target, seconds,
# executions, coverage, result. Exits 1 if any target found something.
# Environment: KPLUG_FUZZ_BUILD_DIR, KPLUG_FUZZ_CXX (default clang++-14, else clang++).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${KPLUG_FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=${1:-60}
shift || true
all_targets=(npy safetensors plugin_file plugin_metadata entity_map word2vec alias_table vocab bert_config
             typing_data tokenizer linker planner)
[[ $# -gt 0 ]] && targets=("$@") || targets=("${all_targets[@]}")

cxx=${KPLUG_FUZZ_CXX:-$(command -v clang++-14 || command -v clang++ || true)}
if [[ -z $cxx ]]; then
  echo "fuzz.sh: no clang found (Debian: apt-get install clang-14 libclang-rt-14-dev)" >&2
  exit 2
fi
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DKPLUG_BUILD_FUZZERS=ON -DKPLUG_BUILD_TESTS=OFF \
  -DKPLUG_BUILD_BENCHMARKS=OFF -DKPLUG_BUILD_EXAMPLES=OFF -DKPLUG_BUILD_TOOLS=OFF -DKPLUG_INSTALL=OFF \
  -DKPLUG_ENABLE_CUDA=OFF -DKPLUG_ENABLE_MPI=OFF >/dev/null
cmake --build "$build" --target "${targets[@]/#/fuzz_}"

findings=$build/findings
mkdir -p "$findings"
[[ -f $findings/summary.tsv ]] || printf 'target\tseconds\texecutions\tcoverage\tresult\n' >"$findings/summary.tsv"
# Targets whose reader takes a path rewrite one file per input: in memory where possible.
[[ -d /dev/shm && -w /dev/shm ]] && export TMPDIR=/dev/shm
found=0
for t in "${targets[@]}"; do
  mkdir -p "$build/corpus/$t" "$findings/$t"
  log=$findings/$t/$(date -u +%Y%m%dT%H%M%SZ).log
  start=$(date +%s)
  # Any report ends the run with a non-zero status; the input is saved under
  # -artifact_prefix. 2 GB of RSS or a 1 GB malloc is a finding (a claimed
  # count driving an allocation), as is an input taking over 10 s.
  if "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
      -print_final_stats=1 -artifact_prefix="$findings/$t/" "$build/corpus/$t" "$root/tests/fuzz/corpus/$t" \
      >"$log" 2>&1; then
    result=clean
  else
    result="FINDING (see $log)"
    found=1
  fi
  ran=$(($(date +%s) - start))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
  printf '%s\t%s\t%s\t%s\t%s\n' "$t" "$ran" "${execs:-?}" "${cov:-?}" "$result" | tee -a "$findings/summary.tsv"
done
exit "$found"
