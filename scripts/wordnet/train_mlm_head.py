#!/usr/bin/python3
"""Train a masked-LM head over a FROZEN BERT encoder and save a BertForMaskedLM checkpoint.

Run with Debian's /usr/bin/python3 (python3-torch, transformers 4.38.2, safetensors);
the pyenv python3 first on PATH has none of them.

General map-tuning (mention-masked language modelling) needs the encoder's MLM head,
and all-MiniLM-L6-v2 ships without one. This trains BERT's head on top of the frozen
encoder: transform (dense + GELU + layer norm), decoder tied to the word embeddings
(frozen with the encoder), plus a fresh output bias. Only the transform and the bias
are trained, so the encoder's hidden states at the masked positions are computed once
and the head trains on them for several epochs.

    train_mlm_head.py --model MINILM --train general.jsonl --dev general-dev.jsonl --out DIR

Input: JSONL with a string "text" per line (other keys ignored), e.g. the definition
corpus wordnet_prepare writes. Masking is BERT's: 15% of the word pieces, of which 80%
become [MASK], 10% a random piece and 10% stay (training); on held-out text every
selected piece becomes [MASK] (what mention masking does) and the masked-token accuracy
is reported for the trained head and for the same head untrained (transformers'
initialisation: dense N(0, 0.02), layer norm identity, bias 0).

Output DIR: config.json (architectures BertForMaskedLM), model.safetensors in
transformers' BertForMaskedLM layout ("bert.embeddings...", "cls.predictions...";
decoder tied, so not stored; no pooler), the tokenizer files, and mlm_head_log.json
(arguments, accuracies, timing). The saved checkpoint is reloaded with
AutoModelForMaskedLM and its logits compared with the in-memory model (> 1e-4 fails).
"""

import argparse
import json
import os
import random
import shutil
import sys
import time
from pathlib import Path

# Passive OpenMP waiting: spinning threads starve each other on a small shared machine.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import transformers  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from transformers import AutoModelForMaskedLM, BertForMaskedLM, BertTokenizerFast  # noqa: E402

MASK_RATE = 0.15
RELOAD_TOLERANCE = 1e-4
TOKENIZER_FILES = ("vocab.txt", "tokenizer_config.json", "special_tokens_map.json")


class UsageError(Exception):
    """Bad input or arguments: reported as one line naming what, where and why."""


def read_texts(path):
    texts = []
    try:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as e:
                    raise UsageError(f"{path}:{n}: not JSON ({e.msg})")
                if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                    raise UsageError(f"{path}:{n}: field \"text\" must be a string")
                texts.append(obj["text"])
    except OSError as e:
        raise UsageError(f"{path}: cannot be read ({e.strerror})")
    if not texts:
        raise UsageError(f"{path}: holds no text")
    return texts


def mask_batch(ids, special, tokenizer, rng, training):
    """BERT masking of a [B, T] id tensor (0 = padding). Returns inputs and labels (-100: no target)."""
    labels = torch.full_like(ids, -100)
    inputs = ids.clone()
    for b in range(ids.shape[0]):
        candidates = [t for t in range(ids.shape[1]) if ids[b, t] != 0 and not special[b, t]]
        if not candidates:
            continue
        chosen = rng.sample(candidates, max(1, round(MASK_RATE * len(candidates))))
        for t in chosen:
            labels[b, t] = ids[b, t]
            r = rng.random() if training else 0.0
            if r < 0.8:
                inputs[b, t] = tokenizer.mask_token_id
            elif r < 0.9:
                inputs[b, t] = rng.randrange(len(tokenizer))
    return inputs, labels


@torch.no_grad()
def masked_states(model, tokenizer, texts, batch_size, rng, training):
    """Encoder states and target ids at the masked positions of every text."""
    texts = sorted(texts, key=len)  # batches of similar length: little padding
    states, targets = [], []
    for first in range(0, len(texts), batch_size):
        enc = tokenizer(texts[first:first + batch_size], padding=True, truncation=True, max_length=128,
                        return_tensors="pt", return_special_tokens_mask=True)
        inputs, labels = mask_batch(enc["input_ids"], enc["special_tokens_mask"].bool(), tokenizer, rng, training)
        hidden = model.bert(input_ids=inputs, attention_mask=enc["attention_mask"]).last_hidden_state
        where = labels != -100
        states.append(hidden[where])
        targets.append(labels[where])
    return torch.cat(states), torch.cat(targets)


def head_parameters(model):
    p = model.cls.predictions
    return list(p.transform.parameters()) + [p.bias]


@torch.no_grad()
def accuracy(model, states, targets, batch_size=4096):
    correct = 0
    for first in range(0, len(states), batch_size):
        logits = model.cls(states[first:first + batch_size])
        correct += (logits.argmax(-1) == targets[first:first + batch_size]).sum().item()
    return correct / len(states)


