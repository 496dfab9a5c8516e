#!/usr/bin/env bash
# Cross-compiles every package's tests for windows/amd64 (go test -c) and
# runs them under Wine (Debian's wine64), so Windows path, rename and
# file-sharing semantics are tested on Linux. Needs wine64 and
# gcc-mingw-w64-x86-64 (apt) and ../shared/wine/bcryptprimitives.c.
# Arguments: the packages to test (default ./...).
#
# Where Wine cannot serve (stated, not hidden):
# - TestKillDuringConvert is skipped: it runs `go build` inside the test,
#   and there is no Windows Go toolchain in the Wine prefix.
# - UNC paths (\\host\share\...) are only checked as path arithmetic
#   (TestBatchOutputUNC): Wine has no SMB administrative shares, so
#   TestWindowsPathForms logs and skips the \\localhost\C$ form there.
# - Go 1.26's os.RemoveAll (used by t.TempDir cleanup) deletes with
#   FileDispositionInformationEx, which Wine 8 does not implement
#   (STATUS_NOT_IMPLEMENTED) and Go does not fall back from. The test
#   binaries are built with an -overlay that adds that status to Go's
#   fallback list; embtool itself never calls RemoveAll (os.Remove uses
#   DeleteFileW, which Wine has), and release builds use no overlay.
set -euo pipefail
cd "$(dirname "$0")/.."

shared=${SHARED:-../shared}
wine=${WINE:-/usr/lib/wine/wine64}
work=${TMPDIR:-/tmp}/embtool-wine-test
export WINEPREFIX=${WINEPREFIX:-$work/prefix} WINEDEBUG=${WINEDEBUG:--all}
mkdir -p "$work"

# Go's Windows runtime needs bcryptprimitives.dll (ProcessPrng), which
# Debian's Wine 8.0 lacks: build the stand-in into the prefix's System32.
dll=$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll
if [ ! -f "$dll" ]; then
  "$wine" cmd /c exit </dev/null >/dev/null 2>&1 || true   # creates the prefix
  x86_64-w64-mingw32-gcc -O2 -shared -o "$dll" "$shared/wine/bcryptprimitives.c" -ladvapi32
fi

# The RemoveAll overlay described above.
goroot=$(go env GOROOT)
at=$goroot/src/internal/syscall/windows/at_windows.go
grep -q 'STATUS_NOT_SUPPORTED:' "$at" || { echo "wine_test.sh: $at changed; update the overlay" >&2; exit 1; }
sed 's/\tSTATUS_NOT_SUPPORTED:/\tSTATUS_NOT_SUPPORTED, wineStatusNotImplemented:/' "$at" > "$work/at_windows.go"
echo 'const wineStatusNotImplemented NTStatus = 0xC0000002 // STATUS_NOT_IMPLEMENTED, from Wine' >> "$work/at_windows.go"
printf '{"Replace":{"%s":"%s"}}\n' "$at" "$work/at_windows.go" > "$work/overlay.json"

status=0
while read -r pkg dir; do
  [ -n "$dir" ] || continue
  name=$(echo "$pkg" | tr / _)
  exe=$work/$name.test.exe
  GOOS=windows GOARCH=amd64 CGO_ENABLED=0 go test -overlay "$work/overlay.json" -c -o "$exe" "$pkg"
  echo "== wine: $pkg"
  if ! (cd "$dir" && "$wine" "$exe" -test.skip '^TestKillDuringConvert$' </dev/null); then
    echo "FAIL under Wine: $pkg" >&2
    status=1
  fi
done < <(GOOS=windows go list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}} {{.Dir}}{{end}}' "${@:-./...}")
exit $status
