#!/usr/bin/env python3
"""Time commands side by side, in interleaved rounds.

  python3 bench/rounds.py --runs R [--warmup W] --out FILE.json NAME CMD [NAME CMD ...]

Round k runs every command once, in the order given (then the next round),
so a change in the machine's load hits every command alike instead of the
one that happened to run then. Per run: wall time (perf_counter around the
shell) and CPU time (user+sys of the shell and everything it waited for,
from getrusage(RUSAGE_CHILDREN) deltas). The exit status is ignored
(inspect exits 1 when a file in the folder is not an embedding). A
command without shell syntax (pipes, redirections, quotes aside from
plain words, $, globs) runs without a shell, its leading NAME=value words
as environment, as hyperfine -N does: a shell's start (1-3 ms here) would
otherwise be timed as part of a one-file run. Writes
{"results": [{"name", "command", "wall": [...], "cpu": [...]}], "load": [...]}
with /proc/loadavg read before and after.
"""
import argparse, json, os, re, resource, shlex, subprocess, time

SHELL_SYNTAX = re.compile(r"[|&;<>()$`*?\\[\]{}~#]")


def argv_env(command):
    """The argv and environment to run command without a shell, or None
    when it needs one."""
    if SHELL_SYNTAX.search(command):
        return None
    words = shlex.split(command)
    env = dict(os.environ)
    while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
        k, v = words.pop(0).split("=", 1)
        env[k] = v
    return (words, env) if words else None


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
    res = [{"name": n, "command": c, "direct": argv_env(c), "wall": [], "cpu": []} for n, c in cmds]
    load = [open("/proc/loadavg").read().split()[:3]]
    for k in range(a.warmup + a.runs):
        for r in res:
            c0, t0 = cpu(), time.perf_counter()
            if r["direct"]:
                argv, env = r["direct"]
                subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            else:
                subprocess.run(r["command"], shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            t1, c1 = time.perf_counter(), cpu()
            if k >= a.warmup:
                r["wall"].append(t1 - t0)
                r["cpu"].append(c1 - c0)
    load.append(open("/proc/loadavg").read().split()[:3])
    for r in res:
        r["shell"] = r.pop("direct") is None
    json.dump({"results": res, "load": load}, open(a.out, "w"), indent=1)


if __name__ == "__main__":
    main()
