#!/usr/bin/env python3
"""Expected A1111 legacy checksums for pkg/embedding's checksum test.

  python3 testdata/gen/gen_checksums.py > testdata/checksum/cases.json

Each case is a tensor's raw little-endian bytes (hex), its dtype, and the
checksum A1111 computes (modules/textual_inversion/textual_inversion.py,
Embedding.checksum): the vector .to(float32) as create_embedding_from_data
does, then const_hash(vec.reshape(-1) * 100) & 0xffff, with Python ints.
Values cover both signs, truncation toward zero, magnitudes up to 3e38
(past int64 after the ×100),
subnormals, zeros and every float dtype torch stores embeddings in.
"""
import json
import torch

torch.manual_seed(10)


def const_hash(a):
    r = 0
    for v in a:
        r = (r * 281 ^ int(v) * 997) & 0xFFFFFFFF
    return r


def checksum(t):
    vec = t.detach().to(dtype=torch.float32)
    return f'{const_hash(vec.reshape(-1) * 100) & 0xffff:04x}'


def case(name, t):
    return {"name": name, "dtype": {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
                                    torch.float64: "F64"}[t.dtype],
            "shape": list(t.shape), "hex": t.contiguous().numpy().tobytes().hex() if t.dtype != torch.bfloat16
            else t.view(torch.int16).numpy().tobytes().hex(), "checksum": checksum(t)}


cases = []
for dt in (torch.float32, torch.float16, torch.bfloat16, torch.float64):
    cases.append(case(f"normal {dt}", (torch.randn(1, 768) * 0.02).to(dt)))
    cases.append(case(f"wide {dt}", (torch.randn(1, 300) * 3).to(dt)))
big = torch.randn(2, 400, dtype=torch.float64) * torch.logspace(-40, 36, 800, dtype=torch.float64).reshape(2, 400)
cases.append(case("magnitudes F32", big.to(torch.float32)))
cases.append(case("magnitudes F64", big))
edge = torch.tensor([0.0, -0.0, 0.005, -0.005, 0.0099, -0.0099, 0.01, -0.01, 1.5e-45, -1.5e-45,
                     1e13, -1e13, 4.6e16, -4.6e16, 9.3e16, -9.3e16, 3e36, -3e36, 0.125, -0.125, 21474836.47, -21474836.48, 42949672.96], dtype=torch.float32)
cases.append(case("edges F32", edge))
cases.append(case("odd length F32", torch.randn(3, 7)))
print(json.dumps(cases, indent=0))
