#!/usr/bin/env bash
# bench/speed.sh [N=2000] [N_SMALL=500]
#
# issue 10 item 4: `embtool inspect --json` over a folder of N typical
# embeddings, side by side in ONE run with its anchors over the same files:
#   openssl dgst -sha256 (SHA-NI), sha256sum, and bench/torch_loader.py
#   (A1111's per-file work with torch, sequential);
# embtool with both workers and with one (GOMAXPROCS=1); the same at
# N_SMALL files for the marginal cost per file (slope between the two
# folders, wall and CPU); start to answer on one file; allocations per
# input byte (go test -bench -benchmem over the folder); the A1111 checksum
# in ns per element; JSON Lines streaming (first line through `head -1`,
# peak RSS at N_SMALL and N files). Every section prints the load average.
#
# Folders: bench/mkfolder.py copies the .pt/.bin/.safetensors of the real
# corpus and testdata/fixtures round-robin with one mantissa byte changed per
# copy (every file distinct). Timings: bench/rounds.py, interleaved rounds.
#
# Env: RUNS (default 5), CORPUS (default /work/shared/corpus/real),
#      PYTHON (default /usr/bin/python3), OUT (default bench/out).
set -euo pipefail

N=${1:-2000}
NS=${2:-500}
RUNS=${RUNS:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CORPUS=${CORPUS:-/work/shared/corpus/real}
PYTHON=${PYTHON:-/usr/bin/python3}
OUT=${OUT:-$ROOT/bench/out}
BIN=$OUT/embtool
mkdir -p "$OUT"
load() { cut -d' ' -f1-3 /proc/loadavg; }

(cd "$ROOT" && CGO_ENABLED=0 go build -o "$BIN" ./cmd/embtool)
for n in "$NS" "$N"; do
    d=$OUT/speed-$n
    if [ ! -f "$d.complete" ]; then
        rm -rf "$d"
        find "$CORPUS" "$ROOT/testdata/fixtures" -maxdepth 1 -type f \
            \( -iname '*.pt' -o -iname '*.bin' -o -iname '*.safetensors' \) ! -name 'nan_inf.*' -print0 |
            xargs -0 "$PYTHON" "$ROOT/bench/mkfolder.py" "$n" "$d"
        touch "$d.complete"
    fi
    find "$d" -type f -print0 | xargs -0 cat > /dev/null # warm page cache
done
BIG=$OUT/speed-$N
SMALL=$OUT/speed-$NS
{
echo "# inspect speed: $N and $NS typical embeddings"
echo
echo "date $(date -u '+%Y-%m-%d %H:%M UTC'); nproc $(nproc); CPU $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "folder $N: $(find "$BIG" -type f | wc -l) files, $(du -sb "$BIG" | cut -f1) bytes; folder $NS: $(du -sb "$SMALL" | cut -f1) bytes"
echo

# --- correctness: same files, same hashes, same norms ------------------------
"$BIN" inspect --json "$BIG" > "$OUT/speed-inspect.jsonl" 2> /dev/null || true
"$PYTHON" "$ROOT/bench/torch_loader.py" "$BIG" > "$OUT/speed-torch.jsonl"
find "$BIG" -type f -print0 | xargs -0 sha256sum > "$OUT/speed-sha256sum.txt"
find "$BIG" -type f -print0 | xargs -0 openssl dgst -sha256 -r > "$OUT/speed-openssl.txt"
"$PYTHON" - "$OUT" <<'EOF'
import json, sys
out = sys.argv[1]
sha = {l[66:].rstrip("\n"): l[:64] for l in open(f"{out}/speed-sha256sum.txt")}
ossl = {l[66:].rstrip("\n"): l[:64] for l in open(f"{out}/speed-openssl.txt")}
emb = [json.loads(l) for l in open(f"{out}/speed-inspect.jsonl")]
tl = [json.loads(l) for l in open(f"{out}/speed-torch.jsonl")]
bad = sum(sha.get(r["path"]) != r.get("sha256") for r in emb + tl) + sum(ossl[p] != h for p, h in sha.items())
order = [r["path"] for r in emb] == sorted(r["path"] for r in emb)
def norms(r):
    return sorted(x for t in r.get("tensors", []) for x in t["norms"])
cmp = differ = okdiff = 0
for a, b in zip(emb, tl):
    okdiff += a["ok"] != b["ok"]
    if a["path"] == b["path"] and a["ok"] and b["ok"]:
        cmp += 1
        na, nb = norms(a), norms(b)
        differ += (a["vectors"], a["width"]) != (b["vectors"], b["width"]) or len(na) != len(nb) or \
            any(abs(x - y) > 1e-4 * max(abs(x), abs(y), 1e-6) for x, y in zip(na, nb))
ok = not bad and not differ and not okdiff and order and len(emb) == len(tl) == len(sha)
print(f"Check: {len(sha)} files; embtool {len(emb)} lines in path order: {order}, {sum(r['ok'] for r in emb)} ok; "
      f"torch loader {len(tl)} lines, {sum(r['ok'] for r in tl)} ok; sha256 mismatches (embtool, torch, openssl "
      f"vs sha256sum): {bad}; ok in one tool only: {okdiff}; vectors/width/norms differ in {differ} of {cmp} "
      f"files read by both: **{'PASS' if ok else 'FAIL'}**")
EOF
echo

# --- the folders, side by side --------------------------------------------
for d in "$BIG" "$SMALL"; do
    n=$(basename "$d"); n=${n#speed-}
    "$PYTHON" "$ROOT/bench/rounds.py" --runs "$RUNS" --out "$OUT/speed-rounds-$n.json" \
        "embtool inspect --json (2 workers)" "'$BIN' inspect --json '$d'" \
        "embtool inspect --json (GOMAXPROCS=1)" "GOMAXPROCS=1 '$BIN' inspect --json '$d'" \
        "find | xargs openssl dgst -sha256" "find '$d' -type f -print0 | xargs -0 openssl dgst -sha256" \
        "find | xargs sha256sum" "find '$d' -type f -print0 | xargs -0 sha256sum" \
        "torch loader (sequential, as A1111)" "'$PYTHON' '$ROOT/bench/torch_loader.py' '$d'"
done
ONE=()
for f in EasyNegative.safetensors negative_hand-neg.pt; do
    "$PYTHON" "$ROOT/bench/rounds.py" --runs "$((2 * RUNS))" --out "$OUT/speed-one-$f.json" \
        "embtool" "'$BIN' inspect --json '$CORPUS/$f'" \
        "torch" "'$PYTHON' '$ROOT/bench/torch_loader.py' '$CORPUS/$f'"
    ONE+=("$f")
done
"$PYTHON" - "$OUT" "$N" "$NS" "$(du -sb "$BIG" | cut -f1)" "${ONE[@]}" <<'EOF'
import json, statistics as st, sys
out, n, ns, nbytes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
ones = sys.argv[5:]
R = {k: {r["name"]: r for r in json.load(open(f"{out}/speed-rounds-{k}.json"))["results"]} for k in (n, ns)}
L = {k: json.load(open(f"{out}/speed-rounds-{k}.json"))["load"] for k in (n, ns)}
E2, E1, OS, SS, TL = ("embtool inspect --json (2 workers)", "embtool inspect --json (GOMAXPROCS=1)",
                      "find | xargs openssl dgst -sha256", "find | xargs sha256sum", "torch loader (sequential, as A1111)")
def w(k, name): return min(R[k][name]["wall"])
def c(k, name): return st.median(R[k][name]["cpu"])
for k in (n, ns):
    runs = len(R[k][E2]["wall"])
    print(f"### {k} files: interleaved rounds, {runs} runs each (+1 warm-up); load average before {' '.join(L[k][0])}, after {' '.join(L[k][1])}")
    print()
    print("| tool | wall s (best) | wall s (median) | CPU s (user+sys, median) | MB/s (best) | wall ÷ openssl | wall ÷ sha256sum | torch ÷ wall |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in R[k].items():
        m = min(r["wall"])
        print(f"| {name.replace('|', chr(92) + '|')} | {m:.3f} | {st.median(r['wall']):.3f} | {c(k, name):.3f} | {nbytes * k / n / 1e6 / m:,.0f} | "
              f"{m / w(k, OS):.2f} | {m / w(k, SS):.2f} | {w(k, TL) / m:.1f}× |")
    print()
    print(f"Two workers vs one: wall {w(k, E1) / w(k, E2):.2f}× faster (best runs; median {st.median(R[k][E1]['wall']) / st.median(R[k][E2]['wall']):.2f}×), "
          f"CPU {c(k, E2) / c(k, E1):.2f}× of one worker's.")
    print()
print(f"### marginal cost per extra file (slope between {ns} and {n} files)")
print()
print("| tool | wall ms/file (best runs) | CPU ms/file (medians) |")
print("|---|---:|---:|")
sl = {}
for name in (E2, E1, TL, OS, SS):
    sw = (w(n, name) - w(ns, name)) / (n - ns) * 1e3
    sc = (c(n, name) - c(ns, name)) / (n - ns) * 1e3
    sl[name] = (sw, sc)
    print(f"| {name.replace('|', chr(92) + '|')} | {sw:.3f} | {sc:.3f} |")
print()
print(f"embtool (2 workers) ÷ torch after import: wall {sl[E2][0] / sl[TL][0]:.2f}, CPU {sl[E2][1] / sl[TL][1]:.2f}; "
      f"embtool (1 worker) ÷ torch: wall {sl[E1][0] / sl[TL][0]:.2f}, CPU {sl[E1][1] / sl[TL][1]:.2f}.")
print()
print("### start to answer, one file (interleaved rounds, no shell; torch includes interpreter start and import torch)")
print()
print("| file | embtool ms (best / median) | torch loader ms (best / median) | speedup (medians) | load before → after |")
print("|---|---:|---:|---:|---|")
for f in ones:
    d = json.load(open(f"{out}/speed-one-{f}.json"))
    e, p = d["results"]
    print(f"| {f} | {min(e['wall'])*1e3:.1f} / {st.median(e['wall'])*1e3:.1f} | {min(p['wall'])*1e3:.0f} / {st.median(p['wall'])*1e3:.0f} | "
          f"{st.median(p['wall']) / st.median(e['wall']):.0f}× | {' '.join(d['load'][0])} → {' '.join(d['load'][1])} |")
print()
EOF

# --- allocations ----------------------------------------------------------
echo "### allocations over the $N-file folder (go test -bench -benchmem, bench/profile; load $(load))"
echo
echo '```'
(cd "$ROOT" && EMBTOOL_BENCH_DIR=$BIG go test -tags benchprofile -run '^$' -bench . -benchtime 3x -count 1 -benchmem ./bench/profile) |
    grep -E '^Benchmark' | awk -v b="$(du -sb "$BIG" | cut -f1)" '{for (i = 1; i <= NF; i++) if ($(i) == "B/op") printf "%s  = %.2f× the input bytes\n", $0, $(i-1) / b}'
echo '```'
echo

# --- the A1111 checksum ----------------------------------------------------
echo "### A1111 checksum (go test -bench Checksum ./pkg/embedding; 75×768 values; load $(load))"
echo
echo '```'
(cd "$ROOT" && go test -run '^$' -bench Checksum -benchtime 300x -count 3 ./pkg/embedding) | grep -E '^Benchmark'
echo '```'
echo

# --- streaming -------------------------------------------------------------
echo "### JSON Lines streaming (load $(load))"
echo
t0=$(date +%s.%N); { "$BIN" inspect --json "$BIG" 2> /dev/null || true; } | head -1 > /dev/null; t1=$(date +%s.%N)
t2=$(date +%s.%N); "$BIN" inspect --json "$BIG" > /dev/null 2>&1 || true; t3=$(date +%s.%N)
echo "- \`inspect --json $N-files | head -1\`: $(echo "($t1 - $t0) * 1000" | bc -l | xargs printf '%.0f') ms; the whole run: $(echo "($t3 - $t2) * 1000" | bc -l | xargs printf '%.0f') ms"
for d in "$SMALL" "$BIG"; do
    /usr/bin/time -f '%M' -o "$OUT/speed-rss" "$BIN" inspect --json "$d" > /dev/null 2>&1 || true
    echo "- peak RSS of \`inspect --json\` over $(find "$d" -type f | wc -l) files: $(($(tail -1 "$OUT/speed-rss") / 1024)) MiB"
done
echo
echo "load average at the end: $(load)"
} | tee "$OUT/speed.md"
