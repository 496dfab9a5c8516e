"""Shared helpers for the embtool test-data generators (testdata/gen/gen_*.py).

Nothing in here ever unpickles anything.  It contains:

* a safetensors writer that follows the reference writer (formats.md section 4);
* a small zip writer that lays records out the way torch does (stored entries, data
  aligned to 64 bytes with an 'FB' extra field), used for hand-built torch files;
* a pickle assembler (class P) for hand-built pickles, protocol 2 and 4 opcodes;
* helpers that describe a tensor the way expected.jsonl records it.

Run the generators with Debian's /usr/bin/python3 (python3-torch 1.13, numpy, PIL) from
the repository root.
"""

import base64
import hashlib
import io
import json
import math
import os
import pickletools
import struct
import zlib

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TESTDATA = os.path.join(ROOT, "testdata")


def out_dir(name):
    d = os.path.join(TESTDATA, name)
    os.makedirs(d, exist_ok=True)
    return d


def write_bytes(path, data):
    with open(path, "wb") as f:
        f.write(data)


def write_jsonl(path, records):
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, allow_nan=False, ensure_ascii=False) + "\n")


def sha256(data):
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------------------------
# tensors

TORCH_TO_ST = {
    "float64": "F64", "float32": "F32", "float16": "F16", "bfloat16": "BF16",
    "int64": "I64", "int32": "I32", "int16": "I16", "int8": "I8", "uint8": "U8", "bool": "BOOL",
}

# safetensors Dtype enum order (tensor.rs); the writer sorts by this, descending.
ST_ENUM = ["BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0",
           "F8_E4M3FNUZ", "F8_E5M2FNUZ", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "C64",
           "F64", "I64", "U64"]


def dtype_name(t):
    """torch dtype name without the 'torch.' prefix, e.g. 'float32'."""
    return str(t.dtype).replace("torch.", "")


