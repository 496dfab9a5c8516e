#!/usr/bin/python3
"""Check, with real PyTorch and re-implementations of the consumers' own rules, that what
`embtool convert` writes is read by those consumers exactly as the source was.

Run with Debian's python3-torch (see scripts/README.md):

    /usr/bin/python3 scripts/interop_check.py --embtool /tmp/embtool [--corpus DIR ...] [--workdir DIR]

For every file in the corpus folders (default: ../shared/corpus/real and testdata/fixtures)
the source is first read independently of embtool: torch.load (with an allow-list pickle module,
nothing else is ever imported), A1111's image-embedding decoder for PNGs, and a strict
safetensors reader.  Files that are not a single CLIP textual-inversion embedding (multi-term
files, the preview image, T5 / XTI / emb+emb2 layouts, 0-dim or integer tensors) must be refused
by `embtool convert` with exit status 1 and nothing written.  Every other file is converted to
.pt, .safetensors and .bin (SDXL to .bin must be refused the same way) and checked:

  (a) torch.load(weights_only=True) loads every .pt/.bin; tensors are bit-identical to torch's
      reading of the source (F64 from a PNG becomes F32 when exact, 1-D becomes [1,D]); step,
      sd_checkpoint, sd_checkpoint_name are kept; the stored name (.pt name, .bin token,
      .safetensors metadata name) is OUT's stem, the word A1111 and ComfyUI use, so every UI
      agrees (issue 11);
  (b) A1111's modules/safe.py check (zip-name regex, one data.pkl, RestrictedUnpickler with its
      allow-list, actually unpickling data.pkl) accepts every .pt/.bin;
  (c) A1111's create_embedding_from_data dispatch finds the same vectors (count, width, float32
      bits) in every output as in the source;
  (d) every .safetensors passes a strict reader (formats.md section 4 plus the reference writer's
      conventions) and keeps tensors and name/step/checkpoint metadata;
  (e) CLI round trips src -> .safetensors -> .pt and src -> .pt -> .safetensors -> .pt keep
      tensors bit for bit and name/step/checkpoint.
  (r) refusals: non-embeddings and SDXL -> .bin exit 1 and leave nothing behind.

Counts are per source file.  NaN values are compared as "both NaN" (formats.md section 3: NaN
payloads are canonicalised on write); every other bit must be equal.  Exit status 1 on any failure.
"""

import argparse
import base64
import collections
import hashlib
import json
import os
import pickle
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import types
import warnings
import zipfile
import zlib

import numpy as np
import torch

warnings.filterwarnings("ignore")

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DEFAULT_CORPORA = [
    os.path.normpath(os.path.join(REPO, "..", "shared", "corpus", "real")),
    os.path.join(REPO, "testdata", "fixtures"),
]
SKIP_NAMES = {"expected.json", "expected.jsonl", "SOURCES.md", "README.md"}

META_KEYS = ("name", "step", "sd_checkpoint", "sd_checkpoint_name")
CLIP_WIDTHS = (768, 1024, 1280)
FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


class CheckError(Exception):
    """A check failed; the message says why."""


# ---------------------------------------------------------------------------------------------
# tensors: bit comparison

def raw_bytes(t):
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


_UINT = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def bits_diff(got, want):
    """None when got and want have the same dtype, shape and bits (NaN == NaN), else a reason."""
    if not isinstance(got, torch.Tensor):
        return "not a tensor: %s" % type(got).__name__
    if got.dtype != want.dtype:
        return "dtype %s, want %s" % (str(got.dtype)[6:], str(want.dtype)[6:])
    if tuple(got.shape) != tuple(want.shape):
        return "shape %s, want %s" % (list(got.shape), list(want.shape))
    a, b = raw_bytes(got), raw_bytes(want)
    if a == b:
        return None
    size = got.element_size()
    ia = np.frombuffer(a, dtype=_UINT[size])
    ib = np.frombuffer(b, dtype=_UINT[size])
    diff = ia != ib
    if got.is_floating_point():
        both_nan = (torch.isnan(got.detach().contiguous().reshape(-1))
                    & torch.isnan(want.detach().contiguous().reshape(-1))).numpy()
        diff &= ~both_nan
    n = int(diff.sum())
    if n == 0:
        return None
    i = int(np.argmax(diff))
    return "%d of %d values differ (first at flat index %d: 0x%x, want 0x%x)" % (
        n, diff.size, i, int(ia[i]), int(ib[i]))


def f32(t):
    return t.detach().to(dtype=torch.float32)


# ---------------------------------------------------------------------------------------------
# torch.load with an allow-list pickle module (how the sources are read: torch's own reader,
# but no GLOBAL outside this list is ever imported)

_SOURCE_GLOBALS = {
    ("collections", "OrderedDict"),
    ("torch._utils", "_rebuild_tensor_v2"),
    ("torch._utils", "_rebuild_parameter"),
    ("torch._utils", "_rebuild_parameter_with_state"),
    ("torch._tensor", "_rebuild_from_type_v2"),
    ("torch.nn.parameter", "Parameter"),
    ("torch.nn.modules.container", "ParameterDict"),
    ("torch", "Tensor"),
    ("__builtin__", "set"),
    ("builtins", "set"),
}


class _SourceUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _SOURCE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError("global %s.%s is not allowed" % (module, name))


