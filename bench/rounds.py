#!/usr/bin/env python3
"""Time shell commands side by side, in interleaved rounds.

  python3 bench/rounds.py --runs R [--warmup W] --out FILE.json NAME CMD [NAME CMD ...]

Round k runs every command once, in the order given (then the next round),
so a change in the machine's load hits every command alike instead of the
one that happened to run then. Per run: wall time (perf_counter around the
shell) and CPU time (user+sys of the shell and everything it waited for,
from getrusage(RUSAGE_CHILDREN) deltas). The exit status is ignored
(inspect exits 1 when a file in the folder is not an embedding). Writes
{"results": [{"name", "command", "wall": [...], "cpu": [...]}], "load": [...]}
with /proc/loadavg read before and after.
"""
import argparse, json, resource, subprocess, time


def cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--out", required=True)
    ap.add_argument("pairs", nargs="+")
    a = ap.parse_args()
    cmds = list(zip(a.pairs[0::2], a.pairs[1::2]))
    res = [{"name": n, "command": c, "wall": [], "cpu": []} for n, c in cmds]
    load = [open("/proc/loadavg").read().split()[:3]]
    for k in range(a.warmup + a.runs):
        for r in res:
            c0, t0 = cpu(), time.perf_counter()
            subprocess.run(r["command"], shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            t1, c1 = time.perf_counter(), cpu()
            if k >= a.warmup:
                r["wall"].append(t1 - t0)
                r["cpu"].append(c1 - c0)
    load.append(open("/proc/loadavg").read().split()[:3])
    json.dump({"results": res, "load": load}, open(a.out, "w"), indent=1)


if __name__ == "__main__":
    main()
