package tensor

import (
	"encoding/binary"
	"math"
	"math/big"
	"math/rand/v2"
	"sort"
	"testing"
)

// The conversion vectors of formats.md §3 (torch's results).
func TestFormatsVectors(t *testing.T) {
	bf16 := []struct {
		f    float32
		want uint16
	}{
		{1.00390625, 0x3F80}, // tie, rounds to even (down)
		{1.01171875, 0x3F82}, // tie, rounds to even (up)
		{3.4e38, 0x7F80},     // overflows to +Inf
		{1e-40, 0x0001},      // f32 subnormals survive
		{1, 0x3F80},
		{-2, 0xC000},
		{float32(math.Inf(-1)), 0xFF80},
		{float32(math.Copysign(0, -1)), 0x8000},
		{math.MaxFloat32, 0x7F80},
		{math.Float32frombits(0x7F7F7FFF), 0x7F7F}, // just below the tie to Inf
	}
	for _, c := range bf16 {
		if got := F32ToBF16(c.f); got != c.want {
			t.Errorf("F32ToBF16(%g) = %#04x, want %#04x", c.f, got, c.want)
		}
	}
	f16 := []struct {
		f    float32
		want uint16
	}{
		{65520, 0x7C00}, // tie between 65504 and 2^16: to even, which is Inf
		{65504, 0x7BFF},
		{65519.99, 0x7BFF},
		{5.96e-8, 0x0001},
		{2.98e-8, 0x0000},
		{0x1p-25, 0x0000},                      // tie: to even, zero
		{math.Nextafter32(0x1p-25, 1), 0x0001}, // just above the tie
		{0x1p-24 * 1.5, 0x0002},                // tie between 1 and 2 units: even
		{1, 0x3C00},
		{-0.5, 0xB800},
		{float32(math.Copysign(0, -1)), 0x8000},
		{float32(math.Inf(1)), 0x7C00},
		{1e-45, 0x0000},
	}
	for _, c := range f16 {
		if got := F32ToF16(c.f); got != c.want {
			t.Errorf("F32ToF16(%g) = %#04x, want %#04x", c.f, got, c.want)
		}
	}
}

func TestNaNCanonical(t *testing.T) {
	nans := []uint32{0x7FC00000, 0xFFC00000, 0x7F800001, 0xFFFFFFFF, 0x7FBFFFFF, 0x7FC12345}
	for _, b := range nans {
		f := math.Float32frombits(b)
		if got := F32ToF16(f); got != NaNF16 {
			t.Errorf("F32ToF16(NaN %#08x) = %#04x, want %#04x", b, got, NaNF16)
		}
		if got := F32ToBF16(f); got != NaNBF16 {
			t.Errorf("F32ToBF16(NaN %#08x) = %#04x, want %#04x", b, got, NaNBF16)
		}
		if got := F32Bits(f); got != NaNF32 {
			t.Errorf("F32Bits(NaN %#08x) = %#08x", b, got)
		}
		if got := F64Bits(float64(f)); got != NaNF64 {
			t.Errorf("F64Bits(NaN) = %#016x", got)
		}
	}
	if got := F64Bits(math.Float64frombits(0xFFF0000000000001)); got != NaNF64 {
		t.Errorf("F64Bits(signalling NaN) = %#016x", got)
	}
	// Through tensors: NaN with any payload is written canonically in
	// every float dtype, from every float dtype.
	src := map[DType][]byte{
		F16:  le16(0x7C01, 0xFFFF, 0x7E00),
		BF16: le16(0xFFFF, 0x7F81, 0xFFC0),
		F32:  le32(0xFFFFFFFF, 0x7F800001, 0x7FC00000),
		F64:  le64(0xFFFFFFFFFFFFFFFF, 0x7FF0000000000001, 0x7FF8000000000000),
	}
	want := map[DType][]byte{
		F16:  le16(NaNF16, NaNF16, NaNF16),
		BF16: le16(NaNBF16, NaNBF16, NaNBF16),
		F32:  le32(NaNF32, NaNF32, NaNF32),
		F64:  le64(NaNF64, NaNF64, NaNF64),
	}
	for from, data := range src {
		in, err := New(from, []int{3}, data)
		if err != nil {
			t.Fatal(err)
		}
		for to := range want {
			if to == from {
				continue
			}
			out, err := in.Convert(to)
			if err != nil {
				t.Fatal(err)
			}
			if string(out.Data) != string(want[to]) {
				t.Errorf("%s NaNs → %s: % x, want % x", from, to, out.Data, want[to])
			}
		}
	}
}

