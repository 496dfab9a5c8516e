package tensor

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
)

// The naive reference kernels: plain range loops, the obvious way.

func naiveScale(a float32, x []float32) {
	for i := range x {
		x[i] = float32(a * x[i])
	}
}

func naiveAxpy(a float32, x, y []float32) {
	for i := range x {
		y[i] = y[i] + float32(a*x[i])
	}
}

func naiveDot(x, y []float32) float64 {
	s := 0.0
	for i := range x {
		s += float64(float64(x[i]) * float64(y[i]))
	}
	return s
}

func naiveSumSquares(x []float32) float64 { return naiveDot(x, x) }

func naiveNorm(x []float32) float64 { return math.Sqrt(naiveSumSquares(x)) }

func naiveNorm64(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += float64(v * v)
	}
	return math.Sqrt(s)
}

// exactDot is the dot product computed exactly with big.Float and rounded
// once to float64. Products of float32 are exact in 48 bits and their
// binary exponents lie in [-298, 256), so 1200 bits hold any sum exactly.
func exactDot(x, y []float32) float64 {
	const prec = 1200
	s := new(big.Float).SetPrec(prec)
	p := new(big.Float).SetPrec(prec)
	for i := range x {
		p.SetFloat64(float64(x[i]) * float64(y[i])) // exact
		s.Add(s, p)
	}
	f, _ := s.Float64()
	return f
}

// testLengths are the lengths every kernel is tried on: every length up to
// 67 (all tails of both unrollings), the embedding widths and odd sizes.
func testLengths() []int {
	var ns []int
	for n := 0; n <= 67; n++ {
		ns = append(ns, n)
	}
	return append(ns, 127, 128, 129, 768, 769, 1024, 1280, 1283, 6144, 6151, 8*1280+5)
}

// randFloats returns n float32s of mixed sign and magnitude: mostly values
// like embedding weights (|x| < 1), some large, some tiny.
func randFloats(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		v := float32(r.NormFloat64() * 0.1)
		switch r.IntN(20) {
		case 0:
			v *= 1e6
		case 1:
			v *= 1e-6
		case 2:
			v = 0
		}
		x[i] = v
	}
	return x
}

func sameBits32(a, b []float32) (int, bool) {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) && !(a[i] != a[i] && b[i] != b[i]) {
			return i, false
		}
	}
	return -1, len(a) == len(b)
}

func TestScaleMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range testLengths() {
		for _, a := range []float32{0, 1, -1, 0.5, 3.1415927, -1e-3, 7e30, float32(math.Inf(1))} {
			x := randFloats(r, n)
			want := append([]float32(nil), x...)
			naiveScale(a, want)
			Scale(a, x)
			if i, ok := sameBits32(x, want); !ok {
				t.Fatalf("Scale(%v) n=%d: element %d is %v, naive %v", a, n, i, x[i], want[i])
			}
		}
	}
}

func TestAxpyMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range testLengths() {
		for _, a := range []float32{0, 1, -1, 0.3, -2.75, 1e-7, 1e30} {
			x := randFloats(r, n)
			y := randFloats(r, n)
			want := append([]float32(nil), y...)
			naiveAxpy(a, x, want)
			Axpy(a, x, y)
			if i, ok := sameBits32(y, want); !ok {
				t.Fatalf("Axpy(%v) n=%d: element %d is %v, naive %v", a, n, i, y[i], want[i])
			}
		}
	}
}

// TestAxpyNoFusion checks a case where a fused multiply-add would give a
// different float32: a*x is inexact and y cancels its rounded value.
func TestAxpyNoFusion(t *testing.T) {
	a := float32(1 + 0x1p-12)
	x := make([]float32, 19)
	y := make([]float32, 19)
	for i := range x {
		x[i] = 1 + 0x1p-12
		y[i] = -float32(a * x[i])
	}
	Axpy(a, x, y)
	for i, v := range y {
		if v != 0 { // fused, it would be the rounding error 2^-24
			t.Fatalf("y[%d] = %g, want 0 (a*x rounded before the addition)", i, v)
		}
	}
}

// TestNorm64NoFusion checks a case where fusing s += v*v into one
// multiply-add changes the norm: with v = 0x1.000000007181ap+0, 9 + v*v
// rounds to a different float64 when v*v is rounded first than when it
// is fused, and the square roots of the two sums differ too (found by
// search with exact rational arithmetic).
func TestNorm64NoFusion(t *testing.T) {
	v := 0x1.000000007181ap+0
	want := math.Sqrt(9 + float64(v*v))
	for _, x := range [][]float64{
		{3, v},
		{3, 0, 0, 0, 0, 0, 0, 0, v, 0, 0, 0, 0, 0, 0, 0}, // past the first eight
	} {
		if got := Norm64(x); got != want {
			t.Errorf("Norm64(%v) = %v (%#x), want %v: the square was fused into the add", x, got, math.Float64bits(got), want)
		}
	}
}

func TestLengthMismatchPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"Axpy": func() { Axpy(1, make([]float32, 9), make([]float32, 8)) },
		"Dot":  func() { Dot(make([]float32, 8), make([]float32, 9)) },
	} {
		func() {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(fmt.Sprint(r), "length mismatch") {
					t.Errorf("%s: recovered %v, want a length mismatch panic", name, r)
				}
			}()
			f()
		}()
	}
	// Axpy must not have written anything before it panics.
	y := []float32{1, 2, 3}
	func() {
		defer func() { recover() }()
		Axpy(1, []float32{1, 1, 1, 1}, y)
	}()
	if y[0] != 1 || y[1] != 2 || y[2] != 3 {
		t.Errorf("Axpy wrote %v before panicking", y)
	}
}

// sumAbs is Σ|x_i·y_i|, the scale of the rounding error of any float64
// summation order.
func sumAbs(x, y []float32) float64 {
	s := 0.0
	for i := range x {
		s += math.Abs(float64(x[i]) * float64(y[i]))
	}
	return s
}

func TestDotAndNormAccuracy(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range testLengths() {
		for range 4 {
			x := randFloats(r, n)
			y := randFloats(r, n)
			scale := sumAbs(x, y)

			got := Dot(x, y)
			if d := math.Abs(got - naiveDot(x, y)); d > 1e-12*scale {
				t.Errorf("Dot n=%d: %v, naive %v (|diff| %g > 1e-12·Σ|xy| = %g)", n, got, naiveDot(x, y), d, 1e-12*scale)
			}
			exact := exactDot(x, y)
			// Any summation order errs by at most (n-1)·u·Σ|x_i y_i|.
			if d := math.Abs(got - exact); d > float64(n)*0x1p-53*scale {
				t.Errorf("Dot n=%d: %v, exact %v (|diff| %g)", n, got, exact, d)
			}
			if again := Dot(x, y); math.Float64bits(again) != math.Float64bits(got) {
				t.Errorf("Dot n=%d not deterministic: %v then %v", n, got, again)
			}

			nm := Norm(x)
			if want := naiveNorm(x); math.Abs(nm-want) > 1e-12*want {
				t.Errorf("Norm n=%d: %v, naive %v", n, nm, want)
			}
			if again := Norm(x); math.Float64bits(again) != math.Float64bits(nm) {
				t.Errorf("Norm n=%d not deterministic: %v then %v", n, nm, again)
			}

			x64 := make([]float64, n)
			for i := range x64 {
				x64[i] = r.NormFloat64() * math.Pow(10, float64(r.IntN(7)-3))
			}
			n64 := Norm64(x64)
			if want := naiveNorm64(x64); math.Abs(n64-want) > 1e-12*want {
				t.Errorf("Norm64 n=%d: %v, naive %v", n, n64, want)
			}
			if again := Norm64(x64); math.Float64bits(again) != math.Float64bits(n64) {
				t.Errorf("Norm64 n=%d not deterministic: %v then %v", n, n64, again)
			}
		}
	}
}

// TestReductionOrder pins the documented summation order: with values
// chosen so that the order changes the result, the kernels must give the
// bits of the documented order on every machine.
func TestReductionOrder(t *testing.T) {
	documented := func(x []float64) float64 {
		var s [8]float64
		m := len(x) - len(x)%8
		for i := 0; i < m; i++ {
			s[i%8] += float64(x[i] * x[i])
		}
		sum := ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
		for _, v := range x[m:] {
			sum += float64(v * v)
		}
		return sum
	}
	r := rand.New(rand.NewPCG(7, 8))
	for _, n := range testLengths() {
		x := make([]float32, n)
		x64 := make([]float64, n)
		for i := range x {
			// Magnitudes 2^-20..2^20: squares span 2^80, so sums round.
			x[i] = float32(math.Ldexp(1+r.Float64(), r.IntN(41)-20))
			x64[i] = float64(x[i])
		}
		want := documented(x64)
		if got := Dot(x, x); math.Float64bits(got) != math.Float64bits(want) {
			t.Errorf("Dot n=%d: %v, documented order gives %v", n, got, want)
		}
		// Norm and Norm64 add in index order (torch's order).
		var seq float64
		for _, v := range x64 {
			seq += float64(v * v)
		}
		if got := Norm(x); math.Float64bits(got) != math.Float64bits(math.Sqrt(seq)) {
			t.Errorf("Norm n=%d: %v, index order gives %v", n, got, math.Sqrt(seq))
		}
		if got := Norm64(x64); n > 0 && math.Float64bits(got) != math.Float64bits(math.Sqrt(seq)) {
			t.Errorf("Norm64 n=%d: %v, index order gives %v", n, got, math.Sqrt(seq))
		}
	}
}

