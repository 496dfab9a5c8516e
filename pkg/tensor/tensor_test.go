package tensor

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestNumElements(t *testing.T) {
	cases := []struct {
		shape   []int
		want    int
		wantErr error // nil, ErrOverflow, or errAny
	}{
		{nil, 1, nil},
		{[]int{}, 1, nil},
		{[]int{0}, 0, nil},
		{[]int{8, 768}, 6144, nil},
		{[]int{2, 3, 4}, 24, nil},
		{[]int{0, math.MaxInt, math.MaxInt}, 0, nil},
		{[]int{math.MaxInt}, math.MaxInt, nil},
		{[]int{math.MaxInt/2 + 1, 2}, 0, ErrOverflow},
		{[]int{math.MaxInt / 3, math.MaxInt / 3}, 0, ErrOverflow},
		{[]int{math.MaxInt / 4, 2, 3}, 0, ErrOverflow},
		{[]int{math.MaxInt, math.MaxInt, 0}, 0, ErrOverflow}, // as safetensors' checked fold
		{[]int{3, -1}, 0, errAny},
		{[]int{-1, 0}, 0, errAny},
	}
	for _, c := range cases {
		got, err := NumElements(c.shape)
		if !matchErr(err, c.wantErr) || err == nil && got != c.want {
			t.Errorf("NumElements(%v) = %d, %v; want %d, %v", c.shape, got, err, c.want, c.wantErr)
		}
	}
}

var errAny = errors.New("any error")

func matchErr(err, want error) bool {
	switch want {
	case nil:
		return err == nil
	case errAny:
		return err != nil
	}
	return errors.Is(err, want)
}

func TestByteSize(t *testing.T) {
	cases := []struct {
		dt      DType
		shape   []int
		want    int
		wantErr error
	}{
		{F32, []int{8, 768}, 24576, nil},
		{F16, []int{8, 768}, 12288, nil},
		{BF16, []int{2, 1280}, 5120, nil},
		{F64, nil, 8, nil},
		{F64, []int{0, 5}, 0, nil},
		{BOOL, []int{3}, 3, nil},
		{F8E4M3, []int{7}, 7, nil},
		{F4, []int{4}, 2, nil},
		{F4, []int{3}, 0, errAny}, // 12 bits
		{F6E2M3, []int{4}, 3, nil},
		{F6E3M2, []int{2}, 0, errAny},
		{DType("F128"), []int{1}, 0, errAny},
		{F64, []int{math.MaxInt / 64}, 8 * (math.MaxInt / 64), nil},
		{F64, []int{math.MaxInt/64 + 1}, 0, ErrOverflow}, // the bit count overflows
		{U8, []int{math.MaxInt / 8}, math.MaxInt / 8, nil},
		{U8, []int{math.MaxInt/8 + 1}, 0, ErrOverflow},
		{F32, []int{math.MaxInt / 3, 7}, 0, ErrOverflow},
		{F32, []int{-4}, 0, errAny},
	}
	for _, c := range cases {
		got, err := ByteSize(c.dt, c.shape)
		if !matchErr(err, c.wantErr) || err == nil && got != c.want {
			t.Errorf("ByteSize(%s, %v) = %d, %v; want %d, %v", c.dt, c.shape, got, err, c.want, c.wantErr)
		}
	}
}

func TestNew(t *testing.T) {
	if _, err := New(F32, []int{2, 3}, make([]byte, 24)); err != nil {
		t.Errorf("New F32[2,3] with 24 bytes: %v", err)
	}
	if _, err := New(F32, []int{2, 3}, make([]byte, 23)); err == nil {
		t.Error("New F32[2,3] with 23 bytes: no error")
	}
	if _, err := New(F32, []int{math.MaxInt / 3, 7}, nil); !errors.Is(err, ErrOverflow) {
		t.Errorf("New with an overflowing shape: %v", err)
	}
	shape := []int{2, 2}
	tn, _ := New(F16, shape, make([]byte, 8))
	shape[0] = 7
	if tn.Shape[0] != 2 {
		t.Error("New did not copy the shape")
	}
}

