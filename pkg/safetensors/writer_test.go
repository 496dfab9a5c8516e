package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/embtool/embtool/pkg/tensor"
)

func tens(dt tensor.DType, shape []int, data []byte) *tensor.Tensor {
	return &tensor.Tensor{DType: dt, Shape: shape, Data: data}
}

// TestWriteReferenceBytes checks Write against byte strings the reference
// Rust writer's own tests pin down.
func TestWriteReferenceBytes(t *testing.T) {
	f32s := func(v ...float32) []byte {
		var b []byte
		for _, x := range v {
			b = binary.LittleEndian.AppendUint32(b, tensor.F32Bits(x))
		}
		return b
	}
	tests := []struct {
		name     string
		tensors  []Named
		metadata map[string]string
		want     []byte
	}{
		{"empty", nil, nil, fileN(8, "{}      ", nil)},
		{"metadata only", nil, map[string]string{"framework": "pt"}, fileN(40, `{"__metadata__":{"framework":"pt"}}     `, nil)},
		{"no padding needed", []Named{{"attn.0", tens(tensor.F32, []int{1, 2, 3}, f32s(0, 1, 2, 3, 4, 5))}}, nil,
			fileN(64, `{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}`, f32s(0, 1, 2, 3, 4, 5))},
		{"forced alignment", []Named{{"attn0", tens(tensor.F32, []int{1, 1, 2, 3}, f32s(0, 1, 2, 3, 4, 5))}}, nil,
			fileN(72, `{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       `, f32s(0, 1, 2, 3, 4, 5))},
		{"empty metadata is written", nil, map[string]string{}, fileN(24, `{"__metadata__":{}}     `, nil)},
		{"metadata keys sorted", nil, map[string]string{"b": "2", "a": "1", "B": "3"}, file(`{"__metadata__":{"B":"3","a":"1","b":"2"}}`+"      ", nil)},
		{"scalar and empty", []Named{{"s", tens(tensor.F64, []int{}, seq(8))}, {"e", tens(tensor.F64, []int{0, 3}, nil)}}, nil,
			file(`{"e":{"dtype":"F64","shape":[0,3],"data_offsets":[0,0]},"s":{"dtype":"F64","shape":[],"data_offsets":[0,8]}}`+"    ", seq(8))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, tt.tensors, tt.metadata); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), tt.want) {
				t.Fatalf("Write =\n%q\nwant\n%q", buf.Bytes(), tt.want)
			}
			if _, err := openBytes(buf.Bytes()); err != nil {
				t.Fatalf("reading back: %v", err)
			}
		})
	}
}

func TestWriteRoundTrip(t *testing.T) {
	in := []Named{
		{"b", tens(tensor.F16, []int{3}, seq(6))},
		{"a", tens(tensor.F32, []int{2, 2}, seq(16))},
		{"c", tens(tensor.F32, []int{1}, seq(4))},
		{"z", tens(tensor.U8, []int{5}, seq(5))},
		{"e", tens(tensor.F64, []int{}, seq(8))},
		{"0", tens(tensor.BOOL, []int{1, 1}, []byte{1})},
		{"q", tens(tensor.F4, []int{4}, seq(2))},
		{"bf", tens(tensor.BF16, []int{2}, seq(4))},
		{"u", tens(tensor.U64, []int{1}, seq(8))},
		{"empty", tens(tensor.F32, []int{0}, []byte{})},
	}
	wantOrder := []string{"u", "e", "a", "c", "empty", "bf", "b", "z", "q", "0"}
	meta := map[string]string{"format": "pt", "modelspec.title": "x\ny", "": ""}
	var buf bytes.Buffer
	if err := Write(&buf, in, meta); err != nil {
		t.Fatal(err)
	}
	out := buf.Bytes()
	f, err := openBytes(out)
	if err != nil {
		t.Fatal(err)
	}
	if (8+f.headerLen())%8 != 0 {
		t.Errorf("8+N = %d is not a multiple of 8", 8+f.headerLen())
	}
	hdr := out[8 : 8+f.headerLen()]
	if hdr[0] != '{' || bytes.HasSuffix(bytes.TrimRight(hdr, " "), []byte(" ")) || !bytes.HasPrefix(hdr, []byte(`{"__metadata__":{"":"","format":"pt","modelspec.title":"x\ny"},"u":`)) {
		t.Errorf("header = %s", hdr)
	}
	if !mapsEqualNil(f.Metadata(), meta) {
		t.Errorf("Metadata() = %v", f.Metadata())
	}
	var names []string
	prevEnd := 8 + int64(f.headerLen())
	for _, e := range f.Tensors() {
		names = append(names, e.Name)
		if e.Begin != prevEnd {
			t.Errorf("tensor %q begins at %d, want %d", e.Name, e.Begin, prevEnd)
		}
		prevEnd = e.End
	}
	if !slices.Equal(names, wantOrder) {
		t.Errorf("order %v, want %v", names, wantOrder)
	}
	for _, n := range in {
		e, ok := f.Get(n.Name)
		if !ok {
			t.Fatalf("tensor %q missing", n.Name)
		}
		got, err := e.Load()
		if err != nil {
			t.Fatal(err)
		}
		want := n.Src.(*tensor.Tensor)
		if got.DType != want.DType || !slices.Equal(got.Shape, want.Shape) || !bytes.Equal(got.Data, want.Data) {
			t.Errorf("tensor %q = %s%v %v, want %s%v %v", n.Name, got.DType, got.Shape, got.Data, want.DType, want.Shape, want.Data)
		}
	}

	// Re-writing what was read gives the same bytes.
	var again bytes.Buffer
	var named []Named
	for _, e := range f.Tensors() {
		named = append(named, Named{e.Name, e})
	}
	if err := Write(&again, named, f.Metadata()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Bytes(), out) {
		t.Fatal("re-writing a written file changed its bytes")
	}
}

