package identify

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/embtool/embtool/internal/sniff"
	"github.com/embtool/embtool/pkg/torchpt"
)

// TestFolder: every file of a folder built in code gets its kind, and
// the details its keys show.
func TestFolder(t *testing.T) {
	dir, wants := buildFolder(t)
	names := sortedNames(wants)
	for _, name := range names {
		w := wants[name]
		t.Run(name, func(t *testing.T) {
			res := identifyPath(t, filepath.Join(dir, name), nil)
			switch {
			case w.kind == KindTorchScript:
				// TorchScript runs code when loaded: the kind shows
				// beside the scanner's refusal.
				if !errors.Is(res.Err, torchpt.ErrUnsafe) {
					t.Errorf("error %v, want the TorchScript refusal", res.Err)
				}
			case res.Err != nil:
				t.Errorf("error: %v", res.Err)
			}
			if res.Kind != w.kind {
				t.Fatalf("kind %s (%s), want %s", res.Kind, res.Description(), w.kind)
			}
			if w.format != "" && res.Format != w.format {
				t.Errorf("format %q, want %q", res.Format, w.format)
			}
			if w.base != "" && res.Base != w.base {
				t.Errorf("base %q, want %q (%s)", res.Base, w.base, res.Description())
			}
			if w.rank != 0 && (res.RankMin != w.rank || res.RankMax != w.rank) {
				t.Errorf("rank %d–%d, want %d", res.RankMin, res.RankMax, w.rank)
			}
			if w.kind == KindEmbedding {
				if res.Layout != w.layout || res.Model != w.model || res.Vectors != w.vectors || res.Width != w.width {
					t.Errorf("embedding %s %s %d×%d, want %s %s %d×%d", res.Layout, res.Model, res.Vectors, res.Width, w.layout, w.model, w.vectors, w.width)
				}
			}
			if w.kind != KindEmbedding && !strings.Contains(res.Misplaced(), res.Description()) {
				t.Errorf("message %q does not describe the file", res.Misplaced())
			}
		})
	}
}

func sortedNames(m map[string]want) []string {
	var names []string
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// countingReader records every byte range read.
type countingReader struct {
	r     io.ReaderAt
	mu    sync.Mutex
	reads [][2]int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.mu.Lock()
	c.reads = append(c.reads, [2]int64{off, off + int64(n)})
	c.mu.Unlock()
	return n, err
}

func (c *countingReader) total() int64 {
	var n int64
	for _, r := range c.reads {
		n += r[1] - r[0]
	}
	return n
}

// inside counts the bytes read that lie in ranges.
func (c *countingReader) inside(ranges [][2]int64) int64 {
	var n int64
	for _, r := range c.reads {
		for _, d := range ranges {
			lo, hi := max(r[0], d[0]), min(r[1], d[1])
			if hi > lo {
				n += hi - lo
			}
		}
	}
	return n
}

func identifyPath(t *testing.T, path string, c **countingReader) *Result {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	cr := &countingReader{r: f}
	if c != nil {
		*c = cr
	}
	return File(cr, st.Size(), filepath.Base(path))
}

// probes: the sniff reads the first 512 bytes, which in a small file
// reach past a short header; archive/zip looks for the end of the central
// directory in the last 1 KiB, which in a small archive reaches back over
// the last storage record.
const probes = sniff.HeadSize + 1<<10

// TestNoTensorData: identifying a model file reads its headers only,
// never its tensor data (at most the probes overlap it),
// and a legacy file's pickles through windows of at most four times
// their length.
func TestNoTensorData(t *testing.T) {
	dir, wants := buildFolder(t)
	checked := 0
	for _, name := range sortedNames(wants) {
		w := wants[name]
		if w.dataFrom == nil {
			continue
		}
		path := filepath.Join(dir, name)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		data := w.dataFrom(b)
		var dataBytes int64
		for _, d := range data {
			dataBytes += d[1] - d[0]
		}
		var c *countingReader
		res := identifyPath(t, path, &c)
		if res.Kind != w.kind {
			t.Errorf("%s: kind %s, want %s", name, res.Kind, w.kind)
		}
		in, total := c.inside(data), c.total()
		headers := int64(len(b)) - dataBytes
		limit := int64(probes)
		if strings.HasPrefix(name, "legacy_") {
			limit = 64<<10 + 3*headers
		}
		t.Logf("%s: %d bytes, %d of tensor data; read %d bytes, %d of them tensor data", name, len(b), dataBytes, total, in)
		if in > limit {
			t.Errorf("%s: read %d bytes of tensor data, more than %d", name, in, limit)
		}
		if total > 64<<10+2*headers+in {
			t.Errorf("%s: read %d bytes for %d bytes of headers", name, total, headers)
		}
		if dataBytes < 8*total {
			t.Errorf("%s: the test file's tensor data (%d bytes) is too small to show a read of it", name, dataBytes)
		}
		checked++
	}
	if checked < 15 {
		t.Fatalf("only %d files checked", checked)
	}
}
