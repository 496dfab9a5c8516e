#!/usr/bin/env python3
"""Make a folder of N distinct embedding files for the inspect benchmarks.

  python3 bench/mkfolder.py N OUTDIR SOURCE...

File i is SOURCE[i % len(SOURCES)] copied to OUTDIR/dNNN/NNNNN_<name>
(100 per subfolder) with one byte of its largest tensor changed, so that
no two files have the same bytes (sha256, A1111 checksum) and nothing can
be shared between them: the low byte of one element's mantissa is XORed
with (i // len(SOURCES)) % 255 + 1, a relative change below 1e-5 for a
float32 value. The file stays valid in its format:
  - safetensors: the last element of the largest tensor (from the header);
  - torch zip: the largest stored data/ entry, 4 bytes before its end, and
    its CRC-32 fixed in the local header (or data descriptor) and the
    central directory;
  - legacy torch pickle: 4 bytes before the end of the file (the last
    storage's data).
Standard library only.
"""
import json, os, struct, sys, zlib

ELEM = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}


def perturb_safetensors(b, x):
    n = struct.unpack_from("<Q", b, 0)[0]
    h = json.loads(bytes(b[8:8 + n]))
    best = None
    for k, v in h.items():
        if k == "__metadata__":
            continue
        s, e = v["data_offsets"]
        if e - s >= ELEM.get(v["dtype"], 1) and (best is None or e - s > best[1] - best[0]):
            best = (s, e, ELEM.get(v["dtype"], 1))
    if best is None:
        return False
    b[8 + n + best[1] - best[2]] ^= x
    return True


def perturb_zip(b, x):
    eocd = b.rfind(b"PK\x05\x06")
    if eocd < 0:
        return False
    count, = struct.unpack_from("<H", b, eocd + 10)
    cd, = struct.unpack_from("<I", b, eocd + 16)
    best = None
    p = cd
    for _ in range(count):
        if b[p:p + 4] != b"PK\x01\x02":
            return False
        method, = struct.unpack_from("<H", b, p + 10)
        csize, = struct.unpack_from("<I", b, p + 20)
        nl, el, cl = struct.unpack_from("<HHH", b, p + 28)
        lho, = struct.unpack_from("<I", b, p + 42)
        name = bytes(b[p + 46:p + 46 + nl])
        if method == 0 and b"/data/" in name and csize >= 4 and (best is None or csize > best[1]):
            best = (p, csize, lho)
        p += 46 + nl + el + cl
    if best is None:
        return False
    cdp, csize, lho = best
    lnl, lel = struct.unpack_from("<HH", b, lho + 26)
    start = lho + 30 + lnl + lel
    b[start + csize - 4] ^= x
    crc = zlib.crc32(bytes(b[start:start + csize])) & 0xFFFFFFFF
    flags, = struct.unpack_from("<H", b, lho + 6)
    if flags & 8:  # CRC and sizes in a data descriptor after the data
        dd = start + csize
        struct.pack_into("<I", b, dd + 4 if b[dd:dd + 4] == b"PK\x07\x08" else dd, crc)
    else:
        struct.pack_into("<I", b, lho + 14, crc)
    struct.pack_into("<I", b, cdp + 16, crc)
    return True


def main():
    n, out, sources = int(sys.argv[1]), sys.argv[2], sorted(sys.argv[3:])
    os.makedirs(out, exist_ok=True)
    unchanged = 0
    for i in range(n):
        src = sources[i % len(sources)]
        b = bytearray(open(src, "rb").read())
        x = (i // len(sources)) % 255 + 1
        if b[:4] == b"PK\x03\x04":
            ok = perturb_zip(b, x)
        elif b[:1] == b"\x80":
            b[len(b) - 4] ^= x
            ok = True
        else:
            try:
                ok = perturb_safetensors(b, x)
            except Exception:
                ok = False
        unchanged += not ok
        sub = os.path.join(out, "d%03d" % (i // 100))
        os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, "%05d_%s" % (i, os.path.basename(src))), "wb") as f:
            f.write(b)
    print(f"{n} files from {len(sources)} sources, {unchanged} copied unchanged", file=sys.stderr)


if __name__ == "__main__":
    main()
