package embedding

import (
	"encoding/binary"
	"math"

	"github.com/embtool/embtool/pkg/tensor"
)

// constHash is A1111's const_hash over the float32 values of data times
// 100 (the multiply in float32, as torch does), each truncated toward zero
// as Python's int():
//
//	r = (r * 281 ^ int(v) * 997) & 0xFFFFFFFF
//
// Python's ints are unbounded, but the mask keeps the low 32 bits after
// every step, and the low 32 bits of a product or of an XOR (two's
// complement, as Python's XOR of negative ints is) depend only on the low
// 32 bits of the operands: uint32 arithmetic gives the same bits. The hash
// is serial; per element it costs one multiply and one XOR on the chain,
// the conversions beside it run ahead.
//
// ok is false when a value times 100 is NaN or infinite, where Python's
// int() raises. Any finite value is hashed as Python does: a float32 of
// magnitude 2⁶² or more is a multiple of 2³⁹, so the low 32 bits of its
// int() are zero.
func constHash(dt tensor.DType, data []byte) (r uint32, ok bool) {
	switch dt {
	case tensor.F32:
		return constHashF32(data)
	case tensor.F16, tensor.BF16:
		return constHash16(dt, data)
	case tensor.F64:
		for ; len(data) >= 8; data = data[8:] {
			x := float32(math.Float64frombits(binary.LittleEndian.Uint64(data))) * 100
			if r, ok = step(r, x); !ok {
				return 0, false
			}
		}
		return r, true
	}
	return 0, false
}

func constHashF32(data []byte) (r uint32, ok bool) {
	for ; len(data) >= 16; data = data[16:] {
		x0 := math.Float32frombits(binary.LittleEndian.Uint32(data)) * 100
		x1 := math.Float32frombits(binary.LittleEndian.Uint32(data[4:])) * 100
		x2 := math.Float32frombits(binary.LittleEndian.Uint32(data[8:])) * 100
		x3 := math.Float32frombits(binary.LittleEndian.Uint32(data[12:])) * 100
		if !(x0 < 0x1p62 && x0 > -0x1p62 && x1 < 0x1p62 && x1 > -0x1p62 &&
			x2 < 0x1p62 && x2 > -0x1p62 && x3 < 0x1p62 && x3 > -0x1p62) {
			for _, x := range [4]float32{x0, x1, x2, x3} {
				if r, ok = step(r, x); !ok {
					return 0, false
				}
			}
			continue
		}
		r = r*281 ^ uint32(int64(x0))*997
		r = r*281 ^ uint32(int64(x1))*997
		r = r*281 ^ uint32(int64(x2))*997
		r = r*281 ^ uint32(int64(x3))*997
	}
	for ; len(data) >= 4; data = data[4:] {
		x := math.Float32frombits(binary.LittleEndian.Uint32(data)) * 100
		if r, ok = step(r, x); !ok {
			return 0, false
		}
	}
	return r, true
}

func constHash16(dt tensor.DType, data []byte) (r uint32, ok bool) {
	if dt == tensor.BF16 {
		for ; len(data) >= 2; data = data[2:] {
			if r, ok = step(r, tensor.BF16ToF32(binary.LittleEndian.Uint16(data))*100); !ok {
				return 0, false
			}
		}
		return r, true
	}
	for ; len(data) >= 2; data = data[2:] {
		h := binary.LittleEndian.Uint16(data)
		var x float32
		switch e := h >> 10 & 0x1f; e {
		case 0x1f: // Inf or NaN
			return 0, false
		case 0: // zero or subnormal
			x = tensor.F16ToF32(h)
		default: // a normal f16: rebias the exponent, widen the mantissa
			x = math.Float32frombits(uint32(h&0x8000)<<16 | uint32(e+112)<<23 | uint32(h&0x3ff)<<13)
		}
		// |x·100| ≤ 65504·100: always within int64.
		r = r*281 ^ uint32(int64(x*100))*997
	}
	return r, true
}

// step is one element of constHash, x being float32(v)*100.
func step(r uint32, x float32) (uint32, bool) {
	switch {
	case x < 0x1p62 && x > -0x1p62:
		return r*281 ^ uint32(int64(x))*997, true
	case x != x || math.IsInf(float64(x), 0):
		return 0, false
	}
	return r * 281, true // int(x) is a multiple of 2³⁹: its low 32 bits are 0
}
