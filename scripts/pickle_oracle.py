#!/usr/bin/python3
"""Differential oracle: embtool's pickle scanner against CPython's own unpickler.

    /usr/bin/python3 scripts/pickle_oracle.py --embtool PATH [--mutants 4000] [--seed 9]
                                               [--budget 120] [--show 20]

Seeds are the pickles of the torch fixtures (testdata/fixtures: each zip's .pkl records, the five
pickles of each legacy file) plus a few pickle.dumps outputs at protocols 0-5 (text opcodes,
frames). Each mutant is a seed with 1-3 mutations: bit flips, byte writes, opcode swaps, binary
operands rewritten as text opcodes in odd spellings ("1_0", " 1", "01", "1\\x00"), strings
renamed to dangerous globals, gadgets spliced in at opcode boundaries (GLOBAL posix.system,
memo tricks, PROTO, MARK/POP), FRAME headers inserted so that frames end inside operands,
PROTO removed, truncation and duplication.

Whole legacy files are mutated too (one or two of their five pickles). Each mutant is written
as a file and read as torch.load's legacy path does (a pickle; more only while the first gives
torch's magic number and the second 1001, up to five) by CPython's C unpickler three ways: from
io.BytesIO (what torch.load does with data.pkl), and from the file opened with a 16-byte and
with the default buffer (BufferedReader, with peek: the legacy path). A
find_class records each global it is asked for and returns an inert stand-in; persistent_load
returns one too. Nothing named in a mutant is imported or called. CPython runs in a child
process with a memory limit and a per-mutant alarm.

All mutants are then scanned by ONE `embtool scan --json DIR` run. A divergence is a mutant
where CPython resolves a global that
  - is outside embtool's allow-list, and embtool's verdict is not unsafe, or
  - is allowed, and embtool neither lists it among its globals nor says unsafe or error.
The lead's weaker rule (every global listed, or verdict unsafe/error) is counted too. Globals
whose module Python's import cannot resolve at all ("", or a NUL byte after a non-identifier,
see importable) are not counted: embtool refuses those pickles as errors.

Exit status: 0 no divergence, 1 divergences, 2 the oracle itself failed.
"""

import argparse
import io
import json
import os
import pickle
import pickletools
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zipfile

sys.dont_write_bytecode = True
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))

# embtool's allow-list (pkg/torchpt/allow.go), after its Python 2 -> 3 mapping.
ALLOWED = {
    "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state", "collections.OrderedDict", "builtins.set",
    "torch.nn.modules.container.ParameterDict", "numpy.core.multiarray.scalar",
    "numpy.core.multiarray._reconstruct", "numpy._core.multiarray.scalar",
    "numpy._core.multiarray._reconstruct", "numpy.dtype", "numpy.ndarray", "_codecs.encode",
    "pytorch_lightning.callbacks.model_checkpoint",
    "pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint",
}
STORAGES = {"FloatStorage", "HalfStorage", "BFloat16Storage", "DoubleStorage", "LongStorage",
            "IntStorage", "ShortStorage", "CharStorage", "ByteStorage", "BoolStorage",
            "ComplexFloatStorage", "ComplexDoubleStorage", "QInt8Storage", "QUInt8Storage",
            "QInt32Storage", "QUInt4x2Storage", "QUInt2x4Storage", "UntypedStorage"}
PY2 = {"__builtin__": "builtins", "copy_reg": "copyreg", "torch.tensor": "torch._tensor"}


def allowed(module, name):
    if PY2.get(module, module) + "." + name in ALLOWED:
        return True
    return module == "torch" and name in STORAGES


def importable(module):
    """False for module names Python's import cannot resolve, whatever is installed: "" (import
    raises ValueError), and names with a NUL byte whose text before the NUL is not a dotted
    identifier (the frozen and builtin importers compare that prefix; the path finder cannot
    stat a name with NUL). CPython's find_class is called with them but imports nothing."""
    if module == "":
        return False
    if "\0" in module:
        head = module.split("\0", 1)[0]
        return bool(head) and all(p.isidentifier() and p.isascii() for p in head.split("."))
    return True


