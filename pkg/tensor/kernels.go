package tensor

import (
	"fmt"
	"math"
)

// The float kernels below are written for speed and for reproducibility.
//
// Speed: Go does not auto-vectorise, so each loop is unrolled by eight with
// independent accumulators (breaking the add-latency chain) and written as
// "for len(x) >= 8 { ...x[0]..x[7]...; x = x[8:] }" so that the compiler
// proves every index in range and emits no bounds checks inside the loop
// (go build -gcflags=-d=ssa/check_bce reports none for these loops).
//
// Reproducibility: every kernel has one fixed order of operations that
// depends only on the length of its input, so it returns the same bits on
// every run and every machine. Norm and Norm64 add in index order, as
// torch does for float64 (see Norm). The other reductions use eight
// accumulators: element
// i goes to accumulator i%8 for the leading len-len%8 elements, the
// accumulators are combined as ((s0+s1)+(s2+s3))+((s4+s5)+(s6+s7)), and the
// remaining len%8 elements are then added in index order.
//
// The Go specification lets an implementation fuse x*y + z into one fused
// multiply-add with a single rounding. The gc compiler does so on arm64,
// ppc64le, s390x and riscv64, and on amd64 too when built with
// GOAMD64=v3 or later (checked with Go 1.26: "s += v*v" becomes
// VFMADD231SD). That would make results differ between machines, so every
// product that is added to something is wrapped in an explicit conversion
// to its own type, such as float32(a*x[i]) or float64(v*v): the
// specification says an explicit conversion rounds to the target type's
// precision and so prevents the fusion. (For Dot and SumSquares the
// float64 product of two float32 values is exact, so fusion could not
// change them; the conversions are there for uniformity.)

// checkLen panics, before a kernel touches any element, when the two
// operands of a kernel have different lengths.
func checkLen(kernel string, nx, ny int) {
	if nx != ny {
		panic(fmt.Sprintf("tensor: %s: length mismatch: len(x)=%d, len(y)=%d", kernel, nx, ny))
	}
}

// Scale multiplies every element of x by a, in place: x[i] = a*x[i],
// rounded to float32 exactly as the scalar expression is.
func Scale(a float32, x []float32) {
	scaleGeneric(a, x)
}

// Axpy adds a times x to y, in place: y[i] += float32(a*x[i]), with the
// product rounded to float32 before the addition (never fused).
// It is the caller's contract that len(x) == len(y); Axpy checks it once,
// before writing anything, and panics if it does not hold.
func Axpy(a float32, x, y []float32) {
	checkLen("Axpy", len(x), len(y))
	axpyGeneric(a, x, y)
}

// Dot returns the dot product of x and y accumulated in float64. Each
// product float64(x[i])*float64(y[i]) is exact, so the only rounding is in
// the sums, which follow the fixed order described in the package's kernel
// notes. It is the caller's contract that len(x) == len(y); Dot checks it
// once and panics if it does not hold.
func Dot(x, y []float32) float64 {
	checkLen("Dot", len(x), len(y))
	return dotGeneric(x, y)
}

// Norm returns the L2 (Euclidean) norm of x in float64: the squares of
// the values widened to float64 (each exact) are added one after another
// in index order, and the square root taken. This is embtool's one norm
// routine (inspect's norms, merge --norm, the vocabulary's norms): it gives
// the bits of torch's x.double().norm() (torch 1.13, 1000 random rows of
// each width 768, 1024 and 1280: all identical, where the eight-accumulator
// order of Dot(x, x) matched 142 to 180 of 1000;
// testdata/gen/gen_norm_golden.py). For
// float32 data this needs no scaling: the sum of squares of float32
// values can neither overflow nor underflow float64. A NaN gives NaN, an
// infinity +Inf.
func Norm(x []float32) float64 {
	var s float64
	for _, v := range x {
		w := float64(v)
		s += float64(w * w)
	}
	return math.Sqrt(s)
}

