package pngembed

import (
	"bytes"
	"errors"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"
)

// countingReaderAt counts the ReadAt calls made on it.
type countingReaderAt struct {
	r     io.ReaderAt
	calls atomic.Int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	c.calls.Add(1)
	return c.r.ReadAt(p, off)
}

// manyChunksPNG is pixelPNG with n tEXt chunks before and after its IDAT
// data, and one IDAT split into many, interleaved with text chunks.
func manyChunksPNG(t testing.TB, n int) []byte {
	t.Helper()
	var before, after [][]byte
	text, ztxt := chunk("tEXt", []byte("k\x00v")), chunk("zTXt", zTXtData("comment", []byte("x")))
	for i := range n {
		before = append(before, text)
		if i%7 == 0 {
			after = append(after, ztxt)
		}
	}
	return encodePNG(t, insertPixels([]byte(sampleJSON), picture(8, 16, 2), 0x8), before, after)
}

// TestManyChunksFewReads checks that walking a PNG of many small chunks
// reads the input in blocks, not a few times per chunk: scan takes an
// *os.File, where every ReadAt is a system call (10^6 text chunks took
// 18 s before).
func TestManyChunksFewReads(t *testing.T) {
	const n = 20000
	b := manyChunksPNG(t, n)
	cr := &countingReaderAt{r: bytes.NewReader(b)}
	res, err := Decode(cr, int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	checkSample(t, res)
	// One read per 64 KiB block for the walk, a few for the pixels.
	if got, limit := cr.calls.Load(), int64(2*len(b)/blockSize+16); got > limit {
		t.Errorf("Decode made %d reads of a %d-byte PNG of %d chunks, want at most %d", got, len(b), n, limit)
	}
}

// TestManyChunksAllocation checks that the pixel path does not allocate
// per skipped chunk (image/png allocates 4 KiB for each chunk it skips).
func TestManyChunksAllocation(t *testing.T) {
	const n = 50000
	b := manyChunksPNG(t, n)
	got := allocated(func() {
		if _, err := decodeBytes(b); err != nil {
			t.Fatal(err)
		}
	})
	if limit := uint64(8*len(b) + 4<<20); got > limit {
		t.Errorf("Decode of a %d-byte PNG of %d text chunks allocated %d bytes, want at most %d", len(b), n, got, limit)
	}
}

// TestPixelStreamSameImage checks that image/png decodes the filtered
// stream to the same image as the whole file, for Pillow's files of every
// color type and depth and for files with extra chunks.
func TestPixelStreamSameImage(t *testing.T) {
	files, err := filepath.Glob("testdata/pillow/*.png")
	if err != nil || len(files) == 0 {
		t.Fatalf("no Pillow fixtures: %v", err)
	}
	inputs := map[string][]byte{"many chunks": manyChunksPNG(t, 100), "text": textPNG(t), "pixels": pixelPNG(t)}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs[filepath.Base(f)] = b
	}
	for name, b := range inputs {
		want, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := scan(bytes.NewReader(b), int64(len(b))); err != nil {
			t.Fatalf("%s: scan: %v", name, err)
		}
		got, err := png.Decode(newPixelStream(bytes.NewReader(b), int64(len(b))))
		if err != nil {
			t.Fatalf("%s: filtered: %v", name, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: the filtered stream decodes to a different image", name)
		}
	}
}

// TestPixelStreamTruncated checks that a stream cut anywhere ends in an
// error, not a silent EOF that could pass for a complete image.
func TestPixelStreamTruncated(t *testing.T) {
	b := manyChunksPNG(t, 3)
	for cut := 0; cut < len(b); cut += 7 {
		data, err := io.ReadAll(newPixelStream(bytes.NewReader(b), int64(cut)))
		if err == nil {
			t.Fatalf("cut at %d: read %d bytes without error", cut, len(data))
		}
	}
	if _, err := io.ReadAll(newPixelStream(bytes.NewReader(b), int64(len(b)))); err != nil {
		t.Fatalf("whole file: %v", err)
	}
}

// TestBlockReaderMatches compares blockReader with the reader it wraps for
// random reads, including reads across and past the end.
func TestBlockReaderMatches(t *testing.T) {
	data := make([]byte, 3*blockSize+123)
	rng := rand.New(rand.NewPCG(7, 7))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	src := bytes.NewReader(data)
	br := newBlockReader(src)
	for range 20000 {
		off := rng.Int64N(int64(len(data)) + 10)
		var n int
		switch rng.IntN(4) {
		case 0:
			n = rng.IntN(16)
		case 1:
			n = rng.IntN(200)
		case 2:
			n = rng.IntN(blockSize)
		default:
			n = rng.IntN(2 * blockSize)
		}
		want := make([]byte, n)
		wn, werr := src.ReadAt(want, off)
		got := make([]byte, n)
		gn, gerr := br.ReadAt(got, off)
		if gn != wn || !bytes.Equal(got[:gn], want[:wn]) || (gerr == nil) != (werr == nil) {
			t.Fatalf("ReadAt(%d bytes, %d) = %d, %v; want %d, %v", n, off, gn, gerr, wn, werr)
		}
	}
	if _, err := br.ReadAt(make([]byte, 1), -1); err == nil {
		t.Error("negative offset accepted")
	}
	fail := newBlockReader(failingReaderAt{})
	if _, err := fail.ReadAt(make([]byte, 4), 0); !errors.Is(err, errDisk) {
		t.Errorf("error %v, want the underlying error", err)
	}
}

var errDisk = errors.New("disk on fire")

type failingReaderAt struct{}

func (failingReaderAt) ReadAt([]byte, int64) (int, error) { return 0, errDisk }
