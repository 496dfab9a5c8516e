#!/usr/bin/env python3
"""The Python baseline for bench/checkpoint.sh: torch.load a whole checkpoint
and write its tensors as .safetensors with a small pure-Python writer (the
`safetensors` package is not installed here), the way
safetensors.torch.save_file lays a file out: 8-byte little-endian header
length, JSON header (dtype, shape, data_offsets; tensors ordered by dtype
size then name, header padded with spaces to 8 bytes), then the raw
little-endian bytes of each tensor, contiguous.

  python3 bench/torch_ckpt_to_safetensors.py IN.ckpt OUT.safetensors

Keys are named like `embtool convert` names them: a top-level "state_dict"
is unwrapped, nested dicts are flattened with ".", non-tensors are dropped.
Each tensor's bytes are written straight from its numpy view (no extra copy
for contiguous tensors), so peak memory is what torch.load needs: the whole
checkpoint.
"""
import json, sys

import torch

DT = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
      torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
      torch.uint8: "U8", torch.bool: "BOOL"}


def flatten(d, prefix=""):
    for k, v in d.items():
        if isinstance(v, dict):
            yield from flatten(v, prefix + str(k) + ".")
        elif isinstance(v, torch.Tensor):
            yield prefix + str(k), v


def main():
    src, dst = sys.argv[1], sys.argv[2]
    ck = torch.load(src, map_location="cpu")
    sd = ck.get("state_dict", ck) if isinstance(ck, dict) else ck
    tensors = sorted(flatten(sd), key=lambda kv: (-kv[1].element_size(), kv[0]))
    header, off = {}, 0
    for k, t in tensors:
        n = t.numel() * t.element_size()
        header[k] = {"dtype": DT[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + n]}
        off += n
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(dst, "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for k, t in tensors:
            t = t.contiguous()
            if t.dtype == torch.bfloat16:
                t = t.view(torch.int16)
            f.write(memoryview(t.numpy()).cast("B"))


if __name__ == "__main__":
    main()
