#!/usr/bin/env bash
# Installs what the WordNet experiment and the fixture scripts need beyond
# the build (scripts/install-deps.sh, which also brings WordNet): for Debian's
# /usr/bin/python3, PyTorch on OpenBLAS (without libopenblas0-pthread Debian's
# torch falls back to the reference BLAS and crawls), numpy, transformers
# 4.38.2 (the version the fixtures were made with) and safetensors. Installs
# only what is missing; safe to run any number of times.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
py=/usr/bin/python3

bash "$root/scripts/install-deps.sh" python3-torch python3-numpy libopenblas0-pthread

if ! $py -c 'import transformers, safetensors, sys
sys.exit(transformers.__version__ != "4.38.2")' 2>/dev/null; then
  echo "install-experiment-deps: installing transformers 4.38.2 and safetensors"
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  $sudo $py -m pip install --quiet --break-system-packages "transformers==4.38.2" safetensors
fi
