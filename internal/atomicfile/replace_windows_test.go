//go:build windows

package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Windows semantics of replacing an output (run under Wine in CI, see
// scripts/wine_test.sh).

func writeTemp(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func readString(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestReplaceExisting(t *testing.T) {
	dir := t.TempDir()
	dst := writeTemp(t, dir, "out.pt", "old")
	tmp := writeTemp(t, dir, TempPrefix+"1-out.pt", "new")
	if err := replaceFile(tmp, dst); err != nil {
		t.Fatal(err)
	}
	if got := readString(t, dst); got != "new" {
		t.Fatalf("after replace: %q", got)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("temporary file still there: %v", err)
	}
}

// An output held open (as os.Open, Python's open() and most programs do:
// without FILE_SHARE_DELETE) cannot be replaced on Windows: the error
// says so and the old file is untouched.
func TestReplaceTargetOpen(t *testing.T) {
	defer func(d time.Duration) { replaceRetryFor = d }(replaceRetryFor)
	replaceRetryFor = 200 * time.Millisecond
	dir := t.TempDir()
	dst := writeTemp(t, dir, "out.pt", "old")
	tmp := writeTemp(t, dir, TempPrefix+"2-out.pt", "new")
	f, err := os.Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	err = replaceFile(tmp, dst)
	f.Close()
	if !errors.Is(err, ErrTargetOpen) {
		t.Fatalf("replace over an open file: %v, want ErrTargetOpen", err)
	}
	if got := readString(t, dst); got != "old" {
		t.Fatalf("old file changed: %q", got)
	}
}

// A target released while replaceFile retries is replaced.
func TestReplaceTargetReleased(t *testing.T) {
	dir := t.TempDir()
	dst := writeTemp(t, dir, "out.pt", "old")
	tmp := writeTemp(t, dir, TempPrefix+"3-out.pt", "new")
	f, err := os.Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(300*time.Millisecond, func() { f.Close() })
	if err := replaceFile(tmp, dst); err != nil {
		t.Fatalf("replace after the other handle closed: %v", err)
	}
	if got := readString(t, dst); got != "new" {
		t.Fatalf("after replace: %q", got)
	}
}
