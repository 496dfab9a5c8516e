#!/usr/bin/python3
"""Write testdata/npy/: NumPy .npy files for `embtool scan` (torchpt.ScanNPY).

numpy.load(allow_pickle=True) unpickles the data of an object array, and of
any file whose header is not a plain dtype. Plain arrays are made by
np.save; attacks are never loaded: each is built beside a defanged twin
(the gadget replaced by builtins.str) and only the twin is np.load-ed, to
prove numpy reaches the pickle. Writes expected.jsonl: file, verdict,
what. Run from the repository root with Debian's python3-numpy.
"""
import io, json, os, pickle, sys

sys.dont_write_bytecode = True
import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "npy")


class Gadget:
    """Pickles as a call of fn('x')."""

    def __init__(self, fn):
        self.fn = fn

    def __reduce__(self):
        return (self.fn, ("x",))


def npy_bytes(arr):
    b = io.BytesIO()
    np.save(b, arr, allow_pickle=True)
    return b.getvalue()


def with_header(header, data):
    """A version 1.0 .npy of the given header dict text (padded as numpy
    pads) followed by data."""
    h = header.encode("latin1")
    pad = 64 - (10 + len(h) + 1) % 64
    h = h + b" " * pad + b"\n"
    return b"\x93NUMPY\x01\x00" + len(h).to_bytes(2, "little") + h + data


def attack(name, build, what, rows):
    """build(fn) returns the file bytes for gadget function fn."""
    twin = build(str)
    got = np.load(io.BytesIO(twin), allow_pickle=True)
    assert "x" in repr(got.tolist()), (name, got)  # numpy ran the twin's call
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(build(os.system))
    rows.append({"file": name, "verdict": "unsafe", "what": what})


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    rows = []

    def plain(name, arr, verdict, what):
        b = npy_bytes(arr)
        back = np.load(io.BytesIO(b), allow_pickle=arr.dtype == object)  # only our own benign objects
        assert back.dtype == arr.dtype and back.shape == arr.shape
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(b)
        rows.append({"file": name, "verdict": verdict, "what": what})

    plain("int64_2x3.npy", np.arange(6, dtype="<i8").reshape(2, 3), "safe", "np.save of int64 [2,3]")
    plain("float32_768.npy", np.linspace(-1, 1, 768, dtype="<f4"), "safe", "np.save of float32 [768]")
    plain("bool_scalar.npy", np.array(True), "safe", "np.save of a 0-d bool")
    plain("datetime.npy", np.array(["2024-01-01"], dtype="M8[D]"), "safe", "np.save of datetime64[D]")
    plain("fortran_f64.npy", np.asfortranarray(np.ones((2, 2))), "safe", "np.save of a Fortran-order float64 [2,2]")
    obj = np.empty(3, dtype=object)
    obj[:] = [1, "two", 3.0]
    plain("object_benign.npy", obj, "safe", "object array of an int, a str and a float: a pickle of numpy globals only")

    def obj_gadget(fn):
        a = np.empty(1, dtype=object)
        a[0] = Gadget(fn)
        return npy_bytes(a)

    attack("object_system.npy", obj_gadget, "object array whose element pickles as os.system('x')", rows)

    def dup_descr(fn):
        a = np.empty(1, dtype=object)
        a[0] = Gadget(fn)
        data = pickle.dumps(a, protocol=3)
        # literal_eval keeps the last of a duplicate key: numpy sees '|O'.
        return with_header("{'descr': '<i8', 'descr': '|O', 'fortran_order': False, 'shape': (1,), }", data)

    attack("duplicate_descr.npy", dup_descr, "header {'descr': '<i8', 'descr': '|O', ...}: numpy keeps the last key and unpickles", rows)

    # A plain dtype in a header numpy's writer would not produce: numpy
    # reads raw bytes, embtool scans them as a pickle and finds none.
    b = with_header("{'descr':'<i8','fortran_order':False,'shape':(1,)}", (7).to_bytes(8, "little"))
    assert np.load(io.BytesIO(b)).tolist() == [7]
    with open(os.path.join(OUT, "odd_header_int.npy"), "wb") as f:
        f.write(b)
    rows.append({"file": "odd_header_int.npy", "verdict": "error", "what": "int64 array under a header without numpy's spacing: read as a pickle, refused"})

    with open(os.path.join(OUT, "expected.jsonl"), "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


main()
