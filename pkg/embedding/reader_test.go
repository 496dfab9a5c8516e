package embedding

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"github.com/embtool/embtool/internal/inputfile"
	"github.com/embtool/embtool/internal/memread"
	"github.com/embtool/embtool/internal/testcorpus"
)

// A Reader gives what ReadFile gives for every fixture and corpus file,
// read one after another through its one buffer (large files after small
// ones and back), and allocates far less than the bytes it reads.
func TestReaderMatchesReadFile(t *testing.T) {
	var paths []string
	for _, dir := range []string{"../../testdata/fixtures", testcorpus.Dir(t)} {
		m, _ := filepath.Glob(filepath.Join(dir, "*"))
		paths = append(paths, m...)
	}
	sort.Slice(paths, func(i, j int) bool { return filepath.Base(paths[i]) < filepath.Base(paths[j]) })
	if len(paths) < 50 {
		t.Fatalf("%d files", len(paths))
	}
	rd := &Reader{}
	var total int64
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil || st.IsDir() {
			continue
		}
		total += st.Size()
		want, wsum, werr := ReadFile(p, Options{})
		got, gsum, gerr := rd.Read(p)
		if gsum != wsum || (gerr == nil) != (werr == nil) || (gerr != nil && gerr.Error() != werr.Error()) {
			t.Fatalf("%s: Read: %s %v; ReadFile: %s %v", p, gsum, gerr, wsum, werr)
		}
		if werr != nil {
			continue
		}
		if len(got.All) != len(want.All) || got.Count != want.Count || got.Layout != want.Layout {
			t.Fatalf("%s: Read and ReadFile disagree", p)
		}
		for i := range want.All {
			g, w := got.All[i].Tensor, want.All[i].Tensor
			if got.All[i].Key != want.All[i].Key || g.DType != w.DType || !reflect.DeepEqual(g.Shape, w.Shape) || !bytes.Equal(g.Data, w.Data) {
				t.Fatalf("%s: tensor %s differs", p, want.All[i].Key)
			}
		}
		if c1, ok1 := got.Checksum(); true {
			if c2, ok2 := want.Checksum(); c1 != c2 || ok1 != ok2 {
				t.Fatalf("%s: checksum %s, ReadFile %s", p, c1, c2)
			}
		}
	}
	// Once the buffer has grown, a second pass over the torch and
	// safetensors files allocates well under the bytes read (ReadFile
	// allocates at least all of them).
	var tensorFiles []string
	total = 0
	for _, p := range paths {
		switch filepath.Ext(p) {
		case ".pt", ".bin", ".safetensors":
			st, _ := os.Stat(p)
			total += st.Size()
			tensorFiles = append(tensorFiles, p)
		}
	}
	alloc := testcorpus.Allocated(func() {
		for _, p := range tensorFiles {
			rd.Read(p)
		}
	})
	if alloc > uint64(total)*3/4 {
		t.Errorf("a pass over %d bytes through a Reader allocated %d bytes", total, alloc)
	}
	t.Logf("%d files, %d bytes: a pass through a Reader allocates %d bytes (%.2f×)", len(tensorFiles), total, alloc, float64(alloc)/float64(total))
}

// FuzzDecodeInMemory: decoding from bytes in memory (tensors share them)
// gives what decoding through copies gives, error for error and byte for
// byte, never writes to the input, and never lets a tensor reach past its
// own bytes.
func FuzzDecodeInMemory(f *testing.F) {
	for _, dir := range []string{ehFixtures, ehMalicious, ehCorrupt, "../../../shared/corpus/real"} {
		names, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, p := range names {
			if b, err := os.ReadFile(p); err == nil && len(b) <= 24<<10 && filepath.Ext(p) != ".json" && filepath.Ext(p) != ".jsonl" {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<20 {
			return
		}
		orig := bytes.Clone(b)
		for _, opts := range []Options{{}, {AllowUnsafe: true}} {
			want, werr := Decode(bytes.NewReader(b), int64(len(b)), opts)
			got, gerr := Decode(memread.New(b), int64(len(b)), opts)
			if (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
				t.Fatalf("in memory: %v; through copies: %v", gerr, werr)
			}
			if werr != nil {
				continue
			}
			if len(got.All) != len(want.All) {
				t.Fatalf("%d tensors in memory, %d through copies", len(got.All), len(want.All))
			}
			for i := range want.All {
				g, w := got.All[i].Tensor, want.All[i].Tensor
				if !bytes.Equal(g.Data, w.Data) || cap(g.Data) > len(g.Data) && len(g.Data) > 0 && sharesTail(g.Data, b) {
					t.Fatalf("tensor %s differs or reaches past its bytes", want.All[i].Key)
				}
			}
			if c1, ok1 := got.Checksum(); true {
				if c2, ok2 := want.Checksum(); c1 != c2 || ok1 != ok2 {
					t.Fatalf("checksum %s %v, through copies %s %v", c1, ok1, c2, ok2)
				}
			}
		}
		if !bytes.Equal(b, orig) {
			t.Fatal("decoding wrote to its input")
		}
	})
}

// sharesTail reports a slice of b whose capacity runs past its length
// into b.
func sharesTail(s, b []byte) bool {
	if len(b) == 0 {
		return false
	}
	end := &s[:cap(s)][cap(s)-1]
	for i := range b {
		if &b[i] == end {
			return true
		}
	}
	return false
}

// The short path for small regular files fails as os.Open does, and hands
// anything else to it.
func TestReadFileErrors(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := ReadFile(filepath.Join(dir, "missing.pt"), Options{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	} else if pe, ok := err.(*fs.PathError); !ok || pe.Op != "open" {
		t.Errorf("missing file: %#v, want an open *fs.PathError", err)
	}
	if _, _, err := ReadFile(dir, Options{}); !errors.Is(err, inputfile.ErrNotRegular) {
		t.Errorf("directory: %v", err)
	}
	empty := filepath.Join(dir, "empty.pt")
	os.WriteFile(empty, nil, 0o644)
	if _, sum, err := ReadFile(empty, Options{}); err == nil || sum != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Errorf("empty file: %q, %v", sum, err)
	}
}
