#!/usr/bin/env bash
# bench/inspect_folder.sh [N_FILES=10000]
#
# Over ONE folder of N embedding files (copies of the real corpus and the
# fixtures, round-robin, 100 per subfolder), with a warm page cache, times:
#   embtool inspect --json DIR                 (reads + sha256es every byte once, all cores)
#   find DIR -type f -print0 | xargs -0 sha256sum   (the floor: just read + hash)
#   python3 bench/torch_loader.py DIR          (A1111's per-file work with torch, sequential)
#   python3 bench/torch_loader.py --jobs NPROC DIR  (same, one process per core)
# and start-to-answer on one file (EasyNegative.safetensors, negative_hand-neg.pt):
#   embtool inspect --json FILE  vs  python3 bench/torch_loader.py FILE (includes import torch)
# Prints markdown tables. Generated data goes to bench/out/ (git-ignored).
#
# Env: RUNS (default 3), CORPUS (default /work/shared/corpus/real),
#      PYTHON (default /usr/bin/python3), OUT (default bench/out).
set -euo pipefail

N=${1:-10000}
RUNS=${RUNS:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CORPUS=${CORPUS:-/work/shared/corpus/real}
FIXTURES=$ROOT/testdata/fixtures
PYTHON=${PYTHON:-/usr/bin/python3}
OUT=${OUT:-$ROOT/bench/out}
BIN=$OUT/embtool
DIR=$OUT/folder-$N
mkdir -p "$OUT"

command -v hyperfine >/dev/null || { echo "needs hyperfine: apt-get install -y hyperfine" >&2; exit 2; }

echo "building $BIN" >&2
(cd "$ROOT" && CGO_ENABLED=0 go build -o "$BIN" ./cmd/embtool)

# --- the folder -------------------------------------------------------------
# Sources: every .pt/.bin/.safetensors of the corpus and the fixtures (no
# PNGs, no preview images). nan_inf.* are left out, as in the first recorded
# run (when `inspect --json` could not yet encode NaN norms), so that the
# folder stays the same from run to run.
mapfile -d '' SOURCES < <(find "$CORPUS" "$FIXTURES" -maxdepth 1 -type f \
    \( -iname '*.pt' -o -iname '*.bin' -o -iname '*.safetensors' \) \
    ! -name 'nan_inf.*' -print0 | sort -z)
NS=${#SOURCES[@]}
if [ ! -f "$DIR.complete" ]; then
    echo "making $DIR: $N files from $NS sources" >&2
    rm -rf "$DIR"
    mkdir -p "$DIR"
    for ((i = 0; i < N; i++)); do
        src=${SOURCES[i % NS]}
        sub=$DIR/d$(printf '%03d' $((i / 100)))
        [ -d "$sub" ] || mkdir "$sub"
        cp "$src" "$sub/$(printf '%05d' "$i")_$(basename "$src")"
    done
    touch "$DIR.complete"
fi
NFILES=$(find "$DIR" -type f \( -name '*.pt' -o -name '*.bin' -o -name '*.safetensors' \) | wc -l)
BYTES=$(find "$DIR" -type f \( -name '*.pt' -o -name '*.bin' -o -name '*.safetensors' \) -printf '%s\n' | awk '{s+=$1} END {print s}')
LOAD_START=$(uptime | sed 's/^ *//')

# Warm the page cache with every byte.
find "$DIR" -type f -print0 | xargs -0 cat > /dev/null

# --- correctness: same files, same hashes -----------------------------------
"$BIN" inspect --json "$DIR" > "$OUT/inspect.jsonl" 2> "$OUT/inspect.stderr" || true
"$PYTHON" "$ROOT/bench/torch_loader.py" "$DIR" > "$OUT/torch.jsonl"
find "$DIR" -type f -print0 | xargs -0 sha256sum > "$OUT/sha256sum.txt"
CHECK=$("$PYTHON" - "$OUT" <<'EOF'
import json, sys
out = sys.argv[1]
sha = {l[66:].rstrip("\n"): l[:64] for l in open(f"{out}/sha256sum.txt")}
emb = [json.loads(l) for l in open(f"{out}/inspect.jsonl")]
tl = [json.loads(l) for l in open(f"{out}/torch.jsonl")]
bad = [r["path"] for r in emb if sha.get(r["path"]) != r.get("sha256")]
bad += [r["path"] for r in tl if sha.get(r["path"]) != r.get("sha256")]
okdiff = sum(1 for a, b in zip(emb, tl) if a["path"] == b["path"] and a["ok"] != b["ok"])
# Same answer where both read the file: vectors, width and every norm (torch
# computes in float32 after .to(float32), embtool in float64: rel. tol. 1e-4).
def norms(r):
    return sorted(x for t in r.get("tensors", []) for x in t["norms"])
compared = differ = 0
for a, b in zip(emb, tl):
    if a["path"] == b["path"] and a["ok"] and b["ok"]:
        compared += 1
        na, nb = norms(a), norms(b)
        if (a["vectors"], a["width"]) != (b["vectors"], b["width"]) or len(na) != len(nb) or \
                any(abs(x - y) > 1e-4 * max(abs(x), abs(y), 1e-6) for x, y in zip(na, nb)):
            differ += 1
bad += ["norms"] * differ
print(f"files: sha256sum {len(sha)}, embtool {len(emb)} lines ({sum(r['ok'] for r in emb)} ok), "
      f"torch loader {len(tl)} lines ({sum(r['ok'] for r in tl)} ok); "
      f"sha256 mismatches: {len(bad) - differ}; files ok in one tool only: {okdiff}; "
      f"vectors/width/norms differ in {differ} of {compared} files read by both "
      f"({'PASS' if not bad and len(emb) == len(tl) == len(sha) else 'FAIL'})")
EOF
)

# --- folder timings ---------------------------------------------------------
NP=$(nproc)
hyperfine --style basic -i --warmup 1 --runs "$RUNS" --export-json "$OUT/folder.json" \
    -n "embtool inspect --json" "$BIN inspect --json '$DIR' > /dev/null 2>&1" \
    -n "find | xargs -0 sha256sum" "find '$DIR' -type f -print0 | xargs -0 sha256sum > /dev/null" \
    -n "torch loader (sequential, as A1111)" "$PYTHON '$ROOT/bench/torch_loader.py' '$DIR' > /dev/null" \
    -n "torch loader --jobs $NP" "$PYTHON '$ROOT/bench/torch_loader.py' --jobs $NP '$DIR' > /dev/null" \
    >&2

# --- one file, start to answer ----------------------------------------------
ONE=()
for f in EasyNegative.safetensors negative_hand-neg.pt; do
    hyperfine --style basic -i -N --warmup 3 --runs 30 --export-json "$OUT/one-embtool-$f.json" \
        -n "embtool $f" "$BIN inspect --json $CORPUS/$f" >&2
    hyperfine --style basic -N --warmup 2 --runs 10 --export-json "$OUT/one-torch-$f.json" \
        -n "torch $f" "$PYTHON $ROOT/bench/torch_loader.py $CORPUS/$f" >&2
    ONE+=("$f")
done

# --- tables -------------------------------------------------------------------
CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
"$PYTHON" - "$OUT" "$NFILES" "$BYTES" "$CPU" "$CHECK" "${ONE[@]}" <<EOF
import json, sys
out, nfiles, nbytes, cpu, check = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
ones = sys.argv[6:]
print(f"### inspect over one folder: {nfiles} files, {nbytes/2**20:.0f} MiB, warm page cache")
print()
print(f"\`nproc\` = $NP; CPU: {cpu}; \`uptime\` at start: $LOAD_START, at end: $(uptime | sed 's/^ *//'); date: $(date -u '+%Y-%m-%d %H:%M UTC')")
load = float(open('/proc/loadavg').read().split()[0])
if load > 0.5 * $NP:
    print(f"**Load average {load:.2f} on $NP cores at the end of the run: another job (fuzzer) shares the machine; times are noisy and embtool's parallelism is partly eaten.**")
print()
print(f"Hyperfine, 1 warm-up + $RUNS runs each; ratios use the best run (min), mean ± σ shown too. CPU s is user+sys of all threads/processes: it barely depends on the other job's load. Check: {check}")
print()
res = json.load(open(f"{out}/folder.json"))["results"]
t = {r["command"]: r for r in res}
torch_min = t["torch loader (sequential, as A1111)"]["min"]
sha_min = t["find | xargs -0 sha256sum"]["min"]
print("| tool | wall s (best) | wall s (mean ± σ) | CPU s (user+sys, mean) | files/s | MB/s | speedup vs torch loader (sequential) | ratio to sha256sum (<1 = faster) |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for r in res:
    m = r["min"]
    name = r["command"].replace("|", "\\|")
    print(f"| {name} | {m:.2f} | {r['mean']:.2f} ± {r['stddev'] or 0:.2f} | {r['user'] + r['system']:.2f} | {nfiles/m:,.0f} | {nbytes/1e6/m:,.0f} | {torch_min/m:.1f}× | {m/sha_min:.2f} |")
print()
print("### start to answer, one file (hyperfine -N; embtool 3 warm-ups + 30 runs, python 2 + 10)")
print()
print("| file | embtool inspect --json (ms, mean ± σ) | python3 torch_loader.py incl. import torch (ms, mean ± σ) | speedup (mean) |")
print("|---|---:|---:|---:|")
for f in ones:
    e = json.load(open(f"{out}/one-embtool-{f}.json"))["results"][0]
    p = json.load(open(f"{out}/one-torch-{f}.json"))["results"][0]
    print(f"| {f} | {e['mean']*1e3:.1f} ± {e['stddev']*1e3:.1f} | {p['mean']*1e3:.0f} ± {p['stddev']*1e3:.0f} | {p['mean']/e['mean']:.0f}× |")
EOF
