package torchpt

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/embtool/embtool/internal/sniff"
)

// TestIsTarHeader: the first block of the v7 attack file with its
// checksum field spelled the ways tarfile accepts or refuses (checked
// with Python 3.11's tarfile.open: int(s, 8) after cutting at NUL and
// stripping spaces).
func TestIsTarHeader(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(tpAttacks, "tar_v7.pt"))
	if err != nil {
		t.Fatal(err)
	}
	for field, want := range map[string]bool{
		"006302\x00 ":                      true,
		" 0o6302 ":                         true,
		"+006302\x00":                      true,
		"006_302\x00":                      true,
		"630_\x00\x00\x00\x00":             false,
		"0\x00\x00\x00\x00\x00\x00\x00":    false,
		"006303\x00 ":                      false,
		"\x80\x00\x00\x00\x00\x00\x0c\xc2": true, // base-256
	} {
		c := bytes.Clone(b)
		copy(c[148:156], field)
		if got := sniff.IsTarHeader(c); got != want {
			t.Errorf("checksum field %q: isTarHeader %v, want %v", field, got, want)
		}
	}
	if sniff.IsTarHeader(make([]byte, 1024)) {
		t.Error("a block of NULs is not a tar header")
	}
}

// TestScanFileDataLookalikes: a safetensors file whose first byte is an
// opcode stays safetensors when the pickle breaks before anything ran,
// and is scanned as a pickle (here unsafe) when it does not.
func TestScanFileDataLookalikes(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(tpFixtures, "diffusers_1x768.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != 'p' {
		t.Fatalf("fixture starts with %q, the test wants PUT", b[0])
	}
	if s := ScanFile(bytes.NewReader(b), int64(len(b))); s.Format != "" || s.Verdict() != VerdictSafe {
		t.Errorf("format %q verdict %s: %v", s.Format, s.Verdict(), s.Err)
	}
	p, err := os.ReadFile(filepath.Join(tpAttacks, "polyglot_safetensors.pt"))
	if err != nil {
		t.Fatal(err)
	}
	if s := ScanFile(bytes.NewReader(p), int64(len(p))); s.Format != "pickle" || s.Verdict() != VerdictUnsafe {
		t.Errorf("polyglot: format %q verdict %s", s.Format, s.Verdict())
	}
}
