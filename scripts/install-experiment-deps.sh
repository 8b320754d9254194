#!/usr/bin/env bash
# Installs what the WordNet experiment and the fixture scripts need beyond
# the build: WordNet 3.0 (wordnet-base, wordnet-sense-index), and for
# Debian's /usr/bin/python3 PyTorch on OpenBLAS (without libopenblas0-pthread
# Debian's torch falls back to the reference BLAS and crawls), numpy,
# transformers 4.38.2 (the version the fixtures were made with) and
# safetensors. Installs only what is missing; safe to run any number of times.
set -euo pipefail
py=/usr/bin/python3
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi

packages=(python3-torch python3-numpy python3-pip libopenblas0-pthread wordnet-base wordnet-sense-index)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} > 0)); then
  echo "install-experiment-deps: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

if ! $py -c 'import transformers, safetensors, sys
sys.exit(transformers.__version__ != "4.38.2")' 2>/dev/null; then
  echo "install-experiment-deps: installing transformers 4.38.2 and safetensors"
  $sudo $py -m pip install --quiet --break-system-packages "transformers==4.38.2" safetensors
fi