def le_bytes(t):
    """The tensor's values, contiguous row-major, little-endian, in its stored dtype."""
    import torch
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def jfloat(x):
    """A float for strict JSON: non-finite values become the strings NaN, Infinity, -Infinity."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def row_norms(t):
    """Per-vector L2 norms in float64 of the stored values ([] for a 0-dim tensor)."""
    t = t.detach().to("cpu")
    import torch
    if t.dim() == 0:
        return []
    if t.dtype == torch.bool:
        t = t.to(torch.uint8)
    d = t.to(torch.float64)
    if d.dim() == 1:
        d = d.unsqueeze(0)
    d = d.reshape(-1, d.shape[-1])
    out = []
    for row in d.numpy():
        out.append(jfloat(float(math.sqrt(float((row * row).sum())))))
    return out


def concat_norms(parts):
    """Norms of rows made by concatenating the rows of several tensors (clip_l | clip_g)."""
    import torch
    rows = [p.detach().to(torch.float64) for p in parts]
    n = min(r.shape[0] for r in rows)
    cat = torch.cat([r[:n] for r in rows], dim=1)
    return row_norms(cat)


def tensor_info(t, with_view=True):
    info = {"dtype": dtype_name(t), "shape": list(t.shape)}
    if with_view:
        info["stride"] = list(t.stride())
        info["storage_offset"] = t.storage_offset()
        info["storage_numel"] = t.storage().size()
    return info


# ---------------------------------------------------------------------------------------------
# safetensors


def st_header_json(tensors, metadata=None):
    """tensors: list of (name, st_dtype, shape, nbytes) in buffer order."""
    parts = []
    if metadata is not None:
        parts.append('"__metadata__":' + json.dumps(metadata, separators=(",", ":"), ensure_ascii=False))
    off = 0
    for name, dt, shape, nbytes in tensors:
        parts.append(json.dumps(name, ensure_ascii=False) + ":" + json.dumps(
            {"dtype": dt, "shape": list(shape), "data_offsets": [off, off + nbytes]},
            separators=(",", ":")))
        off += nbytes
    return "{" + ",".join(parts) + "}"


def safetensors_bytes(tensors, metadata=None, align=True, leading=b"", trailing=b""):
    """Serialise {name: torch.Tensor} like safetensors' Rust writer.

    Tensors are sorted by dtype (enum order, descending) then name; the JSON is compact;
    the header is padded with spaces so that 8+N is a multiple of 8 (align=True).
    `leading`/`trailing` insert JSON whitespace around the object (reader-tolerance tests).
    """
    items = []
    for name, t in tensors.items():
        dt = TORCH_TO_ST[dtype_name(t)]
        items.append((name, dt, list(t.shape), le_bytes(t)))
    items.sort(key=lambda it: (-ST_ENUM.index(it[1]), it[0]))
    header = st_header_json([(n, d, s, len(b)) for n, d, s, b in items], metadata)
    hb = leading + header.encode("utf-8") + trailing
    if align:
        pad = (8 - len(hb) % 8) % 8
        hb += b" " * pad
    return struct.pack("<Q", len(hb)) + hb + b"".join(b for _, _, _, b in items)


def read_safetensors(data):
    """Minimal reader for files this project wrote or trusts (returns {name: torch.Tensor}, metadata)."""
    import numpy as np
    import torch
    n = struct.unpack("<Q", data[:8])[0]
    hdr = json.loads(data[8:8 + n].decode("utf-8"))
    meta = hdr.pop("__metadata__", None)
    base = 8 + n
    np_types = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64,
                "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}
    out = {}
    for name, info in sorted(hdr.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        b, e = info["data_offsets"]
        raw = data[base + b:base + e]
        if info["dtype"] == "BF16":
            t = torch.from_numpy(np.frombuffer(raw, dtype=np.int16).copy()).view(torch.bfloat16)
        else:
            t = torch.from_numpy(np.frombuffer(raw, dtype=np_types[info["dtype"]]).copy())
        out[name] = t.reshape(info["shape"])
    return out, meta


# ---------------------------------------------------------------------------------------------
# zip, laid out like PyTorch's writer (stored entries, data at 64-byte boundaries)


def zip_bytes(entries, align=64, fixed_dos=(0, 0x21)):
    """entries: list of (name, data) or (name, data, method) with method 0 (stored) or 8 (deflate).

    Duplicate or odd names are written as given: this writer is also used for malicious files.
    DOS time/date are fixed (00:00:00, 1980-01-01) so the output is byte-stable.
    """
    out = bytearray()
    central = bytearray()
    dos_time, dos_date = fixed_dos
    for ent in entries:
        name, data = ent[0], ent[1]
        method = ent[2] if len(ent) > 2 else 0
        raw_name = name.encode("utf-8")
        crc = zlib.crc32(data) & 0xFFFFFFFF
        if method == 8:
            c = zlib.compressobj(9, zlib.DEFLATED, -15)
            comp = c.compress(data) + c.flush()
        else:
            comp = data
        offset = len(out)
        extra = b""
        if align and method == 0:
            start = offset + 30 + len(raw_name)
            pad = (-(start + 4)) % align
            extra = b"FB" + struct.pack("<H", pad) + b"Z" * pad
        flags = 0x0800
        local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, method, dos_time, dos_date,
                            crc, len(comp), len(data), len(raw_name), len(extra))
        out += local + raw_name + extra + comp
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, flags, method, dos_time,
                               dos_date, crc, len(comp), len(data), len(raw_name), 0, 0, 0, 0, 0,
                               offset) + raw_name
    cd_off = len(out)
    out += central
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central),
                       cd_off, 0)
    return bytes(out)


def torch_zip(pickle_bytes, storages=(), prefix="archive", extra_entries=()):
    """A torch-style archive: <prefix>/data.pkl, <prefix>/data/<key>..., <prefix>/version."""
    entries = [(prefix + "/data.pkl", pickle_bytes)]
    for key, data in storages:
        entries.append((prefix + "/data/" + key, data))
    entries.extend(extra_entries)
    entries.append((prefix + "/version", b"3\n"))
    return zip_bytes(entries)


# ---------------------------------------------------------------------------------------------
# pickle assembler


class P:
    """Hand assembler for pickle byte streams.  Methods append opcodes and return self."""

    def __init__(self, proto=2):
        self.b = bytearray()
        if proto is not None:
            self.b += bytes([0x80, proto])

    def raw(self, data):
        self.b += data
        return self

    def op(self, code):
        self.b += code if isinstance(code, bytes) else bytes([code])
        return self

    # containers / structure
    def mark(self):
        return self.op(b"(")

    def empty_dict(self):
        return self.op(b"}")

    def empty_list(self):
        return self.op(b"]")

    def empty_tuple(self):
        return self.op(b")")

    def tuple(self):
        return self.op(b"t")

    def tuple1(self):
        return self.op(b"\x85")

    def tuple2(self):
        return self.op(b"\x86")

    def tuple3(self):
        return self.op(b"\x87")

    def setitem(self):
        return self.op(b"s")

    def setitems(self):
        return self.op(b"u")

    def append(self):
        return self.op(b"a")

    def appends(self):
        return self.op(b"e")

    def reduce(self):
        return self.op(b"R")

    def build(self):
        return self.op(b"b")

    def newobj(self):
        return self.op(b"\x81")

    def binpersid(self):
        return self.op(b"Q")

    def stop(self):
        return self.op(b".")

    # scalars
    def none(self):
        return self.op(b"N")

    def true(self):
        return self.op(b"\x88")

    def false(self):
        return self.op(b"\x89")

    def str(self, s):
        data = s.encode("utf-8", "surrogatepass")
        self.b += b"X" + struct.pack("<I", len(data)) + data
        return self

    def short_str(self, s):  # protocol 4 SHORT_BINUNICODE
        data = s.encode("utf-8")
        self.b += b"\x8c" + bytes([len(data)]) + data
        return self

    def int(self, v):
        if 0 <= v < 256:
            self.b += b"K" + bytes([v])
        elif 0 <= v < 65536:
            self.b += b"M" + struct.pack("<H", v)
        elif -2 ** 31 <= v < 2 ** 31:
            self.b += b"J" + struct.pack("<i", v)
        else:
            n = (v.bit_length() + 8) // 8
            self.b += b"\x8a" + bytes([n]) + v.to_bytes(n, "little", signed=True)
        return self

    def float(self, v):
        self.b += b"G" + struct.pack(">d", v)
        return self

    def global_(self, module, name):
        self.b += b"c" + module.encode() + b"\n" + name.encode() + b"\n"
        return self

    # memo
    def put(self, i):
        self.b += (b"q" + bytes([i])) if i < 256 else (b"r" + struct.pack("<I", i))
        return self

    def get(self, i):
        self.b += (b"h" + bytes([i])) if i < 256 else (b"j" + struct.pack("<I", i))
        return self

    def memoize(self):  # protocol 4
        return self.op(b"\x94")

    def stack_global(self):  # protocol 4
        return self.op(b"\x93")

    def bytes(self):
        return bytes(self.b)

    # torch building blocks -------------------------------------------------------------
    def storage(self, key, numel, cls="FloatStorage", location="cpu", legacy=False):
        """('storage', torch.<cls>, key, location, numel) BINPERSID; the legacy format adds a
        sixth element, view_metadata None."""
        self.mark().str("storage").global_("torch", cls).str(key).str(location).int(numel)
        if legacy:
            self.none()
        return self.tuple().binpersid()

    def tensor(self, key, shape, stride=None, offset=0, numel=None, cls="FloatStorage",
               location="cpu", requires_grad=False, legacy=False):
        """_rebuild_tensor_v2(storage, offset, size, stride, requires_grad, OrderedDict())."""
        if stride is None:
            stride, acc = [], 1
            for s in reversed(shape):
                stride.insert(0, acc)
                acc *= s
        if numel is None:
            numel = 1
            for s in shape:
                numel *= s
        self.global_("torch._utils", "_rebuild_tensor_v2").mark()
        self.storage(key, numel, cls, location, legacy)
        self.int(offset)
        self.tup_of_ints(shape).tup_of_ints(stride)
        (self.true() if requires_grad else self.false())
        self.global_("collections", "OrderedDict").empty_tuple().reduce()
        return self.tuple().reduce()

    def tup_of_ints(self, vals):
        vals = list(vals)
        if not vals:
            return self.empty_tuple()
        if len(vals) <= 3:
            for v in vals:
                self.int(v)
            return self.op({1: b"\x85", 2: b"\x86", 3: b"\x87"}[len(vals)])
        self.mark()
        for v in vals:
            self.int(v)
        return self.tuple()


def a1111_pickle(name_value=None, shape=(2, 768), numel=None, stride=None, key="0",
                 step=1000, tail=None, legacy=False):
    """An A1111 (V1) embedding dict as torch would pickle it.

    name_value: None for a plain string name, or a callable(P) that pushes exactly one
    value (the place a malicious gadget hides).  tail: callable(P) run after the dict is
    complete and before STOP (it must leave the stack as it found it).
    """
    p = P()
    p.empty_dict().put(0).mark()
    p.str("string_to_token").empty_dict().str("*").int(265).setitem()
    p.str("string_to_param").empty_dict().str("*")
    p.tensor(key, list(shape), stride=stride, numel=numel, legacy=legacy)
    p.setitem()
    p.str("name")
    if name_value is None:
        p.str("looks-harmless")
    else:
        name_value(p)
    p.str("step").int(step)
    p.str("sd_checkpoint").str("7ab762a7")
    p.str("sd_checkpoint_name").str("blossom-extract")
    p.setitems()
    if tail is not None:
        tail(p)
    return p.stop().bytes()


LEGACY_MAGIC = bytes.fromhex("80028a0a6cfc9c46f9206aa850192e")
LEGACY_PROTOCOL = bytes.fromhex("80024de9032e")


def legacy_file(obj_pickle, storages):
    """A torch legacy (non-zip) file: magic, protocol, sys_info, the object pickle, the sorted
    key list, then for each key an int64 LE element count and the raw LE bytes.
    storages: list of (key, numel, data)."""
    import pickle
    sys_info = pickle.dumps({"protocol_version": 1001, "little_endian": True,
                             "type_sizes": {"short": 2, "int": 4, "long": 4}}, protocol=2)
    keys = sorted(k for k, _, _ in storages)
    out = LEGACY_MAGIC + LEGACY_PROTOCOL + sys_info + obj_pickle + pickle.dumps(keys, protocol=2)
    by_key = {k: (n, d) for k, n, d in storages}
    for k in keys:
        n, d = by_key[k]
        out += struct.pack("<q", n) + d
    return out


def normalise_legacy_keys(data):
    """Rename the legacy format's pointer-number storage keys to fixed numbers.

    _legacy_save uses str(storage._cdata) (a memory address) as the key, which changes on
    every run (even in length).  Keys occur only as BINUNICODE strings in the object pickle
    and in the final key-list pickle (nothing in the legacy format refers to byte offsets),
    so replacing them with fixed pointer-like numbers that keep the sort order leaves a file
    torch could have written: key i becomes str(94557139474528 + 1024*i).
    """
    f = io.BytesIO(data)
    import pickletools
    ops_per = []
    for _ in range(5):
        ops_per.append([(op.name, arg, pos) for op, arg, pos in pickletools.genops(f)])
    keys = [arg for name, arg, _ in ops_per[4] if name == "BINUNICODE"]
    assert keys == sorted(keys), keys
    mapping = {k: str(94557139474528 + 1024 * i) for i, k in enumerate(keys)}
    assert sorted(mapping.values()) == [mapping[k] for k in keys]
    end = f.tell()  # the raw storages follow the five pickles; leave them alone
    out = data[:end]
    for old, new in mapping.items():
        a = b"X" + struct.pack("<I", len(old)) + old.encode()
        b = b"X" + struct.pack("<I", len(new)) + new.encode()
        assert out.count(a) >= 2, (old, out.count(a))
        out = out.replace(a, b)
    return out + data[end:]


def pickle_globals(data):
    """Sorted module.name of every GLOBAL/INST opcode, read with pickletools (never executed)."""
    names = set()
    f = io.BytesIO(data)
    while f.tell() < len(data):
        try:
            for op, arg, _ in pickletools.genops(f):
                if op.name in ("GLOBAL", "INST"):
                    names.add(arg.replace(" ", "."))
        except Exception:
            break
    return sorted(names)


def b64(data):
    return base64.b64encode(data).decode("ascii")
