package testvocab

import (
	"encoding/binary"
	"testing"

	"github.com/embtool/embtool/pkg/tensor"
)

func TestF16TableMatchesValue(t *testing.T) {
	b := f16(7, 5000)
	for i := 0; i < 5000; i++ {
		got := tensor.F16ToF32(binary.LittleEndian.Uint16(b[2*i:]))
		if want := Value(7, uint64(i)); got != want {
			t.Fatalf("element %d: %v, want %v", i, got, want)
		}
	}
}