_source_pickle = types.ModuleType("interop_source_pickle")
_source_pickle.Unpickler = _SourceUnpickler
_source_pickle.load = lambda f, **kw: _SourceUnpickler(f, **kw).load()
_source_pickle.__name__ = "interop_source_pickle"


def torch_load_source(path):
    return torch.load(path, map_location="cpu", pickle_module=_source_pickle)


# ---------------------------------------------------------------------------------------------
# A1111 modules/safe.py (AUTOMATIC1111/stable-diffusion-webui@0593384), re-implemented

A1111_ZIP_RE = re.compile(r"^([^/]+)/((data/\d+)|version|(data\.pkl))$")
A1111_PKL_RE = re.compile(r"^([^/]+)/data\.pkl$")


def _a1111_encode(*args):
    import _codecs
    return _codecs.encode(*args)


class A1111RestrictedUnpickler(pickle.Unpickler):
    def persistent_load(self, saved_id):
        assert saved_id[0] == "storage"
        try:
            return torch.storage.TypedStorage(_internal=True)
        except TypeError:
            return torch.storage.TypedStorage()

    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            return getattr(collections, name)
        if module == "torch._utils" and name in ["_rebuild_tensor_v2", "_rebuild_parameter",
                                                 "_rebuild_device_tensor_from_numpy"]:
            return getattr(torch._utils, name)
        if module == "torch" and name in ["FloatStorage", "HalfStorage", "IntStorage", "LongStorage",
                                          "DoubleStorage", "ByteStorage", "float32", "BFloat16Storage"]:
            return getattr(torch, name)
        if module == "torch.nn.modules.container" and name in ["ParameterDict"]:
            return getattr(torch.nn.modules.container, name)
        if module == "numpy.core.multiarray" and name in ["scalar", "_reconstruct"]:
            return getattr(np.core.multiarray, name)
        if module == "numpy" and name in ["dtype", "ndarray"]:
            return getattr(sys.modules["numpy"], name)
        if module == "_codecs" and name == "encode":
            return _a1111_encode
        if module == "__builtin__" and name == "set":
            return set
        # Forbid everything else (the two pytorch_lightning names are not installed here and
        # never appear in an embedding).
        raise Exception(f"global '{module}/{name}' is forbidden")


def a1111_check_pt(path):
    """Raises like A1111's check_pt when A1111 would refuse to load the file."""
    try:
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                if not A1111_ZIP_RE.match(name):
                    raise Exception(f"bad file inside {path}: {name}")
            pkls = [f for f in z.namelist() if A1111_PKL_RE.match(f)]
            if len(pkls) == 0:
                raise Exception(f"data.pkl not found in {path}")
            if len(pkls) > 1:
                raise Exception(f"Multiple data.pkl found in {path}")
            with z.open(pkls[0]) as f:
                A1111RestrictedUnpickler(f).load()
    except zipfile.BadZipfile:
        with open(path, "rb") as f:
            u = A1111RestrictedUnpickler(f)
            for _ in range(5):
                u.load()


# ---------------------------------------------------------------------------------------------
# A1111 create_embedding_from_data (formats.md section 5.2), re-implemented

def a1111_dispatch(data, filename):
    """Returns (vectors, shape, {key: float32 tensor}) as A1111 builds its Embedding."""
    if "string_to_param" in data:
        param_dict = data["string_to_param"]
        param_dict = getattr(param_dict, "_parameters", param_dict)  # fix for torch 1.12.1 loading saved file from torch 1.11
        assert len(param_dict) == 1, "embedding file has multiple terms in it"
        emb = next(iter(param_dict.items()))[1]
        vec = emb.detach().to(dtype=torch.float32)
        shape = vec.shape[-1]
        vectors = vec.shape[0]
        return vectors, shape, {"vec": vec}
    elif type(data) == dict and "clip_g" in data and "clip_l" in data:
        vec = {k: v.detach().to(dtype=torch.float32) for k, v in data.items()}
        shape = data["clip_g"].shape[-1] + data["clip_l"].shape[-1]
        vectors = data["clip_g"].shape[0]
        return vectors, shape, vec
    elif type(data) == dict and type(next(iter(data.values()))) == torch.Tensor:
        assert len(data.keys()) == 1, "embedding file has multiple terms in it"
        emb = next(iter(data.values()))
        if len(emb.shape) == 1:
            emb = emb.unsqueeze(0)
        vec = emb.detach().to(dtype=torch.float32)
        shape = vec.shape[-1]
        vectors = vec.shape[0]
        return vectors, shape, {"vec": vec}
    else:
        raise Exception(f"Couldn't identify {filename} as neither textual inversion embedding nor diffuser concept.")


def dispatch_diff(got, want):
    gv, gs, gt = got
    wv, ws, wt = want
    if gv != wv:
        return "A1111 sees %d vectors, source %d" % (gv, wv)
    if gs != ws:
        return "A1111 sees width %d, source %d" % (gs, ws)
    if sorted(gt) != sorted(wt):
        return "A1111 vec keys %s, source %s" % (sorted(gt), sorted(wt))
    for k in wt:
        d = bits_diff(gt[k], wt[k])
        if d:
            return "A1111 float32 %s: %s" % (k, d)
    return None


# ---------------------------------------------------------------------------------------------
# A1111 image embeddings (modules/textual_inversion/image_embedding.py), re-implemented

