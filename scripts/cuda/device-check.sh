#!/usr/bin/env bash
# Run ON a device machine with an NVIDIA GPU (the device tool's `run`, with
# .device-deps carried; see scripts/cuda/fetch-device-deps.sh). Builds the CUDA
# test program and benchmark with nvcc for the GPU it finds, then:
#   tests      the conformance and parity suites and the map-tuning curve
#   memcheck   compute-sanitizer --tool memcheck over the conformance suite
#   bench      bench_cuda and PyTorch side by side (compare_torch_cuda.py)
# Logs go to $OUT (or /tmp/kplug-device-out), seven files at most (the tool
# brings eight back). Steps: all (default), or any of the three names.
#   bash scripts/cuda/device-check.sh [tests] [memcheck] [bench]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${OUT:-/tmp/kplug-device-out}
steps=${*:-tests memcheck bench}
mkdir -p "$out"
cd "$root"

deps=/tmp/kplug-device-deps
if [[ ! -d $deps/usr/include/eigen3 ]]; then
  mkdir -p "$deps"
  for f in .device-deps/*.deb; do dpkg -x "$f" "$deps"; done
fi
libdir="$deps/usr/lib/x86_64-linux-gnu"
arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d .)
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$out/gpu.txt"
flags=(-std=c++20 -O3 "-arch=sm_$arch" -DEIGEN_NO_CUDA "-DKPLUG_SOURCE_DIR=\"$root\"" -I include -I tests
       -isystem "$deps/usr/include" -isystem "$deps/usr/include/eigen3")
link=(-L "$libdir" "-Xlinker=-rpath=$libdir" -lcublas -lutf8proc)
build=/tmp/kplug-device-build
mkdir -p "$build"
start=$SECONDS
# One nvcc per translation unit, all at once: nvcc compiles its files one by one.
pids=()
for src in tests/cuda/test_conformance.cu tests/cuda/test_map_tuning.cu tests/cuda/test_parity_minilm.cu benchmarks/bench_cuda.cu; do
  name=$(basename "$src" .cu)
  nvcc "${flags[@]}" -c "$src" -o "$build/$name.o" > "$build/$name.log" 2>&1 &
  pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=1; done
cat "$build"/*.log > "$out/build.log"
if [[ $failed == 1 ]]; then echo "compilation failed (build.log):"; tail -30 "$out/build.log"; exit 1; fi
nvcc "${flags[@]}" "$build/test_conformance.o" "$build/test_map_tuning.o" "$build/test_parity_minilm.o" -lgtest_main -lgtest "${link[@]}" \
  -o "$build/test_cuda" >> "$out/build.log" 2>&1
nvcc "${flags[@]}" "$build/bench_cuda.o" -lbenchmark -lpthread "${link[@]}" -o "$build/bench_cuda" \
  >> "$out/build.log" 2>&1
echo "built in $((SECONDS - start)) s" | tee -a "$out/build.log"

if [[ " $steps " == *" tests "* ]]; then
  "$build/test_cuda" --gtest_output="xml:$out/test_cuda.xml" > "$out/tests.log" 2>&1 || true
  grep -E "FAILED|PASSED|SKIPPED" "$out/tests.log" | tail -20 || tail -20 "$out/tests.log"
fi
if [[ " $steps " == *" memcheck "* ]]; then
  compute-sanitizer --tool memcheck --error-exitcode 3 "$build/test_cuda" \
    --gtest_filter='bert_cuda_masked_lm/*:CudaMapTuning*' > "$out/memcheck.log" 2>&1 && echo "memcheck: clean" \
    || echo "memcheck: exit $? (see memcheck.log)"
  tail -3 "$out/memcheck.log"
fi
if [[ " $steps " == *" bench "* ]]; then
  python3 benchmarks/compare_torch_cuda.py --bench "$build/bench_cuda" --out "$out/compare.json" \
    > "$out/compare.md" 2>&1 || true
  cat "$out/compare.md"
fi
