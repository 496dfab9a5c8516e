//go:build goexperiment.simd

package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// specialFloats mixes in the values where vector and scalar units could
// plausibly differ: subnormals, signed zeros, infinities, NaN, extremes.
func specialFloats(r *rand.Rand, n int) []float32 {
	x := randFloats(r, n)
	specials := []float32{0x1p-149, -0x1p-140, 0x1p-126, float32(math.Copysign(0, -1)),
		math.MaxFloat32, -math.MaxFloat32, float32(math.Inf(1)), float32(math.NaN())}
	for i := range x {
		if r.IntN(16) == 0 {
			x[i] = specials[r.IntN(len(specials))]
		}
	}
	return x
}

// TestSIMDBitIdentical holds the archsimd kernels to the generic ones bit
// for bit (NaN payloads aside: NaN is canonicalised on every write).
func TestSIMDBitIdentical(t *testing.T) {
	if !haveSIMD {
		t.Skip("CPU has no AVX")
	}
	r := rand.New(rand.NewPCG(21, 22))
	same64 := func(a, b float64) bool {
		return math.Float64bits(a) == math.Float64bits(b) || a != a && b != b
	}
	for _, n := range testLengths() {
		for range 8 {
			special := r.IntN(2) == 0
			gen := randFloats
			if special {
				gen = specialFloats
			}
			x, y := gen(r, n), gen(r, n)
			a := float32(r.NormFloat64())

			s1, s2 := append([]float32(nil), x...), append([]float32(nil), x...)
			scaleGeneric(a, s1)
			scaleSIMD(a, s2)
			if i, ok := sameBits32(s1, s2); !ok {
				t.Fatalf("Scale n=%d: element %d generic %v, SIMD %v", n, i, s1[i], s2[i])
			}

			y1, y2 := append([]float32(nil), y...), append([]float32(nil), y...)
			axpyGeneric(a, x, y1)
			axpySIMD(a, x, y2)
			if i, ok := sameBits32(y1, y2); !ok {
				t.Fatalf("Axpy n=%d: element %d generic %v, SIMD %v", n, i, y1[i], y2[i])
			}

			if g, s := dotGeneric(x, y), dotSIMD(x, y); !same64(g, s) {
				t.Fatalf("Dot n=%d special=%v: generic %v, SIMD %v", n, special, g, s)
			}
			if g, s := sumSquaresGeneric(x), sumSquaresSIMD(x); !same64(g, s) {
				t.Fatalf("SumSquares n=%d special=%v: generic %v, SIMD %v", n, special, g, s)
			}

			x64 := make([]float64, n)
			for i := range x64 {
				// Inexact squares, so a fused multiply-add would show.
				x64[i] = r.NormFloat64() * math.Ldexp(1, r.IntN(200)-100)
			}
			if g, s := sumSquares64Generic(x64), sumSquares64SIMD(x64); !same64(g, s) {
				t.Fatalf("SumSquares64 n=%d: generic %v, SIMD %v", n, g, s)
			}
		}
	}
}
