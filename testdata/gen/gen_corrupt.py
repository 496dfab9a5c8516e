#!/usr/bin/python3
"""Generate testdata/corrupt/: broken, truncated, lying and resource-exhausting files, plus
testdata/corrupt/expected.jsonl with hints for the error a reader should give.

Run from the repository root:  /usr/bin/python3 testdata/gen/gen_corrupt.py

Every file here must be rejected (an error, never a crash, a hang or a huge allocation).
None of them is ever unpickled by this script.
"""

import io
import os
import struct
import sys
import tarfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import embgen as E  # noqa: E402
from embgen import P  # noqa: E402

OUT = E.out_dir("corrupt")
RECORDS = []


def add(fname, data, reason, what, reason_any=None, container=None):
    E.write_bytes(os.path.join(OUT, fname), data)
    any_ = [reason] + [r for r in (reason_any or []) if r != reason]
    r = {"file": fname, "reason_contains": reason, "reason_any": any_, "size": len(data),
         "sha256": E.sha256(data), "what": what}
    if container:
        r["container"] = container
    RECORDS.append(r)
    print("%-36s %8d  %s" % (fname, len(data), reason))


def vec(n=2, seed=5):
    g = torch.Generator()
    g.manual_seed(seed)
    return torch.randn(n, 768, generator=g) * 0.0137


def a1111_zip_bytes():
    buf = io.BytesIO()
    torch.save({"string_to_token": {"*": 265}, "string_to_param": {"*": vec()}, "name": "cut",
                "step": 10, "sd_checkpoint": None, "sd_checkpoint_name": None}, buf)
    return buf.getvalue()


def st_raw(header_obj_json, payload=b"", n=None):
    hb = header_obj_json.encode("utf-8")
    hb += b" " * ((8 - len(hb) % 8) % 8)
    return struct.pack("<Q", len(hb) if n is None else n) + hb + payload


