package embedding

import (
	"bytes"
	"testing"
)

// BenchmarkRead8x768 decodes an 8×768 F32 embedding from memory, as
// inspect does after its one read of the file: container, layout, tensors.
func BenchmarkRead8x768(b *testing.B) {
	src := &Embedding{Layout: LayoutKohya, Vectors: []Named{{"emb_params", mustTensor(b, []int{8, 768})}}}
	for _, format := range []string{FormatPT, FormatSafetensors} {
		data := encode(b, src, format, "x")
		b.Run(format, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				e, err := Decode(bytes.NewReader(data), int64(len(data)), Options{})
				if err != nil || e.Count != 8 {
					b.Fatal(err)
				}
			}
		})
	}
}
