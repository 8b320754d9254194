#!/usr/bin/env bash
# The WordNet experiment end to end (benchmarks/RESULTS-wordnet.md):
# knowledge base, TransE embeddings, supersense typing data, a masked-LM head
# and a general plugin (MMLM on WordNet's definitions), two frozen downstream
# models, seven knowledge conditions, and the table.
#
#   scripts/wordnet/pipeline.sh [--seeds "1 2 3"] [--pos noun|verb] [--work DIR]
#
# Every artifact is cached under the work directory (default
# ~/.cache/kplug/wordnet) with a key made of its command line and the keys
# (or contents) of its inputs: a second run redoes only what changed.
# Needs the kplug tools built (scripts/build.sh), MiniLM fetched
# (scripts/fetch-model.sh) and /usr/bin/python3 with torch + transformers
# (scripts/install-experiment-deps.sh); scripts/demo.sh does all of it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
seeds="1"
pos="noun"
work="${KPLUG_WORDNET_WORK:-$HOME/.cache/kplug/wordnet}"
build="${KPLUG_BUILD_DIR:-$root/build}"
minilm="${KPLUG_MINILM_DIR:-$HOME/.cache/kplug/all-MiniLM-L6-v2}"
wordnet="${KPLUG_WORDNET_DIR:-/usr/share/wordnet}"
py=/usr/bin/python3
tune_epochs="${KPLUG_TUNE_EPOCHS:-2}"
tune_lr="${KPLUG_TUNE_LR:-1e-3}"
ft_epochs="${KPLUG_FINETUNE_EPOCHS:-2}"
mlm_texts="${KPLUG_MLM_HEAD_TEXTS:-40000}"            # definitions the MLM head is trained on
general_examples="${KPLUG_GENERAL_EXAMPLES:-20000}"   # MMLM examples of general map-tuning
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seeds) seeds="$2"; shift 2 ;;
    --pos) pos="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "pipeline.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

kplug="$build/tools/kplug"
prepare="$build/examples/wordnet_data/wordnet_prepare"
transe="$build/examples/transe/kplug_transe"
for tool in "$kplug" "$prepare" "$transe"; do
  [[ -x $tool ]] || { echo "pipeline.sh: $tool is missing; build first (scripts/build.sh)" >&2; exit 1; }
done
[[ -f $minilm/model.safetensors ]] || { echo "pipeline.sh: no MiniLM in $minilm (scripts/fetch-model.sh)" >&2; exit 1; }
mkdir -p "$work"
start=$SECONDS

