package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/embtool/embtool/internal/testcorpus"
	"github.com/embtool/embtool/pkg/tensor"
)

// corpusDir is the shared corpus of real embedding files, relative to this
// package's directory.
const corpusDir = "../../../shared/corpus/real"

// needCorpus skips the test when the shared corpus is not checked out
// (fails instead in CI, see testcorpus.RequireEnv).
func needCorpus(t testing.TB) {
	t.Helper()
	testcorpus.Dir(t)
}

// file builds a safetensors file from a header string and data bytes.
func file(hdr string, data []byte) []byte {
	return fileN(uint64(len(hdr)), hdr, data)
}

// fileN builds a file whose length prefix is n, whatever the header holds.
func fileN(n uint64, hdr string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, n)
	b = append(b, hdr...)
	return append(b, data...)
}

// seq returns n bytes 0, 1, 2, ...
func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func openBytes(b []byte) (*File, error) {
	return Open(bytes.NewReader(b), int64(len(b)))
}

func TestOpenRejects(t *testing.T) {
	tests := []struct {
		name string
		file []byte
		want []string // substrings the error must contain
	}{
		{"too small", []byte{1, 2, 3}, []string{"file is 3 bytes, too short"}},
		{"empty file", nil, []string{"file is 0 bytes"}},
		{"header too large", fileN(MaxHeaderSize+1, "{}", nil), []string{"header length 100000001 exceeds the limit of 100000000"}},
		{"header length 2^64-1", fileN(^uint64(0), "{}", nil), []string{"header length 18446744073709551615 exceeds"}},
		{"N past EOF", fileN(100, "{}      ", nil), []string{"header length 100 runs past the end of the 16-byte file"}},
		{"empty header", fileN(0, "", nil), []string{"header is empty"}},
		{"bad UTF-8", file("{\"a\xff\":{}}", nil), []string{"offset 11: header is not valid UTF-8"}},
		{"overlong UTF-8", file("{\"\xc0\xaf\":{}}", nil), []string{"offset 10: header is not valid UTF-8"}},
		{"UTF-8 surrogate", file("{\"\xed\xa0\x80\":{}}", nil), []string{"offset 10: header is not valid UTF-8"}},
		{"not JSON", file(`{"a" 1}`, nil), []string{"offset 13: header: ", "expected ':', found a number"}},
		{"not JSON: truncated", file(`{"a":{"dtype":"F32"`, nil), []string{"expected ',' or '}', found end of header"}},
		{"not JSON: trailing comma", file(`{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},}`, seq(4)), []string{"expected a string key, found '}'"}},
		{"not JSON: garbage after object", file(`{} x`, nil), []string{"unexpected 'x' after the header object"}},
		{"not JSON: second object", file(`{}{}`, nil), []string{"unexpected an object after the header object"}},
		{"not JSON: BOM", file("\ufeff{}", nil), []string{"not a JSON object: found '\\ufeff'"}},
		{"not an object: array", file(`[1,2]`, nil), []string{"header is not a JSON object: found an array"}},
		{"not an object: string", file(`"x"`, nil), []string{"not a JSON object: found a string"}},
		{"duplicate key", file(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, seq(2)),
			[]string{`offset 61: header: duplicate key "a"`}},
		{"duplicate __metadata__", file(`{"__metadata__":{},"__metadata__":{}}`, nil), []string{`duplicate key "__metadata__"`}},
		{"duplicate metadata key", file(`{"__metadata__":{"k":"1","k":"2"}}`, nil), []string{`offset 33: header: duplicate key "k"`}},
		{"duplicate field in entry", file(`{"a":{"dtype":"U8","dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, seq(1)), []string{`duplicate key "dtype"`}},
		{"duplicate unknown field in entry", file(`{"a":{"x":1,"x":2,"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, seq(1)), []string{`duplicate key "x"`}},
		{"non-string metadata", file(`{"__metadata__":{"k":1}}`, nil), []string{`__metadata__ key "k": value must be a string, found a number`}},
		{"metadata not an object", file(`{"__metadata__":"pt"}`, nil), []string{`__metadata__ must be an object of strings, found a string`}},
		{"metadata nested object", file(`{"__metadata__":{"k":{}}}`, nil), []string{`__metadata__ key "k": value must be a string, found an object`}},
		{"entry not an object", file(`{"a":["F32",[1],[0,4]]}`, seq(4)), []string{`tensor "a": entry must be an object, found an array`}},
		{"unknown dtype", file(`{"a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}`, seq(4)), []string{`tensor "a": unknown dtype "F33"`}},
		{"lower-case dtype", file(`{"a":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}`, seq(4)), []string{`unknown dtype "f32"`}},
		{"dtype not a string", file(`{"a":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}`, seq(4)), []string{`tensor "a": dtype must be a string, found a number`}},
		{"missing dtype", file(`{"a":{"shape":[1],"data_offsets":[0,4]}}`, seq(4)), []string{`tensor "a": missing dtype`}},
		{"missing shape", file(`{"a":{"dtype":"F32","data_offsets":[0,4]}}`, seq(4)), []string{`tensor "a": missing shape`}},
		{"missing data_offsets", file(`{"a":{"dtype":"F32","shape":[1]}}`, seq(4)), []string{`tensor "a": missing data_offsets`}},
		{"negative shape", file(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, seq(4)), []string{`tensor "a": shape value -1 is not a non-negative integer`}},
		{"minus zero shape", file(`{"a":{"dtype":"F32","shape":[-0],"data_offsets":[0,0]}}`, nil), []string{`shape value -0 is not a non-negative integer`}},
		{"float shape", file(`{"a":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}`, seq(4)), []string{`shape value 1.0 is not a non-negative integer`}},
		{"exponent shape", file(`{"a":{"dtype":"F32","shape":[1e0],"data_offsets":[0,4]}}`, seq(4)), []string{`shape value 1e0 is not a non-negative integer`}},
		{"string shape", file(`{"a":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}}`, seq(4)), []string{`tensor "a": shape must hold integers, found a string`}},
		{"shape not an array", file(`{"a":{"dtype":"F32","shape":1,"data_offsets":[0,4]}}`, seq(4)), []string{`tensor "a": shape must be an array, found a number`}},
		{"shape dimension > 64 bits", file(`{"a":{"dtype":"F32","shape":[18446744073709551616],"data_offsets":[0,4]}}`, seq(4)), []string{`shape value 18446744073709551616 does not fit in 64 bits`}},
		{"leading zero", file(`{"a":{"dtype":"F32","shape":[01],"data_offsets":[0,4]}}`, seq(4)), []string{`leading zero`}},
		{"overflow shape", file(`{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}`, seq(4)), []string{`tensor "a": shape [4294967296,4294967296]: element count overflows`}},
		{"overflow bits", file(`{"a":{"dtype":"F32","shape":[2305843009213693952],"data_offsets":[0,4]}}`, seq(4)), []string{`tensor "a": shape [2305843009213693952] of F32: bit count overflows`}},
		{"misaligned bits", file(`{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}`, seq(2)), []string{`tensor "a": 3 elements of F4 (4 bits each) do not fill whole bytes`}},
		{"misaligned F6", file(`{"a":{"dtype":"F6_E2M3","shape":[2],"data_offsets":[0,2]}}`, seq(2)), []string{`2 elements of F6_E2M3 (6 bits each)`}},
		{"offsets not an array", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":{"0":4}}}`, seq(4)), []string{`data_offsets must be an array, found an object`}},
		{"one offset", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4]}}`, seq(4)), []string{`tensor "a": data_offsets has 1 elements, want 2`}},
		{"three offsets", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,4]}}`, seq(4)), []string{`tensor "a": data_offsets has more than 2 elements`}},
		{"negative offset", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}`, seq(4)), []string{`data_offsets value -4 is not a non-negative integer`}},
		{"offset gap at start", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, seq(8)), []string{`tensor "a": data_offsets [4,8] leave a hole: the first tensor must start at 0`}},
		{"offset gap", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`, seq(12)),
			[]string{`tensor "b": data_offsets [8,12] leave a hole after tensor "a", which ends at 4`}},
		{"overlap", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, seq(12)),
			[]string{`tensor "b": data_offsets [4,12] overlap tensor "a", which ends at 8`}},
		{"same offsets", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, seq(4)),
			[]string{`tensor "b": data_offsets [0,4] overlap tensor "a"`}},
		{"end before begin", file(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}`, seq(4)), []string{`tensor "a": data_offsets [4,0] end before they begin`}},
		{"size mismatch", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, seq(4)), []string{`tensor "a": F32[2] needs 8 bytes, data_offsets [0,4] hold 4`}},
		{"trailing bytes", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, seq(5)), []string{`1 trailing bytes after the last tensor "a", which ends at file offset 66`}},
		{"trailing bytes, no tensors", file(`{}`, seq(3)), []string{`3 trailing bytes after the header: the file has no tensors`}},
		{"truncated data", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, seq(4)), []string{`truncated: tensor "a" ends at data offset 8 (file offset 70) but the file has only 4 data bytes`}},
		{"huge offsets", file(`{"a":{"dtype":"U8","shape":[1152921504606846976],"data_offsets":[0,1152921504606846976]}}`, seq(4)), []string{`truncated: tensor "a" ends at data offset 1152921504606846976`}},
		{"offsets near 2^64", file(`{"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"U8","shape":[1],"data_offsets":[18446744073709551614,18446744073709551615]}}`, seq(4)), []string{`tensor "b": data_offsets [18446744073709551614,18446744073709551615] leave a hole after tensor "a", which ends at 0`}},
		{"control char in string", file("{\"a\x01\":{}}", nil), []string{"control character 0x01 in string"}},
		{"lone high surrogate", file(`{"\ud800":{}}`, nil), []string{`lone surrogate \ud800`}},
		{"lone low surrogate", file(`{"\udc00":{}}`, nil), []string{`lone surrogate \udc00`}},
		{"high surrogate then non-surrogate", file(`{"\ud800\u0041":{}}`, nil), []string{`lone surrogate \ud800`}},
		{"bad escape", file(`{"\x":{}}`, nil), []string{`invalid escape \x`}},
		{"short unicode escape", file(`{"\u12":{}}`, nil), []string{`invalid \u escape`}},
		{"number out of range", file(`{"a":{"x":1e400,"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, seq(1)), []string{`number 1e400 out of range`}},
		{"bad literal", file(`{"a":{"x":nul,"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, seq(1)), []string{`invalid literal, expected null`}},
		{"too deep", file(`{"a":{"x":`+strings.Repeat("[", 126)+strings.Repeat("]", 126)+`,"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, seq(1)),
			[]string{"JSON nested deeper than 127 levels"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := openBytes(tt.file)
			if err == nil {
				t.Fatalf("Open succeeded with %d tensors, want an error", len(f.Tensors()))
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "safetensors: ") {
				t.Errorf("error %q does not start with \"safetensors: \"", msg)
			}
			if !errors.Is(err, ErrFormat) {
				t.Errorf("error %q does not wrap ErrFormat", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
		})
	}
}

func TestHeaderTooLargeSentinel(t *testing.T) {
	_, err := openBytes(fileN(MaxHeaderSize+1, "{}", nil))
	if !errors.Is(err, ErrHeaderTooLarge) || !errors.Is(err, ErrFormat) {
		t.Fatalf("error %v does not wrap ErrHeaderTooLarge and ErrFormat", err)
	}
	// Exactly MaxHeaderSize is allowed by the limit; this one then fails
	// because the file is shorter.
	_, err = openBytes(fileN(MaxHeaderSize, "{}", nil))
	if errors.Is(err, ErrHeaderTooLarge) || err == nil || !strings.Contains(err.Error(), "runs past the end") {
		t.Fatalf("N = MaxHeaderSize: got %v, want a runs-past-the-end error", err)
	}
}

func TestOpenAccepts(t *testing.T) {
	type want struct {
		name  string
		dtype tensor.DType
		shape []int
		data  []byte
	}
	tests := []struct {
		name     string
		file     []byte
		metadata map[string]string
		tensors  []want
	}{
		{"empty object", file("{}", nil), nil, nil},
		{"leading and trailing whitespace (#686)", file("\t\n{}\r ", nil), nil, nil},
		{"whitespace everywhere", file(" { \"a\" : { \"dtype\" : \"U8\" , \"shape\" : [ 2 ] , \"data_offsets\" : [ 0 , 2 ] } } \n", seq(2)), nil,
			[]want{{"a", tensor.U8, []int{2}, seq(2)}}},
		{"unaligned N", file(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, seq(1)), nil, []want{{"a", tensor.U8, []int{1}, seq(1)}}},
		{"metadata null", file(`{"__metadata__":null}`, nil), nil, nil},
		{"metadata empty", file(`{"__metadata__":{}}`, nil), map[string]string{}, nil},
		{"metadata after tensors", file(`{"a":{"dtype":"U8","shape":[],"data_offsets":[0,1]},"__metadata__":{"format":"pt","x":""}}`, seq(1)),
			map[string]string{"format": "pt", "x": ""}, []want{{"a", tensor.U8, []int{}, seq(1)}}},
		{"escapes in keys and values", file(`{"__metadata__":{"k\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00":"v\u0000"},"\u00e9":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, seq(1)),
			map[string]string{"k\"\\/\b\f\n\r\té😀": "v\x00"}, []want{{"é", tensor.U8, []int{1}, seq(1)}}},
		{"keys out of offset order", file(`{"b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]},"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`, seq(4)), nil,
			[]want{{"b", tensor.U8, []int{2}, []byte{2, 3}}, {"a", tensor.U8, []int{2}, []byte{0, 1}}}},
		{"zero-size tensors share offsets", file(`{"z1":{"dtype":"F32","shape":[0,768],"data_offsets":[4,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"z0":{"dtype":"F64","shape":[0],"data_offsets":[0,0]},"z2":{"dtype":"F16","shape":[3,0],"data_offsets":[4,4]}}`, seq(4)), nil,
			[]want{{"z1", tensor.F32, []int{0, 768}, []byte{}}, {"a", tensor.F32, []int{1}, seq(4)}, {"z0", tensor.F64, []int{0}, []byte{}}, {"z2", tensor.F16, []int{3, 0}, []byte{}}}},
		{"only zero-size", file(`{"z":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}`, nil), nil, []want{{"z", tensor.F32, []int{0}, []byte{}}}},
		{"scalar", file(`{"s":{"dtype":"F64","shape":[],"data_offsets":[0,8]}}`, seq(8)), nil, []want{{"s", tensor.F64, []int{}, seq(8)}}},
		{"unknown fields tolerated", file(`{"a":{"dtype":"BF16","x":[1,{"y":null,"z":[true,false,-1.5e-3]}],"shape":[1],"data_offsets":[0,2],"w":"\u00e9"}}`, seq(2)), nil,
			[]want{{"a", tensor.BF16, []int{1}, seq(2)}}},
		{"underflowing number is fine", file(`{"a":{"x":1e-400,"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, seq(1)), nil, []want{{"a", tensor.U8, []int{1}, seq(1)}}},
		{"nesting of 127 levels", file(`{"a":{"x":`+strings.Repeat("[", 125)+strings.Repeat("]", 125)+`,"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, seq(1)), nil,
			[]want{{"a", tensor.U8, []int{1}, seq(1)}}},
		{"F4 even count", file(`{"a":{"dtype":"F4","shape":[2,3],"data_offsets":[0,3]}}`, seq(3)), nil, []want{{"a", tensor.F4, []int{2, 3}, seq(3)}}},
		{"F6 in whole bytes", file(`{"a":{"dtype":"F6_E3M2","shape":[4],"data_offsets":[0,3]}}`, seq(3)), nil, []want{{"a", tensor.F6E3M2, []int{4}, seq(3)}}},
		{"F8", file(`{"a":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"F8_E8M0","shape":[1],"data_offsets":[2,3]}}`, seq(3)), nil,
			[]want{{"a", tensor.F8E4M3, []int{2}, seq(2)}, {"b", tensor.F8E8M0, []int{1}, []byte{2}}}},
		{"huge dimension times zero", file(`{"a":{"dtype":"U8","shape":[0,9223372036854775807],"data_offsets":[0,0]}}`, nil), nil,
			[]want{{"a", tensor.U8, []int{0, 9223372036854775807}, []byte{}}}},
		{"empty tensor name", file(`{"":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, seq(1)), nil, []want{{"", tensor.U8, []int{1}, seq(1)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := openBytes(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Metadata(); !mapsEqualNil(got, tt.metadata) {
				t.Errorf("Metadata() = %#v, want %#v", got, tt.metadata)
			}
			if f.headerLen() != binary.LittleEndian.Uint64(tt.file) {
				t.Errorf("headerLen() = %d", f.headerLen())
			}
			got := f.Tensors()
			if len(got) != len(tt.tensors) {
				t.Fatalf("%d tensors, want %d", len(got), len(tt.tensors))
			}
			for i, w := range tt.tensors {
				e := got[i]
				if e.Name != w.name || e.DType != w.dtype || !slices.Equal(e.Shape, w.shape) {
					t.Errorf("tensor %d = %q %s%v, want %q %s%v", i, e.Name, e.DType, e.Shape, w.name, w.dtype, w.shape)
				}
				if g, ok := f.Get(w.name); !ok || g != e {
					t.Errorf("Get(%q) = %v, %v", w.name, g, ok)
				}
				if e.Begin < 8+int64(f.headerLen()) || e.End > int64(len(tt.file)) || e.End-e.Begin != int64(len(w.data)) {
					t.Errorf("tensor %q spans [%d,%d) in a %d-byte file", e.Name, e.Begin, e.End, len(tt.file))
				}
				ld, err := e.Load()
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(ld.Data, w.data) || ld.DType != w.dtype || !slices.Equal(ld.Shape, w.shape) {
					t.Errorf("Load(%q) = %s%v %v, want %v", e.Name, ld.DType, ld.Shape, ld.Data, w.data)
				}
				rd, err := io.ReadAll(e.Reader())
				if err != nil || !bytes.Equal(rd, w.data) {
					t.Errorf("Reader(%q) read %v, %v", e.Name, rd, err)
				}
			}
		})
	}
}

func mapsEqualNil(a, b map[string]string) bool {
	if (a == nil) != (b == nil) || len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestEntryIsSource(t *testing.T) {
	f, err := openBytes(file(`{"a":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]}}`, seq(8)))
	if err != nil {
		t.Fatal(err)
	}
	var src tensor.Source = f.Tensors()[0]
	dt, shape := src.Meta()
	shape[0] = 99 // a copy: must not change the entry
	if dt != tensor.F32 || f.Tensors()[0].Shape[0] != 1 {
		t.Fatalf("Meta() = %s %v; entry shape now %v", dt, shape, f.Tensors()[0].Shape)
	}
	if _, ok := f.Get("b"); ok {
		t.Fatal(`Get("b") found a tensor`)
	}
	// Tensors and Metadata return copies.
	f.Tensors()[0] = nil
	if f.Tensors()[0] == nil {
		t.Fatal("Tensors() exposes the internal slice")
	}
}

type failReader struct{}

func (failReader) ReadAt([]byte, int64) (int, error) { return 0, errors.New("device on fire") }

// TestLoadTruncatedAfterOpen: a reader that holds fewer bytes than the
// size given (bytes.Reader over a prefix), as a file truncated after Stat.
func TestLoadTruncatedAfterOpen(t *testing.T) {
	b := file(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, seq(16))
	f, err := Open(bytes.NewReader(b[:len(b)-3]), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Tensors()[0].Load()
	if err == nil || !errors.Is(err, io.ErrUnexpectedEOF) || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), `truncated: tensor "a": reading bytes 63 to 79`) {
		t.Fatalf("Load = %v, want a truncation error", err)
	}
	// The header itself cut short.
	_, err = Open(bytes.NewReader(b[:20]), int64(len(b)))
	if err == nil || !errors.Is(err, io.ErrUnexpectedEOF) || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "truncated: reading the 55-byte header") {
		t.Fatalf("Open = %v, want a truncated header", err)
	}
	// Even the length prefix cut short.
	_, err = Open(bytes.NewReader(b[:5]), int64(len(b)))
	if err == nil || !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), "truncated: reading the header length") {
		t.Fatalf("Open = %v, want a truncated length", err)
	}
	// Another read error is passed on, not called a format error.
	_, err = Open(failReader{}, 100)
	if err == nil || errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "safetensors: reading the header length: device on fire") {
		t.Fatalf("Open = %v, want the reader's error", err)
	}
	var lone Entry
	if _, err := lone.Load(); err == nil {
		t.Fatal("Load of an Entry without a File succeeded")
	}
}

func TestReadAtChunked(t *testing.T) {
	// A reader that claims 3 chunks but holds 1.5: readAt must fail without
	// having allocated the full claim, and succeed on honest input.
	data := seq(readChunk + readChunk/2)
	if _, err := readAt(bytes.NewReader(data), 0, 3*readChunk); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("readAt past the end: %v", err)
	}
	got, err := readAt(bytes.NewReader(data), 5, int64(len(data)-5))
	if err != nil || !bytes.Equal(got, data[5:]) {
		t.Fatalf("readAt: %v", err)
	}
}

func TestOpenNamed(t *testing.T) {
	good := file(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`, []byte{7, 9})
	f, err := OpenNamed(bytes.NewReader(good), int64(len(good)), "good.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	tt, err := f.Tensors()[0].Load()
	if err != nil || !bytes.Equal(tt.Data, []byte{7, 9}) {
		t.Fatalf("Load = %v, %v", tt, err)
	}
	bad := file(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`, []byte{7})
	_, err = OpenNamed(bytes.NewReader(bad), int64(len(bad)), "dir/bad.safetensors")
	if err == nil || !strings.HasPrefix(err.Error(), "safetensors: dir/bad.safetensors: ") || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("OpenNamed(bad) = %v, want an error naming the path", err)
	}
}

// A tensor of the Open benchmark: F32 [8,768], the size of EasyNegative.
func benchFile(b *testing.B) []byte {
	var buf bytes.Buffer
	src := &tensor.Tensor{DType: tensor.F32, Shape: []int{8, 768}, Data: seq(8 * 768 * 4)}
	if err := Write(&buf, []Named{{"emb_params", src}}, nil); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

func BenchmarkOpenLoad8x768(b *testing.B) {
	data := benchFile(b)
	r := bytes.NewReader(data)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		f, err := Open(r, int64(len(data)))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.Tensors()[0].Load(); err != nil {
			b.Fatal(err)
		}
	}
}
