package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoFormatLogic: the CLI holds no format logic (issue 10). It names
// no magic numbers and sniffs no headers — pkg/identify and pkg/scan say
// what a file is, as typed results — and never decides an outcome by
// reading back the text it printed.
func TestNoFormatLogic(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	banned := []string{
		"bytes.HasPrefix", "embedding.Container(", "internal/sniff", "IsNPY(",
		`"\xff\xd8`, `"\x89PNG`, `"PK\x03\x04`, "ReadAt(head",
		".String(), \"skipped", "HasPrefix(r.out",
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range banned {
			if strings.Contains(string(src), b) {
				t.Errorf("%s: %q: format logic belongs in pkg/", f, b)
			}
		}
	}
}