def text_name(module, name):
    """module.name as embtool's JSON spells it (invalid UTF-8 becomes U+FFFD there)."""
    s = module + "." + name
    return s.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


# ------------------------------------------------------------------------------------------
# CPython side (child process)

WORKER = r"""
import io, json, pickle, resource, signal, sys, warnings
warnings.simplefilter("ignore")
resource.setrlimit(resource.RLIMIT_AS, (1 << 29, 1 << 29))  # huge memo indexes fail fast

class Inert:
    def __new__(cls, *a, **k): return object.__new__(cls)
    def __init__(self, *a, **k): pass
    def __call__(self, *a, **k): return Inert()
    def __setstate__(self, state): pass
    def __setitem__(self, k, v): pass
    def append(self, x): pass
    def extend(self, x): pass
    def add(self, x): pass

class Timeout(BaseException): pass
def alarm(*_): raise Timeout()
signal.signal(signal.SIGALRM, alarm)

MAGIC = 0x1950a86a20f9469cfc6c

def run(make):
    # torch.load's legacy sequence on one file object: a pickle, and only when it gives the
    # magic number the protocol pickle (1001 to go on), sys_info, the data, the storage keys.
    seen = []
    class U(pickle.Unpickler):
        def find_class(self, module, name):
            seen.append([module, name])
            return Inert
        def persistent_load(self, pid):
            return Inert()
    err = ""
    signal.setitimer(signal.ITIMER_REAL, 2.0)
    try:
        f = make()
        try:
            for i in range(5):
                v = U(f, encoding="utf-8").load()
                if (i == 0 and not (type(v) is int and v == MAGIC)) or (i == 1 and not (type(v) is int and v == 1001)):
                    break
        finally:
            f.close()
    except Timeout:
        err = "timeout"
    except BaseException as e:
        err = type(e).__name__
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return seen, err

for line in sys.stdin:
    path = line.rstrip("\n")
    data = open(path, "rb").read()
    views = {}
    views["bytesio"] = run(lambda: io.BytesIO(data))
    views["file-16"] = run(lambda: open(path, "rb", buffering=16))
    views["file"] = run(lambda: open(path, "rb"))
    sys.stdout.write(json.dumps({"path": path, "views": views}) + "\n")
    sys.stdout.flush()
"""