func le16(v ...uint16) []byte {
	b := make([]byte, 2*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint16(b[2*i:], x)
	}
	return b
}

func le32(v ...uint32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], x)
	}
	return b
}

func le64(v ...uint64) []byte {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], x)
	}
	return b
}

func isNaN16(h uint16, f16 bool) bool {
	if f16 {
		return h&0x7C00 == 0x7C00 && h&0x03FF != 0
	}
	return h&0x7F80 == 0x7F80 && h&0x007F != 0
}

// Every f16 and every bf16 bit pattern widens to f32 and narrows back to
// itself; NaNs come back canonical. Also through F32 and F64 tensors.
func TestHalfRoundTripExhaustive(t *testing.T) {
	for _, dt := range []DType{F16, BF16} {
		f16 := dt == F16
		canon := NaNBF16
		if f16 {
			canon = NaNF16
		}
		all := make([]byte, 2<<16)
		want := make([]byte, 2<<16)
		for i := 0; i < 1<<16; i++ {
			h := uint16(i)
			binary.LittleEndian.PutUint16(all[2*i:], h)
			w := h
			if isNaN16(h, f16) {
				w = canon
			}
			binary.LittleEndian.PutUint16(want[2*i:], w)

			var f float32
			var back uint16
			if f16 {
				f = F16ToF32(h)
				back = F32ToF16(f)
			} else {
				f = BF16ToF32(h)
				back = F32ToBF16(f)
			}
			if isNaN16(h, f16) != (f != f) {
				t.Fatalf("%s %#04x widened to %v: NaN-ness changed", dt, h, f)
			}
			if back != w {
				t.Fatalf("%s %#04x → %v → %#04x, want %#04x", dt, h, f, back, w)
			}
		}
		in, err := New(dt, []int{256, 256}, all)
		if err != nil {
			t.Fatal(err)
		}
		for _, mid := range []DType{F32, F64} {
			wide, err := in.Convert(mid)
			if err != nil {
				t.Fatal(err)
			}
			back, err := wide.Convert(dt)
			if err != nil {
				t.Fatal(err)
			}
			if string(back.Data) != string(want) {
				t.Errorf("%s → %s → %s is not the identity", dt, mid, dt)
			}
		}
	}
}

// halfTable is the sorted list of the non-negative finite values of a
// 16-bit float format, as float64 (exact), plus the value the next bit
// pattern (the format's +Inf) would have if the exponent range went on:
// RNE rounds to +Inf exactly when that value is nearest.
type halfTable struct {
	vals []float64
	bits []uint16
}

func newHalfTable(f16 bool) *halfTable {
	ht := &halfTable{}
	for h := uint16(0); ; h++ {
		var f float32
		if f16 {
			f = F16ToF32(h)
		} else {
			f = BF16ToF32(h)
		}
		if math.IsInf(float64(f), 1) {
			// One past the largest finite value: 2^16 for f16, 2^128 for bf16.
			last := ht.vals[len(ht.vals)-1]
			_, e := math.Frexp(last)
			ht.vals = append(ht.vals, math.Ldexp(1, e))
			ht.bits = append(ht.bits, h)
			break
		}
		ht.vals = append(ht.vals, float64(f))
		ht.bits = append(ht.bits, h)
	}
	return ht
}

// round is the exact reference: the nearest representable value to v,
// ties to the even bit pattern, with overflow to Inf; the halfway point
// between two neighbours is computed and compared with big.Float, exactly.
func (ht *halfTable) round(v float64) uint16 {
	var sign uint16
	if math.Signbit(v) {
		sign = 0x8000
		v = -v
	}
	inf := ht.bits[len(ht.bits)-1]
	if math.IsInf(v, 1) || v >= ht.vals[len(ht.vals)-1] {
		return sign | inf
	}
	// vals[i] <= v < vals[i+1]
	i := sort.Search(len(ht.vals), func(k int) bool { return ht.vals[k] > v }) - 1
	lo, hi := ht.vals[i], ht.vals[i+1]
	mid := new(big.Float).SetPrec(200).SetFloat64(lo)
	mid.Add(mid, new(big.Float).SetPrec(200).SetFloat64(hi))
	mid.Quo(mid, big.NewFloat(2)) // exact at 200 bits
	switch new(big.Float).SetPrec(200).SetFloat64(v).Cmp(mid) {
	case -1:
		return sign | ht.bits[i]
	case 1:
		return sign | ht.bits[i+1]
	}
	if ht.bits[i]&1 == 0 {
		return sign | ht.bits[i]
	}
	return sign | ht.bits[i+1]
}

