// Package tensor holds the in-memory tensor every container reader produces
// and every writer consumes: a dtype, a shape and little-endian row-major
// bytes. It also holds the float conversions (f16, bf16, f64 widening and
// round-to-nearest-even narrowing) and the float kernels used by merge.
//
// # Security
//
// Sizes from shapes are overflow-checked (NumElements, ByteSize), and New
// refuses data whose length differs from the shape's. The one use of
// package unsafe, DecodeFloat32s's copy of float32 bytes on a
// little-endian host, is bounded by the destination's length and the
// source's, whatever a file says.
package tensor

// DType names an element type with the names safetensors uses.
type DType string

// The element types of formats.md §4, in the safetensors enum order.
const (
	BOOL       DType = "BOOL"
	F4         DType = "F4"
	F6E2M3     DType = "F6_E2M3"
	F6E3M2     DType = "F6_E3M2"
	U8         DType = "U8"
	I8         DType = "I8"
	F8E5M2     DType = "F8_E5M2"
	F8E4M3     DType = "F8_E4M3"
	F8E8M0     DType = "F8_E8M0"
	F8E4M3FNUZ DType = "F8_E4M3FNUZ"
	F8E5M2FNUZ DType = "F8_E5M2FNUZ"
	I16        DType = "I16"
	U16        DType = "U16"
	F16        DType = "F16"
	BF16       DType = "BF16"
	I32        DType = "I32"
	U32        DType = "U32"
	F32        DType = "F32"
	C64        DType = "C64"
	F64        DType = "F64"
	I64        DType = "I64"
	U64        DType = "U64"
)

type dtypeInfo struct {
	bits  int
	order int // position in the safetensors Dtype enum; its writer sorts by it
}

// info is d's size and enum position; ok is false for an unknown dtype.
// (A switch, not a map: nothing to build when a program starts.)
func (d DType) info() (_ dtypeInfo, ok bool) {
	switch d {
	case BOOL:
		return dtypeInfo{8, 0}, true
	case F4:
		return dtypeInfo{4, 1}, true
	case F6E2M3:
		return dtypeInfo{6, 2}, true
	case F6E3M2:
		return dtypeInfo{6, 3}, true
	case U8:
		return dtypeInfo{8, 4}, true
	case I8:
		return dtypeInfo{8, 5}, true
	case F8E5M2:
		return dtypeInfo{8, 6}, true
	case F8E4M3:
		return dtypeInfo{8, 7}, true
	case F8E8M0:
		return dtypeInfo{8, 8}, true
	case F8E4M3FNUZ:
		return dtypeInfo{8, 9}, true
	case F8E5M2FNUZ:
		return dtypeInfo{8, 10}, true
	case I16:
		return dtypeInfo{16, 11}, true
	case U16:
		return dtypeInfo{16, 12}, true
	case F16:
		return dtypeInfo{16, 13}, true
	case BF16:
		return dtypeInfo{16, 14}, true
	case I32:
		return dtypeInfo{32, 15}, true
	case U32:
		return dtypeInfo{32, 16}, true
	case F32:
		return dtypeInfo{32, 17}, true
	case C64:
		return dtypeInfo{64, 18}, true
	case F64:
		return dtypeInfo{64, 19}, true
	case I64:
		return dtypeInfo{64, 20}, true
	case U64:
		return dtypeInfo{64, 21}, true
	}
	return dtypeInfo{}, false
}

// Known reports whether d is one of the dtypes safetensors defines.
func (d DType) Known() bool {
	_, ok := d.info()
	return ok
}

// Bits is the size of one element in bits, or 0 for an unknown dtype.
func (d DType) Bits() int {
	i, _ := d.info()
	return i.bits
}

// Size is the size of one element in bytes, or 0 when the dtype is unknown
// or smaller than a byte (F4, F6_*).
func (d DType) Size() int {
	i, _ := d.info()
	b := i.bits
	if b%8 != 0 {
		return 0
	}
	return b / 8
}

// Order is d's position in the safetensors Dtype enum.
func (d DType) Order() int {
	i, _ := d.info()
	return i.order
}

// IsFloat reports whether d is a float type embtool converts between
// (F16, BF16, F32, F64). The F8/F6/F4 types are reported but never converted.
func (d DType) IsFloat() bool {
	switch d {
	case F16, BF16, F32, F64:
		return true
	}
	return false
}

// ParseFloatDType accepts the --dtype spellings (any case): F32, F16, BF16,
// F64 and the torch names float32, float16/half, bfloat16, float64/double.
func ParseFloatDType(s string) (DType, bool) {
	switch lower(s) {
	case "f32", "float32", "float", "fp32":
		return F32, true
	case "f16", "float16", "half", "fp16":
		return F16, true
	case "bf16", "bfloat16":
		return BF16, true
	case "f64", "float64", "double", "fp64":
		return F64, true
	}
	return "", false
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
