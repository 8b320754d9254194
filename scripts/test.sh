#!/usr/bin/env bash
# The test command: installs what is missing, builds everything (library
# headers on their own, tests, benchmarks, examples) and runs the whole suite,
# including the consumer project built against the installed package.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${KPLUG_BUILD_DIR:-$root/build}

bash "$root/scripts/install-deps.sh"
bash "$root/scripts/build.sh"
ctest --test-dir "$build" --output-on-failure -j "$(nproc)"
