package torchpt

import (
	"bytes"
	"testing"

	"github.com/embtool/embtool/pkg/tensor"
)

// BenchmarkOpenLoad8x768 opens an A1111 .pt holding one F32 [8,768]
// tensor from memory (zip directory, validating scan, VM) and loads it.
func BenchmarkOpenLoad8x768(b *testing.B) {
	vals := make([]float32, 8*768)
	for i := range vals {
		vals[i] = float32(i) * 1e-4
	}
	t, _ := tensor.FromFloat32s(tensor.F32, []int{8, 768}, vals)
	params := NewDict()
	params.Set("*", t)
	tok := NewDict()
	tok.Set("*", int64(265))
	root := NewDict()
	root.Set("string_to_token", tok)
	root.Set("string_to_param", params)
	root.Set("name", "bench")
	root.Set("step", int64(1000))
	var buf bytes.Buffer
	if err := WriteZip(&buf, "bench", root); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		f, err := Open(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			b.Fatal(err)
		}
		sp, _ := f.Root.(*Dict).Get("string_to_param")
		v, _ := sp.(*Dict).Get("*")
		if _, err := v.(*Tensor).Load(); err != nil {
			b.Fatal(err)
		}
	}
}
