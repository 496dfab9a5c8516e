#!/usr/bin/env python3
"""Writes testdata/checkpoint/: small Stable-Diffusion-style checkpoints made by
real torch.save, for embtool's whole-checkpoint conversion tests.

  mini.ckpt        {"state_dict": {...}, "global_step": numpy.int64, "epoch": 3,
                    "hyper": {"lr": "1e-4"}} with nested dicts, a storage-offset
                    view, a transposed (non-contiguous) view, two names for one
                    tensor (aliased), two views sharing one storage, F32/F16/BF16
                    and an int64 buffer.
  mini_legacy.ckpt the same state_dict in the legacy (pre-1.6) format.
  expected.json    per flattened key: dtype, shape, sha256 of the contiguous
                   little-endian bytes torch sees.

Run from the repository root: /usr/bin/python3 testdata/gen/gen_checkpoint.py
It also serves bench/checkpoint.sh: --size-gib N writes one big checkpoint.
"""
import argparse, hashlib, json, os, sys
import numpy as np
import torch

def state_dict(g):
    base = torch.randn(6, 32, generator=g)
    shared = torch.randn(4, 16, generator=g)
    w = torch.randn(16, 8, generator=g)
    return {
        "model.diffusion_model.input.weight": torch.randn(8, 4, 3, 3, generator=g),
        "model.diffusion_model.input.bias": torch.randn(8, generator=g).half(),
        "model.diffusion_model.view_rows": base[2:4],          # storage offset 64
        "model.diffusion_model.transposed": w.t(),             # stride (1, 8)
        "model.diffusion_model.tied": shared,                  # aliased: same tensor twice
        "model.diffusion_model.tied_again": shared,
        "cond_stage_model.row0": base[0],                      # two views of one storage
        "cond_stage_model.row5": base[5],
        "cond_stage_model.bf16": torch.randn(3, 5, generator=g).bfloat16(),
        "cond_stage_model.position_ids": torch.arange(77).unsqueeze(0),
        "first_stage_model": {                                 # a nested dict
            "encoder.conv.weight": torch.randn(4, 2, 1, 1, generator=g),
            "decoder": {"out.bias": torch.randn(3, generator=g)},
        },
    }

def flatten(d, prefix=""):
    for k, v in d.items():
        if isinstance(v, dict):
            yield from flatten(v, prefix + k + ".")
        else:
            yield prefix + k, v

def describe(sd):
    out = {}
    for k, t in flatten(sd):
        c = t.contiguous()
        if c.dtype == torch.bfloat16:
            raw = c.view(torch.int16).numpy().tobytes()
        else:
            raw = c.numpy().tobytes()
        out[k] = {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape),
                  "sha256": hashlib.sha256(raw).hexdigest()}
    return out

def big(path, gib):
    """A flat SD-like state_dict of about gib GiB of F32 tensors."""
    g = torch.Generator().manual_seed(7)
    sd, total, i = {}, 0, 0
    target = int(gib * (1 << 30))
    while total < target:
        n = min(64 << 20, target - total) // 4   # 64 MiB tensors at most
        rows = max(n // 1024, 1)
        sd[f"model.diffusion_model.block{i}.weight"] = torch.empty(rows, 1024).uniform_(-1, 1, generator=g)
        total += rows * 1024 * 4
        i += 1
    sd["cond_stage_model.embeddings.token_embedding.weight"] = torch.randn(49408, 768, generator=g)
    torch.save({"state_dict": sd, "global_step": np.int64(1000), "epoch": 1}, path)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-gib", type=float)
    ap.add_argument("--out")
    a = ap.parse_args()
    if a.size_gib:
        big(a.out, a.size_gib)
        return
    out = "testdata/checkpoint"
    os.makedirs(out, exist_ok=True)
    g = torch.Generator().manual_seed(1234)
    sd = state_dict(g)
    ckpt = {"state_dict": sd, "global_step": np.int64(4242), "epoch": 3, "hyper": {"lr": "1e-4"}}
    torch.save(ckpt, os.path.join(out, "mini.ckpt"))
    torch.save({"state_dict": sd}, os.path.join(out, "mini_legacy.ckpt"), _use_new_zipfile_serialization=False)
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"tensors": describe(sd), "non_tensor": ["global_step", "epoch", "hyper.lr"],
                   "aliased": [["model.diffusion_model.tied", "model.diffusion_model.tied_again"]]},
                  f, indent=1, sort_keys=True)
    # Sanity: torch reads back what it wrote.
    back = torch.load(os.path.join(out, "mini.ckpt"))
    assert describe(back["state_dict"]) == describe(sd)

if __name__ == "__main__":
    main()
