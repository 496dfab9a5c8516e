package safetensors

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// FuzzOpen opens arbitrary bytes and loads every entry of whatever opens.
// It checks that Open never panics, that its errors are well-formed, that
// every entry lies inside the file, and that a file that opens survives a
// Write round trip.
func FuzzOpen(f *testing.F) {
	if files, _ := filepath.Glob(filepath.Join(corpusDir, "*.safetensors")); len(files) > 0 {
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil && len(b) <= 64<<10 {
				f.Add(b)
			}
		}
	}
	seeds := [][]byte{
		nil,
		file("{}", nil),
		file("\t\n{}\r ", nil),
		file(`{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, seq(8)),
		file(`{"b":{"dtype":"F16","shape":[1,2],"data_offsets":[4,8]},"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}`, seq(8)),
		file(`{"z":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"s":{"dtype":"F64","shape":[],"data_offsets":[0,8]}}`, seq(8)),
		file(`{"q":{"dtype":"F4","shape":[2],"data_offsets":[0,1]},"x":{"dtype":"BF16","x":[{"y":null}],"shape":[1],"data_offsets":[1,3]}}`, seq(3)),
		file(`{"\u00e9\ud83d\ude00":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},"__metadata__":null}`, seq(8)),
		file(`{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}`, seq(4)),
		file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, seq(8)),
		fileN(MaxHeaderSize+1, "{}", nil),
		fileN(1<<20, "{}", nil),
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		size := int64(len(data))
		st, err := Open(bytes.NewReader(data), size)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "safetensors: ") || !errors.Is(err, ErrFormat) {
				t.Fatalf("malformed error %q", err)
			}
			return
		}
		dataStart := 8 + int64(st.headerLen())
		if dataStart > size {
			t.Fatalf("header of %d bytes in a %d-byte file", st.headerLen(), size)
		}
		var named []Named
		var covered int64
		for _, e := range st.Tensors() {
			if e.Begin < dataStart || e.Begin > e.End || e.End > size {
				t.Fatalf("tensor %q spans [%d,%d) outside data [%d,%d)", e.Name, e.Begin, e.End, dataStart, size)
			}
			covered += e.End - e.Begin
			if g, ok := st.Get(e.Name); !ok || g != e {
				t.Fatalf("Get(%q) does not return the entry", e.Name)
			}
			ld, err := e.Load()
			if err != nil {
				t.Fatalf("Load(%q): %v", e.Name, err)
			}
			if int64(len(ld.Data)) != e.End-e.Begin || !bytes.Equal(ld.Data, data[e.Begin:e.End]) {
				t.Fatalf("Load(%q) returned %d bytes, want %d", e.Name, len(ld.Data), e.End-e.Begin)
			}
			if e.Reader().Size() != e.End-e.Begin {
				t.Fatalf("Reader(%q) size %d", e.Name, e.Reader().Size())
			}
			named = append(named, Named{e.Name, e})
		}
		if covered != size-dataStart {
			t.Fatalf("tensors cover %d bytes of %d data bytes", covered, size-dataStart)
		}

		// What opens can be written, and reads back the same.
		var buf bytes.Buffer
		if err := Write(&buf, named, st.Metadata()); err != nil {
			t.Fatalf("re-writing: %v", err)
		}
		again, err := Open(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatalf("re-opening the re-written file: %v", err)
		}
		if !mapsEqualNil(again.Metadata(), st.Metadata()) || len(again.Tensors()) != len(named) {
			t.Fatalf("round trip changed metadata or tensor count")
		}
		for _, e := range st.Tensors() {
			g, ok := again.Get(e.Name)
			if !ok || g.DType != e.DType || !slices.Equal(g.Shape, e.Shape) || g.Size() != e.Size() {
				t.Fatalf("round trip changed tensor %q", e.Name)
			}
			gd, _ := g.Load()
			if !bytes.Equal(gd.Data, data[e.Begin:e.End]) {
				t.Fatalf("round trip changed the bytes of %q", e.Name)
			}
		}
	})
}