def main():
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))

    # --- empty / garbage -----------------------------------------------------------------------
    add("empty.pt", b"", "empty", "0-byte .pt (A1111 skips these; a reader must say 'empty', not hang)",
        ["empty", "0 bytes", "too small", "too short"])
    add("empty.safetensors", b"", "empty", "0-byte .safetensors (shorter than the 8-byte header length)",
        ["empty", "too small", "too short", "HeaderTooSmall", "header"])
    rng = np.random.RandomState(1234)
    rnd = rng.randint(0, 256, size=1024).astype(np.uint8).tobytes()
    assert rnd[:2] not in (b"PK", b"\x80\x02") and rnd[:4] != b"\x89PNG"
    assert struct.unpack("<Q", rnd[:8])[0] > 100_000_000
    add("random_bytes.pt", rnd, "format", "1 KiB of seeded random bytes named .pt: no known magic",
        ["format", "unknown", "not a", "unrecognised", "unrecognized", "opcode"])

    # --- truncation ----------------------------------------------------------------------------
    z = a1111_zip_bytes()
    add("truncated_zip.pt", z[:len(z) * 6 // 10], "zip",
        "a valid torch zip cut at 60%: local headers intact, central directory missing",
        ["zip", "truncated", "end of central directory", "not a valid"], "zip")
    st = E.safetensors_bytes({"emb_params": vec(2, 6)})
    add("truncated.safetensors", st[:len(st) - 1000], "incomplete",
        "valid safetensors with the last 1000 data bytes cut (header says 6144 bytes of data)",
        ["incomplete", "MetadataIncompleteBuffer", "truncated", "past the end", "size", "buffer"], "safetensors")
    add("truncated_header.safetensors", st[:60], "header",
        "safetensors cut inside its JSON header: 8+N > file size",
        ["header", "InvalidHeaderLength", "truncated", "exceeds", "past the end", "unknown format"], "safetensors")
    legacy = io.BytesIO()
    torch.save({"emb_params": vec(2, 7)}, legacy, _use_new_zipfile_serialization=False)
    lb = E.normalise_legacy_keys(legacy.getvalue())
    add("truncated_legacy.pt", lb[:len(lb) - 2000], "storage",
        "legacy non-zip file cut inside its raw storage data (count 1536 float32, 4144 bytes left)",
        ["storage", "truncated", "EOF", "past the end", "short", "bytes"], "legacy")

    # --- lying sizes ---------------------------------------------------------------------------
    p = E.a1111_pickle(shape=(1 << 30, 1024), numel=1 << 40)
    assert b"\x8a\x06\x00\x00\x00\x00\x00\x01" in p  # LONG1 2**40
    hz = E.torch_zip(p, [("0", b"\x00" * 16)])
    assert len(hz) <= 1100
    add("huge_numel.pt", hz, "storage",
        "~1 KiB torch zip whose pickle claims a [2^30, 1024] tensor over a storage of 2^40 float32 "
        "elements (LONG1), while data/0 holds 16 bytes: must fail before allocating 4 TiB",
        ["storage", "bytes", "elements", "large", "exceeds", "limit"], "zip")
    add("huge_shape.safetensors",
        st_raw('{"emb_params":{"dtype":"F32","shape":[1048576,1048576],"data_offsets":[0,4398046511104]}}',
               b"\x00" * 16),
        "emb_params",
        "safetensors header claiming a [2^20, 2^20] F32 tensor (4 TiB, offsets consistent) with 16 bytes of data",
        ["emb_params", "incomplete", "MetadataIncompleteBuffer", "exceeds", "size", "offset", "large"], "safetensors")
    add("header_len_2_63.safetensors", struct.pack("<Q", 1 << 63) + b'{"emb_params":{}}      ',
        "header", "safetensors whose 8-byte header length N is 2^63",
        ["header", "HeaderTooLarge", "too large", "exceeds", "InvalidHeaderLength", "unknown format"], "safetensors")

    # --- hostile pickles (raw, and as data.pkl of an otherwise valid torch zip) ----------------
    binu = b"\x80\x02X\xf0\xff\xff\xffabc"
    add("binunicode_huge.pkl", binu, "past the end",
        "pickle: BINUNICODE with length 0xFFFFFFF0 and 3 bytes of text: must fail without allocating 4 GiB",
        ["past the end", "BINUNICODE", "length", "truncated", "exceeds"], "pickle")
    add("binunicode_huge.pt", E.torch_zip(binu, [("0", E.le_bytes(vec()))]), "past the end",
        "the same BINUNICODE as data.pkl of a torch zip",
        ["past the end", "BINUNICODE", "length", "truncated", "exceeds"], "zip")
    lbp = b"\x80\x02}r\xff\xff\xff\xff."
    add("long_binput.pkl", lbp, "memo",
        "pickle: EMPTY_DICT, LONG_BINPUT 0xFFFFFFFF, STOP: an array-backed memo grows to 2^32 slots "
        "(CPython's C unpickler raises MemoryError); even with a map memo the result {} is no embedding",
        ["memo", "tensor", "embedding", "empty", "no "], "pickle")
    add("long_binput.pt", E.torch_zip(lbp), "memo",
        "the same as data.pkl of a torch zip: torch.load returns {} - not an embedding",
        ["memo", "tensor", "embedding", "empty", "no "], "zip")
    marks = b"\x80\x02" + b"(" * 100000 + b"."
    add("deep_marks.pkl", marks, "MARK",
        "pickle: 100 000 nested MARKs then STOP: stack/mark-depth exhaustion",
        ["MARK", "nested", "deep", "depth", "stack", "limit"], "pickle")
    add("deep_marks.pt", E.zip_bytes([("archive/data.pkl", marks, 8), ("archive/version", b"3\n")]), "MARK",
        "the same 100 000 MARKs as data.pkl of a torch zip (deflated, method 8, to keep the file small: "
        "100 003 bytes inflated, within any sane pickle cap)",
        ["MARK", "nested", "deep", "depth", "stack", "limit", "exceeds"], "zip")

    # --- zip structure -------------------------------------------------------------------------
    bomb = b"\x80\x02" + b"N" * (32 << 20) + b"."
    zb = E.zip_bytes([("archive/data.pkl", bomb, 8), ("archive/data/0", E.le_bytes(vec())),
                      ("archive/version", b"3\n")])
    assert len(zb) < 64 * 1024
    add("zip_bomb.pt", zb, "data.pkl",
        "data.pkl deflated (method 8): ~32 KiB that inflate to 32 MiB of NONE opcodes; a reader must cap "
        "the pickle size from the central directory before inflating",
        ["data.pkl", "exceeds", "too large", "limit", "size"], "zip")
    good_pkl = E.a1111_pickle()
    add("zip_no_folder.pt",
        E.zip_bytes([("data.pkl", good_pkl), ("data/0", E.le_bytes(vec())), ("version", b"3\n")]),
        "folder",
        "a torch zip re-packed without the top folder: first entry 'data.pkl' is not in a subdirectory "
        "(PyTorch: 'file in archive is not in a subdirectory')",
        ["folder", "subdirectory", "prefix", "directory"], "zip")
    add("pytorch1_preview.pt", b"PYTORCH1" + struct.pack("<Q", 1) + b"\x00" * 48, "PYTORCH1",
        "the 2018 PyTorch preview format magic 'PYTORCH1': PyTorch itself rejects it",
        ["PYTORCH1", "preview", "unsupported", "unknown format"])

    # the pre-1.0 tar format (ustar magic at offset 257)
    tb = io.BytesIO()
    with tarfile.open(fileobj=tb, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        for name, payload in (("sys_info", b"\x80\x02}q\x00."), ("pickle", b"\x80\x02}q\x00."),
                              ("storages", b"\x80\x02K\x00."), ("tensors", b"\x80\x02K\x00.")):
            ti = tarfile.TarInfo(name)
            ti.size = len(payload)
            ti.mtime = 1500000000
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = "root"
            tf.addfile(ti, io.BytesIO(payload))
    tdata = tb.getvalue()
    assert tdata[257:262] == b"ustar"
    add("legacy_tar.pt", tdata, "tar",
        "the pre-1.0 torch tar format (members sys_info, pickle, storages, tensors; 'ustar' at offset 257)",
        ["tar", "unsupported", "unknown format"])

    # --- safetensors validation (reference reader rules, formats.md section 4) -----------------
    d = E.le_bytes(vec(1, 8))  # 3072 bytes
    add("st_overlap.safetensors",
        st_raw('{"a":{"dtype":"F32","shape":[768],"data_offsets":[0,3072]},'
               '"b":{"dtype":"F32","shape":[384],"data_offsets":[1536,3072]}}', d),
        "offset", "two tensors whose data ranges overlap (InvalidOffset)",
        ["offset", "overlap", "InvalidOffset"], "safetensors")
    add("st_hole.safetensors",
        st_raw('{"a":{"dtype":"F32","shape":[384],"data_offsets":[0,1536]},'
               '"b":{"dtype":"F32","shape":[256],"data_offsets":[2048,3072]}}', d),
        "offset", "a 512-byte hole between two tensors (InvalidOffset)",
        ["offset", "hole", "gap", "InvalidOffset"], "safetensors")
    add("st_trailing.safetensors",
        st_raw('{"emb_params":{"dtype":"F32","shape":[1,512],"data_offsets":[0,2048]}}', d),
        "incomplete", "1024 bytes after the last tensor: the buffer is not entirely indexed (MetadataIncompleteBuffer)",
        ["incomplete", "trailing", "MetadataIncompleteBuffer", "size", "buffer"], "safetensors")
    add("st_size_mismatch.safetensors",
        st_raw('{"emb_params":{"dtype":"F32","shape":[2,768],"data_offsets":[0,3072]}}', d),
        "emb_params", "shape [2,768] F32 needs 6144 bytes, data_offsets give 3072 (TensorInvalidInfo)",
        ["emb_params", "TensorInvalidInfo", "size", "bytes", "6144"], "safetensors")
    add("st_dup_key.safetensors",
        st_raw('{"emb_params":{"dtype":"F32","shape":[384],"data_offsets":[0,1536]},'
               '"emb_params":{"dtype":"F32","shape":[384],"data_offsets":[1536,3072]}}', d),
        "duplicate", "the key emb_params twice (serde would keep the last; embtool must reject)",
        ["duplicate", "emb_params", "twice"], "safetensors")
    add("st_bad_dtype.safetensors",
        st_raw('{"emb_params":{"dtype":"F31","shape":[768],"data_offsets":[0,3072]}}', d),
        "F31", "unknown dtype string 'F31' (InvalidHeaderDeserialization)",
        ["F31", "dtype", "InvalidHeaderDeserialization"], "safetensors")
    add("st_meta_nonstring.safetensors",
        st_raw('{"__metadata__":{"step":1000},"emb_params":{"dtype":"F32","shape":[768],"data_offsets":[0,3072]}}', d),
        "metadata", "__metadata__ value is a number, not a string",
        ["metadata", "__metadata__", "string", "step"], "safetensors")
    add("st_not_json.safetensors",
        st_raw('{"emb_params":{"dtype":"F32","shape":[768],"data_offsets":[0,3072]', d),
        "header", "header JSON missing its closing brace",
        ["header", "JSON", "unexpected", "InvalidHeaderDeserialization"], "safetensors")
    hb = b'{"emb_\xffparams":{"dtype":"F32","shape":[768],"data_offsets":[0,3072]}}'
    hb += b" " * ((8 - len(hb) % 8) % 8)
    bad_utf8 = struct.pack("<Q", len(hb)) + hb + d
    add("st_bad_utf8.safetensors", bad_utf8, "UTF-8",
        "header with a 0xFF byte inside a key: not UTF-8 (InvalidHeader)",
        ["UTF-8", "utf8", "InvalidHeader", "header"], "safetensors")

    E.write_jsonl(os.path.join(OUT, "expected.jsonl"), RECORDS)
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print("%d corrupt files, %d bytes in testdata/corrupt" % (len(RECORDS), total))


if __name__ == "__main__":
    main()
