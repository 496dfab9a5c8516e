//go:build !goexperiment.simd || !amd64

package tensor

// haveSIMD is false when the archsimd kernels are not built in; the
// compiler then drops the SIMD branches of the exported kernels.
const haveSIMD = false

// simdMinLen is unused without the SIMD kernels.
const simdMinLen = 0

func scaleSIMD(a float32, x []float32)     { panic("unreachable") }
func axpySIMD(a float32, x, y []float32)   { panic("unreachable") }
func dotSIMD(x, y []float32) float64       { panic("unreachable") }
func sumSquaresSIMD(x []float32) float64   { panic("unreachable") }
func sumSquares64SIMD(x []float64) float64 { panic("unreachable") }
