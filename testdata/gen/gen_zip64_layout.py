#!/usr/bin/python3
"""Generate testdata/zip64/: the structure of a real torch zip larger than 4 GiB.

Run from the repository root (needs ~4.5 GB of free disk in $TMPDIR, about a minute):

    /usr/bin/python3 testdata/gen/gen_zip64_layout.py

torch's own writer (torch._C.PyTorchFileWriter, miniz with MZ_ZIP_FLAG_WRITE_ZIP64) writes
big/data.pkl, a 4 400 000 000-byte big/data/0 (from a sparse file, so no memory is used) and
big/version, whose local header lies beyond 4 GiB. That gives every zip64 form torch writes:
saturated sizes with a zip64 extra field, a saturated local header offset, 24-byte data
descriptors. Only the bytes around the data are kept: layout.head (everything before
data/0's data), layout.tail (everything after it) and layout.json (sizes, and the records
torch's reader lists). The Go tests rebuild the file virtually with zeros in between.
"""

import json
import os
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import embgen as E  # noqa: E402

N = 4400000000
OUT = E.out_dir("zip64")

with tempfile.TemporaryDirectory(prefix="embtool-zip64-") as tmp:
    src = os.path.join(tmp, "src.bin")
    with open(src, "wb") as f:
        f.truncate(N)
    t = torch.from_file(src, False, N, dtype=torch.uint8)
    path = os.path.join(tmp, "big.pt")
    w = torch._C.PyTorchFileWriter(path)
    pk = b"\x80\x02}q\x00."
    w.write_record("data.pkl", pk, len(pk))
    w.write_record("data/0", t.data_ptr(), N)
    w.write_record("version", b"3\n", 2)
    w.write_end_of_file()
    del w
    r = torch._C.PyTorchFileReader(path)
    records = list(r.get_all_records())
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(4096)
    start = head.index(b"big/data/0")  # the second local header's name
    # data/0's data starts at the next 64-byte boundary after its local header's extras
    lh = head.rindex(b"PK\x03\x04", 0, start)
    nl = int.from_bytes(head[lh + 26:lh + 28], "little")
    xl = int.from_bytes(head[lh + 28:lh + 30], "little")
    data_at = lh + 30 + nl + xl
    with open(path, "rb") as f:
        f.seek(data_at + N)
        tail = f.read()
    E.write_bytes(os.path.join(OUT, "layout.head"), head[:data_at])
    E.write_bytes(os.path.join(OUT, "layout.tail"), tail)
    with open(os.path.join(OUT, "layout.json"), "w") as f:
        json.dump({"size": size, "data_offset": data_at, "data_size": N, "torch_records": records,
                   "version_record": bytes(r.get_record("version")).decode()}, f, indent=1)
        f.write("\n")
    print("zip64 layout: %d bytes, data/0 at %d, records %s" % (size, data_at, records))
