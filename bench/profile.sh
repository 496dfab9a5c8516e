#!/usr/bin/env bash
# bench/profile.sh [DIR=bench/out/folder-10000]
#
# Where does `embtool inspect --json DIR` spend its time? Without changing
# embtool's code:
#   1. bench/profile (Go benchmarks, -tags benchprofile): the per-file work of
#      inspect on one goroutine vs the floor (read + sha256), with B/op;
#   2. a CPU profile and an allocation profile of that work (go tool pprof);
#   3. the real binary: GC count (GODEBUG=gctrace=1), GOGC=off and
#      GOMAXPROCS=1 runs, and `perf record` when perf works here.
# Run bench/inspect_folder.sh first: it makes the folder.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$ROOT/bench/out}
DIR=$(cd "${1:-$OUT/folder-10000}" && pwd)
BIN=$OUT/embtool
mkdir -p "$OUT"
(cd "$ROOT" && CGO_ENABLED=0 go build -o "$BIN" ./cmd/embtool)
find "$DIR" -type f -print0 | xargs -0 cat > /dev/null   # warm cache

echo "nproc $(nproc); $(uptime | sed 's/^ *//')"
echo
echo "## 1. per-file work on one goroutine (go test -bench, 3 runs each)"
(cd "$ROOT" && EMBTOOL_BENCH_DIR=$DIR go test -tags benchprofile -run '^$' -bench . -benchtime 1x -count 3 -benchmem ./bench/profile) \
    | grep -E '^Benchmark' | tee "$OUT/profile-bench.txt"

echo
echo "## 2. CPU and allocation profiles of BenchmarkInspect"
(cd "$ROOT" && EMBTOOL_BENCH_DIR=$DIR go test -tags benchprofile -run '^$' -bench 'Inspect$' -benchtime 3x -count 1 \
    -cpuprofile "$OUT/inspect-cpu.prof" -memprofile "$OUT/inspect-mem.prof" -memprofilerate 65536 \
    -o "$OUT/profile.test" ./bench/profile) | grep -E '^Benchmark'
echo
echo "### CPU, cumulative (top 30)"
go tool pprof -top -cum -nodecount 30 "$OUT/profile.test" "$OUT/inspect-cpu.prof" 2>/dev/null | sed -n '1,40p'
echo
echo "### CPU, flat (top 20)"
go tool pprof -top -nodecount 20 "$OUT/profile.test" "$OUT/inspect-cpu.prof" 2>/dev/null | sed -n '5,30p'
echo
echo "### bytes allocated, flat (top 12)"
go tool pprof -top -sample_index alloc_space -nodecount 12 "$OUT/profile.test" "$OUT/inspect-mem.prof" 2>/dev/null | sed -n '5,20p'
echo
echo "### bytes allocated, cumulative (top 20)"
go tool pprof -top -cum -sample_index alloc_space -nodecount 20 "$OUT/profile.test" "$OUT/inspect-mem.prof" 2>/dev/null | sed -n '5,28p'

echo
echo "## 3. the real binary over $DIR"
GODEBUG=gctrace=1 "$BIN" inspect --json "$DIR" 2> "$OUT/gctrace.txt" > /dev/null || true
echo "garbage collections in one run: $(grep -c '^gc ' "$OUT/gctrace.txt")"
command -v hyperfine > /dev/null && hyperfine --style basic -i --warmup 1 --runs 5 \
    -n "embtool (default)" "$BIN inspect --json '$DIR' > /dev/null 2>&1" \
    -n "GOGC=off" "GOGC=off $BIN inspect --json '$DIR' > /dev/null 2>&1" \
    -n "GOGC=400" "GOGC=400 $BIN inspect --json '$DIR' > /dev/null 2>&1" \
    -n "GOMAXPROCS=1" "GOMAXPROCS=1 $BIN inspect --json '$DIR' > /dev/null 2>&1" \
    -n "find | xargs sha256sum" "find '$DIR' -type f -print0 | xargs -0 sha256sum > /dev/null" \
    2>&1 | grep -E '^Benchmark|Time|Range'
if command -v perf > /dev/null && perf record -e cpu-clock -F 999 -g -o "$OUT/inspect.perf" "$BIN" inspect --json "$DIR" > /dev/null 2>&1; then
    echo
    echo "### perf, whole process, self time (top 20)"
    perf report -i "$OUT/inspect.perf" --stdio --no-children --sort symbol 2>/dev/null | grep -E '^ +[0-9]' | head -20 | sed 's/ *- *- *$//'
fi
echo
echo "$(uptime | sed 's/^ *//')"
