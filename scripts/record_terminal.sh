#!/bin/sh
# record_terminal.sh: run the README's examples in an 80-column terminal
# (a pty from script(1), sized 80×50, so embtool sees a real tty: fitted
# tables, colour, progress) and write the text to docs/terminal.txt, with
# colour codes removed. Needs script (util-linux) and Go.
# Usage: scripts/record_terminal.sh [CORPUS_DIR]   (default ../shared/corpus/real)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
corpus=${1:-$root/../shared/corpus/real}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$root" && CGO_ENABLED=0 go build -o "$work/bin/embtool" ./cmd/embtool)
mkdir -p "$work/emb"
for f in EasyNegative.safetensors EasyNegative.pt negative_hand-neg.pt FastNegativeV2.pt \
	badhandv4.pt "gasai yuno-1000.pt" "gasai yuno-1000.png" test_embedding.png \
	SDXL-HandsNeg.safetensors SD1.5-HairDetail.pt SD1.5-HairDetail.preview.png; do
	cp "$corpus/$f" "$work/emb/"
done
cp "$root/testdata/fixtures/png_plain.png" "$work/emb/preview.png"
cat > "$work/run.sh" <<'SH'
cd "$1/emb"
PATH="$1/bin:$PATH"; export PATH
PS1='$ '; export PS1
show() { printf '$ %s\n' "$*"; "$@"; echo "[exit $?]"; echo; }
show embtool inspect .
show env NO_COLOR=1 COLUMNS=60 embtool inspect badhandv4.pt
show embtool inspect --json badhandv4.pt
show embtool scan .
show embtool merge --weights 0.5,0.5 -o neg.safetensors EasyNegative.safetensors negative_hand-neg.pt
show embtool merge -o hand.safetensors 'FastNegativeV2.pt[50]'
show embtool merge --norm 0.4 -o badhand-soft.pt badhandv4.pt
show embtool merge --weights 1,-1 -o zero.pt badhandv4.pt badhandv4.pt
show embtool convert EasyNegative.safetensors EasyNegative-copy.pt
show embtool convert --name MyBadHand badhandv4.pt named.pt
show embtool tokens --embeddings . 'EasyNegative, (worst quality:1.4), badhandv4'
show embtool convert --to pt -o out .
mkdir -p ../empty
show embtool inspect ../empty
show embtool compare EasyNegative.safetensors EasyNegative.pt
show embtool merge --norm 0.5 -o xl-half.safetensors SDXL-HandsNeg.safetensors
show embtool inspect xl-half.safetensors
show embtool help merge
SH
env -u COLUMNS script -qec "stty cols 80 rows 50; sh $work/run.sh $work" /dev/null |
	sed -e 's/\x1b\[[0-9;]*[A-Za-z]//g' -e 's/\r$//' -e "s|$work|/tmp/x|g" > "$root/docs/terminal.txt"
echo "wrote docs/terminal.txt ($(wc -l < "$root/docs/terminal.txt") lines)"
