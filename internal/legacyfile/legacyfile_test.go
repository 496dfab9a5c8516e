package legacyfile

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"

	"github.com/embtool/embtool/pkg/torchpt"
)

// TestHeadReadsBack: a file made of Head and its storages (each value its
// own index) is read by torchpt as the state dict it describes, keys in
// order, shapes and values in place — also with more than ten tensors,
// where the sorted storage keys ("0", "1", "10", …) are not in tensor
// order.
func TestHeadReadsBack(t *testing.T) {
	var ts []Tensor
	for i := 0; i < 12; i++ {
		ts = append(ts, Tensor{Key: "layer." + string(rune('a'+i)), Shape: []int{2, i + 1}})
	}
	ts = append(ts, Tensor{Key: "scalar", Shape: []int{}})
	head, order := Head(ts)
	b := bytes.NewBuffer(head)
	for _, i := range order {
		binary.Write(b, binary.LittleEndian, ts[i].Numel())
		for v := int64(0); v < ts[i].Numel(); v++ {
			binary.Write(b, binary.LittleEndian, math.Float32bits(float32(100*i)+float32(v)))
		}
	}
	f, err := torchpt.Open(bytes.NewReader(b.Bytes()), int64(b.Len()))
	if err != nil {
		t.Fatal(err)
	}
	d, ok := f.Root.(*torchpt.Dict)
	if !ok || len(d.Keys) != len(ts) {
		t.Fatalf("root %T with %d keys, want a dict of %d", f.Root, len(d.Keys), len(ts))
	}
	for i, want := range ts {
		if d.Keys[i] != want.Key {
			t.Fatalf("key %d: %v, want %s", i, d.Keys[i], want.Key)
		}
		tt, err := d.Values[i].(*torchpt.Tensor).Load()
		if err != nil {
			t.Fatal(err)
		}
		vals, _ := tt.Float32s()
		if len(vals) != int(want.Numel()) || len(tt.Shape) != len(want.Shape) {
			t.Fatalf("%s: shape %v, %d values", want.Key, tt.Shape, len(vals))
		}
		for v, x := range vals {
			if x != float32(100*i)+float32(v) {
				t.Fatalf("%s[%d] = %v, want %v", want.Key, v, x, float32(100*i)+float32(v))
			}
		}
	}
}
