#!/usr/bin/python3
"""Zip-view oracle: does embtool read every torch zip it calls safe the way torch does?

    /usr/bin/python3 scripts/zip_oracle.py --embtool PATH [--mutants N] [--seed S] FILE_OR_DIR...

For every zip given (folders are walked) and for N mutants of them (bounded random edits of the
zip structures: end record, zip64 record and locator fields, directory and local header fields,
names, flags, extra lengths, trailing bytes), it compares

  * torch's view: torch._C.PyTorchFileReader(path).get_all_records() (the reader inside
    torch.load, miniz) and get_record('data.pkl'), with
  * Python's zipfile view (namelist() and the bytes of the same data.pkl), when it can read it,
  * embtool's view: the "records" list of `embtool scan --json` and the bytes of the record it
    takes for data.pkl.

A file where torch (or zipfile) reads an archive and embtool says `safe` but lists other
records, or another data.pkl, is a divergence. Files torch cannot open, and files embtool does not call safe, are
fine. Prints files and mutants tried, how each side judged them, every divergence, and exits 1
when there is one. Needs Debian's python3-torch (1.13); nothing is ever unpickled.
"""

import argparse
import json
import os
import random
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib

sys.dont_write_bytecode = True

import torch  # noqa: E402

ZIP_EXTS = (".pt", ".bin", ".ckpt", ".pth")


def collect(paths):
    out = []
    for p in paths:
        if os.path.isdir(p):
            for root, _, files in os.walk(p):
                for f in sorted(files):
                    out.append(os.path.join(root, f))
        else:
            out.append(p)
    zips = []
    for p in out:
        try:
            with open(p, "rb") as fh:
                if fh.read(4) == b"PK\x03\x04":
                    zips.append(p)
        except OSError:
            pass
    return zips


# ---------------------------------------------------------------------------------------------
# torch's view


def torch_view(path):
    """(records, data.pkl bytes) as torch reads them, or None when torch cannot read it."""
    try:
        r = torch._C.PyTorchFileReader(path)
        recs = list(r.get_all_records())
        try:
            data = bytes(r.get_record("data.pkl"))
        except Exception:
            data = None
        return recs, data
    except Exception:
        return None


def python_view(path, data_name):
    """(names, bytes of data_name) as Python's zipfile reads them, or None."""
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            data = None
            if data_name is not None:
                try:
                    data = z.read(data_name)
                except Exception:
                    data = None
            return names, data
    except Exception:
        return None


# ---------------------------------------------------------------------------------------------
# embtool's view


def embtool_views(embtool, paths):
    views = {}
    for i in range(0, len(paths), 200):
        chunk = paths[i:i + 200]
        out = subprocess.run([embtool, "scan", "--json"] + chunk, capture_output=True, text=True,
                             timeout=600)
        for line in out.stdout.splitlines():
            rep = json.loads(line)
            views[rep["path"]] = rep
    return views


def embtool_data_pkl(path, rep):
    recs = rep.get("records") or []
    if not recs:
        return None, None
    prefix = recs[0]["name"].split("/", 1)[0]
    want = (prefix + "/data.pkl").lower()
    names = [r["name"] for r in recs]
    for r in recs:
        if r["name"].lower() == want:
            with open(path, "rb") as fh:
                fh.seek(r["data_offset"])
                raw = fh.read(r["compressed_size"])
            if r["method"] == 8:
                raw = zlib.decompress(raw, -15)
            return names, raw
    return names, None


def strip(names):
    """torch 1.13's get_all_records drops the archive folder; older ones did not."""
    if not names:
        return names
    prefix = names[0].split("/", 1)[0] + "/"
    return [n[len(prefix):] if n.startswith(prefix) else n for n in names]


# ---------------------------------------------------------------------------------------------
# mutants