def train_head(model, states, targets, epochs, lr, batch_size, seed):
    model.cls.train()
    params = head_parameters(model)
    opt = torch.optim.Adam(params, lr=lr)
    gen = torch.Generator().manual_seed(seed)
    for epoch in range(1, epochs + 1):
        order = torch.randperm(len(states), generator=gen)
        total, start = 0.0, time.time()
        for first in range(0, len(order), batch_size):
            idx = order[first:first + batch_size]
            loss = F.cross_entropy(model.cls(states[idx]), targets[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        print(f"train_mlm_head: epoch {epoch}/{epochs} loss {total / len(order):.4f} ({time.time() - start:.0f} s)",
              file=sys.stderr, flush=True)
    model.cls.eval()


def save(model, base_dir, out_dir):
    out_dir.mkdir(parents=True, exist_ok=True)
    config = json.loads((base_dir / "config.json").read_text())
    config["architectures"] = ["BertForMaskedLM"]
    config["tie_word_embeddings"] = True
    (out_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    # save_pretrained's layout: the tied decoder weight and its bias alias are dropped
    # (cls.predictions.bias holds the bias); tensors contiguous and unshared.
    state = {k: v.detach().to(torch.float32).contiguous().clone() for k, v in model.state_dict().items()
             if k not in ("cls.predictions.decoder.weight", "cls.predictions.decoder.bias")}
    save_file(state, str(out_dir / "model.safetensors"), metadata={"format": "pt"})
    for name in TOKENIZER_FILES:
        if (base_dir / name).exists():
            shutil.copyfile(base_dir / name, out_dir / name)


@torch.no_grad()
def check_reload(model, tokenizer, out_dir, texts):
    transformers.logging.set_verbosity_error()
    again = AutoModelForMaskedLM.from_pretrained(str(out_dir)).eval()
    enc = tokenizer(texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
    diff = (model(**enc).logits - again(**enc).logits).abs().max().item()
    if diff > RELOAD_TOLERANCE:
        raise UsageError(f"{out_dir}: reloaded logits differ by {diff:.2e} (> {RELOAD_TOLERANCE})")
    return diff


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="BERT checkpoint directory (the frozen encoder)")
    ap.add_argument("--train", required=True, help="JSONL with \"text\" per line")
    ap.add_argument("--dev", required=True, help="held-out JSONL: masked-token accuracy")
    ap.add_argument("--out", required=True, help="output checkpoint directory")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--views", type=int, default=1, help="random maskings of each training text")
    ap.add_argument("--max-train", type=int, default=0, help="use N training texts drawn at random (0: all)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    base, out = Path(args.model), Path(args.out)
    if not (base / "config.json").exists():
        raise UsageError(f"{base}: no config.json (not a checkpoint directory)")
    train_texts, dev_texts = read_texts(args.train), read_texts(args.dev)
    if args.max_train:  # a random sample, not the file's first lines (WordNet's order groups topics)
        train_texts = random.Random(args.seed).sample(train_texts, min(args.max_train, len(train_texts)))

    transformers.logging.set_verbosity_error()  # "cls.* newly initialised" is the point here
    tokenizer = BertTokenizerFast.from_pretrained(str(base))
    model = BertForMaskedLM.from_pretrained(str(base)).eval()
    for p in model.bert.parameters():
        p.requires_grad_(False)  # the decoder is the word-embedding matrix: frozen too

    t0 = time.time()
    states, targets = zip(*(masked_states(model, tokenizer, train_texts, 128, rng, True) for _ in range(args.views)))
    states, targets = torch.cat(states), torch.cat(targets)
    dev_states, dev_targets = masked_states(model, tokenizer, dev_texts, 128, random.Random(args.seed + 1), False)
    features_s = time.time() - t0
    print(f"train_mlm_head: {len(states)} masked training pieces from {len(train_texts)} texts, "
          f"{len(dev_states)} held out ({features_s:.0f} s)", file=sys.stderr, flush=True)

    untrained = accuracy(model, dev_states, dev_targets)
    t0 = time.time()
    train_head(model, states, targets, args.epochs, args.lr, 256, args.seed)
    train_s = time.time() - t0
    trained = accuracy(model, dev_states, dev_targets)
    save(model, base, out)
    diff = check_reload(model, tokenizer, out, dev_texts[:64])
    log = {"args": vars(args), "train_pieces": len(states), "dev_pieces": len(dev_states),
           "dev_accuracy_untrained_head": untrained, "dev_accuracy_trained_head": trained,
           "features_seconds": features_s, "train_seconds": train_s, "reload_max_abs_diff": diff}
    (out / "mlm_head_log.json").write_text(json.dumps(log, indent=2) + "\n")
    print(f"train_mlm_head: held-out masked-token accuracy {trained:.4f} (untrained head {untrained:.4f}); "
          f"reload diff {diff:.1e}; wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    try:
        main()
    except UsageError as e:
        print(f"train_mlm_head: {e}", file=sys.stderr)
        sys.exit(1)
