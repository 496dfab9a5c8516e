#!/usr/bin/env bash
# bench/identify.sh: start to answer of `embtool inspect --json` on big
# files that are not embeddings (issue 10: <= 200 ms including process
# start, <= 64 MiB RSS). bench/mkmodels writes, once, into bench/out/models:
# an SD1 checkpoint with EMA (2.6 GiB) as safetensors and as a torch zip
# .ckpt, a rank-256 kohya SDXL LoRA (2.0 GiB) and a legacy-format .ckpt
# (7.8 GiB sparse). Each is timed RUNS times with /usr/bin/time: wall
# seconds sorted, CPU (user+sys) seconds sorted, largest RSS.
set -euo pipefail
RUNS=${RUNS:-10}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$ROOT/bench/out}
M=$OUT/models
mkdir -p "$M"
(cd "$ROOT" && CGO_ENABLED=0 go build -o "$OUT/embtool" ./cmd/embtool)
[ -e "$M/legacy.ckpt" ] || (cd "$ROOT" && go run -tags benchtools ./bench/mkmodels "$M")
echo "load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
for f in "$M"/sd15.safetensors "$M"/sd15.ckpt "$M"/sdxl_lora.safetensors "$M"/legacy.ckpt; do
  cat "$f" > /dev/null 2>&1 || true  # warm the page cache (sparse: fast)
  t=$(mktemp)
  for _ in $(seq "$RUNS"); do
    { /usr/bin/time -f "%e %U %S %M" "$OUT/embtool" inspect --json "$f" 2>&1 >/dev/null || true; } | tail -1
  done > "$t"
  echo "$(basename "$f") ($(stat -c %s "$f") bytes): $({ "$OUT/embtool" inspect --json "$f" 2>/dev/null || true; } | sed 's/.*"kind":"\([^"]*\)".*/\1/')"
  echo "  wall s: $(cut -d' ' -f1 "$t" | sort -n | tr '\n' ' ')"
  echo "  cpu s:  $(awk '{printf "%.2f\n", $2+$3}' "$t" | sort -n | tr '\n' ' ')"
  echo "  max RSS: $(cut -d' ' -f4 "$t" | sort -n | tail -1) KiB"
  rm -f "$t"
done
