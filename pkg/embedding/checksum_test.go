package embedding

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/embtool/embtool/pkg/tensor"
)

// The checksums of testdata/checksum/cases.json come from A1111's own
// const_hash run by CPython over torch tensors (testdata/gen/gen_checksums.py).
func TestChecksumA1111(t *testing.T) {
	raw, err := os.ReadFile("../../testdata/checksum/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name, DType, Hex, Checksum string
		Shape                      []int
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 10 {
		t.Fatalf("%d cases", len(cases))
	}
	for _, c := range cases {
		data, err := hex.DecodeString(c.Hex)
		if err != nil {
			t.Fatal(err)
		}
		tt, err := tensor.New(tensor.DType(c.DType), c.Shape, data)
		if err != nil {
			t.Fatal(c.Name, err)
		}
		e := &Embedding{Layout: LayoutKohya, Vectors: []Named{{"emb_params", tt}}}
		got, ok := e.Checksum()
		if !ok || got != c.Checksum {
			t.Errorf("%s: checksum %q (ok %v), A1111 %q", c.Name, got, ok, c.Checksum)
		}
	}
}

// constHashRef is the loop as formats.md §5.3 spells it, with Python's
// unbounded int() (math/big), masked to 32 bits at every step.
func constHashRef(dt tensor.DType, data []byte) (uint32, bool) {
	at := elementReader(dt)
	var r int64
	for i := 0; i < len(data)/dt.Size(); i++ {
		x := float32(at(data, i)) * 100
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return 0, false
		}
		// Python's int(x) exactly, then the low 32 bits of the product.
		iv, _ := new(big.Float).SetFloat64(float64(x)).Int(nil)
		p := new(big.Int).Mul(iv, big.NewInt(997))
		low := new(big.Int).And(p, big.NewInt(0xFFFFFFFF)).Int64() // two's complement, as Python's &
		r = ((r * 281) ^ low) & 0xFFFFFFFF
	}
	return uint32(r), true
}

// The unrolled uint32 loops equal the reference on random bit patterns of
// every float dtype and every length (tails of the 4-wide loop), NaN, Inf
// and out-of-range values included.
func TestConstHashMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 4))
	for _, dt := range []tensor.DType{tensor.F32, tensor.F16, tensor.BF16, tensor.F64} {
		for n := 0; n < 40; n++ {
			for trial := 0; trial < 50; trial++ {
				data := make([]byte, n*dt.Size()+trial%3) // ragged tails are ignored
				for i := 0; i+dt.Size() <= len(data); i += dt.Size() {
					switch {
					case trial%5 == 0: // any bits: NaN, Inf, huge, tiny
						for k := 0; k < dt.Size(); k++ {
							data[i+k] = byte(rng.Uint32())
						}
					default: // embedding-like values
						v := rng.NormFloat64() * math.Pow(10, float64(rng.IntN(8)-4))
						switch dt {
						case tensor.F32:
							binary.LittleEndian.PutUint32(data[i:], math.Float32bits(float32(v)))
						case tensor.F64:
							binary.LittleEndian.PutUint64(data[i:], math.Float64bits(v))
						case tensor.F16:
							binary.LittleEndian.PutUint16(data[i:], tensor.F32ToF16(float32(v)))
						case tensor.BF16:
							binary.LittleEndian.PutUint16(data[i:], tensor.F32ToBF16(float32(v)))
						}
					}
				}
				got, gok := constHash(dt, data)
				want, wok := constHashRef(dt, data)
				if got != want || gok != wok {
					t.Fatalf("%s n=%d trial %d: %08x %v, reference %08x %v", dt, n, trial, got, gok, want, wok)
				}
			}
		}
	}
}

// constHashBefore is the loop Checksum ran before constHash (int64 state,
// a call per value for other dtypes than F32), kept to measure against.
func constHashBefore(dt tensor.DType, data []byte) (uint32, bool) {
	at := elementReader(dt)
	var r int64
	for i := 0; i < len(data)/dt.Size(); i++ {
		var x float32
		if dt == tensor.F32 {
			x = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:])) * 100
		} else {
			x = float32(at(data, i)) * 100
		}
		if math.IsNaN(float64(x)) || math.Abs(float64(x)) > 1e15 {
			return 0, false
		}
		r = ((r * 281) ^ (int64(x) * 997)) & 0xFFFFFFFF
	}
	return uint32(r), true
}

// BenchmarkChecksum reports ns per element, now and before; the serial
// chain is one multiply and one XOR per element.
func BenchmarkChecksum(b *testing.B) {
	for _, dt := range []tensor.DType{tensor.F32, tensor.F16} {
		n := 75 * 768
		data := make([]byte, n*dt.Size())
		rng := rand.New(rand.NewPCG(1, 2))
		for i := 0; i < n; i++ {
			v := float32(rng.NormFloat64() * 0.02)
			if dt == tensor.F32 {
				binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(v))
			} else {
				binary.LittleEndian.PutUint16(data[2*i:], tensor.F32ToF16(v))
			}
		}
		for _, impl := range []struct {
			name string
			fn   func(tensor.DType, []byte) (uint32, bool)
		}{{"now", constHash}, {"before", constHashBefore}} {
			b.Run(fmt.Sprintf("%s/%s", dt, impl.name), func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				for b.Loop() {
					impl.fn(dt, data)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/elem")
			})
		}
	}
}

// elementReader returns a function reading element i of little-endian
// float data of dtype dt, widened exactly to float64.
func elementReader(dt tensor.DType) func(b []byte, i int) float64 {
	switch dt {
	case tensor.F64:
		return func(b []byte, i int) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])) }
	case tensor.F32:
		return func(b []byte, i int) float64 {
			return float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
		}
	case tensor.F16:
		return func(b []byte, i int) float64 { return float64(tensor.F16ToF32(binary.LittleEndian.Uint16(b[2*i:]))) }
	default: // BF16
		return func(b []byte, i int) float64 { return float64(tensor.BF16ToF32(binary.LittleEndian.Uint16(b[2*i:]))) }
	}
}
