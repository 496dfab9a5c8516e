#!/usr/bin/env python3
"""Checks bench/checkpoint.sh's outputs against torch.load of the checkpoint:

  python3 bench/verify_checkpoint.py CKPT OUT.safetensors [OUT.pt ...]

.safetensors files are read with a pure-Python header parser and numpy
memmap (no embtool code involved); .pt files with torch.load(weights_only=True).
Every tensor of the checkpoint's state_dict must be there with the same dtype,
shape and bytes, and nothing else; the first, a middle and the last key are
named in the report. Prints PASS or FAIL per file; exit 1 on any FAIL.
"""
import json, sys

import numpy as np
import torch

DT = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
      "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
      "U8": torch.uint8, "BOOL": torch.bool}
NP = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": np.int16, "I64": np.int64,
      "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}


def flatten(d, prefix=""):
    for k, v in d.items():
        if isinstance(v, dict):
            yield from flatten(v, prefix + str(k) + ".")
        elif isinstance(v, torch.Tensor):
            yield prefix + str(k), v


def raw(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return t.numpy().view(np.uint8).reshape(-1)


def read_safetensors(path):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
    mm = np.memmap(path, dtype=np.uint8, mode="r")
    out = {}
    for k, info in header.items():
        if k == "__metadata__":
            continue
        a, b = info["data_offsets"]
        out[k] = (DT[info["dtype"]], info["shape"], mm[8 + n + a:8 + n + b])
    return out


def read_pt(path):
    d = torch.load(path, map_location="cpu", weights_only=True)
    return {k: (t.dtype, list(t.shape), raw(t)) for k, t in flatten(d)}


def main():
    ck = torch.load(sys.argv[1], map_location="cpu")
    ref = dict(flatten(ck.get("state_dict", ck)))
    keys = sorted(ref)
    sample = [keys[0], keys[len(keys) // 2], keys[-1]]
    status = 0
    for path in sys.argv[2:]:
        got = read_safetensors(path) if path.endswith(".safetensors") else read_pt(path)
        problems = []
        if set(got) != set(ref):
            problems.append(f"keys differ: missing {sorted(set(ref) - set(got))[:3]}, extra {sorted(set(got) - set(ref))[:3]}")
        for k in keys:
            if k not in got:
                continue
            dt, shape, b = got[k]
            t = ref[k]
            if dt != t.dtype or list(shape) != list(t.shape):
                problems.append(f"{k}: {dt} {shape} != {t.dtype} {list(t.shape)}")
            elif not np.array_equal(np.asarray(b), raw(t)):
                problems.append(f"{k}: bytes differ")
        nbytes = sum(t.numel() * t.element_size() for t in ref.values())
        verdict = "FAIL" if problems else "PASS"
        print(f"{verdict} {path}: {len(got)}/{len(ref)} tensors, {nbytes / 2**20:.0f} MiB compared byte for byte "
              f"(incl. {', '.join(sample)})" + ("".join("\n  " + p for p in problems[:5])))
        status |= bool(problems)
    sys.exit(status)


if __name__ == "__main__":
    main()
