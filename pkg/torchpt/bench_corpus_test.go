package torchpt

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/embtool/embtool/internal/sniff"
)

// tpBenchFiles are the torch files (zip or legacy) of the corpus and the
// fixtures, read into memory.
func tpBenchFiles(b *testing.B) [][]byte {
	var out [][]byte
	for _, dir := range []string{tpCorpus, tpFixtures} {
		paths, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, p := range paths {
			data, err := os.ReadFile(p)
			if err != nil || len(data) < 16 || (!sniff.IsZip(data) && !sniff.IsPickle(data)) {
				continue
			}
			out = append(out, data)
		}
	}
	if len(out) == 0 {
		b.Skip("no torch files")
	}
	return out
}

// BenchmarkOpenCorpus opens every torch file of the corpus and the
// fixtures once per iteration (the directory walk, the scan and the VM;
// no tensor data is read).
func BenchmarkOpenCorpus(b *testing.B) {
	files := tpBenchFiles(b)
	b.ReportAllocs()
	for b.Loop() {
		for _, data := range files {
			OpenWith(bytes.NewReader(data), int64(len(data)), Options{})
		}
	}
}

// BenchmarkScanFileCorpus scans every torch file of the corpus and the
// fixtures once per iteration.
func BenchmarkScanFileCorpus(b *testing.B) {
	files := tpBenchFiles(b)
	b.ReportAllocs()
	for b.Loop() {
		for _, data := range files {
			ScanFile(bytes.NewReader(data), int64(len(data)))
		}
	}
}
