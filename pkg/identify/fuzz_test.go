package identify

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzFile: File never panics. Seeds are the small testdata files: every
// input that finds new coverage is minimised byte by byte, which is slow
// for large ones.
func FuzzFile(f *testing.F) {
	for _, dir := range []string{"fixtures", "corrupt", "malicious", "checkpoint"} {
		paths, _ := filepath.Glob(filepath.Join("../../testdata", dir, "*"))
		for _, p := range paths {
			if b, err := os.ReadFile(p); err == nil && len(b) <= 8<<10 {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		res := File(bytes.NewReader(b), int64(len(b)), "fuzz")
		_ = res.Misplaced()
	})
}

// TestHostileFiles: every corrupt and malicious file of testdata gets a
// kind and, unless it is a readable file of another kind, an error.
func TestHostileFiles(t *testing.T) {
	for _, dir := range []string{"corrupt", "malicious"} {
		paths, _ := filepath.Glob(filepath.Join("../../testdata", dir, "*.p*"))
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			res := File(bytes.NewReader(b), int64(len(b)), filepath.Base(p))
			if res.Kind == "" {
				t.Errorf("%s: no kind", p)
			}
			if res.Err == nil && res.Kind == KindEmbedding {
				t.Errorf("%s: a valid embedding?", p)
			}
		}
	}
}