// hardDoubles returns doubles just beside and exactly on the halfway points
// of the 16-bit format, where rounding twice (F64→F32→F16) goes wrong, and
// random doubles over the whole exponent range.
func hardDoubles(ht *halfTable, r *rand.Rand, n int) []float64 {
	var out []float64
	add := func(v float64) { out = append(out, v, -v) }
	for _, k := range []int{0, 1, 2, 3, 100, 1000, 1023, 1024, 1025, 5000, 20000, 30000} {
		if k+1 >= len(ht.vals) {
			continue
		}
		lo, hi := ht.vals[k], ht.vals[k+1]
		mid := lo + (hi-lo)/2 // exact: the formats have at most 11 bits
		add(mid)
		for _, d := range []int{1, 2, 1 << 20, 1 << 28} { // within f32's rounding of mid
			add(math.Float64frombits(math.Float64bits(mid) + uint64(d)))
			add(math.Float64frombits(math.Float64bits(mid) - uint64(d)))
		}
	}
	last := ht.vals[len(ht.vals)-2]
	add(last)
	add(math.Nextafter(last, 0))
	add(ht.vals[len(ht.vals)-1])
	add(math.MaxFloat64)
	add(math.SmallestNonzeroFloat64)
	add(math.MaxFloat32)
	add(float64(math.Nextafter32(math.MaxFloat32, 0)))
	add(0x1p-149)
	add(0x1p-150)
	add(0x1p-150 * 1.0000001)
	add(math.Inf(1))
	add(0)
	for range n {
		// Random bits over the finite range, and random values near the
		// 16-bit range with random low bits.
		b := r.Uint64() &^ (1 << 63)
		if math.IsNaN(math.Float64frombits(b)) || math.IsInf(math.Float64frombits(b), 0) {
			continue
		}
		add(math.Float64frombits(b))
		e := r.IntN(300) - 150
		add(math.Ldexp(1+r.Float64(), e))
		k := r.IntN(len(ht.vals) - 1)
		mid := ht.vals[k] + (ht.vals[k+1]-ht.vals[k])/2
		add(math.Float64frombits(math.Float64bits(mid) + uint64(r.IntN(1<<30)) - 1<<29))
	}
	return out
}

// TestConvertF64CorrectlyRounded checks that F64→F16 and F64→BF16 round
// once, to nearest even, against the exact reference (this exercises
// roundToOddF32); F64→F32 is Go's own conversion, also checked.
func TestConvertF64CorrectlyRounded(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, dt := range []DType{F16, BF16} {
		ht := newHalfTable(dt == F16)
		vals := hardDoubles(ht, r, 20000)
		data := make([]byte, 8*len(vals))
		for i, v := range vals {
			binary.LittleEndian.PutUint64(data[8*i:], math.Float64bits(v))
		}
		in, err := New(F64, []int{len(vals)}, data)
		if err != nil {
			t.Fatal(err)
		}
		out, err := in.Convert(dt)
		if err != nil {
			t.Fatal(err)
		}
		bad := 0
		for i, v := range vals {
			got := binary.LittleEndian.Uint16(out.Data[2*i:])
			if want := ht.round(v); got != want {
				if bad++; bad <= 10 {
					t.Errorf("F64 %v (%#016x) → %s = %#04x, want %#04x", v, math.Float64bits(v), dt, got, want)
				}
			}
		}
		if bad > 0 {
			t.Errorf("%s: %d of %d values misrounded", dt, bad, len(vals))
		}
	}
	// The classic double-rounding trap, spelled out: 1 + 2^-11 + 2^-40 is
	// just above the f16 halfway point between 1 and 1+2^-10, but float32
	// rounds it to the halfway point itself, which then ties to even (1).
	for _, c := range []struct {
		v    float64
		dt   DType
		want uint16
	}{
		{1 + 0x1p-11 + 0x1p-40, F16, 0x3C01},
		{1 + 0x1p-11 - 0x1p-40, F16, 0x3C00},
		{1 + 3*0x1p-11 - 0x1p-40, F16, 0x3C01},
		{1 + 0x1p-8 + 0x1p-40, BF16, 0x3F81},
		{1 + 3*0x1p-8 - 0x1p-40, BF16, 0x3F81},
		{0x1p-25 + 0x1p-60, F16, 0x0001},
		{65520 - 0x1p-30, F16, 0x7BFF},
	} {
		in, _ := New(F64, []int{1}, le64(math.Float64bits(c.v)))
		out, err := in.Convert(c.dt)
		if err != nil {
			t.Fatal(err)
		}
		if got := binary.LittleEndian.Uint16(out.Data); got != c.want {
			t.Errorf("F64 %v → %s = %#04x, want %#04x", c.v, c.dt, got, c.want)
		}
	}
}

