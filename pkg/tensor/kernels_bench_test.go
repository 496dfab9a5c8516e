package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Benchmark sizes: one SD1 embedding of 8×768 float32 (24 KiB, in L1/L2)
// and a 64 MiB vector (memory bound). SetBytes counts the bytes of the
// input vectors each call reads, so Axpy and Dot (two vectors) count twice
// the size; the copy baselines copy the same number of bytes.
var benchSizes = []struct {
	name string
	n    int // float32 elements per vector
}{
	{"24KiB", 768 * 8},
	{"64MiB", 64 << 20 / 4},
}

func benchVec(n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, seed+1))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64() * 0.1)
	}
	return x
}

var sink float64

func BenchmarkScale(b *testing.B) {
	for _, sz := range benchSizes {
		x := benchVec(sz.n, 1)
		for _, impl := range []struct {
			name string
			f    func(float32, []float32)
		}{{"opt", Scale}, {"generic", scaleGeneric}, {"naive", naiveScale}} {
			b.Run(fmt.Sprintf("%s/%s", sz.name, impl.name), func(b *testing.B) {
				b.SetBytes(int64(4 * sz.n))
				for b.Loop() {
					impl.f(-1, x) // exact, keeps the values bounded
				}
			})
		}
	}
}

func BenchmarkAxpy(b *testing.B) {
	for _, sz := range benchSizes {
		x, y := benchVec(sz.n, 1), benchVec(sz.n, 2)
		for _, impl := range []struct {
			name string
			f    func(float32, []float32, []float32)
		}{{"opt", Axpy}, {"generic", axpyGeneric}, {"naive", naiveAxpy}} {
			b.Run(fmt.Sprintf("%s/%s", sz.name, impl.name), func(b *testing.B) {
				b.SetBytes(int64(8 * sz.n))
				a := float32(0.5)
				for b.Loop() {
					impl.f(a, x, y)
					a = -a // y stays bounded
				}
			})
		}
	}
}

func BenchmarkDot(b *testing.B) {
	for _, sz := range benchSizes {
		x, y := benchVec(sz.n, 1), benchVec(sz.n, 2)
		for _, impl := range []struct {
			name string
			f    func([]float32, []float32) float64
		}{{"opt", Dot}, {"generic", dotGeneric}, {"naive", naiveDot}} {
			b.Run(fmt.Sprintf("%s/%s", sz.name, impl.name), func(b *testing.B) {
				b.SetBytes(int64(8 * sz.n))
				for b.Loop() {
					sink += impl.f(x, y)
				}
			})
		}
	}
}

func BenchmarkNorm(b *testing.B) {
	for _, sz := range benchSizes {
		x := benchVec(sz.n, 1)
		for _, impl := range []struct {
			name string
			f    func([]float32) float64
		}{{"opt", Norm}, {"naive", naiveNorm}} {
			b.Run(fmt.Sprintf("%s/%s", sz.name, impl.name), func(b *testing.B) {
				b.SetBytes(int64(4 * sz.n))
				for b.Loop() {
					sink += impl.f(x)
				}
			})
		}
	}
}

func BenchmarkNorm64(b *testing.B) {
	for _, sz := range benchSizes {
		x32 := benchVec(sz.n/2, 1) // same bytes as the float32 vector
		x := make([]float64, len(x32))
		for i, v := range x32 {
			x[i] = float64(v)
		}
		for _, impl := range []struct {
			name string
			f    func([]float64) float64
		}{{"opt", Norm64}, {"naive", naiveNorm64}} {
			b.Run(fmt.Sprintf("%s/%s", sz.name, impl.name), func(b *testing.B) {
				b.SetBytes(int64(8 * len(x)))
				for b.Loop() {
					sink += impl.f(x)
				}
			})
		}
	}
}

// BenchmarkCopy is the memory-bandwidth baseline: copy() of one vector's
// bytes (compare Scale, Norm) and of two vectors' bytes (Axpy, Dot).
func BenchmarkCopy(b *testing.B) {
	for _, sz := range benchSizes {
		for _, k := range []int{1, 2} {
			src := make([]byte, 4*sz.n*k)
			dst := make([]byte, len(src))
			b.Run(fmt.Sprintf("%s/x%d", sz.name, k), func(b *testing.B) {
				b.SetBytes(int64(len(src)))
				for b.Loop() {
					copy(dst, src)
				}
			})
		}
	}
}