# The key of a path: the key file its step left, else its contents' hash.
key_of() {
  if [[ -f "$1.key" ]]; then cat "$1.key"
  elif [[ -d "$1" ]]; then (cd "$1" && find . -type f ! -name '*.key' -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-16
  elif [[ -f "$1" ]]; then sha256sum < "$1" | cut -c1-16
  else echo missing; fi
}

# step NAME OUTPUT INPUT... -- COMMAND...: runs COMMAND unless OUTPUT exists
# with the key of this command line and these inputs.
step() {
  local name="$1" out="$2"; shift 2
  local inputs=()
  while [[ "$1" != -- ]]; do inputs+=("$1"); shift; done
  shift
  # Paths of the checkout and the build are not part of the key: the tools'
  # contents are (tools.key), so a moved checkout reuses the cache.
  local cmd="$*" key
  cmd="${cmd//"$build"/BUILD}"; cmd="${cmd//"$root"/ROOT}"
  key="$({ printf '%s\n' "$cmd"; for f in "${inputs[@]}"; do key_of "$f"; done; } | sha256sum | cut -c1-16)"
  if [[ -e "$out" && -f "$out.key" && "$(cat "$out.key")" == "$key" ]]; then
    printf '[%4ds] cached  %s\n' $((SECONDS - start)) "$name"
    return
  fi
  printf '[%4ds] run     %s\n' $((SECONDS - start)) "$name"
  rm -rf "$out" "$out.key"
  "$@"
  echo "$key" > "$out.key"
}

tools_key="$work/tools"
# The tools themselves are inputs: a rebuilt binary invalidates what it made.
cat "$kplug" "$prepare" "$transe" "$here/finetune.py" "$here/train_mlm_head.py" | sha256sum | cut -c1-16 > "$tools_key.key.new"
mv "$tools_key.key.new" "$tools_key.key"; touch "$tools_key"

first_seed="${seeds%% *}"
data0="$work/data-$pos-$first_seed"
step "WordNet data (pos $pos, seed $first_seed)" "$data0" "$tools_key" -- \
  "$prepare" --wordnet "$wordnet" --model "$minilm" --pos "$pos" --seed "$first_seed" --out "$data0"
# The triples are the same for every part of speech and seed (all synsets,
# all relations); a copy outside the data directory keeps the knowledge base's
# key, and so everything built on it, shared between --pos noun and verb.
triples="$work/triples.tsv"
cmp -s "$data0/triples.tsv" "$triples" || cp "$data0/triples.tsv" "$triples"
kb="$work/kb"
step "TransE embeddings of WordNet" "$kb" "$tools_key" "$triples" -- \
  "$transe" --triples "$triples" --out "$kb" --seed 1
# The aliases do not depend on --pos or --seed either: one copy, one key.
aliases="$work/aliases.tsv"
cmp -s "$data0/aliases.tsv" "$aliases" || cp "$data0/aliases.tsv" "$aliases"

# General map-tuning, once for every seed and part of speech: an MLM head
# over the frozen MiniLM (which ships without one), then the general plugin,
# tuned by mention-masked language modelling on WordNet's definitions (never
# the gloss examples the typing task is made of).
general="$work/general.jsonl"; general_dev="$work/general-dev.jsonl"
cmp -s "$data0/general.jsonl" "$general" || cp "$data0/general.jsonl" "$general"
cmp -s "$data0/general-dev.jsonl" "$general_dev" || cp "$data0/general-dev.jsonl" "$general_dev"
mlm="$work/minilm-mlm"
step "MLM head over frozen MiniLM" "$mlm" "$tools_key" "$general" "$general_dev" -- \
  "$py" "$here/train_mlm_head.py" --model "$minilm" --train "$general" --dev "$general_dev" --out "$mlm" \
    --max-train "$mlm_texts" --seed 1
general_plugin="$work/general.kplug"
step "general plugin: MMLM map-tuning on definitions" "$general_plugin" "$tools_key" "$mlm" "$kb" "$aliases" \
  "$general" "$general_dev" -- \
  "$kplug" tune --objective mmlm --model "$mlm" --kb "$kb" --aliases "$aliases" --init closed-form \
    --train "$general" --dev "$general_dev" --max-examples "$general_examples" --epochs 1 --lr "$tune_lr" \
    --seed 1 --out "$general_plugin"

for seed in $seeds; do
  d="$work/data-$pos-$seed"
  [[ $seed == "$first_seed" ]] || step "WordNet data (pos $pos, seed $seed)" "$d" "$tools_key" -- \
    "$prepare" --wordnet "$wordnet" --model "$minilm" --pos "$pos" --seed "$seed" --out "$d"
  # Nouns keep the plain name (the layout RESULTS-wordnet.md was made with);
  # another part of speech gets its own directories, never a noun's.
  s="$work/seed-$seed"; [[ $pos == noun ]] || s+="-$pos"
  mkdir -p "$s/models" "$s/plugins" "$s/export" "$s/eval"
  labels="$d/labels.txt"

  # Downstream model (a): a linear head over frozen MiniLM, trained by kplug.
  step "model a: linear head over frozen MiniLM (seed $seed)" "$s/models/a" "$tools_key" "$d" -- \
    "$kplug" train-head --model "$minilm" --train "$d/train.jsonl" --dev "$d/dev.jsonl" --labels "$labels" \
      --out "$s/models/a" --seed "$seed"

  # Downstream model (b): MiniLM fine-tuned by PyTorch on kplug's input rows.
  for split in train dev; do
    step "export $split, no knowledge (seed $seed)" "$s/export/plain-$split.jsonl" "$tools_key" "$d" -- \
      "$kplug" export --model "$minilm" --labels "$labels" --data "$d/$split.jsonl" --out "$s/export/plain-$split.jsonl"
    step "export $split, gold entities spliced (seed $seed)" "$s/export/kn-$split.jsonl" "$tools_key" "$d" "$kb" -- \
      "$kplug" export --model "$minilm" --labels "$labels" --kb "$kb" --data "$d/$split.jsonl" \
        --out "$s/export/kn-$split.jsonl"
  done
  step "model b: MiniLM fine-tuned by PyTorch (seed $seed)" "$s/models/b" "$tools_key" "$s/export/plain-train.jsonl" \
    "$s/export/plain-dev.jsonl" -- \
    "$py" "$here/finetune.py" --model "$minilm" --train "$s/export/plain-train.jsonl" \
      --dev "$s/export/plain-dev.jsonl" --labels "$labels" --out "$s/models/b" --seed "$seed" --epochs "$ft_epochs"

  for m in a b; do
    model="$s/models/$m"
    step "plugin $m/random (seed $seed)" "$s/plugins/$m-random.kplug" "$tools_key" "$model" "$kb" -- \
      "$kplug" tune --model "$model" --kb "$kb" --init random --epochs 0 --seed "$seed" \
        --out "$s/plugins/$m-random.kplug" --quiet
    step "plugin $m/closed-form (seed $seed)" "$s/plugins/$m-closed.kplug" "$tools_key" "$model" "$kb" "$aliases" -- \
      "$kplug" tune --model "$model" --kb "$kb" --aliases "$aliases" --init closed-form --epochs 0 \
        --out "$s/plugins/$m-closed.kplug"
    step "plugin $m/map-tuned (seed $seed)" "$s/plugins/$m-tuned.kplug" "$tools_key" "$model" "$kb" "$aliases" "$d" -- \
      "$kplug" tune --model "$model" --kb "$kb" --aliases "$aliases" --init closed-form --train "$d/train.jsonl" \
        --dev "$d/dev.jsonl" --epochs "$tune_epochs" --lr "$tune_lr" --seed "$seed" --out "$s/plugins/$m-tuned.kplug"
    step "plugin $m/map-tuned from general (seed $seed)" "$s/plugins/$m-general-tuned.kplug" "$tools_key" "$model" \
      "$kb" "$general_plugin" "$d" -- \
      "$kplug" tune --model "$model" --kb "$kb" --init "plugin:$general_plugin" --train "$d/train.jsonl" \
        --dev "$d/dev.jsonl" --epochs "$tune_epochs" --lr "$tune_lr" --seed "$seed" \
        --out "$s/plugins/$m-general-tuned.kplug"
    # The general plugin as is: one file for every downstream model.
    ln -sf "$general_plugin" "$s/plugins/$m-general.kplug"
    cp "$general_plugin.key" "$s/plugins/$m-general.kplug.key"
  done

  # Upper references: trained with knowledge inputs from the start (mapper
  # from the closed-form start, jointly with the head, or the whole model).
  step "closed-form mapper as npy (seed $seed)" "$s/plugins/closed-npy" "$tools_key" "$s/plugins/a-closed.kplug" -- \
    "$py" "$here/plugin_to_npy.py" "$s/plugins/a-closed.kplug" "$s/plugins/closed-npy"
  for m in a b; do
    # Model a keeps its encoder frozen (both head and mapper at lr 1e-3);
    # model b fine-tunes everything, its mapper at map-tuning's rate (the
    # encoder's 5e-5 is far too small for a freshly aligned mapper).
    extra=(--mapper-lr "$tune_lr"); [[ $m == a ]] && extra=(--freeze-encoder)
    step "model $m+knowledge: trained with knowledge from the start (seed $seed)" "$s/models/$m-upper" "$tools_key" \
      "$s/export/kn-train.jsonl" "$s/export/kn-dev.jsonl" "$s/plugins/closed-npy" "$kb" -- \
      "$py" "$here/finetune.py" --model "$minilm" --train "$s/export/kn-train.jsonl" --dev "$s/export/kn-dev.jsonl" \
        --labels "$labels" --out "$s/models/$m-upper" --seed "$seed" --epochs "$ft_epochs" "${extra[@]}" \
        --kb "$kb/entities.npy" --mapper-init "$s/plugins/closed-npy/weight.npy" "$s/plugins/closed-npy/bias.npy"
    step "plugin $m+knowledge (seed $seed)" "$s/plugins/$m-upper.kplug" "$tools_key" "$s/models/$m-upper" "$kb" -- \
      "$kplug" tune --model "$s/models/$m-upper" --kb "$kb" --epochs 0 \
        --init "npy:$s/models/$m-upper/mapper_weight.npy,$s/models/$m-upper/mapper_bias.npy" \
        --out "$s/plugins/$m-upper.kplug" --quiet
  done

  # Evaluation: whole test set and rare subset, gold and linker entities.
  for m in a b; do
    for subset in test test-rare; do
      data="$d/$subset.jsonl"
      step "eval $m/none on $subset (seed $seed)" "$s/eval/$m-none-gold-$subset.json" "$tools_key" "$s/models/$m" "$d" -- \
        "$kplug" eval --model "$s/models/$m" --data "$data" --quiet --summary "$s/eval/$m-none-gold-$subset.json"
      for cond in random closed general tuned general-tuned upper; do
        model="$s/models/$m"; [[ $cond == upper ]] && model="$s/models/$m-upper"
        # The general plugin was tuned on MiniLM's own embeddings; model b
        # fine-tuned them, so its fingerprint differs by design.
        other=(); [[ $cond == general && $m == b ]] && other=(--allow-other-encoder)
        for ents in gold linker; do
          out="$s/eval/$m-$cond-$ents-$subset.json"
          step "eval $m/$cond/$ents on $subset (seed $seed)" "$out" "$tools_key" "$model" "$s/plugins/$m-$cond.kplug" \
            "$kb" "$aliases" "$d" -- \
            "$kplug" eval --model "$model" --plugin "$s/plugins/$m-$cond.kplug" --kb "$kb" --aliases "$aliases" \
              --entities "$ents" --data "$data" --quiet --summary "$out" "${other[@]}"
        done
      done
    done
  done
done

results="$work/results.md"; [[ $pos == noun ]] || results="$work/results-$pos.md"
python3 "$here/table.py" --work "$work" --seeds "$seeds" --pos "$pos" --kb-report "$kb/report.txt" | tee "$results"
printf '[%4ds] done; table in %s\n' $((SECONDS - start)) "$results"
