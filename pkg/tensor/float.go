package tensor

import (
	"math"

	"github.com/x448/float16"
)

// Canonical NaN encodings written by embtool, as torch writes them for f16
// and f32 (formats.md §3): NaN payloads are never preserved on write.
const (
	NaNF16  uint16 = 0x7E00
	NaNBF16 uint16 = 0x7FC0
	NaNF32  uint32 = 0x7FC00000
	NaNF64  uint64 = 0x7FF8000000000000
)

// F16ToF32 widens an IEEE binary16 value exactly.
// Finite values take the half's exponent and mantissa bits into a float32
// 13 places up and scale by 2^112 (the difference of the two exponent
// biases), which is exact for normal and subnormal halves alike; the sign
// bit is copied. Infinities and NaNs (payload kept) go through float16.
func F16ToF32(h uint16) float32 {
	if h&0x7C00 == 0x7C00 {
		return f16NotFinite(h)
	}
	return f16Finite(h)
}

// f16Finite widens a half whose exponent is not all ones.
func f16Finite(h uint16) float32 {
	f := math.Float32frombits(uint32(h&0x7FFF)<<13) * 0x1p112
	return math.Float32frombits(math.Float32bits(f) | uint32(h&0x8000)<<16)
}

// f16NotFinite is kept out of F16ToF32 so that F16ToF32 is inlined.
func f16NotFinite(h uint16) float32 { return float16.Frombits(h).Float32() }

// BF16ToF32 widens a bfloat16 value exactly: it is the upper half of an f32.
func BF16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// F32ToF16 rounds to nearest even; overflow gives ±Inf, NaN gives NaNF16.
func F32ToF16(f float32) uint16 {
	if f != f {
		return NaNF16
	}
	return float16.Fromfloat32(f).Bits()
}

// F32ToBF16 rounds to nearest even on the upper 16 bits, as torch does;
// overflow gives ±Inf, NaN gives NaNBF16.
func F32ToBF16(f float32) uint16 {
	if f != f {
		return NaNBF16
	}
	b := math.Float32bits(f)
	b += 0x7FFF + (b>>16)&1
	return uint16(b >> 16)
}

// F32Bits is math.Float32bits with NaN canonicalised.
func F32Bits(f float32) uint32 {
	if f != f {
		return NaNF32
	}
	return math.Float32bits(f)
}

// F64Bits is math.Float64bits with NaN canonicalised.
func F64Bits(f float64) uint64 {
	if f != f {
		return NaNF64
	}
	return math.Float64bits(f)
}

// roundToOddF32 narrows v to float32 rounding toward zero and then setting
// the lowest mantissa bit when the result is inexact ("round to odd"). A
// later round-to-nearest-even to a format with at least two fewer mantissa
// bits (f16, bf16) then equals rounding v directly.
func roundToOddF32(v float64) float32 {
	if v != v || math.IsInf(v, 0) {
		return float32(v)
	}
	f := float32(v)
	if float64(f) == v {
		return f
	}
	if math.Abs(float64(f)) > math.Abs(v) { // rounded away from zero: step back
		f = math.Nextafter32(f, 0)
	}
	return math.Float32frombits(math.Float32bits(f) | 1)
}