class EmbeddingDecoder(json.JSONDecoder):
    def __init__(self, *args, **kwargs):
        json.JSONDecoder.__init__(self, *args, object_hook=self.object_hook, **kwargs)

    def object_hook(self, d):
        if "TORCHTENSOR" in d:
            return torch.from_numpy(np.array(d["TORCHTENSOR"]))
        return d


def _lcg(m=2 ** 32, a=1664525, c=1013904223, seed=0):
    while True:
        seed = (a * seed + c) % m
        yield seed % 255


def _xor_block(block):
    g = _lcg()
    randblock = np.array([next(g) for _ in range(np.prod(block.shape))]).astype(np.uint8).reshape(block.shape)
    return np.bitwise_xor(block.astype(np.uint8), randblock & 0x0F)


def _crop_black(img, tol=0):
    mask = (img > tol).all(2)
    mask0, mask1 = mask.any(0), mask.any(1)
    col_start, col_end = mask0.argmax(), mask.shape[1] - mask0[::-1].argmax()
    row_start, row_end = mask1.argmax(), mask.shape[0] - mask1[::-1].argmax()
    return img[row_start:row_end, col_start:col_end]


def _extract_image_data_embed(image):
    d = 3
    outarr = _crop_black(np.array(image.convert("RGB").getdata()).reshape(image.size[1], image.size[0], d).astype(np.uint8)) & 0x0F
    black_cols = np.where(np.sum(outarr, axis=(0, 2)) == 0)
    if black_cols[0].shape[0] < 2:
        return None
    lower = _xor_block(outarr[:, :black_cols[0].min(), :].astype(np.uint8))
    upper = _xor_block(outarr[:, black_cols[0].max() + 1:, :].astype(np.uint8))
    block = (upper << 4) | lower
    return json.loads(zlib.decompress(block.flatten().tobytes()), cls=EmbeddingDecoder)


def load_png_embedding(path):
    from PIL import Image
    with Image.open(path) as im:
        im.load()
        text = getattr(im, "text", {}) or {}
        if "sd-ti-embedding" in text:
            return json.loads(base64.b64decode(text["sd-ti-embedding"]), cls=EmbeddingDecoder)
        data = _extract_image_data_embed(im)
    if not data:
        raise CheckError("no sd-ti-embedding text chunk and no pixel-border data (not an embedding)")
    return data


# ---------------------------------------------------------------------------------------------
# safetensors (formats.md section 4), strict

ST_ENUM = ["BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0",
           "F8_E4M3FNUZ", "F8_E5M2FNUZ", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "C64",
           "F64", "I64", "U64"]
ST_BITS = {"BOOL": 8, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6, "U8": 8, "I8": 8, "F8_E5M2": 8,
           "F8_E4M3": 8, "F8_E8M0": 8, "F8_E4M3FNUZ": 8, "F8_E5M2FNUZ": 8, "I16": 16, "U16": 16,
           "F16": 16, "BF16": 16, "I32": 32, "U32": 32, "F32": 32, "C64": 64, "F64": 64, "I64": 64,
           "U64": 64}
ST_TORCH = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
            "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
            "U8": torch.uint8, "BOOL": torch.bool}
ST_NUMPY = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<i2", "I64": "<i8", "I32": "<i4",
            "I16": "<i2", "I8": "i1", "U8": "u1", "BOOL": "u1"}
MAX_HEADER = 100_000_000


def _is_uint(v):
    return type(v) is int and v >= 0