// TestRoundToOddF32 checks the helper's definition directly: the result
// is v truncated to float32, with the lowest bit set when inexact.
func TestRoundToOddF32(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	check := func(v float64) {
		got := roundToOddF32(v)
		// Reference: truncate with big.Float (24 bits, toward zero), then
		// fix up float32's exponent range by hand.
		want := func() float32 {
			a := math.Abs(v)
			var f float32
			if a >= 0x1p128 {
				f = math.MaxFloat32
			} else if a < 0x1p-126 { // subnormal or zero: units of 2^-149
				units := math.Floor(a * 0x1p149) // exact: a*2^149 < 2^23
				f = float32(units * 0x1p-149)
				if units*0x1p-149 != a {
					f = math.Float32frombits(math.Float32bits(f) | 1)
				}
			} else {
				bf := new(big.Float).SetPrec(24).SetMode(big.ToZero).SetFloat64(a)
				f64, _ := bf.Float64()
				f = float32(f64) // exact
				if f64 != a {
					f = math.Float32frombits(math.Float32bits(f) | 1)
				}
			}
			if a >= 0x1p128 {
				f = math.Float32frombits(math.Float32bits(f) | 1)
			}
			if math.Signbit(v) {
				f = -f
			}
			return f
		}()
		if math.Float32bits(got) != math.Float32bits(want) {
			t.Errorf("roundToOddF32(%v) = %#08x, want %#08x", v, math.Float32bits(got), math.Float32bits(want))
		}
	}
	for _, v := range []float64{0, 1, 1 + 0x1p-30, 0x1p-150, 0x1p-149, 0x1p-160, 0x1p-126 * (1 - 0x1p-30),
		math.MaxFloat32, math.MaxFloat32 * (1 + 0x1p-30), 0x1p128, 1e300, math.SmallestNonzeroFloat64} {
		check(v)
		check(-v)
	}
	for range 100000 {
		check(math.Ldexp(r.Float64()+0.5, r.IntN(320)-170) * float64(1-2*r.IntN(2)))
	}
	if !math.IsNaN(float64(roundToOddF32(math.NaN()))) || !math.IsInf(float64(roundToOddF32(math.Inf(-1))), -1) {
		t.Error("roundToOddF32 mishandles NaN or Inf")
	}
}

// TestF16ToF32Exact checks every one of the 65536 halves against its value
// computed from the IEEE 754 definition (sign, biased exponent, fraction)
// with math.Ldexp: the widening is exact, signed zeros keep their sign,
// infinities stay infinite, and NaNs stay NaN (quieted) with their payload.
func TestF16ToF32Exact(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		sign, exp, frac := h>>15, int(h>>10&0x1F), int(h&0x3FF)
		got := F16ToF32(h)
		var want float64
		switch exp {
		case 0x1F:
			if frac == 0 {
				want = math.Inf(1)
			} else {
				// Quieted, as the processor's conversion and float16 do.
				if got == got || math.Float32bits(got)&0x3FFFFF != uint32(frac)<<13&0x3FFFFF || math.Signbit(float64(got)) != (sign == 1) {
					t.Fatalf("%#04x: got %#08x, want a NaN with payload %#x", h, math.Float32bits(got), frac)
				}
				continue
			}
		case 0:
			want = math.Ldexp(float64(frac), -24)
		default:
			want = math.Ldexp(1+float64(frac)/1024, exp-15)
		}
		if sign == 1 {
			want = -want
		}
		if float64(got) != want || math.Signbit(float64(got)) != (sign == 1) {
			t.Fatalf("%#04x: got %v, want %v", h, got, want)
		}
	}
}
