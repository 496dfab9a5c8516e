#!/usr/bin/python3
"""Check the claims behind cmd/embtool/peers_test.go's exceptions with real loaders: the
dangerous peer samples embtool may call `error` instead of `unsafe` must be unreadable by
every loader (torch.load, pickle.load, numpy.load).

Nothing is executed: torch.load and pickle.load get an unpickler whose find_class records the
global and returns an inert stub (torch's own rebuild functions excepted), and numpy is only
asked whether a zip holds any .npy member (a non-.npy member of an .npz is returned as bytes,
never unpickled). Run with Debian's python3-torch:

    /usr/bin/python3 scripts/peer_loaders_check.py [../shared/corpus/peers]
"""
import io, os, pickle, sys, types, zipfile

sys.dont_write_bytecode = True
import torch

UNREADABLE = [
    "picklescan-data/malicious1.7z",
    "picklescan-data/malicious1_wrong_ext.zip",
    "picklescan-data2/malicious1_crc.zip",
]


class Stub:
    def __init__(self, *a, **k):
        pass

    def __call__(self, *a, **k):
        return Stub()

    def __setstate__(self, s):
        pass


class Recording(pickle.Unpickler):
    seen = []

    def find_class(self, mod, name):
        Recording.seen.append(mod + "." + name)
        if mod.startswith("torch"):
            return super().find_class(mod, name)
        return Stub

    def persistent_load(self, pid):
        return None


stub_pickle = types.ModuleType("pickle")
stub_pickle.Unpickler = Recording
stub_pickle.load = lambda f, **kw: Recording(f, **kw).load()


def fails(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - any failure is what we want to see
        return "%s: %s" % (type(e).__name__, str(e).splitlines()[0][:90])
    return None


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join("..", "shared", "corpus", "peers")
    bad = 0
    for name in UNREADABLE:
        path = os.path.join(root, name)
        Recording.seen = []
        t = fails(lambda: torch.load(path, pickle_module=stub_pickle, weights_only=False))
        p = fails(lambda: Recording(open(path, "rb")).load())
        npy = []
        if zipfile.is_zipfile(path):
            npy = [n for n in zipfile.ZipFile(path).namelist() if n.endswith(".npy")]
        ok = t is not None and p is not None and not npy and not Recording.seen
        bad += not ok
        print("%-45s torch.load: %s | pickle.load: %s | .npy members: %s | %s"
              % (name, t or "READ", p or "READ", npy or "none", "ok" if ok else "CLAIM WRONG"))
    print("%d passed, %d failed" % (len(UNREADABLE) - bad, bad))
    sys.exit(1 if bad else 0)


main()