def read_safetensors(path, strict):
    """Returns (metadata or None, OrderedDict name -> torch tensor in header order).

    Always enforces the reference reader's validation (formats.md section 4 rules 1-7) plus
    "no duplicate keys"; with strict=True also the reference writer's conventions.
    """
    with open(path, "rb") as f:
        b = f.read()
    if len(b) < 8:
        raise CheckError("safetensors: file shorter than 8 bytes")
    n = struct.unpack("<Q", b[:8])[0]
    if n > MAX_HEADER:
        raise CheckError("safetensors: header length %d > %d" % (n, MAX_HEADER))
    if 8 + n > len(b):
        raise CheckError("safetensors: header length %d past end of file (%d bytes)" % (n, len(b)))
    hb = b[8:8 + n]
    try:
        hs = hb.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CheckError("safetensors: header is not UTF-8: %s" % e)

    def pairs_hook(pairs):
        seen = set()
        for k, _ in pairs:
            if k in seen:
                raise CheckError("safetensors: duplicate key %r in header" % k)
            seen.add(k)
        return collections.OrderedDict(pairs)

    def no_constants(c):
        raise CheckError("safetensors: %s in header JSON" % c)

    try:
        h = json.loads(hs, object_pairs_hook=pairs_hook, parse_constant=no_constants)
    except ValueError as e:
        raise CheckError("safetensors: header is not JSON: %s" % e)
    if not isinstance(h, dict):
        raise CheckError("safetensors: header is not a JSON object")
    meta = None
    if "__metadata__" in h:
        meta = h["__metadata__"]
        if not isinstance(meta, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()):
            raise CheckError("safetensors: __metadata__ is not a str -> str object")
    infos = []
    for name, info in h.items():
        if name == "__metadata__":
            continue
        if not isinstance(info, dict):
            raise CheckError("safetensors: tensor %r: entry is not an object" % name)
        dt, shape, offs = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if not isinstance(dt, str) or dt not in ST_BITS:
            raise CheckError("safetensors: tensor %r: unknown dtype %r" % (name, dt))
        if not isinstance(shape, list) or not all(_is_uint(x) for x in shape):
            raise CheckError("safetensors: tensor %r: bad shape %r" % (name, shape))
        if not isinstance(offs, list) or len(offs) != 2 or not all(_is_uint(x) for x in offs):
            raise CheckError("safetensors: tensor %r: bad data_offsets %r" % (name, offs))
        if strict and list(info.keys()) != ["dtype", "shape", "data_offsets"]:
            raise CheckError("safetensors: tensor %r: fields %s, the reference writer writes dtype, shape, data_offsets"
                             % (name, list(info.keys())))
        infos.append((name, dt, shape, offs[0], offs[1]))
    by_offset = sorted(infos, key=lambda x: (x[3], x[4]))
    end = 0
    for name, dt, shape, begin, stop in by_offset:
        if begin != end or stop < begin:
            raise CheckError("safetensors: tensor %r: offsets [%d,%d] not contiguous (previous end %d)"
                             % (name, begin, stop, end))
        nel = 1
        for x in shape:
            nel *= x
        nbits = nel * ST_BITS[dt]
        if nbits % 8:
            raise CheckError("safetensors: tensor %r: misaligned slice" % name)
        if stop - begin != nbits // 8:
            raise CheckError("safetensors: tensor %r: %d bytes for %s %s" % (name, stop - begin, dt, shape))
        end = stop
    if end + 8 + n != len(b):
        raise CheckError("safetensors: buffer ends at %d, file has %d bytes (holes or trailing data)"
                         % (end + 8 + n, len(b)))

    if strict:
        if not hs.startswith("{"):
            raise CheckError("safetensors: header does not start with '{'")
        body = hs.rstrip(" ")
        if (8 + n) % 8 != 0 or n - len(body.encode("utf-8")) >= 8:
            raise CheckError("safetensors: header length %d: not padded with spaces to 8-byte alignment "
                             "the way the reference writer does (JSON is %d bytes)" % (n, len(body.encode())))
        keys = list(h.keys())
        want_keys = (["__metadata__"] if meta is not None else []) + [x[0] for x in by_offset]
        if keys != want_keys:
            raise CheckError("safetensors: header key order %s, reference writer: %s" % (keys, want_keys))
        want_order = sorted(infos, key=lambda x: (-ST_ENUM.index(x[1]), x[0]))
        if [x[0] for x in by_offset] != [x[0] for x in want_order]:
            raise CheckError("safetensors: tensors in buffer order %s, reference writer: %s (descending dtype, then name)"
                             % ([x[0] for x in by_offset], [x[0] for x in want_order]))
        compact = json.dumps(h, separators=(",", ":"), ensure_ascii=False)
        if compact != body:
            raise CheckError("safetensors: header is not compact serde-style JSON: %r" % body[:200])

    tensors = collections.OrderedDict()
    base = 8 + n
    for name, dt, shape, begin, stop in infos:
        if dt not in ST_TORCH:
            raise CheckError("safetensors: tensor %r: dtype %s not supported by this checker" % (name, dt))
        arr = np.frombuffer(b[base + begin:base + stop], dtype=ST_NUMPY[dt]).copy().reshape(shape)
        t = torch.from_numpy(arr)
        if dt == "BF16":
            t = t.view(torch.bfloat16)
        elif dt == "BOOL":
            t = t.to(torch.bool)
        tensors[name] = t
    return meta, tensors


# ---------------------------------------------------------------------------------------------
# the source, read independently of embtool

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
LEGACY_MAGIC = bytes.fromhex("80028a0a6cfc9c46f9206aa850192e")


class Source:
    def __init__(self, path, label):
        self.path = path
        self.label = label
        self.stem = os.path.splitext(os.path.basename(path))[0]
        self.container = None
        self.data = None          # what A1111 has after loading the file
        self.refuse = None        # why this is not a single CLIP embedding, or None
        self.sdxl = False
        self.tensors = None       # expected output tensors: {"emb": T} or {"clip_l": T, "clip_g": T}
        self.meta = dict.fromkeys(META_KEYS)
        self.token = None         # the diffusers token, when the source is a diffusers file
        self.a1111 = None         # a1111_dispatch on the source, or None
        self.a1111_error = None


def _to_int(v):
    if isinstance(v, str) and re.fullmatch(r"-?\d+", v):
        return int(v)
    return v


def _as_tensor(v):
    if isinstance(v, torch.nn.Parameter):
        return v.data
    return v