def fields(b):
    """(offset, size, kind) of the zip structure fields of b, found leniently."""
    out = []
    e = b.rfind(b"PK\x05\x06")
    if e < 0:
        return out
    out += [(e + 8, 2, "eocd"), (e + 10, 2, "eocd"), (e + 12, 4, "eocd"), (e + 16, 4, "eocd"),
            (e + 20, 2, "eocd")]
    loc = e - 20
    if loc >= 0 and b[loc:loc + 4] == b"PK\x06\x07":
        out += [(loc + 8, 8, "loc"), (loc + 16, 4, "loc")]
        z = struct.unpack_from("<Q", b, loc + 8)[0]
        if z + 56 <= len(b) and b[z:z + 4] == b"PK\x06\x06":
            out += [(z + 4, 8, "z64"), (z + 24, 8, "z64"), (z + 32, 8, "z64"), (z + 40, 8, "z64"),
                    (z + 48, 8, "z64")]
    p = 0
    while True:
        p = b.find(b"PK\x01\x02", p)
        if p < 0 or p + 46 > len(b):
            break
        nl = struct.unpack_from("<H", b, p + 28)[0]
        out += [(p + 8, 2, "cflags"), (p + 10, 2, "cmethod"), (p + 16, 4, "ccrc"), (p + 20, 4, "csize"),
                (p + 24, 4, "csize"), (p + 28, 2, "cnamelen"), (p + 30, 2, "cextra"), (p + 42, 4, "clho")]
        out += [(p + 46 + i, 1, "cname") for i in range(min(nl, len(b) - p - 46))]
        p += 4
    p = 0
    while True:
        p = b.find(b"PK\x03\x04", p)
        if p < 0 or p + 30 > len(b):
            break
        nl = struct.unpack_from("<H", b, p + 26)[0]
        out += [(p + 6, 2, "lflags"), (p + 8, 2, "lmethod"), (p + 14, 4, "lcrc"), (p + 18, 4, "lsize"),
                (p + 22, 4, "lsize"), (p + 26, 2, "lnamelen"), (p + 28, 2, "lextra")]
        out += [(p + 30 + i, 1, "lname") for i in range(min(nl, len(b) - p - 30))]
        p += 4
    return out


def entries(b):
    """(central header offset, local header offset, name length) of each directory entry."""
    out = []
    p = 0
    while True:
        p = b.find(b"PK\x01\x02", p)
        if p < 0 or p + 46 > len(b):
            return out
        nl = struct.unpack_from("<H", b, p + 28)[0]
        lho = struct.unpack_from("<I", b, p + 42)[0]
        if lho + 30 <= len(b) and b[lho:lho + 4] == b"PK\x03\x04":
            out.append((p, lho, nl))
        p += 4


def consistent(b, rng):
    """An edit that keeps the archive well formed but changes what torch sees: one name byte
    changed the same way in the directory and the local header, an archive comment, or the
    zip64 records dropped."""
    op = rng.random()
    if op < 0.6:
        ents = entries(b)
        if not ents:
            return b, "no entry"
        c, l, nl = rng.choice(ents)
        if nl == 0:
            return b, "empty name"
        i = rng.randrange(nl)
        old = b[c + 46 + i]
        if 0x41 <= old <= 0x5a or 0x61 <= old <= 0x7a:
            new = old ^ 0x20 if rng.random() < 0.7 else rng.choice(b"abcdefghijklmnopqrstuvwxyz.")
        else:
            new = rng.choice(b"abcxyz/._-0")
        b = bytearray(b)
        b[c + 46 + i] = new
        if b[l + 26:l + 28] == b[c + 28:c + 30]:
            b[l + 30 + i] = new
        return bytes(b), "rename@%d byte %d %02x->%02x in both headers" % (c, i, old, new)
    e = b.rfind(b"PK\x05\x06")
    if e < 0:
        return b, "no end record"
    if op < 0.8:
        comment = bytes(rng.choice(b"abc xyz") for _ in range(rng.randrange(1, 40)))
        b = bytearray(b[:e + 22]) + comment
        b[e + 20:e + 22] = struct.pack("<H", len(comment))
        return bytes(b), "comment of %d bytes" % len(comment)
    z = e - 20 - 56
    if z >= 0 and b[e - 20:e - 16] == b"PK\x06\x07" and b[z:z + 4] == b"PK\x06\x06":
        return b[:z] + b[e:], "zip64 records dropped"
    return b, "no zip64 records"


