#!/usr/bin/python3
"""Print the golden norms of pkg/tensor's TestKernelGoldenBits, from torch.

Rebuilds the test's integer-generated inputs (771 float32 values x and 771
float64 values x64) and prints the bits of torch's x.double().norm() and
x64.norm(), which tensor.Norm and tensor.Norm64 must equal. Also reports,
on 1000 random rows of each width 768, 1024 and 1280, how many of torch's
float64 row norms equal a plain index-order sum of squares (the order
tensor.Norm uses) and how many equal an eight-accumulator sum (the order
it used before issue 10). Run with Debian's python3-torch.
"""
import math, struct

import numpy as np
import torch

M = 2**64
state = 0x9E3779B97F4A7C15


def nxt():
    global state
    state = (state * 6364136223846793005 + 1442695040888963407) % M
    v = state >> 32
    if v >= 2**31:
        v -= 2**32
    return float(v) * 2.0**-31


def bits(f):
    return "%#018x" % struct.unpack("<Q", struct.pack("<d", f))[0]


x, x64 = [], []
for i in range(771):
    x.append(np.float32(nxt()) * np.float32(1 + i % 13))
    nxt()  # y, used by the Dot golden only
    p = nxt()
    q = nxt()
    x64.append(p * q * 1e3)
n = torch.tensor(np.array(x, dtype=np.float32)).double().norm().item()
n64 = torch.tensor(x64, dtype=torch.float64).norm().item()
print("goldenNorm  ", bits(n), repr(n))
print("goldenNorm64", bits(n64), repr(n64))


def sequential(r):
    s = 0.0
    for v in r:
        s += v * v
    return math.sqrt(s)


def eight(r):
    s = [0.0] * 8
    m = len(r) - len(r) % 8
    for i in range(m):
        s[i % 8] += r[i] * r[i]
    t = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
    for v in r[m:]:
        t += v * v
    return math.sqrt(t)


torch.manual_seed(10)
for w in (768, 1024, 1280):
    rows = (torch.randn(1000, w) * 0.02).float().double()
    ref = rows.norm(dim=1).tolist()
    lists = rows.tolist()
    print(w, "torch == index order:", sum(a == sequential(r) for a, r in zip(ref, lists)),
          "torch == eight accumulators:", sum(a == eight(r) for a, r in zip(ref, lists)), "of 1000")
