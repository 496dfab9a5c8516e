package torchpt

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// tpScanFileDirs hold every file ScanFile is compared on: the test data,
// the real corpus and the peer scanners' samples (absent folders add
// nothing; the corpus is required where EMBTOOL_REQUIRE_CORPUS is set, by
// the corpus tests).
var tpScanFileDirs = []string{"../../testdata", "../../cmd/embtool/testdata", tpCorpus, "../../../shared/corpus/peers"}

// TestScanFileOneWalk: ScanFile, which checks a torch file in the walk
// that scans it, reports exactly what it did when it scanned every pickle
// and then opened the file again (oldScanFile): format, pickles, records,
// error and verdict.
func TestScanFileOneWalk(t *testing.T) {
	files, withErr := 0, 0
	for _, dir := range tpScanFileDirs {
		filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			info, err := d.Info()
			if err != nil || info.Size() > 64<<20 {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return nil
			}
			files++
			if d := tpScanFileDiff(b); d != "" {
				t.Errorf("%s: %s", path, d)
			}
			if s := ScanFile(bytes.NewReader(b), int64(len(b))); s.Err != nil && (s.Format == FormatZip || s.Format == FormatLegacy) {
				withErr++
			}
			return nil
		})
	}
	if files < 300 {
		t.Fatalf("only %d files", files)
	}
	t.Logf("%d files, %d torch files with an error", files, withErr)
}

// tpScanFileDiff describes how ScanFile and oldScanFile differ on b.
func tpScanFileDiff(b []byte) string {
	got := ScanFile(bytes.NewReader(b), int64(len(b)))
	want := oldScanFile(bytes.NewReader(b), int64(len(b)))
	switch {
	case got.Format != want.Format:
		return fmt.Sprintf("format %q, was %q", got.Format, want.Format)
	case !reflect.DeepEqual(got.Records, want.Records):
		return fmt.Sprintf("records %v, were %v", got.Records, want.Records)
	case !reflect.DeepEqual(got.Pickles, want.Pickles):
		return fmt.Sprintf("pickles %+v, were %+v", got.Pickles, want.Pickles)
	case fmt.Sprintf("%T %v", got.Err, got.Err) != fmt.Sprintf("%T %v", want.Err, want.Err):
		return fmt.Sprintf("error %T %v, was %T %v", got.Err, got.Err, want.Err, want.Err)
	case got.Verdict() != want.Verdict():
		return fmt.Sprintf("verdict %s, was %s", got.Verdict(), want.Verdict())
	}
	return ""
}

// FuzzScanFileOneWalk: the same comparison on fuzzed files.
func FuzzScanFileOneWalk(f *testing.F) {
	tpFuzzSeedFiles(f, func(name string, b []byte) bool { return len(b) > 0 },
		tpCorpus, tpFixtures, tpMalicious, tpCorrupt, tpZipAttacks, tpAttacks)
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > tpFuzzMax {
			return
		}
		if d := tpScanFileDiff(b); d != "" {
			t.Fatal(d)
		}
	})
}
