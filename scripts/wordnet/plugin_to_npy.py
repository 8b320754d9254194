#!/usr/bin/python3
"""The affine mapper of a kplug plugin file as weight.npy (hidden x d_kb) and
bias.npy (hidden): the starting point finetune.py trains from.

    /usr/bin/python3 scripts/wordnet/plugin_to_npy.py PLUGIN OUT_DIR
"""
import os
import sys

import numpy as np
from safetensors.numpy import load_file


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    plugin, out = sys.argv[1:]
    tensors = load_file(plugin)
    if "weight" not in tensors or "bias" not in tensors:
        sys.exit(f"{plugin}: not an affine plugin (tensors: {sorted(tensors)})")
    os.makedirs(out, exist_ok=True)
    np.save(os.path.join(out, "weight.npy"), tensors["weight"].astype(np.float32))
    np.save(os.path.join(out, "bias.npy"), tensors["bias"].reshape(-1).astype(np.float32))


if __name__ == "__main__":
    main()
