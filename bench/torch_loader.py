#!/usr/bin/env python3
"""The Python baseline for bench/inspect_folder.sh: what AUTOMATIC1111's
stable-diffusion-webui does for each embedding file when it loads its
embeddings folder (modules/textual_inversion/textual_inversion.py,
load_from_file + create_embedding_from_data, and modules/hashes.py), plus the
per-vector L2 norms embtool reports, printed as one JSON line per file like
`embtool inspect --json`.

  python3 bench/torch_loader.py [--jobs N] PATH...

Folders are walked recursively for .pt/.bin/.safetensors (sorted, like
embtool). For every file:
  - sha256 of the whole file (A1111's hashes.sha256: 1 MiB blocks),
  - .pt/.bin: torch.load(map_location="cpu") (torch 1.13 default, full
    unpickler; A1111's own safe unpickler adds a pass over the pickle on top,
    so this is a lower bound on A1111's cost),
  - .safetensors: the `safetensors` package is not installed here, so a small
    pure-Python reader does what safetensors.torch.load_file does: 8-byte
    header length, JSON header, numpy.frombuffer per tensor -> torch tensor,
  - A1111's identification: 'string_to_param' (with the torch 1.11->1.12
    `_parameters` fix, exactly one term), SDXL 'clip_g'+'clip_l', or a dict
    whose first value is a tensor (diffusers/kohya single tensor); then
    .to(float32) as A1111 does, and per-vector norms.

The file is read once (hash and load from the same bytes), which is kinder to
Python than A1111, which opens the file twice. --jobs N (default 1, A1111 is
sequential) spreads files over N processes, each with one torch thread.
"""
import argparse, hashlib, io, json, os, sys

import numpy as np
import torch

EXTS = (".pt", ".bin", ".safetensors")

ST_DTYPES = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": np.int16,
    "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8,
    "U8": np.uint8, "BOOL": np.bool_,
}


def load_safetensors(buf):
    """dict name -> torch.Tensor, like safetensors.torch.load_file(device='cpu')."""
    n = int.from_bytes(buf[:8], "little")
    header = json.loads(bytes(buf[8:8 + n]))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dt = info["dtype"]
        start, end = info["data_offsets"]
        a = np.frombuffer(buf, dtype=ST_DTYPES[dt], count=(end - start) // np.dtype(ST_DTYPES[dt]).itemsize,
                          offset=base + start).reshape(info["shape"])
        t = torch.from_numpy(a.copy())  # load_file returns owned tensors
        if dt == "BF16":
            t = t.view(torch.bfloat16)
        out[name] = t
    return out


def identify(data):
    """A1111 create_embedding_from_data: (layout, {key: float32 tensor}, vectors, width)."""
    if "string_to_param" in data:
        param_dict = data["string_to_param"]
        param_dict = getattr(param_dict, "_parameters", param_dict)
        assert len(param_dict) == 1, "embedding file has multiple terms in it"
        key, emb = next(iter(param_dict.items()))
        vec = emb.detach().to(dtype=torch.float32)
        return "a1111", {key: vec}, vec.shape[0], vec.shape[-1]
    if type(data) == dict and "clip_g" in data and "clip_l" in data:
        vec = {k: v.detach().to(dtype=torch.float32) for k, v in data.items()}
        return "sdxl", vec, data["clip_g"].shape[0], data["clip_g"].shape[-1] + data["clip_l"].shape[-1]
    if type(data) == dict and type(next(iter(data.values()))) == torch.Tensor:
        assert len(data.keys()) == 1, "embedding file has multiple terms in it"
        key, emb = next(iter(data.items()))
        if len(emb.shape) == 1:
            emb = emb.unsqueeze(0)
        vec = emb.detach().to(dtype=torch.float32)
        return "single", {key: vec}, vec.shape[0], vec.shape[-1]
    raise Exception("Couldn't identify as neither textual inversion embedding nor diffuser concept.")


def inspect(path):
    r = {"path": path, "ok": False}
    try:
        h = hashlib.sha256()
        chunks = []
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
                chunks.append(block)
        buf = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        r["sha256"] = h.hexdigest()
        r["hash"] = r["sha256"][:12]
        if path.lower().endswith(".safetensors"):
            data = load_safetensors(buf)
        else:
            data = torch.load(io.BytesIO(buf), map_location="cpu")
        layout, vec, vectors, width = identify(data)
        r.update(ok=True, name=os.path.splitext(os.path.basename(path))[0], layout=layout,
                 vectors=int(vectors), width=int(width))
        r["tensors"] = [{"key": k, "dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape),
                         "norms": torch.linalg.vector_norm(t if t.dim() > 0 else t.unsqueeze(0),
                                                           dim=-1).reshape(-1).tolist()}
                        for k, t in vec.items()]
        for k in ("step", "sd_checkpoint", "sd_checkpoint_name"):
            v = data.get(k, None) if isinstance(data, dict) else None
            r[k] = v if v is None or isinstance(v, (int, float, str)) else str(v)
    except Exception as e:  # A1111 logs and skips the file
        r["error"] = f"{type(e).__name__}: {e}"
    return json.dumps(r)


def walk(args):
    for a in args:
        if os.path.isdir(a):
            found = []
            for root, _, files in os.walk(a):
                found += [os.path.join(root, f) for f in files if f.lower().endswith(EXTS)]
            yield from sorted(found)
        else:
            yield a


def init_worker():
    torch.set_num_threads(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("paths", nargs="+")
    a = ap.parse_args()
    paths = list(walk(a.paths))
    out = sys.stdout
    if a.jobs > 1:
        import multiprocessing as mp
        with mp.get_context("fork").Pool(a.jobs, initializer=init_worker) as pool:
            for line in pool.imap(inspect, paths, chunksize=16):
                out.write(line + "\n")
    else:
        for p in paths:
            out.write(inspect(p) + "\n")


if __name__ == "__main__":
    main()
