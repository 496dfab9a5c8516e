#!/usr/bin/env bash
# bench/checkpoint.sh [SIZE_GIB=2]
#
# Whole-checkpoint conversion: wall time and peak RSS (/usr/bin/time -v) of
#   cp ckpt copy.ckpt                                (the floor: read + write every byte)
#   cp ckpt copy.ckpt && sync copy.ckpt              (the floor with the fsync embtool does)
#   embtool convert ckpt out.safetensors
#   embtool convert --tensors out.safetensors out.pt (safetensors -> .pt)
#   python3: torch.load(ckpt) + a pure-Python safetensors writer
# then checks every output byte for byte against torch.load of the checkpoint
# (bench/verify_checkpoint.py) and prints PASS/FAIL.
#
# The checkpoint is generated once by testdata/gen/gen_checkpoint.py and cached
# in bench/out/ (git-ignored). The page cache cannot be dropped in a sandbox,
# so every run is preceded by `sync` (flush the previous run's dirty pages) and
# a warm-up read of its input (cat > /dev/null): all operations see a warm
# cache on input, and pay for writing their output.
#
# Env: RUNS (default 3; best wall and largest RSS kept), PYTHON, OUT.
set -euo pipefail

SIZE=${1:-2}
RUNS=${RUNS:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-/usr/bin/python3}
OUT=${OUT:-$ROOT/bench/out}
BIN=$OUT/embtool
CKPT=$OUT/ckpt-${SIZE}gib.ckpt
W=$OUT/ckpt-run
TIME=/usr/bin/time
mkdir -p "$OUT"
[ -x "$TIME" ] || { echo "needs GNU time: apt-get install -y time" >&2; exit 2; }

echo "building $BIN" >&2
(cd "$ROOT" && CGO_ENABLED=0 go build -o "$BIN" ./cmd/embtool)

# Space: the checkpoint plus five outputs of about its size.
need_kib=$(awk -v g="$SIZE" 'BEGIN {printf "%d", (g + 0.2) * 6 * 1024 * 1024}')
free_kib=$(df -Pk "$OUT" | awk 'NR == 2 {print $4}')
df -h "$OUT" >&2
if [ "$free_kib" -lt "$need_kib" ]; then
    echo "not enough space in $OUT: need $((need_kib / 1024 / 1024)) GiB, have $((free_kib / 1024 / 1024)) GiB" >&2
    exit 2
fi

if [ ! -f "$CKPT" ]; then
    echo "generating $CKPT" >&2
    (cd "$ROOT" && "$PYTHON" testdata/gen/gen_checkpoint.py --size-gib "$SIZE" --out "$CKPT.tmp")
    mv "$CKPT.tmp" "$CKPT"
fi
rm -rf "$W"
mkdir -p "$W"
LOAD_START=$(uptime | sed 's/^ *//')

# measure NAME INPUT OUTPUT CMD...: RUNS runs, each after sync + a warm read of INPUT.
RESULTS=$W/results.tsv
: > "$RESULTS"
measure() {
    local name=$1 input=$2 output=$3
    shift 3
    local r
    for ((r = 1; r <= RUNS; r++)); do
        rm -f "$output"
        sync
        cat "$input" > /dev/null
        echo "== $name, run $r" >&2
        "$TIME" -v -o "$W/time.txt" "$@" >&2
        local wall rss cpu
        wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s}' "$W/time.txt")
        rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$W/time.txt")
        cpu=$(awk -F': ' '/(User|System) time \(seconds\)/ {s += $2} END {print s}' "$W/time.txt")
        printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$wall" "$rss" "$(stat -c %s "$input")" "$cpu" >> "$RESULTS"
        echo "   wall ${wall}s, cpu ${cpu}s, max RSS ${rss} KiB" >&2
    done
}

measure "cp ckpt copy.ckpt" "$CKPT" "$W/copy.ckpt" \
    cp "$CKPT" "$W/copy.ckpt"
measure "cp ckpt copy.ckpt && sync copy.ckpt" "$CKPT" "$W/copy.ckpt" \
    sh -c 'cp "$1" "$2" && sync "$2"' sh "$CKPT" "$W/copy.ckpt"
rm -f "$W/copy.ckpt"
measure "embtool convert ckpt out.safetensors" "$CKPT" "$W/out.safetensors" \
    "$BIN" convert "$CKPT" "$W/out.safetensors"
measure "embtool convert --tensors out.safetensors out.pt" "$W/out.safetensors" "$W/out.pt" \
    "$BIN" convert --tensors "$W/out.safetensors" "$W/out.pt"
measure "python3 torch.load(ckpt) + pure-Python safetensors writer" "$CKPT" "$W/py.safetensors" \
    "$PYTHON" "$ROOT/bench/torch_ckpt_to_safetensors.py" "$CKPT" "$W/py.safetensors"