def read_source(path, label):
    s = Source(path, label)
    with open(path, "rb") as f:
        head = f.read(16)
    try:
        if head[:4] == b"PK\x03\x04" or head[:15] == LEGACY_MAGIC:
            s.container = "torch"
            s.data = torch_load_source(path)
        elif head[:8] == PNG_MAGIC:
            s.container = "png"
            s.data = load_png_embedding(path)
        elif len(head) >= 9 and head[8:9] in b"{ \t\r\n":
            s.container = "safetensors"
            meta, tensors = read_safetensors(path, strict=False)
            s.data = dict(tensors)
            for k in META_KEYS:
                if meta and k in meta:
                    s.meta[k] = _to_int(meta[k]) if k == "step" else meta[k]
        else:
            s.refuse = "not an embedding container (magic %s)" % head[:8].hex()
            return s
    except Exception as e:  # noqa: BLE001 - any failure to read means "not an embedding"
        s.refuse = "unreadable: %s: %s" % (type(e).__name__, e)
        return s

    data = s.data
    if isinstance(data, torch.Tensor):
        data = {"<bare tensor>": data}
    if not isinstance(data, dict):
        s.refuse = "top-level object is %s" % type(data).__name__
        return s
    if s.container != "safetensors":
        for k in META_KEYS:
            s.meta[k] = data.get(k)

    if "string_to_param" in data:
        pd = getattr(data["string_to_param"], "_parameters", data["string_to_param"])
        if len(pd) != 1:
            s.refuse = "multiple terms (%s)" % list(pd.keys())
            return s
        tensors = {"emb": _as_tensor(next(iter(pd.values())))}
    elif "clip_g" in data and "clip_l" in data:
        s.sdxl = True
        extra = [k for k in data if k not in ("clip_g", "clip_l")]
        if extra:
            s.refuse = "SDXL file with extra keys %s" % extra
            return s
        tensors = {"clip_l": _as_tensor(data["clip_l"]), "clip_g": _as_tensor(data["clip_g"])}
    else:
        vals = [k for k, v in data.items() if isinstance(v, torch.Tensor)]
        if len(data) != 1 or len(vals) != 1:
            s.refuse = "multiple terms (%s)" % list(data.keys())[:6]
            return s
        key = vals[0]
        tensors = {"emb": _as_tensor(data[key])}
        if key not in ("emb_params", "<bare tensor>"):
            s.token = key

    for k, t in tensors.items():
        if not isinstance(t, torch.Tensor):
            s.refuse = "%s is %s, not a tensor" % (k, type(t).__name__)
            return s
        if t.dtype not in FLOAT_DTYPES:
            s.refuse = "%s has dtype %s" % (k, t.dtype)
            return s
        if t.dim() not in (1, 2) or (s.sdxl and t.dim() != 2):
            s.refuse = "%s is %d-dimensional" % (k, t.dim())
            return s
        t = t.detach().contiguous()
        if t.dim() == 1:
            t = t.unsqueeze(0)
        if s.container == "png" and t.dtype == torch.float64:
            t32 = t.to(torch.float32)
            if bits_diff(t32.to(torch.float64), t) is None:
                t = t32
        tensors[k] = t
    if s.sdxl:
        if tensors["clip_l"].shape[1] != 768 or tensors["clip_g"].shape[1] != 1280:
            s.refuse = "SDXL widths %d/%d" % (tensors["clip_l"].shape[1], tensors["clip_g"].shape[1])
            return s
    elif tensors["emb"].shape[1] not in CLIP_WIDTHS:
        s.refuse = "width %d is not a CLIP text-encoder width (layout 'other')" % tensors["emb"].shape[1]
        return s
    s.tensors = tensors
    try:
        s.a1111 = a1111_dispatch(s.data, path)
        if not s.sdxl and s.a1111[0] != tensors["emb"].shape[0]:
            # a 1-D string_to_param value: A1111 reads D vectors of width D (formats.md 15.1)
            s.a1111_error = "A1111 misreads it as %d vectors of width %d" % (s.a1111[0], s.a1111[1])
            s.a1111 = None
    except Exception as e:  # noqa: BLE001
        s.a1111_error = "%s: %s" % (type(e).__name__, e)
    return s


def source_reference_vectors(s):
    """What A1111 should see in the outputs: the dispatch on the source, or (when A1111 cannot
    read the source itself, e.g. a Parameter in a plain dict) the source tensors as float32."""
    if s.a1111 is not None:
        return s.a1111
    if s.sdxl:
        return (s.tensors["clip_g"].shape[0], 2048,
                {"clip_l": f32(s.tensors["clip_l"]), "clip_g": f32(s.tensors["clip_g"])})
    t = s.tensors["emb"]
    return t.shape[0], t.shape[1], {"vec": f32(t)}


def self_check(s, expected):
    """Compare our reading of the source with expected.json(l), when it has a record."""
    rec = expected.get(os.path.basename(s.path))
    if rec is None:
        return None
    if s.refuse:
        if rec.get("kind") in ("string_to_param", "single_tensor", "sdxl") and not rec.get("error") \
                and rec.get("layout") != "other" and rec.get("dim") in CLIP_WIDTHS + (2048,):
            return "we refuse it (%s), expected.json describes an embedding" % s.refuse
        return None
    if rec.get("error") or rec.get("kind") in ("multi", "error", None):
        return "we read an embedding, expected.json says %s" % (rec.get("error") or rec.get("kind"))
    sha = rec.get("values_sha256") or {}
    if s.sdxl:
        for k in ("clip_l", "clip_g"):
            want = (rec.get("shapes") or {}).get(k)
            if want and list(s.tensors[k].shape) != want:
                return "%s shape %s, expected.json %s" % (k, list(s.tensors[k].shape), want)
            if k in sha and hashlib.sha256(raw_bytes(s.tensors[k])).hexdigest() != sha[k]:
                return "%s values differ from expected.json values_sha256" % k
    else:
        t = s.tensors["emb"]
        want = rec.get("shape")
        if want and list(t.shape) != ([1] + want if len(want) == 1 else want):  # 1-D is read as [1,D]
            return "shape %s, expected.json %s" % (list(t.shape), want)
        if len(sha) == 1 and s.container != "png":
            if hashlib.sha256(raw_bytes(t)).hexdigest() != next(iter(sha.values())):
                return "values differ from expected.json values_sha256"
        for k in META_KEYS:
            if k in rec and rec[k] != s.meta[k]:
                return "%s %r, expected.json %r" % (k, s.meta[k], rec[k])
    return None