// Norm4 returns the norms of four rows of one length, each bit for bit
// what Norm returns for it: each row's squares are added in index order
// into its own sum. Interleaving four rows only lets the processor work on
// four sums at once (Norm waits on one addition per element); no row's
// order of operations changes. It panics if the rows differ in length.
func Norm4(a, b, c, d []float32) (na, nb, nc, nd float64) {
	checkLen("Norm4", len(a), len(b))
	checkLen("Norm4", len(a), len(c))
	checkLen("Norm4", len(a), len(d))
	b, c, d = b[:len(a)], c[:len(a)], d[:len(a)]
	var sa, sb, sc, sd float64
	for i, v := range a {
		x, y, z, t := float64(v), float64(b[i]), float64(c[i]), float64(d[i])
		sa += float64(x * x)
		sb += float64(y * y)
		sc += float64(z * z)
		sd += float64(t * t)
	}
	return math.Sqrt(sa), math.Sqrt(sb), math.Sqrt(sc), math.Sqrt(sd)
}

// Norm64 returns the L2 (Euclidean) norm of x in float64. The squares
// are added in index order, as Norm does; only when that sum
// overflows or falls below 2^-900 (where squares lose precision to
// underflow) is it recomputed with the values scaled by a power of two,
// which is exact. A NaN element gives NaN, an infinite one +Inf.
func Norm64(x []float64) float64 {
	var ss float64
	for _, v := range x {
		ss += float64(v * v)
	}
	if ss >= 0x1p-900 && ss <= math.MaxFloat64 || ss != ss {
		return math.Sqrt(ss)
	}
	// Rare: the sum overflowed, or the values are tiny (or all zero).
	m := 0.0
	for _, v := range x {
		v = math.Abs(v)
		if v != v {
			return math.NaN()
		}
		if v > m {
			m = v
		}
	}
	if m == 0 || math.IsInf(m, 1) {
		return m
	}
	_, e := math.Frexp(m) // m = f * 2^e with 0.5 <= f < 1
	// Scaling by 2^-e keeps every element below 1 and the largest above
	// 1/2, so the scaled sum of squares neither overflows nor underflows to
	// zero. Scaling down may round away bits of values that are tiny
	// relative to m; their squares are below m's by more than 2^-1000.
	var s float64
	for _, v := range x {
		v = math.Ldexp(v, -e)
		s += float64(v * v)
	}
	return math.Ldexp(math.Sqrt(s), e)
}

// The kernels' bodies, which the benchmarks also call by name.

func scaleGeneric(a float32, x []float32) {
	for len(x) >= 8 {
		x[0] *= a
		x[1] *= a
		x[2] *= a
		x[3] *= a
		x[4] *= a
		x[5] *= a
		x[6] *= a
		x[7] *= a
		x = x[8:]
	}
	for i := range x {
		x[i] *= a
	}
}

func axpyGeneric(a float32, x, y []float32) {
	for len(x) >= 8 && len(y) >= 8 {
		y[0] += float32(a * x[0])
		y[1] += float32(a * x[1])
		y[2] += float32(a * x[2])
		y[3] += float32(a * x[3])
		y[4] += float32(a * x[4])
		y[5] += float32(a * x[5])
		y[6] += float32(a * x[6])
		y[7] += float32(a * x[7])
		x, y = x[8:], y[8:]
	}
	y = y[:len(x)]
	for i, v := range x {
		y[i] += float32(a * v)
	}
}

func dotGeneric(x, y []float32) float64 {
	var s0, s1, s2, s3, s4, s5, s6, s7 float64
	for len(x) >= 8 && len(y) >= 8 {
		s0 += float64(float64(x[0]) * float64(y[0]))
		s1 += float64(float64(x[1]) * float64(y[1]))
		s2 += float64(float64(x[2]) * float64(y[2]))
		s3 += float64(float64(x[3]) * float64(y[3]))
		s4 += float64(float64(x[4]) * float64(y[4]))
		s5 += float64(float64(x[5]) * float64(y[5]))
		s6 += float64(float64(x[6]) * float64(y[6]))
		s7 += float64(float64(x[7]) * float64(y[7]))
		x, y = x[8:], y[8:]
	}
	s := ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
	return dotTail(s, x, y)
}

// dotTail adds the products of the last len(x) < 8 elements to s in index
// order.
func dotTail(s float64, x, y []float32) float64 {
	y = y[:len(x)]
	for i, v := range x {
		s += float64(float64(v) * float64(y[i]))
	}
	return s
}
