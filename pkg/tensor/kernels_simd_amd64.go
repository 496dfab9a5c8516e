//go:build goexperiment.simd

package tensor

import "simd/archsimd"

// haveSIMD reports whether the archsimd kernels can run: they use 256-bit
// AVX instructions only (no FMA, which would change the rounding).
var haveSIMD = archsimd.X86.AVX()

// simdMinLen is the length from which the exported kernels use the SIMD
// path; shorter inputs never reach a vector instruction anyway.
const simdMinLen = 8

// The SIMD kernels compute exactly the bits of the generic ones. Scale and
// Axpy are elementwise, and VMULPS/VADDPS round each lane as MULSS/ADDSS
// do. The reductions keep the generic kernels' eight accumulators as the
// lanes of two Float64x4 vectors (lane j of acc0 is s_j, lane j of acc1 is
// s_{4+j}), add into them in the same order, and combine them and add the
// tail with the same scalar code. Products are a Mul followed by an Add,
// never MulAdd: a fused multiply-add would round once instead of twice.
// ClearAVXUpperBits runs before the scalar tail code to avoid the AVX-SSE
// transition penalty.

func scaleSIMD(a float32, x []float32) {
	va := archsimd.BroadcastFloat32x8(a)
	for len(x) >= 32 {
		v0 := archsimd.LoadFloat32x8((*[8]float32)(x[0:8]))
		v1 := archsimd.LoadFloat32x8((*[8]float32)(x[8:16]))
		v2 := archsimd.LoadFloat32x8((*[8]float32)(x[16:24]))
		v3 := archsimd.LoadFloat32x8((*[8]float32)(x[24:32]))
		v0.Mul(va).Store((*[8]float32)(x[0:8]))
		v1.Mul(va).Store((*[8]float32)(x[8:16]))
		v2.Mul(va).Store((*[8]float32)(x[16:24]))
		v3.Mul(va).Store((*[8]float32)(x[24:32]))
		x = x[32:]
	}
	for len(x) >= 8 {
		archsimd.LoadFloat32x8((*[8]float32)(x[0:8])).Mul(va).Store((*[8]float32)(x[0:8]))
		x = x[8:]
	}
	archsimd.ClearAVXUpperBits()
	for i := range x {
		x[i] *= a
	}
}

func axpySIMD(a float32, x, y []float32) {
	va := archsimd.BroadcastFloat32x8(a)
	for len(x) >= 32 && len(y) >= 32 {
		x0 := archsimd.LoadFloat32x8((*[8]float32)(x[0:8]))
		x1 := archsimd.LoadFloat32x8((*[8]float32)(x[8:16]))
		x2 := archsimd.LoadFloat32x8((*[8]float32)(x[16:24]))
		x3 := archsimd.LoadFloat32x8((*[8]float32)(x[24:32]))
		y0 := archsimd.LoadFloat32x8((*[8]float32)(y[0:8]))
		y1 := archsimd.LoadFloat32x8((*[8]float32)(y[8:16]))
		y2 := archsimd.LoadFloat32x8((*[8]float32)(y[16:24]))
		y3 := archsimd.LoadFloat32x8((*[8]float32)(y[24:32]))
		y0.Add(va.Mul(x0)).Store((*[8]float32)(y[0:8]))
		y1.Add(va.Mul(x1)).Store((*[8]float32)(y[8:16]))
		y2.Add(va.Mul(x2)).Store((*[8]float32)(y[16:24]))
		y3.Add(va.Mul(x3)).Store((*[8]float32)(y[24:32]))
		x, y = x[32:], y[32:]
	}
	for len(x) >= 8 && len(y) >= 8 {
		x0 := archsimd.LoadFloat32x8((*[8]float32)(x[0:8]))
		y0 := archsimd.LoadFloat32x8((*[8]float32)(y[0:8]))
		y0.Add(va.Mul(x0)).Store((*[8]float32)(y[0:8]))
		x, y = x[8:], y[8:]
	}
	archsimd.ClearAVXUpperBits()
	y = y[:len(x)]
	for i, v := range x {
		y[i] += float32(a * v)
	}
}

func dotSIMD(x, y []float32) float64 {
	var acc0, acc1 archsimd.Float64x4
	for len(x) >= 8 && len(y) >= 8 {
		x0 := archsimd.LoadFloat32x4((*[4]float32)(x[0:4])).ConvertToFloat64()
		x1 := archsimd.LoadFloat32x4((*[4]float32)(x[4:8])).ConvertToFloat64()
		y0 := archsimd.LoadFloat32x4((*[4]float32)(y[0:4])).ConvertToFloat64()
		y1 := archsimd.LoadFloat32x4((*[4]float32)(y[4:8])).ConvertToFloat64()
		acc0 = acc0.Add(x0.Mul(y0))
		acc1 = acc1.Add(x1.Mul(y1))
		x, y = x[8:], y[8:]
	}
	return dotTail(reduce8(acc0, acc1), x, y)
}

func sumSquaresSIMD(x []float32) float64 {
	var acc0, acc1 archsimd.Float64x4
	for len(x) >= 8 {
		v0 := archsimd.LoadFloat32x4((*[4]float32)(x[0:4])).ConvertToFloat64()
		v1 := archsimd.LoadFloat32x4((*[4]float32)(x[4:8])).ConvertToFloat64()
		acc0 = acc0.Add(v0.Mul(v0))
		acc1 = acc1.Add(v1.Mul(v1))
		x = x[8:]
	}
	return sumSquaresTail(reduce8(acc0, acc1), x)
}

func sumSquares64SIMD(x []float64) float64 {
	var acc0, acc1 archsimd.Float64x4
	for len(x) >= 8 {
		v0 := archsimd.LoadFloat64x4((*[4]float64)(x[0:4]))
		v1 := archsimd.LoadFloat64x4((*[4]float64)(x[4:8]))
		acc0 = acc0.Add(v0.Mul(v0))
		acc1 = acc1.Add(v1.Mul(v1))
		x = x[8:]
	}
	return sumSquares64Tail(reduce8(acc0, acc1), x)
}

// reduce8 combines the eight accumulators held in two vectors in the
// generic kernels' order, ((s0+s1)+(s2+s3))+((s4+s5)+(s6+s7)).
func reduce8(acc0, acc1 archsimd.Float64x4) float64 {
	var s [8]float64
	acc0.Store((*[4]float64)(s[0:4]))
	acc1.Store((*[4]float64)(s[4:8]))
	archsimd.ClearAVXUpperBits()
	return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
}