def load_expected(d):
    out = {}
    for fn in ("expected.json", "expected.jsonl"):
        p = os.path.join(d, fn)
        if os.path.isfile(p):
            with open(p, encoding="utf-8") as f:
                for line in f:
                    line = line.strip()
                    if line:
                        r = json.loads(line)
                        out[r["file"]] = r
    return out


# ---------------------------------------------------------------------------------------------
# running embtool

class Runner:
    def __init__(self, embtool):
        self.embtool = embtool
        self.calls = 0

    def convert(self, src, out):
        self.calls += 1
        p = subprocess.run([self.embtool, "convert", src, out], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        return p.returncode, p.stderr.decode("utf-8", "replace").strip()


def _last(msg):
    lines = [x for x in msg.splitlines() if x.strip()]
    return lines[-1] if lines else "(no message)"


def must_convert(runner, src, out):
    """Runs embtool convert and checks it wrote OUT and nothing else into OUT's folder."""
    d = os.path.dirname(out)
    before = set(os.listdir(d))
    rc, err = runner.convert(src, out)
    if rc != 0:
        raise CheckError("embtool convert %s -> %s exited %d: %s" % (os.path.basename(src), os.path.basename(out), rc, _last(err)))
    after = set(os.listdir(d))
    if not os.path.isfile(out):
        raise CheckError("embtool convert exited 0 but %s was not written" % os.path.basename(out))
    stray = sorted(after - before - {os.path.basename(out)})
    if stray:
        raise CheckError("embtool convert left stray files: %s" % stray)
    return out


def must_refuse(runner, src, out):
    d = os.path.dirname(out)
    before = set(os.listdir(d))
    rc, err = runner.convert(src, out)
    after = set(os.listdir(d))
    problems = []
    if rc != 1:
        problems.append("exit status %d, want 1" % rc)
    if after != before:
        problems.append("left files behind: %s" % sorted(after - before))
    if problems:
        raise CheckError("convert to %s: %s (%s)" % (os.path.splitext(out)[1], "; ".join(problems), _last(err)))


# ---------------------------------------------------------------------------------------------
# checks on one output file

def _torch_load_weights_only(path):
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001
        raise CheckError("torch.load(weights_only=True) failed: %s: %s" % (type(e).__name__, _last(str(e))))


def _check_meta(got, s, out_stem, what, carried_name=None):
    # The stored name written is OUT's stem whatever the source held (carried_name is
    # kept for the call sites; names no longer travel).
    want = dict(s.meta, name=out_stem)
    for k in META_KEYS:
        g = got.get(k)
        if g != want[k] or type(g) != type(want[k]):
            raise CheckError("%s %s = %r, want %r" % (what, k, g, want[k]))


def check_pt_contents(data, s, out_path, carried_name=None):
    """The object torch loaded from an A1111-layout .pt (or SDXL pair)."""
    out_stem = os.path.splitext(os.path.basename(out_path))[0]
    if type(data) is not dict:
        raise CheckError("top-level object is %s, want dict" % type(data).__name__)
    if s.sdxl:
        if set(data.keys()) != {"clip_l", "clip_g"}:
            raise CheckError("SDXL .pt keys %s, want clip_l, clip_g" % list(data.keys()))
        for k in ("clip_l", "clip_g"):
            d = bits_diff(data[k], s.tensors[k])
            if d:
                raise CheckError("%s: %s" % (k, d))
        return
    want_keys = ["string_to_token", "string_to_param"] + list(META_KEYS)
    # embtool may add "__metadata__": a plain dict of strings carrying metadata the A1111 layout
    # has no field for (a safetensors __metadata__, a merge recipe); A1111, diffusers, ComfyUI,
    # kohya and InvokeAI all look only at string_to_param / name / step there.
    got_keys = [k for k in data.keys() if k != "__metadata__"]
    if sorted(got_keys) != sorted(want_keys):
        raise CheckError("A1111 .pt keys %s, want %s (+ optional __metadata__)" % (list(data.keys()), want_keys))
    if "__metadata__" in data:
        m = data["__metadata__"]
        if type(m) is not dict or not all(type(k) is str and type(v) is str for k, v in m.items()):
            raise CheckError("__metadata__ is not a plain dict of strings: %r" % (m,))
        clash = [k for k in META_KEYS if k in m]
        if clash:
            raise CheckError("__metadata__ repeats A1111 fields %s" % clash)
    stp = data["string_to_param"]
    if type(stp) is not dict or list(stp.keys()) != ["*"]:
        raise CheckError("string_to_param is %r, want {'*': tensor}" % type(stp).__name__)
    if data["string_to_token"] != {"*": 265}:
        raise CheckError("string_to_token is %r, want {'*': 265}" % (data["string_to_token"],))
    d = bits_diff(stp["*"], s.tensors["emb"])
    if d:
        raise CheckError("string_to_param['*']: %s" % d)
    _check_meta(data, s, out_stem, ".pt", carried_name)


def check_bin_contents(data, s, out_path):
    out_stem = os.path.splitext(os.path.basename(out_path))[0]
    if type(data) is not dict or len(data) != 1:
        raise CheckError(".bin is not a one-key dict: %r" % (list(data.keys()) if isinstance(data, dict) else type(data)))
    (key, t), = data.items()
    d = bits_diff(t, s.tensors["emb"])
    if d:
        raise CheckError("%r: %s" % (key, d))
    if key != out_stem:
        raise CheckError("token %r, want OUT's stem %r" % (key, out_stem))


def check_safetensors_contents(meta, tensors, s, out_path, want_name=None):
    """want_name: the name the metadata must carry when the source has none (round trips)."""
    out_stem = os.path.splitext(os.path.basename(out_path))[0]
    want = ["clip_g", "clip_l"] if s.sdxl else ["emb_params"]
    if sorted(tensors.keys()) != want:
        raise CheckError("tensors %s, want %s" % (list(tensors.keys()), want))
    for k in want:
        d = bits_diff(tensors[k], s.tensors["emb" if k == "emb_params" else k])
        if d:
            raise CheckError("%s: %s" % (k, d))
    meta = meta or {}
    for k in META_KEYS:
        w = s.meta[k]
        g = meta.get(k)
        if k == "name":
            if g != out_stem:
                raise CheckError("__metadata__ name %r, want OUT's stem %r" % (g, out_stem))
            continue
        if w is None:
            if g is not None:
                raise CheckError("__metadata__ %s = %r, the source has none" % (k, g))
            continue
        if g != str(w):
            raise CheckError("__metadata__ %s = %r, want %r" % (k, g, str(w)))


# ---------------------------------------------------------------------------------------------
# the driver

CHECKS = [
    ("a", "torch.load(weights_only=True) of .pt/.bin: tensors, name/step/checkpoint"),
    ("b", "A1111 safe.py (zip names, allow-list unpickler) accepts .pt/.bin"),
    ("c", "A1111 create_embedding_from_data: same vectors as the source"),
    ("d", "strict safetensors reader (section 4 + writer conventions), tensors, metadata"),
    ("e", "CLI round trips src->.st->.pt, src->.pt->.st->.pt"),
    ("r", "refusals: non-embeddings and SDXL->.bin exit 1, nothing written"),
    ("s", "checker self-test: source reading agrees with expected.json"),
]


class Results:
    def __init__(self):
        self.checked = {c: 0 for c, _ in CHECKS}
        self.passed = {c: 0 for c, _ in CHECKS}
        self.failures = []
        self.notes = []

    def record(self, check, label, errors):
        self.checked[check] += 1
        if errors:
            for e in errors:
                self.failures.append("FAIL (%s) %s: %s" % (check, label, e))
        else:
            self.passed[check] += 1


def check_source(s, runner, work, res):
    d = os.path.join(work, re.sub(r"[^A-Za-z0-9._-]+", "_", s.label))
    if os.path.exists(d):
        shutil.rmtree(d)
    if s.refuse:
        os.makedirs(d)
        errs = []
        for ext in (".pt", ".safetensors", ".bin"):
            try:
                must_refuse(runner, s.path, os.path.join(d, "o_" + s.stem + ext))
            except CheckError as e:
                errs.append(str(e))
        res.record("r", s.label + " (" + s.refuse + ")", errs)
        return

    da, de1, de2, de3 = (os.path.join(d, x) for x in ("a", "e1", "e2", "e3"))
    for x in (da, de1, de2, de3):
        os.makedirs(x)
    errs = {c: [] for c, _ in CHECKS}
    ref = source_reference_vectors(s)
    if s.a1111_error:
        res.notes.append("note: %s: A1111 itself cannot load the source (%s); outputs compared with torch's "
                         "reading of it" % (s.label, s.a1111_error))

    outs = {}
    for ext in (".pt", ".safetensors", ".bin"):
        out = os.path.join(da, "o_" + s.stem + ext)
        if s.sdxl and ext == ".bin":
            try:
                must_refuse(runner, s.path, out)
            except CheckError as e:
                errs["r"].append("SDXL " + str(e))
            continue
        try:
            outs[ext] = must_convert(runner, s.path, out)
        except CheckError as e:
            errs["d" if ext == ".safetensors" else "a"].append(str(e))

    # (a), (b), (c) on .pt and .bin
    for ext in (".pt", ".bin"):
        out = outs.get(ext)
        if out is None:
            continue
        name = os.path.basename(out)
        data = None
        try:
            data = _torch_load_weights_only(out)
            if ext == ".pt":
                check_pt_contents(data, s, out)
            else:
                check_bin_contents(data, s, out)
        except CheckError as e:
            errs["a"].append("%s: %s" % (name, e))
        safe_ok = True
        try:
            a1111_check_pt(out)
        except Exception as e:  # noqa: BLE001
            safe_ok = False
            errs["b"].append("%s: A1111 safe.py refuses it: %s: %s" % (name, type(e).__name__, e))
        try:
            loaded = torch.load(out, map_location="cpu") if safe_ok else data
            if loaded is None:
                raise CheckError("neither A1111's loader nor torch could load it")
            got = a1111_dispatch(loaded, out)
            diff = dispatch_diff(got, ref)
            if diff:
                raise CheckError(diff)
        except Exception as e:  # noqa: BLE001
            errs["c"].append("%s: %s" % (name, e if isinstance(e, CheckError) else "%s: %s" % (type(e).__name__, e)))

    # (d) and (c) on .safetensors
    out = outs.get(".safetensors")
    if out is not None:
        name = os.path.basename(out)
        try:
            meta, tensors = read_safetensors(out, strict=True)
            check_safetensors_contents(meta, tensors, s, out)
        except CheckError as e:
            errs["d"].append("%s: %s" % (name, e))
        try:
            _, tensors = read_safetensors(out, strict=False)
            diff = dispatch_diff(a1111_dispatch(dict(tensors), out), ref)
            if diff:
                raise CheckError(diff)
        except Exception as e:  # noqa: BLE001
            errs["c"].append("%s: %s" % (name, e if isinstance(e, CheckError) else "%s: %s" % (type(e).__name__, e)))

    # (e) round trips; every step gets its own stem (rt1_, rt2_, rt3_) so that a name dropped on
    # the way shows up instead of being replaced by an identical OUT stem.  Intermediate files
    # are held to the same rules as in (a) and (d).
    def rt(i, d, ext):
        return os.path.join(d, "rt%d_%s%s" % (i, s.stem, ext))

    def check_st(path, want_name=None):
        meta, tensors = read_safetensors(path, strict=True)
        check_safetensors_contents(meta, tensors, s, path, want_name=want_name)
        return (meta or {}).get("name")

    def check_pt(path, carried_name=None):
        data = _torch_load_weights_only(path)
        check_pt_contents(data, s, path, carried_name=carried_name)
        return data.get("name")

    try:  # src -> .safetensors -> .pt
        st1 = must_convert(runner, s.path, rt(1, de1, ".safetensors"))
        carried = check_st(st1)
        pt2 = must_convert(runner, st1, rt(2, de2, ".pt"))
        check_pt(pt2, carried_name=carried)
    except CheckError as e:
        errs["e"].append("src->.safetensors->.pt: %s" % e)
    try:  # src -> .pt -> .safetensors -> .pt
        pt1 = must_convert(runner, s.path, rt(1, de1, ".pt"))
        name1 = check_pt(pt1)
        st2 = must_convert(runner, pt1, rt(2, de2, ".safetensors"))
        check_st(st2, want_name=None if s.sdxl else name1)
        pt3 = must_convert(runner, st2, rt(3, de3, ".pt"))
        check_pt(pt3, carried_name=name1)
    except CheckError as e:
        errs["e"].append("src->.pt->.safetensors->.pt: %s" % e)

    res.record("a", s.label, errs["a"])
    res.record("b", s.label, errs["b"])
    res.record("c", s.label, errs["c"])
    res.record("d", s.label, errs["d"])
    res.record("e", s.label, errs["e"])
    if s.sdxl:
        res.record("r", s.label + " (SDXL -> .bin)", errs["r"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--embtool", required=True, help="the embtool binary to test")
    ap.add_argument("--corpus", action="append", metavar="DIR",
                    help="a folder of source files (repeatable; default: %s)" % ", ".join(DEFAULT_CORPORA))
    ap.add_argument("--workdir", metavar="DIR", help="where outputs go (kept); default: a temporary folder, "
                                                     "removed when every check passes")
    args = ap.parse_args()
    t0 = time.time()
    embtool = os.path.abspath(args.embtool)
    if not os.access(embtool, os.X_OK):
        ap.error("--embtool %s is not an executable file" % args.embtool)
    corpora = args.corpus or DEFAULT_CORPORA
    if args.workdir:
        work = os.path.abspath(args.workdir)
        os.makedirs(work, exist_ok=True)
    else:
        work = tempfile.mkdtemp(prefix="embtool-interop-")

    runner = Runner(embtool)
    res = Results()
    nsrc = 0
    for corpus in corpora:
        corpus = os.path.abspath(corpus)
        if not os.path.isdir(corpus):
            ap.error("--corpus %s is not a folder" % corpus)
        expected = load_expected(corpus)
        cname = os.path.basename(corpus)
        for root, dirs, files in os.walk(corpus):
            dirs[:] = sorted(x for x in dirs if not x.startswith("."))
            for fn in sorted(files):
                if fn in SKIP_NAMES or fn.startswith(".") or fn.endswith(".md"):
                    continue
                path = os.path.join(root, fn)
                label = cname + "/" + os.path.relpath(path, corpus)
                s = read_source(path, label)
                nsrc += 1
                if os.path.dirname(path) == corpus and expected:
                    problem = self_check(s, expected)
                    res.record("s", label, [problem] if problem else [])
                check_source(s, runner, work, res)

    print("embtool interop check: %d source files, %d embtool runs, %.1f s" % (nsrc, runner.calls, time.time() - t0))
    print("embtool: %s" % embtool)
    print()
    w = max(len(t) for _, t in CHECKS)
    print("%-5s %-*s  %s" % ("check", w, "what", "passed/checked (files)"))
    for c, title in CHECKS:
        mark = "ok" if res.passed[c] == res.checked[c] else "FAIL"
        print("(%s)   %-*s  %3d/%-3d %s" % (c, w, title, res.passed[c], res.checked[c], mark))
    if res.notes:
        print()
        for n in res.notes:
            print(n)
    if res.failures:
        print()
        for f in res.failures:
            print(f)
        print()
        print("outputs kept in %s" % work)
        return 1
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