echo "verifying outputs" >&2
VERIFY=$("$PYTHON" "$ROOT/bench/verify_checkpoint.py" "$CKPT" "$W/out.safetensors" "$W/out.pt" "$W/py.safetensors" 2>&1) || true

NP=$(nproc)
CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
"$PYTHON" - "$RESULTS" "$CKPT" "$RUNS" <<EOF
import os, sys
from collections import OrderedDict
path, ckpt, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = OrderedDict()
for line in open(path):
    name, wall, rss, size, cpu = line.rstrip("\n").split("\t")
    r = rows.setdefault(name, {"walls": [], "rss": [], "cpu": [], "size": int(size)})
    r["walls"].append(float(wall)); r["rss"].append(int(rss)); r["cpu"].append(float(cpu))
size = os.path.getsize(ckpt)
print(f"### whole-checkpoint conversion: {os.path.basename(ckpt)}, {size / 2**30:.2f} GiB ({size / 1e6:,.0f} MB) of F32 tensors")
print()
print(f"\`nproc\` = $NP; CPU: $CPU; \`uptime\` at start: $LOAD_START, at end: $(uptime | sed 's/^ *//'); date: $(date -u '+%Y-%m-%d %H:%M UTC')")
load = float(open('/proc/loadavg').read().split()[0])
if load > 0.5 * $NP:
    print(f"**Load average {load:.2f} on $NP cores at the end: another job (fuzzer) shares the machine; times are noisy.**")
print()
print(f"Each operation run {runs}× by /usr/bin/time -v, each run after \`sync\` and a warm-up read of its input (page cache warm; drop_caches is not available in the sandbox). Wall: best run; RSS: largest. MB/s = input bytes / wall.")
print()
print("| operation | wall s (best) | wall s (all runs) | CPU s (user+sys, best-wall run) | MB/s | peak RSS MiB | ratio to cp |")
print("|---|---:|---:|---:|---:|---:|---:|")
cp = min(next(iter(rows.values()))["walls"])
for name, r in rows.items():
    w = min(r["walls"])
    shown = name.replace("|", "\\\\|")
    print(f"| {shown} | {w:.2f} | {' / '.join(f'{x:.2f}' for x in r['walls'])} | {r['cpu'][r['walls'].index(w)]:.2f} | {r['size'] / 1e6 / w:,.0f} | {max(r['rss']) / 1024:,.0f} | {w / cp:.2f}× |")
EOF
# Where embtool's wall time goes: one more run of each conversion under
# strace --seccomp-bpf (only openat/fsync/renameat are stopped, so the
# copy loop runs at full speed): write phase (read input + write temp
# file) | fsync of the temp file | read-back verification | rename.
if command -v strace > /dev/null; then
    echo
    echo "Phases of one more embtool run each (strace --seccomp-bpf timestamps; not the runs above):"
    echo
    echo "| conversion | total s | read + write s | fsync s | read-back check s |"
    echo "|---|---:|---:|---:|---:|"
    phase() {
        local name=$1 input=$2 output=$3
        shift 3
        rm -f "$output"; sync; cat "$input" > /dev/null
        strace -f --seccomp-bpf -e signal=none -ttt -T -e trace=openat,fsync,renameat,exit_group \
            -o "$W/phases.txt" "$@" > /dev/null 2>&1 || { echo "| $name | strace failed | | | |"; return; }
        awk -v name="$name" '
            /embtool-tmp/ && /O_CREAT/ && !t0 { t0 = $2 }
            /fsync\(/ && t0 && !f0 { f0 = $2; d = $NF; gsub(/[<>]/, "", d); f1 = f0 + d }
            /renameat\(/ && f0 && !r0 { r0 = $2 }
            /exit_group/ { e = $2 }
            END { printf "| %s | %.2f | %.2f | %.2f | %.2f |\n", name, e - t0, f0 - t0, f1 - f0, r0 - f1 }' "$W/phases.txt"
        rm -f "$output"
    }
    phase "embtool convert ckpt out.safetensors" "$CKPT" "$W/phase.safetensors" \
        "$BIN" convert "$CKPT" "$W/phase.safetensors"
    phase "embtool convert --tensors out.safetensors out.pt" "$W/out.safetensors" "$W/phase.pt" \
        "$BIN" convert --tensors "$W/out.safetensors" "$W/phase.pt"
    echo
    echo "(total runs from the output file's creation to exit; the input's open and header parse before it take a few ms.)"
fi
echo
echo "Verification (bench/verify_checkpoint.py, pure Python + numpy/torch, no embtool code):"
echo
echo '```'
echo "$VERIFY"
echo '```'
rm -f "$W/copy.ckpt"
