#!/usr/bin/python3
"""Generate the golden files for the torchpt writer (pkg/torchpt/write_test.go).

Run from the repository root with Debian's python3-torch (1.13):

    /usr/bin/python3 testdata/gen/gen_writer_golden.py

For each case it torch.saves one object to pkg/torchpt/testdata/golden/<name>.pt
(torch names the archive folder after the file stem, so the prefix is <name>)
and describes the object in golden.json, so that the Go test can rebuild it,
write it with torchpt.WriteZip and compare data.pkl and every data/N record
byte for byte.

Value tree in golden.json: null, true/false, a JSON string and a JSON integer
(|v| < 2**53) stand for themselves; everything else is a one-key object:
  {"int": "decimal"}  {"float": "16 hex digits of the IEEE double"}
  {"tuple": [...]}  {"list": [...]}  {"set": [...]}
  {"dict": [[key, value], ...], "id": n}  {"odict": [...], "id": n}
  {"ref": n}              the dict object with that id again (pickled as BINGET)
  {"tensor": {"dtype": "F32", "shape": [...], "seed": s}}

Tensor values, element i of the flattened tensor, k = (7*i + seed) % 101 - 50:
  F32/F16/BF16/F64: k/16 (exact in every float dtype);  I64/I32/I16/I8: k;
  U8: (7*i + seed) % 256;  BOOL: k > 0.
Every tensor is contiguous, has its own storage, storage_offset 0 and
requires_grad False, which is what the Go writer produces.

Strings: CPython memoizes by identity and the Go writer by value. Literals
here are identifier-like or single characters (interned, so equal means
identical) or repeated constants of one code object; generated keys are all
distinct. Equal tuple constants of one code object are one object too (and are
pickled as BINGET), so no tuple literal appears twice. Keep it that way when
adding cases.
"""

import collections
import json
import os
import struct
import sys
import zipfile

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "pkg", "torchpt", "testdata", "golden")

DTYPES = {
    "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
    "U8": torch.uint8, "BOOL": torch.bool,
}

_tensors = {}  # id(tensor) -> (tensor, dtype name, shape, seed)


def T(dtype, shape, seed):
    n = 1
    for d in shape:
        n *= d
    i = torch.arange(n, dtype=torch.int64)
    k = (i * 7 + seed) % 101 - 50
    dt = DTYPES[dtype]
    if dtype in ("F32", "F16", "BF16", "F64"):
        t = (k.to(torch.float64) / 16).to(dt)
    elif dtype == "U8":
        t = ((i * 7 + seed) % 256).to(dt)
    elif dtype == "BOOL":
        t = k > 0
    else:
        t = k.to(dt)
    t = t.reshape(shape)
    assert t.is_contiguous() and t.storage_offset() == 0 and not t.requires_grad
    _tensors[id(t)] = (t, dtype, list(shape), seed)
    return t


def describe(v, dicts):
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return v if abs(v) < 2**53 else {"int": str(v)}
    if isinstance(v, float):
        return {"float": struct.pack(">d", v).hex()}
    if isinstance(v, torch.Tensor):
        _, dtype, shape, seed = _tensors[id(v)]
        return {"tensor": {"dtype": dtype, "shape": shape, "seed": seed}}
    if isinstance(v, tuple):
        return {"tuple": [describe(x, dicts) for x in v]}
    if isinstance(v, list):
        return {"list": [describe(x, dicts) for x in v]}
    if isinstance(v, set):
        return {"set": [describe(x, dicts) for x in v]}
    if isinstance(v, dict):
        if id(v) in dicts:
            return {"ref": dicts[id(v)]}
        dicts[id(v)] = len(dicts)
        assert type(v) in (dict, collections.OrderedDict)
        tag = "odict" if type(v) is collections.OrderedDict else "dict"
        return {tag: [[describe(k, dicts), describe(x, dicts)] for k, x in v.items()],
                "id": dicts[id(v)]}
    raise TypeError(type(v))


