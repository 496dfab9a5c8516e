//go:build benchprofile

// Package profile is a measuring harness, not a test: it runs the per-file
// work of `embtool inspect --json` through the public packages, on one
// goroutine, so a CPU and an allocation profile say where the time of
// bench/inspect_folder.sh goes without touching embtool's code. It is built
// only with -tags benchprofile (bench/profile.sh), so `go test ./...` skips it.
//
//	EMBTOOL_BENCH_DIR=bench/out/folder-10000 go test -tags benchprofile \
//	    -run '^$' -bench . -benchmem ./bench/profile
package profile

import (
	"crypto/sha256"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/embtool/embtool/pkg/embedding"
)

func folder(b *testing.B) ([]string, int64) {
	dir := os.Getenv("EMBTOOL_BENCH_DIR")
	if dir == "" {
		b.Skip("EMBTOOL_BENCH_DIR is not set (bench/profile.sh sets it)")
	}
	var paths []string
	var total int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".pt", ".bin", ".safetensors":
			if d.Type().IsRegular() {
				info, err := d.Info()
				if err != nil {
					return err
				}
				paths = append(paths, p)
				total += info.Size()
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	sort.Strings(paths)
	return paths, total
}

// inspectLike does what cmd/embtool's inspectFile does for one file, less
// building the report struct and the JSON encoding: read + hash + decode,
// the A1111 checksum, the norms of every shown tensor, the row norms.
// Like inspect's workers, it reads through one embedding.Reader.
func inspectLike(path string) { inspectWith(reader.Read, path) }

var reader embedding.Reader

func inspectWith(read func(string) (*embedding.Embedding, string, error), path string) {
	e, _, err := read(path)
	if err != nil {
		return
	}
	e.Checksum()
	for i := range e.Vectors {
		e.VectorNorms(i) // computed once by the read, as inspect shows them
	}
	if len(e.Vectors) == 0 { // refused: inspect shows the norms of all
		for _, t := range e.All {
			embedding.Norms(t.Tensor)
		}
	}
	e.RowNorms()
}

func run(b *testing.B, fn func(string)) {
	paths, total := folder(b)
	b.SetBytes(total)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, p := range paths {
			fn(p)
		}
	}
	b.ReportMetric(float64(len(paths)*b.N)/b.Elapsed().Seconds(), "files/s")
}

// BenchmarkFloor: read each file whole and sha256 it — the least inspect can do.
func BenchmarkFloor(b *testing.B) {
	run(b, func(p string) {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		sha256.Sum256(data)
	})
}

// BenchmarkReadFile: embedding.ReadFile alone (read, hash, parse, detect,
// value warnings).
func BenchmarkReadFile(b *testing.B) {
	run(b, func(p string) { embedding.ReadFile(p, embedding.Options{}) })
}

// BenchmarkInspect: the whole per-file work of inspect but the JSON.
func BenchmarkInspect(b *testing.B) {
	run(b, inspectLike)
}

// BenchmarkInspectNewBuffers: the same with a new buffer per file
// (embedding.ReadFile), as other commands read.
func BenchmarkInspectNewBuffers(b *testing.B) {
	run(b, func(p string) {
		inspectWith(func(p string) (*embedding.Embedding, string, error) {
			return embedding.ReadFile(p, embedding.Options{})
		}, p)
	})
}