func TestRows(t *testing.T) {
	cases := []struct {
		shape    []int
		n, width int
	}{
		{nil, 1, 1},
		{[]int{768}, 1, 768},
		{[]int{8, 768}, 8, 768},
		{[]int{2, 3, 4}, 6, 4},
		{[]int{0, 768}, 0, 768},
		{[]int{8, 0}, 8, 0},
		{[]int{0}, 1, 0},
		{[]int{1, 1, 1, 1280}, 1, 1280},
	}
	for _, c := range cases {
		tn := &Tensor{DType: F32, Shape: c.shape}
		if n, w := tn.Rows(); n != c.n || w != c.width {
			t.Errorf("Rows of %v = %d, %d; want %d, %d", c.shape, n, w, c.n, c.width)
		}
	}
}

// floatCases holds the same values stored in each float dtype; all are
// exactly representable in F16 and BF16.
var floatValues = []float32{0, 1, -2, 0.5, 0.09375, 256, float32(math.Inf(1)), float32(math.Copysign(0, -1))}

func floatBytes(dt DType) []byte {
	var b []byte
	for _, v := range floatValues {
		switch dt {
		case F16:
			b = append(b, le16(F32ToF16(v))...)
		case BF16:
			b = append(b, le16(F32ToBF16(v))...)
		case F32:
			b = append(b, le32(math.Float32bits(v))...)
		case F64:
			b = append(b, le64(math.Float64bits(float64(v)))...)
		}
	}
	return b
}

func TestFloat64sFloat32s(t *testing.T) {
	for _, dt := range []DType{F16, BF16, F32, F64} {
		tn, err := New(dt, []int{2, 4}, floatBytes(dt))
		if err != nil {
			t.Fatal(err)
		}
		f64, err := tn.Float64s()
		if err != nil {
			t.Fatalf("%s Float64s: %v", dt, err)
		}
		f32, err := tn.Float32s()
		if err != nil {
			t.Fatalf("%s Float32s: %v", dt, err)
		}
		if len(f64) != len(floatValues) || len(f32) != len(floatValues) {
			t.Fatalf("%s: %d / %d values, want %d", dt, len(f64), len(f32), len(floatValues))
		}
		for i, v := range floatValues {
			if math.Float64bits(f64[i]) != math.Float64bits(float64(v)) {
				t.Errorf("%s Float64s[%d] = %v, want %v", dt, i, f64[i], v)
			}
			if math.Float32bits(f32[i]) != math.Float32bits(v) {
				t.Errorf("%s Float32s[%d] = %v, want %v", dt, i, f32[i], v)
			}
		}
		// FromFloat32s writes back the same bytes.
		back, err := FromFloat32s(dt, []int{2, 4}, f32)
		if err != nil || string(back.Data) != string(tn.Data) {
			t.Errorf("%s FromFloat32s(Float32s) differs: %v", dt, err)
		}
	}
	// F64 values that float32 cannot hold: Float64s is exact, Float32s rounds.
	v := 1 + 0x1p-40
	tn, _ := New(F64, []int{1}, le64(math.Float64bits(v)))
	if f, _ := tn.Float64s(); f[0] != v {
		t.Errorf("F64 Float64s = %v", f[0])
	}
	if f, _ := tn.Float32s(); f[0] != 1 {
		t.Errorf("F64 Float32s = %v, want 1", f[0])
	}
	// Errors, never panics: a non-float dtype, data of the wrong size.
	bad := []*Tensor{
		{DType: I32, Shape: []int{2}, Data: make([]byte, 8)},
		{DType: F32, Shape: []int{2, 2}, Data: make([]byte, 15)},
		{DType: F16, Shape: []int{3}, Data: make([]byte, 8)},
		{DType: F64, Shape: []int{math.MaxInt / 3, 7}},
		{DType: BF16, Shape: []int{-1}},
	}
	for _, b := range bad {
		if _, err := b.Float64s(); err == nil {
			t.Errorf("Float64s of %s%v with %d bytes: no error", b.DType, b.Shape, len(b.Data))
		}
		if _, err := b.Float32s(); err == nil {
			t.Errorf("Float32s of %s%v with %d bytes: no error", b.DType, b.Shape, len(b.Data))
		}
		if _, err := b.Convert(F16); err == nil && b.DType != F16 {
			t.Errorf("Convert of %s%v with %d bytes: no error", b.DType, b.Shape, len(b.Data))
		}
	}
}

