#!/usr/bin/env bash
# The main job, for now: builds the link-and-splice example and runs it on the
# sentence given (or a default one). Installs what is missing first.
#   bash scripts/demo.sh "Marie Curie was born in Warsaw" [--format paper|ebert|replace|pelt] [--max-length N]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${KPLUG_BUILD_DIR:-$root/build}

bash "$root/scripts/install-deps.sh" >&2
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
cmake --build "$build" --target example_link_and_splice >&2
"$build/examples/link_and_splice/example_link_and_splice" "$@"