def cpython_views(paths):
    """{path: {view: (globals, error)}} from a child process, restarted if it dies."""
    out = {}
    todo = list(paths)
    while todo:
        # stderr: CPython prints "Exception ignored" notes for some broken inputs
        p = subprocess.Popen([sys.executable, "-c", WORKER], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        stdout, _ = p.communicate("\n".join(todo) + "\n", timeout=3600)
        for line in stdout.splitlines():
            r = json.loads(line)
            out[r["path"]] = r["views"]
        done = [q for q in todo if q in out]
        rest = [q for q in todo if q not in out]
        if rest and not done and todo:
            # the first remaining path killed the worker: record it and go on
            out[rest[0]] = {"crash": [[], "worker died"]}
            rest = rest[1:]
        todo = rest
    return out


# ------------------------------------------------------------------------------------------
# seeds

class Stub(pickle.Unpickler):
    def find_class(self, module, name):
        return object

    def persistent_load(self, pid):
        return None


def split_pickles(data, n):
    """Up to n consecutive pickles of a legacy file, split where CPython's unpickler stops."""
    f = io.BytesIO(data)
    out = []
    for _ in range(n):
        start = f.tell()
        try:
            Stub(f, encoding="utf-8").load()
        except Exception:
            break
        out.append(data[start:f.tell()])
    return out


def fixture_seeds():
    """(name, pickle bytes) of each zip record and legacy pickle, and (name, [pickles], tail)
    for each whole legacy file."""
    seeds = []
    d = os.path.join(ROOT, "testdata", "fixtures")
    for fn in sorted(os.listdir(d)):
        if not fn.endswith((".pt", ".bin", ".ckpt")):
            continue
        data = open(os.path.join(d, fn), "rb").read()
        if data[:4] == b"PK\x03\x04":
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                for n in z.namelist():
                    if n.endswith(".pkl"):
                        seeds.append((fn + ":" + n, z.read(n)))
        else:
            ps = split_pickles(data, 5)
            for i, p in enumerate(ps):
                seeds.append(("%s:pickle %d" % (fn, i + 1), p))
            n = sum(len(p) for p in ps)
            for _ in range(3):  # weight whole files like three records
                seeds.append((fn + ":whole", ps, data[n:]))
    return seeds


def synthetic_seeds():
    import collections
    obj = collections.OrderedDict([("string_to_token", {"*": 265}), ("name", "emb"),
                                   ("step", 1000), ("vals", [1.5, -2, 10 ** 20, None, True]),
                                   ("tags", {"a", "b"}), ("blob", b"\x00\x01")])
    out = []
    for proto in range(6):
        out.append(("dumps protocol %d" % proto, pickle.dumps(obj, protocol=proto)))
    big = {"k%d" % i: "v" * (i % 50) for i in range(400)}
    out.append(("dumps protocol 4 framed", pickle.dumps(big, protocol=4)))
    return out


# ------------------------------------------------------------------------------------------
# mutations

OPCODES = sorted(set(op.code.encode("latin-1") for op in pickletools.opcodes))
TEXT_INT = ["{n}", "0{n}", " {n}", "{n} ", "+{n}", "{u}", "{n}\x00", "{n}\x00junk", "0x{h}",
            "{n}L", "-0", "\t{n}", "{n}\r", "0_{n}"]


def num_forms(rng, n):
    u = "_".join(str(n)) if n >= 10 else "%d_0" % n
    f = rng.choice(TEXT_INT)
    return f.format(n=n, u=u, h="%x" % n).encode("latin-1")


def ops_of(data):
    try:
        return [(op, arg, pos) for op, arg, pos in pickletools.genops(data)]
    except Exception:
        return []


def gadget(rng):
    x = lambda s: b"X" + struct.pack("<I", len(s)) + s
    idx = rng.choice([b"1_0", b"10", b" 10", b"010", b"1\x000"])
    return rng.choice([
        b"cposix\nsystem\n0",
        b"cos\nsystem\n0",
        b"c__builtin__\neval\n0",
        b"ccollections\nOrderedDict\n0",
        x(b"posix") + x(b"system") + b"\x930",
        x(b"posix") + b"p" + idx + b"\n0" + x(b"system") + b"p2\n0g" + idx + b"\ng2\n\x930",
        b"Vposix\nVsystem\n\x930",
        b"S'posix'\nS'sys\\x74em'\n\x930",
        b"Vpos\\u0069x\nVsystem\n\x930",
        b"\x80\x02", b"\x80\x04", b"(0", b"(e", b"(u", b"N(2", b"\x95" + struct.pack("<Q", rng.randrange(1, 40)),
        b"I1_0\n0", b"I01\n0", b"L1_0L\n0", b"F1_0\n0", b"I\x00\n0",
    ])


def mutate_once(rng, data):
    ops = ops_of(data)
    kind = rng.choice(["flip", "byte", "opswap", "memotext", "inttext", "strtext", "rename",
                       "inject", "inject", "frame", "frame", "truncate", "dup", "noproto"])
    b = bytearray(data)
    if not b:
        return bytes(gadget(rng))
    if kind == "noproto" and b[0] == 0x80 and len(b) > 2:
        return bytes(b[2:])  # CPython needs no PROTO
    if kind == "flip":
        i = rng.randrange(len(b))
        b[i] ^= 1 << rng.randrange(8)
        return bytes(b)
    if kind == "byte":
        b[rng.randrange(len(b))] = rng.randrange(256)
        return bytes(b)
    if not ops:
        return bytes(b[:rng.randrange(len(b))] + gadget(rng) + b[rng.randrange(len(b)):])
    op, arg, pos = rng.choice(ops)
    end = next((p for _, _, p in ops if p > pos), len(b))
    if kind == "opswap":
        b[pos] = rng.choice(OPCODES)[0]
        return bytes(b)
    if kind == "memotext":
        cands = [(o, a, p) for o, a, p in ops if o.name in ("BINPUT", "LONG_BINPUT", "BINGET", "LONG_BINGET", "PUT", "GET")]
        if cands:
            o, a, p = rng.choice(cands)
            e = next((q for _, _, q in ops if q > p), len(b))
            letter = b"p" if "PUT" in o.name else b"g"
            n = int(a) if rng.random() < 0.7 else rng.randrange(12)
            return bytes(b[:p] + letter + num_forms(rng, n) + b"\n" + b[e:])
    if kind == "inttext":
        cands = [(o, a, p) for o, a, p in ops if o.name in ("BININT", "BININT1", "BININT2", "LONG1")]
        if cands:
            o, a, p = rng.choice(cands)
            e = next((q for _, _, q in ops if q > p), len(b))
            letter = rng.choice([b"I", b"L", b"F"])
            return bytes(b[:p] + letter + num_forms(rng, abs(int(a))) + b"\n" + b[e:])
    if kind == "strtext":
        cands = [(o, a, p) for o, a, p in ops if o.name in ("BINUNICODE", "SHORT_BINUNICODE", "SHORT_BINSTRING", "BINSTRING")]
        if cands:
            o, a, p = rng.choice(cands)
            e = next((q for _, _, q in ops if q > p), len(b))
            s = a if isinstance(a, str) else a.decode("latin-1")
            if rng.random() < 0.5:
                t = s.encode("raw-unicode-escape")
                t = rng.choice([t, t.replace(b"o", b"\\u006f"), t + b"\\", t.replace(b"s", b"\\s"),
                                t + b"\\\\u0041", t + b"\x00"])
                return bytes(b[:p] + b"V" + t + b"\n" + b[e:])
            t = repr(s).encode("utf-8")
            t = rng.choice([t, t.replace(b"o", b"\\157"), t.replace(b"o", b"\\x6f"), t[:-1] + b"\\q" + t[-1:]])
            return bytes(b[:p] + b"S" + t + b"\n" + b[e:])
    if kind == "rename":
        cands = [(o, a, p) for o, a, p in ops if o.name in ("GLOBAL", "BINUNICODE", "SHORT_BINUNICODE")]
        if cands:
            o, a, p = rng.choice(cands)
            e = next((q for _, _, q in ops if q > p), len(b))
            if o.name == "GLOBAL":
                mod = rng.choice([b"posix", b"os", b"posix\x00", b"collections\x00x", b"__builtin__", b"torch"])
                nm = rng.choice([b"system", b"OrderedDict", b"FloatStorage", b"eval"])
                return bytes(b[:p] + b"c" + mod + b"\n" + nm + b"\n" + b[e:])
            s = rng.choice([b"posix", b"system", b"os", b"eval", b"builtins", b"collections", b"OrderedDict"])
            return bytes(b[:p] + b"X" + struct.pack("<I", len(s)) + s + b[e:])
    if kind == "inject":
        return bytes(b[:pos] + gadget(rng) + b[pos:])
    if kind == "frame":
        # a FRAME at an opcode boundary, its length ending somewhere (often inside an operand)
        target = rng.randrange(pos, len(b) + 1)
        if rng.random() < 0.5:
            target = rng.choice([p for _, _, p in ops if p >= pos] + [len(b)]) + rng.choice([-3, -1, 0, 1, 2])
        n = max(0, target - pos)
        return bytes(b[:pos] + b"\x95" + struct.pack("<Q", n) + b[pos:])
    if kind == "truncate":
        return bytes(b[:rng.randrange(len(b))])
    i = rng.randrange(len(b))
    j = min(len(b), i + rng.randrange(1, 32))
    return bytes(b[:j] + b[i:j] + b[j:])


def mutants(seeds, n, rng):
    out = []
    for k in range(n):
        seed = seeds[k % len(seeds)]
        if len(seed) == 3:
            # a whole legacy file: mutate one or two of its pickles
            name, ps, tail = seed
            ps = list(ps)
            for _ in range(rng.choice([1, 1, 2])):
                i = rng.randrange(len(ps))
                ps[i] = mutate_once(rng, ps[i])
            out.append((name, b"".join(ps) + tail))
            continue
        name, data = seed
        m = data
        for _ in range(rng.choice([1, 1, 2, 3])):
            m = mutate_once(rng, m)
            if len(m) > 1 << 20:
                m = m[:1 << 20]
        out.append((name, m))
    return out


# ------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--embtool", required=True)
    ap.add_argument("--mutants", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=9)
    ap.add_argument("--budget", type=float, default=120.0, help="seconds; fewer mutants if exceeded")
    ap.add_argument("--show", type=int, default=15)
    ap.add_argument("--keep", help="copy divergent mutants to this folder")
    args = ap.parse_args()

    t0 = time.time()
    rng = random.Random(args.seed)
    seeds = fixture_seeds() + synthetic_seeds()
    if len(seeds) < 20:
        print("oracle: only %d seed pickles" % len(seeds), file=sys.stderr)
        return 2
    muts = mutants(seeds, args.mutants, rng)
    tmp = tempfile.mkdtemp(prefix="embtool-oracle-")
    try:
        paths = []
        for i, (_, m) in enumerate(muts):
            p = os.path.join(tmp, "m%05d.pkl" % i)
            with open(p, "wb") as f:
                f.write(m)
            paths.append(p)
        # CPython, in chunks so the time budget can cut the run short
        views = {}
        chunk = 500
        for i in range(0, len(paths), chunk):
            views.update(cpython_views(paths[i:i + chunk]))
            if time.time() - t0 > args.budget * 0.6:
                break
        tried = [p for p in paths if p in views]
        for p in paths:
            if p not in views:
                os.remove(p)
        t1 = time.time()
        res = subprocess.run([args.embtool, "scan", "--json", tmp], capture_output=True, text=True,
                             timeout=max(60, args.budget))
        reports = {}
        for line in res.stdout.splitlines():
            r = json.loads(line)
            reports[os.path.abspath(r["path"])] = r
        t2 = time.time()

        strict = lenient = resolved_any = 0
        shown = 0
        for i, p in enumerate(paths):
            if p not in views:
                continue
            got = set()
            for view, (gl, err) in views[p].items():
                for m, n in gl:
                    got.add((m, n))
            if got:
                resolved_any += 1
            r = reports.get(os.path.abspath(p))
            if r is None:
                strict += 1
                lenient += 1
                print("DIVERGENCE %s (%s): no embtool report" % (os.path.basename(p), muts[i][0]))
                continue
            listed = {g["name"] for g in r.get("globals") or []}
            verdict = r["verdict"]
            bad_strict, bad_lenient = [], []
            for m, n in sorted(got):
                if not importable(m):
                    continue
                name = text_name(m, n)
                if name not in listed and verdict not in ("unsafe", "error"):
                    bad_lenient.append(name)
                if allowed(m, n):
                    if name not in listed and verdict not in ("unsafe", "error"):
                        bad_strict.append(name)
                elif verdict != "unsafe":
                    bad_strict.append(name)
            lenient += bool(bad_lenient)
            strict += bool(bad_strict)
            if bad_strict and shown < args.show:
                shown += 1
                why = "; ".join((r.get("findings") or [])[:1]) or r.get("error", "")
                print("DIVERGENCE %s (%s): CPython resolves %s; embtool %s%s" % (
                    os.path.basename(p), muts[i][0], ", ".join(repr(x) for x in bad_strict), verdict,
                    (": " + why[:200]) if why else ""))
                print("    views: %s" % json.dumps({k: v for k, v in views[p].items()})[:300])
            if bad_strict and args.keep:
                os.makedirs(args.keep, exist_ok=True)
                shutil.copy(p, args.keep)
        print("oracle: %d seed pickles, %d mutants tried, CPython resolved a global in %d; "
              "divergences: %d (lenient rule: %d); CPython %.1fs, embtool %.1fs" % (
                  len(seeds), len(tried), resolved_any, strict, lenient, t1 - t0, t2 - t1))
        return 1 if strict else 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