func TestWriteEscapes(t *testing.T) {
	names := []string{"q\"b\\s", "ctl\b\f\n\r\t\x00\x1f\x7f", "<html>&amp;", "é😀/\u2028"}
	var in []Named
	for _, n := range names {
		in = append(in, Named{n, tens(tensor.U8, []int{0}, nil)})
	}
	var buf bytes.Buffer
	if err := Write(&buf, in, map[string]string{"k\u0001": "v\"\u001b"}); err != nil {
		t.Fatal(err)
	}
	hdr := string(buf.Bytes()[8:])
	for _, want := range []string{
		`{"__metadata__":{"k\u0001":"v\"\u001b"},`,
		`"<html>&amp;":`, `"ctl\b\f\n\r\t\u0000\u001f` + "\x7f" + `":`, `"q\"b\\s":`, "\"é😀/\u2028\":",
	} {
		if !strings.Contains(hdr, want) {
			t.Errorf("header %q does not contain %q", hdr, want)
		}
	}
	f, err := openBytes(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if _, ok := f.Get(n); !ok {
			t.Errorf("name %q did not survive the round trip", n)
		}
	}
	if f.Metadata()["k\u0001"] != "v\"\u001b" {
		t.Errorf("metadata = %q", f.Metadata())
	}
}

// badSource promises one thing and loads another.
type badSource struct {
	dt    tensor.DType
	shape []int
	load  *tensor.Tensor
	err   error
}

func (s *badSource) Meta() (tensor.DType, []int)   { return s.dt, s.shape }
func (s *badSource) Load() (*tensor.Tensor, error) { return s.load, s.err }

type failWriter struct{ after int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.after <= 0 {
		return 0, errors.New("disk full")
	}
	w.after--
	return len(p), nil
}