func TestFromFloat32sErrors(t *testing.T) {
	if _, err := FromFloat32s(F32, []int{2, 2}, make([]float32, 3)); err == nil {
		t.Error("shape/value count mismatch: no error")
	}
	if _, err := FromFloat32s(I8, []int{2}, make([]float32, 2)); err == nil {
		t.Error("non-float dtype: no error")
	}
	if tn, err := FromFloat32s(BF16, []int{0, 768}, nil); err != nil || len(tn.Data) != 0 {
		t.Errorf("empty tensor: %v", err)
	}
}

func TestConvert(t *testing.T) {
	f32, _ := FromFloat32s(F32, []int{3}, []float32{1.00390625, 65520, 1e-40})
	same, _ := f32.Convert(F32)
	if same != f32 {
		t.Error("Convert to the same dtype did not return the tensor itself")
	}
	for _, c := range []struct {
		dt   DType
		want []byte
	}{
		{BF16, le16(0x3F80, 0x4780 /* 65536 */, 0x0001)},
		{F16, le16(0x3C04, 0x7C00, 0x0000)},
		{F64, le64(math.Float64bits(1.00390625), math.Float64bits(65520), math.Float64bits(float64(float32(1e-40))))},
	} {
		out, err := f32.Convert(c.dt)
		if err != nil {
			t.Fatal(err)
		}
		if out.DType != c.dt || fmt.Sprint(out.Shape) != "[3]" || string(out.Data) != string(c.want) {
			t.Errorf("F32 → %s = %s % x, want % x", c.dt, out.DType, out.Data, c.want)
		}
	}
	if _, err := f32.Convert(I32); err == nil {
		t.Error("Convert to I32: no error")
	}
	if _, err := (&Tensor{DType: U8, Shape: []int{1}, Data: []byte{1}}).Convert(F32); err == nil {
		t.Error("Convert from U8: no error")
	}
}

func TestCountNonFinite(t *testing.T) {
	tn, _ := New(F32, []int{5}, le32(NaNF32, 0x7F800000, 0xFF800000, 0x3F800000, 0xFFFFFFFF))
	if nan, inf := tn.CountNonFinite(); nan != 2 || inf != 2 {
		t.Errorf("CountNonFinite = %d, %d; want 2, 2", nan, inf)
	}
}

func TestParseFloatDType(t *testing.T) {
	good := map[string]DType{
		"F32": F32, "f32": F32, "float32": F32, "Float": F32, "FP32": F32,
		"F16": F16, "f16": F16, "float16": F16, "HALF": F16, "fp16": F16,
		"BF16": BF16, "bf16": BF16, "BFloat16": BF16,
		"F64": F64, "float64": F64, "Double": F64, "fp64": F64,
	}
	for s, want := range good {
		if got, ok := ParseFloatDType(s); !ok || got != want {
			t.Errorf("ParseFloatDType(%q) = %q, %v; want %q", s, got, ok, want)
		}
	}
	for _, s := range []string{"", "F8_E4M3", "I32", "f 32", "float32 ", "bf", "ＦＰ３２", "f128"} {
		if got, ok := ParseFloatDType(s); ok {
			t.Errorf("ParseFloatDType(%q) = %q, true; want false", s, got)
		}
	}
}