// TestKernelGoldenBits pins results to constants computed once, so a change
// of summation order (here or on another architecture) is noticed.
func TestKernelGoldenBits(t *testing.T) {
	// An integer generator, so the inputs are the same on every machine
	// (math.Sin and friends are assembly on some architectures).
	state := uint64(0x9E3779B97F4A7C15)
	next := func() float64 {
		state = state*6364136223846793005 + 1442695040888963407
		return float64(int32(state>>32)) * 0x1p-31 // exact, in [-1, 1)
	}
	x := make([]float32, 771)
	y := make([]float32, 771)
	x64 := make([]float64, 771)
	for i := range x {
		x[i] = float32(next()) * float32(1+i%13)
		y[i] = float32(next() * 0x1p-3)
		x64[i] = next() * next() * 1e3
	}
	got := map[string]uint64{
		"Dot":    math.Float64bits(Dot(x, y)),
		"Norm":   math.Float64bits(Norm(x)),
		"Norm64": math.Float64bits(Norm64(x64)),
	}
	want := map[string]uint64{
		"Dot":    goldenDot,
		"Norm":   goldenNorm,
		"Norm64": goldenNorm64,
	}
	for k, g := range got {
		if g != want[k] {
			t.Errorf("%s = %#016x (%v), golden %#016x (%v)", k, g, math.Float64frombits(g), want[k], math.Float64frombits(want[k]))
		}
	}
}

const (
	goldenDot = 0x40143a1150d8e2aa // 5.056706679570803
	// Norm and Norm64 are torch's x.double().norm() of the same inputs
	// (torch 1.13, testdata/gen/gen_norm_golden.py).
	goldenNorm   = 0x4060425e70cc4a9d // 130.0740283956592
	goldenNorm64 = 0x40c2629ec2a484a4 // 9413.240315022245
)

func TestNorm64Extremes(t *testing.T) {
	cases := []struct {
		x    []float64
		want float64
	}{
		{nil, 0},
		{[]float64{0, 0, 0}, 0},
		{[]float64{3, 4}, 5},
		{[]float64{3e200, 4e200}, 5e200},
		{[]float64{-3e-200, 4e-200}, 5e-200},
		{[]float64{0x1p-1074, 0}, 0x1p-1074},
		{[]float64{math.MaxFloat64, math.MaxFloat64}, math.Inf(1)},
		{[]float64{math.MaxFloat64, 0}, math.MaxFloat64},
		{[]float64{1, math.Inf(-1), 2}, math.Inf(1)},
		{[]float64{1, math.NaN(), math.Inf(1)}, math.NaN()},
		{[]float64{1e300, math.NaN()}, math.NaN()},
	}
	for _, c := range cases {
		got := Norm64(c.x)
		// The scaled path may be an ulp off: within 2^-52 relative.
		close := got == c.want || math.Abs(got-c.want) <= 0x1p-52*c.want
		if !(close || got != got && c.want != c.want) {
			t.Errorf("Norm64(%v) = %v, want %v", c.x, got, c.want)
		}
	}
	// Many equal tiny values: each square underflows, the norm must not.
	tiny := make([]float64, 100)
	for i := range tiny {
		tiny[i] = 1e-170
	}
	if got := Norm64(tiny); math.Abs(got-1e-169) > 1e-15*1e-169 {
		t.Errorf("Norm64(100×1e-170) = %v, want 1e-169", got)
	}
	// float32 extremes need no scaling at all.
	big32 := []float32{math.MaxFloat32, -math.MaxFloat32, 0x1p-149}
	if got, want := Norm(big32), math.Sqrt2*math.MaxFloat32; math.Abs(got-want) > 1e-15*want {
		t.Errorf("Norm(±MaxFloat32) = %v, want %v", got, want)
	}
	if got := Norm([]float32{0x1p-149}); got != 0x1p-149 {
		t.Errorf("Norm(2^-149) = %v", got)
	}
}

// TestNorm4MatchesNorm: interleaving four rows changes no row's result,
// for widths around the unrolling and embedding widths, values of every
// magnitude, zeros, NaN and infinities.
func TestNorm4MatchesNorm(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), math.MaxFloat32, math.SmallestNonzeroFloat32}
	for _, w := range []int{0, 1, 3, 7, 8, 9, 768, 1024, 1280} {
		for trial := 0; trial < 20; trial++ {
			var rows [4][]float32
			for r := range rows {
				rows[r] = make([]float32, w)
				for i := range rows[r] {
					rows[r][i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(40)-20)))
					if rng.IntN(50) == 0 {
						rows[r][i] = special[rng.IntN(len(special))]
					}
				}
			}
			a, b, c, d := Norm4(rows[0], rows[1], rows[2], rows[3])
			for r, got := range []float64{a, b, c, d} {
				want := Norm(rows[r])
				if math.Float64bits(got) != math.Float64bits(want) && !(got != got && want != want) {
					t.Fatalf("width %d row %d: Norm4 %v, Norm %v", w, r, got, want)
				}
			}
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("rows of different lengths: no panic")
		}
	}()
	Norm4(make([]float32, 3), make([]float32, 3), make([]float32, 2), make([]float32, 3))
}
