#!/usr/bin/env bash
# Configures and builds kplug in build/ (Release, ccache, Ninja). Extra
# arguments go to the CMake configure step.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${KPLUG_BUILD_DIR:-$root/build}
jobs=${KPLUG_JOBS:-$(nproc)}

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache "$@" >/dev/null
cmake --build "$build" -j "$jobs"
