#!/usr/bin/python3
"""Expected values for embtool's vocabulary features (inspect --nearest, the
strength check, merge --norm vocab, convert --layout sdxl --clip), from torch.

The token-embedding matrices are real-shaped (49408 rows, F16) but too big to
commit, so both sides build them from one deterministic recipe, and only this
script's small outputs are committed:

  value(seed, i) = (splitmix64(seed << 40 | i) >> 54) - 512) / 16384
      (an integer over 2^14 in [-1/32, 1/32): exact in F16), for the
      row-major element index i;
  L = 49408×768 values with seed 1 (CLIP-L), G = 49408×1280 with seed 2 (CLIP-G);
  planted: L[5000] = L[1234] with dims 384.. zeroed (cosine 1/√2-ish with 1234).

splitmix64(x): z = x + 0x9E3779B97F4A7C15; z = (z ^ z>>30) * 0xBF58476D1CE4E5B9;
z = (z ^ z>>27) * 0x94D049BB133111EB; return z ^ z>>31 (mod 2^64).
internal/testvocab implements the same in Go.

Writes testdata/vocab/query_sd1.safetensors (3×768 F32: L[1234] exactly,
0.6·L[100] + 0.4·L[200], and a strong random vector) and
testdata/vocab/expected.json.
Run from the repository root: /usr/bin/python3 testdata/gen/gen_clip_fixture.py
With --check FILE... it instead loads checkpoints that internal/testvocab wrote
(.ckpt with torch.load(weights_only=True), .safetensors with embgen's reader) and
checks their token matrices equal this recipe bit for bit.
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from embgen import safetensors_bytes  # noqa: E402

ROWS, WL, WG = 49408, 768, 1280
M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def splitmix64(x):
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def values(seed, n):
    i = np.arange(n, dtype=np.uint64) | (np.uint64(seed) << np.uint64(40))
    k = (splitmix64(i) >> np.uint64(54)).astype(np.int64) - 512
    return (k.astype(np.float64) / 16384.0).astype(np.float16)


def matrices():
    L = values(1, ROWS * WL).reshape(ROWS, WL).copy()
    L[5000] = L[1234]
    L[5000, 384:] = 0
    G = values(2, ROWS * WG).reshape(ROWS, WG)
    return torch.from_numpy(L), torch.from_numpy(G)


def cosines(M, v):
    return (M @ v) / (M.norm(dim=1) * v.norm())


def bridge(L, G, v, k, meanL, meanG):
    c = cosines(L, v)
    top = torch.topk(c, k)
    w = top.values.clamp(min=0)
    w = w / w.sum() if w.sum() > 0 else torch.full_like(w, 1.0 / k)
    mix = (w[:, None] * G[top.indices]).sum(0)
    g = mix * (v.norm() / meanL * meanG / mix.norm())
    return g, top


def main():
    L16, G16 = matrices()
    L, G = L16.double(), G16.double()
    meanL, meanG = L.norm(dim=1).mean(), G.norm(dim=1).mean()
    v2 = torch.from_numpy(values(3, WL).astype(np.float32)) * 4
    q = torch.stack([L16[1234].float(), 0.6 * L16[100].float() + 0.4 * L16[200].float(), v2]).contiguous()
    out = os.path.join(os.path.dirname(__file__), "..", "vocab")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "query_sd1.safetensors"), "wb") as f:
        f.write(safetensors_bytes({"emb_params": q}))
    exp = {"rows": ROWS, "mean_norm_l": float(meanL), "mean_norm_g": float(meanG),
           "row_norm_l_1234": float(L[1234].norm()), "nearest": [], "bridge_k": 8, "bridge": []}
    for v in q.double():
        c = cosines(L, v)
        top = torch.topk(c, 10)
        exp["nearest"].append([{"id": int(i), "cos": float(x)} for x, i in zip(top.values, top.indices)])
        g, bt = bridge(L, G, v, 8, meanL, meanG)
        exp["bridge"].append({"ids": [int(i) for i in bt.indices], "clip_g": [float(x) for x in g]})
    # merge --norm vocab: every vector rescaled to mean|L|.
    exp["norm_vocab"] = [float(x) for x in (q.double() / q.double().norm(dim=1, keepdim=True) * meanL).norm(dim=1)]
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(exp, f)
        f.write("\n")


KEYS = {
    "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight": 0,
    "conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight": 0,
    "conditioner.embedders.1.model.token_embedding.weight": 1,
}


def check(paths):
    L, G = matrices()
    for path in paths:
        if path.endswith(".ckpt"):
            sd = torch.load(path, map_location="cpu", weights_only=True)["state_dict"]
        else:
            from embgen import read_safetensors
            with open(path, "rb") as f:
                sd, _ = read_safetensors(f.read())
        found = [k for k in KEYS if k in sd]
        assert found, f"{path}: no token-embedding key"
        for k in found:
            want = (L, G)[KEYS[k]]
            assert sd[k].dtype == torch.float16 and torch.equal(sd[k], want), f"{path}: {k} differs"
            print(f"{path}: {k} {tuple(sd[k].shape)} equals the recipe")


if len(sys.argv) > 2 and sys.argv[1] == "--check":
    check(sys.argv[2:])
else:
    main()