func TestDTypeInfo(t *testing.T) {
	for _, c := range []struct {
		dt         DType
		bits, size int
		known, flt bool
		order      int
	}{
		{F32, 32, 4, true, true, 17},
		{F16, 16, 2, true, true, 13},
		{BF16, 16, 2, true, true, 14},
		{F64, 64, 8, true, true, 19},
		{F4, 4, 0, true, false, 1},
		{F6E3M2, 6, 0, true, false, 3},
		{F8E4M3, 8, 1, true, false, 7},
		{BOOL, 8, 1, true, false, 0},
		{U64, 64, 8, true, false, 21},
		{DType("f32"), 0, 0, false, false, 0},
	} {
		if c.dt.Bits() != c.bits || c.dt.Size() != c.size || c.dt.Known() != c.known || c.dt.IsFloat() != c.flt || c.known && c.dt.Order() != c.order {
			t.Errorf("%s: bits %d size %d known %v float %v order %d", c.dt, c.dt.Bits(), c.dt.Size(), c.dt.Known(), c.dt.IsFloat(), c.dt.Order())
		}
	}
}

func TestTensorIsSource(t *testing.T) {
	var s Source = &Tensor{DType: F32, Shape: []int{2}, Data: make([]byte, 8)}
	dt, shape := s.Meta()
	got, err := s.Load()
	if dt != F32 || fmt.Sprint(shape) != "[2]" || err != nil || got != s {
		t.Errorf("Meta/Load = %s %v, %v %v", dt, shape, got, err)
	}
}

// Every dtype, in the safetensors enum order, with its size in bits (the
// table as it stood when it was a map).
func TestDTypeTable(t *testing.T) {
	all := []struct {
		dt   DType
		bits int
	}{
		{BOOL, 8}, {F4, 4}, {F6E2M3, 6}, {F6E3M2, 6}, {U8, 8}, {I8, 8}, {F8E5M2, 8}, {F8E4M3, 8}, {F8E8M0, 8},
		{F8E4M3FNUZ, 8}, {F8E5M2FNUZ, 8}, {I16, 16}, {U16, 16}, {F16, 16}, {BF16, 16}, {I32, 32}, {U32, 32},
		{F32, 32}, {C64, 64}, {F64, 64}, {I64, 64}, {U64, 64},
	}
	for i, c := range all {
		if !c.dt.Known() || c.dt.Order() != i || c.dt.Bits() != c.bits {
			t.Errorf("%s: known %v, order %d (want %d), bits %d (want %d)", c.dt, c.dt.Known(), c.dt.Order(), i, c.dt.Bits(), c.bits)
		}
	}
	for _, d := range []DType{"", "f32", "F8", "F8_E4M3FN", "Q4"} {
		if d.Known() || d.Bits() != 0 || d.Size() != 0 || d.Order() != 0 {
			t.Errorf("%q: known", d)
		}
	}
}

// TestDecodeFloat32sF32: the host-order copy and the portable loop decode
// every bit pattern alike (NaN payloads and signalling NaNs included),
// for lengths around every remainder and with src longer or shorter than
// dst.
func TestDecodeFloat32sF32(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for n := 0; n < 40; n++ {
		src := make([]byte, 4*n+rng.IntN(4))
		for i := range src {
			src[i] = byte(rng.Uint32())
		}
		for _, dn := range []int{n, n + 3, max(n-2, 0)} {
			got, want := make([]float32, dn), make([]float32, dn)
			k := DecodeFloat32s(got, src, F32)
			decodeF32(want[:k], src)
			if k != min(dn, n) {
				t.Fatalf("n=%d dst %d: decoded %d", n, dn, k)
			}
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("n=%d element %d: %#08x, want %#08x", n, i, math.Float32bits(got[i]), math.Float32bits(want[i]))
				}
			}
		}
	}
}