def cases():
    c = collections.OrderedDict()

    # A1111 Embedding.save layout (formats.md §5.1).
    c["a1111"] = {
        "string_to_token": {"*": 265},
        "string_to_param": {"*": T("F32", [2, 768], 1)},
        "name": "x",
        "step": 5,
        "sd_checkpoint": None,
        "sd_checkpoint_name": None,
    }
    # The same with the fields a trained embedding carries.
    c["a1111_trained"] = {
        "string_to_token": {"*": 265},
        "string_to_param": {"*": T("F32", [4, 768], 2)},
        "name": "EasyNegative",
        "step": 123456,
        "sd_checkpoint": "7460a6fa",
        "sd_checkpoint_name": "v1-5-pruned-emaonly",
    }
    # kohya sd-scripts SD1/2, half precision.
    c["kohya"] = {"emb_params": T("F16", [3, 768], 3)}
    # kohya SDXL: two storages, so the second tensor reuses memoized
    # globals and strings.
    c["sdxl"] = {"clip_g": T("F32", [2, 1280], 4), "clip_l": T("F32", [2, 768], 5)}
    # BF16, 2-D and 1-D (TUPLE1 size/stride).
    c["bf16"] = {"emb": T("BF16", [4, 768], 6), "emb2": T("BF16", [1280], 7)}
    # int64: a 0-dim token (empty size/stride tuples) and a 1-D vector.
    c["int64"] = {
        "string_to_token": {"*": T("I64", [], 8)},
        "string_to_param": {"*": T("F32", [1, 768], 9)},
        "tokens": T("I64", [77], 10),
    }
    # Every storage class, empty tensors, a 4-D shape (MARK ... TUPLE).
    c["dtypes"] = {
        "f64": T("F64", [2, 3], 11),
        "i32": T("I32", [5], 12),
        "i16": T("I16", [2, 2], 13),
        "i8": T("I8", [7], 14),
        "u8": T("U8", [9], 15),
        "bool": T("BOOL", [3, 3], 16),
        "empty": T("F32", [0, 768], 17),
        "zeros": T("F32", [2, 0, 3], 18),
        "f32_4d": T("F32", [2, 3, 4, 5], 19),
    }
    # Scalars of every opcode, nested and shared containers.
    shared = {"s": 1}
    c["misc"] = {
        "0": "cpu",  # a key equal to the first storage key, a value equal to the location
        "cpu": "storage",
        "neg": -1,
        "neg2": -300,
        "neg3": -70000,
        "i32min": -2**31,
        "i32under": -2**31 - 1,
        "i32max": 2**31 - 1,
        "i32over": 2**31,
        "large": 2**40,
        "large_neg": -2**40,
        "i64max": 2**63 - 1,
        "i64min": -2**63,
        "u64max": 2**64 - 1,
        "huge": 2**100,
        "huge_neg": -2**100 - 12345,
        "m255": -255,
        "m256": -256,
        "m128": -128,
        "m129": -129,
        "m32768": -32768,
        "m32769": -32769,
        "m8388608": -8388608,
        "u8edge": 255,
        "u16a": 256,
        "u16b": 65535,
        "i32a": 65536,
        "zero": 0,
        "float": 0.1,
        "negfloat": -2.5,
        "float_int": 3.0,
        "negzero": -0.0,
        "inf": float("inf"),
        "ninf": float("-inf"),
        "nan": float("nan"),
        "tiny": 5e-324,
        "t": True,
        "f": False,
        "none": None,
        "str": "héllo ✓ 𝔸",
        "empty_str": "",
        "long_str": "abc " * 100,
        "nested": {"neg": 1, "inner": {"x": [1, 2.5, "s"]}, "name": "*"},
        "shared_a": shared,
        "shared_b": shared,
        "tuple1": (1,),
        "tuple2": (1, "a"),
        "tuple3": (1, "a", None),
        "tuple5": (1, 2, 3, 4, 5),
        "empty_tuple": (),
        "nested_tuple": ((1, 2), (), ((3,),)),
        "list0": [],
        "list1": [7],
        "list2": [7, 8],
        "empty_dict": {},
        "odict": collections.OrderedDict([("b", 2), ("a", 1)]),
        "odict1": collections.OrderedDict([("only", 1)]),
        "odict0": collections.OrderedDict(),
        "set": {1, 2, 3},
        "key_types": {1: "one", -5: "neg", 2.5: "f", None: "n", (2, 1): "tuple", False: "false"},
        "t0": T("F32", [2], 20),
        "t1": T("F16", [2], 21),
        "t2": T("F32", [3], 22),
    }
    # SETITEMS / APPENDS batching (1000 per batch) and memo indices past 255
    # (LONG_BINPUT, LONG_BINGET).
    c["batching"] = {
        "first": "repeat_me",
        "t_first": T("F32", [3], 23),
        # exact dicts: a full batch is followed by an empty MARK SETITEMS
        "d1000": {f"a{i}": i for i in range(1000)},
        "d1500": {f"k{i}": (i * 1000003 if i % 2 else -i) for i in range(1500)},
        # lists: no empty batch; one item left over is still MARK x APPENDS
        "l1000": list(range(1000)),
        "l1001": [i * 70 for i in range(1001)],
        # OrderedDict (items iterator): no empty batch; one left is SETITEM
        "od1000": collections.OrderedDict((f"o{i}", i) for i in range(1000)),
        "od1001": collections.OrderedDict((f"p{i}", None) for i in range(1001)),
        "mid": "repeat_me",
        "t_late1": T("F16", [2], 24),
        "t_late2": T("F16", [3], 25),
        "t_late3": T("F32", [4], 26),
        "last": "repeat_me",
    }
    # A state_dict-like top level OrderedDict.
    c["odict_top"] = collections.OrderedDict(
        [("emb_params", T("F32", [2, 768], 27)), ("meta", {"step": 1})])
    # Twelve storages: records sort as strings (data/10 before data/2).
    c["many"] = {f"v{i}": T("F32", [1, 4], 30 + i) for i in range(12)}
    return c


def main():
    os.makedirs(OUT, exist_ok=True)
    doc = {
        "generator": "testdata/gen/gen_writer_golden.py",
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "cases": [],
    }
    for name, obj in cases().items():
        path = os.path.join(OUT, name + ".pt")
        torch.save(obj, path)
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
        assert names[0] == name + "/data.pkl", names
        doc["cases"].append({
            "name": name,
            "file": name + ".pt",
            "prefix": name,
            "records": names,
            "value": describe(obj, {}),
        })
    with open(os.path.join(OUT, "golden.json"), "w") as f:
        json.dump(doc, f, indent=None, separators=(",", ":"), ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
