#!/usr/bin/env bash
# Configures and builds kplug in build/ (Release, ccache, Ninja): everything,
# benchmarks included. Extra arguments go to the CMake configure step;
# KPLUG_TARGETS (default "all kplug_benchmarks") names what to build.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${KPLUG_BUILD_DIR:-$root/build}
jobs=${KPLUG_JOBS:-$(nproc)}
targets=${KPLUG_TARGETS:-all kplug_benchmarks}

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache "$@" >/dev/null
# Without the benchmarks (-DKPLUG_BUILD_BENCHMARKS=OFF) there is no such target.
if [[ " $targets " == *" kplug_benchmarks "* ]] && ! grep -q '^KPLUG_BUILD_BENCHMARKS:BOOL=ON' "$build/CMakeCache.txt"; then
  targets=${targets//kplug_benchmarks/}
fi
# shellcheck disable=SC2086  # a list of target names
cmake --build "$build" -j "$jobs" --target $targets
