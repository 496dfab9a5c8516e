package inputfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestOpenRegular(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.pt")
	if err := os.WriteFile(p, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, size, err := Open(p)
	if err != nil || size != 5 {
		t.Fatalf("regular file: size %d, %v", size, err)
	}
	b := make([]byte, 5)
	if n, err := f.Read(b); n != 5 || err != nil || string(b) != "hello" {
		t.Errorf("read %q, %v", b[:n], err)
	}
	f.Close()
	if _, _, err := Open(dir); !errors.Is(err, ErrNotRegular) {
		t.Errorf("a folder: %v, want ErrNotRegular", err)
	}
	if _, _, err := Open(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
}
