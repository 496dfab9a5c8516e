#!/usr/bin/python3
"""Expected values for embtool compare on the real corpus, computed by torch.

Writes testdata/compare/corpus_expected.json: for each pair, every vector of A
with the row of B torch finds equal (torch.equal) or, failing that, the row of
highest cosine (float64), the cosine, and the norm ratio |a|/|b|.
Run: /usr/bin/python3 testdata/gen/gen_compare_expected.py [CORPUS]
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from embgen import read_safetensors  # noqa: E402

CORPUS = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(__file__), "..", "..", "..", "shared", "corpus", "real")


def vectors(name):
    path = os.path.join(CORPUS, name)
    if name.endswith(".safetensors"):
        with open(path, "rb") as f:
            d, _ = read_safetensors(f.read())
        return next(iter(d.values())).double()
    d = torch.load(path, map_location="cpu")
    if "string_to_param" in d:
        d = d["string_to_param"]
    return next(iter(d.values())).double()


def pair(a_name, b_name):
    A, B = vectors(a_name), vectors(b_name)
    rows = []
    taken = set()
    for i in range(A.shape[0]):
        same = [j for j in range(B.shape[0]) if torch.equal(A[i], B[j])]
        free = [j for j in same if j not in taken]
        if same:
            j = (free or same)[0]
            taken.add(j)
        else:
            cos = (B @ A[i]) / (B.norm(dim=1) * A[i].norm())
            j = int(torch.argmax(cos))
        c = float(A[i] @ B[j] / (A[i].norm() * B[j].norm()))
        rows.append({"a": i, "b": j, "cos": c, "same": bool(same),
                     "ratio": float(A[i].norm() / B[j].norm())})
    return {"a": a_name, "b": b_name, "rows": rows}


out = [pair("FastNegativeV2.pt", "negative_hand-neg.pt"),
       pair("negative_hand-neg.pt", "FastNegativeV2.pt"),
       pair("EasyNegative.pt", "EasyNegative.safetensors")]
dst = os.path.join(os.path.dirname(__file__), "..", "compare", "corpus_expected.json")
with open(dst, "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