func TestWriteRejects(t *testing.T) {
	ok := tens(tensor.F32, []int{2}, seq(8))
	loadErr := errors.New("storage gone")
	tests := []struct {
		name     string
		tensors  []Named
		metadata map[string]string
		w        io.Writer
		is       error
		want     string
	}{
		{"duplicate name", []Named{{"a", ok}, {"a", ok}}, nil, nil, ErrInvalid, `duplicate tensor name "a"`},
		{"reserved name", []Named{{"__metadata__", ok}}, nil, nil, ErrInvalid, `a tensor cannot be named "__metadata__"`},
		{"invalid UTF-8 name", []Named{{"a\xff", ok}}, nil, nil, ErrInvalid, `tensor name "a\xff" is not valid UTF-8`},
		{"invalid UTF-8 metadata key", nil, map[string]string{"\xff": ""}, nil, ErrInvalid, `metadata key "\xff" is not valid UTF-8`},
		{"invalid UTF-8 metadata value", nil, map[string]string{"k": "\xff"}, nil, ErrInvalid, `metadata key "k": value is not valid UTF-8`},
		{"nil source", []Named{{"a", nil}}, nil, nil, ErrInvalid, `tensor "a" has no source`},
		{"unknown dtype", []Named{{"a", tens("F33", []int{1}, seq(4))}}, nil, nil, ErrInvalid, `tensor "a": unknown dtype "F33"`},
		{"negative dimension", []Named{{"a", tens(tensor.F32, []int{-1}, nil)}}, nil, nil, ErrInvalid, `tensor "a": negative dimension -1`},
		{"misaligned", []Named{{"a", tens(tensor.F4, []int{3}, seq(2))}}, nil, nil, ErrInvalid, `tensor "a": 3 elements of F4 do not fill whole bytes`},
		{"overflow", []Named{{"a", tens(tensor.F32, []int{1 << 62, 4}, nil)}}, nil, nil, ErrInvalid, `tensor "a": shape [4611686018427387904,4]: element count overflows`},
		{"byte overflow", []Named{{"a", tens(tensor.F64, []int{1 << 60}, nil)}}, nil, nil, ErrInvalid, `tensor "a": F64[1152921504606846976]: byte count overflows`},
		{"total overflow", bigTensors(8, 1<<60), nil, nil, ErrInvalid, `tensors total more than 9223372036854775807 bytes`},
		{"wrong dtype loaded", []Named{{"a", &badSource{tensor.F32, []int{2}, tens(tensor.F16, []int{2}, seq(8)), nil}}}, nil, nil, ErrMismatch,
			`tensor "a": Meta promised F32[2] (8 bytes), Load returned F16[2] (8 bytes)`},
		{"wrong shape loaded", []Named{{"a", &badSource{tensor.F32, []int{2}, tens(tensor.F32, []int{1, 2}, seq(8)), nil}}}, nil, nil, ErrMismatch,
			`Load returned F32[1,2] (8 bytes)`},
		{"wrong size loaded", []Named{{"a", &badSource{tensor.F32, []int{2}, tens(tensor.F32, []int{2}, seq(7)), nil}}}, nil, nil, ErrMismatch,
			`Load returned F32[2] (7 bytes)`},
		{"nil tensor loaded", []Named{{"a", &badSource{tensor.F32, []int{2}, nil, nil}}}, nil, nil, ErrMismatch, `tensor "a": Load returned no tensor`},
		{"load error", []Named{{"a", &badSource{tensor.F32, []int{2}, nil, loadErr}}}, nil, nil, loadErr, `tensor "a": loading: storage gone`},
		{"header write error", []Named{{"a", ok}}, nil, &failWriter{0}, nil, `writing header: disk full`},
		{"data write error", []Named{{"a", ok}}, nil, &failWriter{1}, nil, `tensor "a": writing: disk full`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := tt.w
			if w == nil {
				w = io.Discard
			}
			err := Write(w, tt.tensors, tt.metadata)
			if err == nil {
				t.Fatal("Write succeeded")
			}
			if !strings.HasPrefix(err.Error(), "safetensors: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q does not wrap %v", err, tt.is)
			}
		})
	}
}

func TestWriteHeaderTooLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates a 100 MB header")
	}
	err := Write(io.Discard, nil, map[string]string{"k": strings.Repeat("x", MaxHeaderSize)})
	if !errors.Is(err, ErrHeaderTooLarge) || !strings.Contains(err.Error(), "more than 100000000") {
		t.Fatalf("Write = %v, want ErrHeaderTooLarge", err)
	}
}

// recSource records the calls the writer makes.
type recSource struct {
	t   *tensor.Tensor
	log *[]string
}

func (s recSource) Meta() (tensor.DType, []int) {
	*s.log = append(*s.log, "meta "+fmt.Sprint(s.t.Shape))
	return s.t.DType, s.t.Shape
}

func (s recSource) Load() (*tensor.Tensor, error) {
	*s.log = append(*s.log, "load "+fmt.Sprint(s.t.Shape))
	return s.t, nil
}

// TestWriteStreams checks that Write asks every Meta before loading and
// then loads each source exactly once, in file order.
func TestWriteStreams(t *testing.T) {
	var log []string
	in := []Named{
		{"b", recSource{tens(tensor.F32, []int{2}, seq(8)), &log}},
		{"a", recSource{tens(tensor.F32, []int{1}, seq(4)), &log}},
		{"c", recSource{tens(tensor.F64, []int{3}, seq(24)), &log}},
	}
	if err := Write(io.Discard, in, nil); err != nil {
		t.Fatal(err)
	}
	want := []string{"meta [2]", "meta [1]", "meta [3]", "load [3]", "load [1]", "load [2]"}
	if !slices.Equal(log, want) {
		t.Fatalf("calls %v, want %v", log, want)
	}
}

func BenchmarkWrite8x768(b *testing.B) {
	src := tens(tensor.F32, []int{8, 768}, seq(8*768*4))
	in := []Named{{"emb_params", src}}
	b.SetBytes(int64(len(src.Data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := Write(io.Discard, in, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// bigTensors returns n U8 tensors of size bytes each, without data.
func bigTensors(n, size int) []Named {
	var out []Named
	for i := range n {
		out = append(out, Named{fmt.Sprint(i), tens(tensor.U8, []int{size}, nil)})
	}
	return out
}