def mutate(b, rng):
    if rng.random() < 0.25:
        return consistent(b, rng)
    b = bytearray(b)
    fs = fields(bytes(b))
    what = []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        op = rng.random()
        if op < 0.08:
            n = rng.choice((1, 4, 16, 22, 64))
            tail = bytes(rng.randrange(256) for _ in range(n))
            if rng.random() < 0.5:
                tail = b"PK\x05\x06" + tail
            b += tail
            what.append("append %d" % len(tail))
            continue
        if not fs:
            break
        off, size, kind = rng.choice(fs)
        if off + size > len(b):
            continue
        old = int.from_bytes(b[off:off + size], "little")
        if kind in ("cname", "lname"):
            c = b[off]
            choices = [0, ord("/"), ord("\\"), 0x7f, 0xff, 0x0a, rng.randrange(256)]
            if 0x61 <= c <= 0x7a or 0x41 <= c <= 0x5a:
                choices += [c ^ 0x20] * 4
            b[off] = rng.choice(choices)
            what.append("%s@%d %02x->%02x" % (kind, off, c, b[off]))
            continue
        if kind in ("cflags", "lflags"):
            new = old ^ (1 << rng.choice((0, 1, 3, 3, 3, 5, 6, 11, 11, 13)))
        else:
            mx = (1 << (8 * size)) - 1
            new = rng.choice((0, 1, mx, old + 1, old - 1, old + rng.randrange(1, 80),
                              old - rng.randrange(1, 80), old + 16, old - 16, old + 22, old * 2,
                              rng.randrange(mx + 1))) & mx
        b[off:off + size] = new.to_bytes(size, "little")
        what.append("%s@%d %d->%d" % (kind, off, old, new))
    return bytes(b), "; ".join(what)


# ---------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--embtool", required=True)
    ap.add_argument("--mutants", type=int, default=400)
    ap.add_argument("--seed", type=int, default=9)
    ap.add_argument("--base", action="append", default=None,
                    help="files or folders whose zips are mutated (default: every zip given that "
                         "embtool calls safe)")
    ap.add_argument("paths", nargs="+")
    args = ap.parse_args()

    originals = collect(args.paths)
    if not originals:
        sys.exit("zip_oracle: no zip files given")
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="embtool-zip-oracle-") as tmp:
        views = embtool_views(args.embtool, originals)
        bases = collect(args.base) if args.base else [p for p in originals
                                                      if views.get(p, {}).get("verdict") == "safe"]
        if not bases:
            sys.exit("zip_oracle: nothing safe to mutate")
        mutants, how = [], {}
        for i in range(args.mutants):
            src = bases[i % len(bases)]
            with open(src, "rb") as fh:
                data, what = mutate(fh.read(), rng)
            p = os.path.join(tmp, "m%04d_%s" % (i, os.path.basename(src)))
            with open(p, "wb") as fh:
                fh.write(data)
            mutants.append(p)
            how[p] = "%s: %s" % (os.path.basename(src), what)
        views.update(embtool_views(args.embtool, mutants))

        counts = {"torch_reads": 0, "safe": 0, "unsafe": 0, "error": 0, "both_read_safe": 0,
                  "python_reads": 0}
        divergences = []
        for p in originals + mutants:
            rep = views.get(p)
            if rep is None:
                divergences.append((p, "embtool printed no report"))
                continue
            counts[rep["verdict"]] = counts.get(rep["verdict"], 0) + 1
            tv = torch_view(p)
            if tv is None:
                continue
            counts["torch_reads"] += 1
            if rep["verdict"] != "safe":
                continue
            counts["both_read_safe"] += 1
            names, data = embtool_data_pkl(p, rep)
            t_names, t_data = tv
            if names is None or strip(names) != strip(t_names):
                divergences.append((p, "torch records %r, embtool %r" % (t_names, names)))
            elif t_data is not None and data != t_data:
                divergences.append((p, "torch's data.pkl (%d bytes) is not embtool's (%s)" % (
                    len(t_data), "none" if data is None else "%d bytes" % len(data))))
            data_name = next((n for n in names or [] if n.lower().endswith("/data.pkl")), None)
            pv = python_view(p, data_name)
            if pv is None:
                continue
            counts["python_reads"] += 1
            if pv[0] != names:
                divergences.append((p, "zipfile records %r, embtool %r" % (pv[0], names)))
            elif pv[1] is not None and pv[1] != data:
                divergences.append((p, "zipfile's %s is not embtool's" % data_name))

        print("zip oracle: %d files, %d mutants (seed %d); torch reads %d; embtool safe %d, "
              "unsafe %d, error %d; torch-readable and safe %d (zipfile-readable too %d); "
              "divergences %d" % (
                  len(originals), len(mutants), args.seed, counts["torch_reads"], counts["safe"],
                  counts["unsafe"], counts["error"], counts["both_read_safe"], counts["python_reads"],
                  len(divergences)))
        for p, why in divergences:
            print("DIVERGENCE %s (%s): %s" % (os.path.basename(p), how.get(p, "original"), why))
        return 1 if divergences else 0


if __name__ == "__main__":
    sys.exit(main())
