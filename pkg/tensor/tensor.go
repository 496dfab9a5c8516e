package tensor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unsafe"
)

// Tensor is a dense, row-major, little-endian tensor held in memory.
// Readers materialise views (offsets, strides) into this form; writers
// consume it.
type Tensor struct {
	DType DType
	Shape []int
	Data  []byte
}

// ErrOverflow reports a shape whose element or byte count does not fit in an int.
var ErrOverflow = errors.New("tensor: shape overflows")

// NumElements is the product of shape with overflow checking; a 0-dim
// tensor has one element.
func NumElements(shape []int) (int, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("tensor: negative dimension %d", d)
		}
		if d != 0 && n > math.MaxInt/d {
			return 0, ErrOverflow
		}
		n *= d
	}
	return n, nil
}

// ByteSize is the number of bytes a dense tensor of dtype and shape takes.
func ByteSize(dt DType, shape []int) (int, error) {
	n, err := NumElements(shape)
	if err != nil {
		return 0, err
	}
	bits := dt.Bits()
	if bits == 0 {
		return 0, fmt.Errorf("tensor: unknown dtype %q", dt)
	}
	if n > math.MaxInt/bits {
		return 0, ErrOverflow
	}
	if n*bits%8 != 0 {
		return 0, fmt.Errorf("tensor: %d elements of %s do not fill whole bytes", n, dt)
	}
	return n * bits / 8, nil
}

// New checks that data has exactly the size dtype and shape call for.
func New(dt DType, shape []int, data []byte) (*Tensor, error) {
	size, err := ByteSize(dt, shape)
	if err != nil {
		return nil, err
	}
	if len(data) != size {
		return nil, fmt.Errorf("tensor: %s%v needs %d bytes, have %d", dt, shape, size, len(data))
	}
	return &Tensor{DType: dt, Shape: append([]int(nil), shape...), Data: data}, nil
}

// NumElements is the number of elements of t.
func (t *Tensor) NumElements() int {
	n, _ := NumElements(t.Shape)
	return n
}

// Rows views t as vectors: a 1-D tensor [D] is one vector of width D, a
// 2-D tensor [n, D] is n vectors, a 0-dim tensor is one vector of width 1,
// and higher ranks fold every leading dimension into the vector count.
func (t *Tensor) Rows() (n, width int) {
	switch len(t.Shape) {
	case 0:
		return 1, 1
	case 1:
		return 1, t.Shape[0]
	}
	width = t.Shape[len(t.Shape)-1]
	n, _ = NumElements(t.Shape[:len(t.Shape)-1])
	return n, width
}

// floatLen checks that t is a float tensor whose Data holds exactly the
// bytes its shape calls for, and returns its element count.
func (t *Tensor) floatLen() (int, error) {
	if !t.DType.IsFloat() {
		return 0, fmt.Errorf("tensor: %s is not a float dtype", t.DType)
	}
	size, err := ByteSize(t.DType, t.Shape)
	if err != nil {
		return 0, err
	}
	if len(t.Data) != size {
		return 0, fmt.Errorf("tensor: %s%v needs %d bytes, have %d", t.DType, t.Shape, size, len(t.Data))
	}
	return size / t.DType.Size(), nil
}

// Float64s widens every element of a float tensor to float64, exactly.
func (t *Tensor) Float64s() ([]float64, error) {
	n, err := t.floatLen()
	if err != nil {
		return nil, err
	}
	out := make([]float64, n)
	d := t.Data
	switch t.DType {
	case F64:
		for i := range out {
			if len(d) < 8 {
				break
			}
			out[i] = math.Float64frombits(binary.LittleEndian.Uint64(d))
			d = d[8:]
		}
	case F32:
		for i := range out {
			if len(d) < 4 {
				break
			}
			out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(d)))
			d = d[4:]
		}
	case F16:
		for i := range out {
			if len(d) < 2 {
				break
			}
			out[i] = float64(F16ToF32(binary.LittleEndian.Uint16(d)))
			d = d[2:]
		}
	case BF16:
		for i := range out {
			if len(d) < 2 {
				break
			}
			out[i] = float64(BF16ToF32(binary.LittleEndian.Uint16(d)))
			d = d[2:]
		}
	}
	return out, nil
}

// Float32s returns the elements as float32: exact for F16, BF16 and F32,
// rounded to nearest even for F64.
func (t *Tensor) Float32s() ([]float32, error) {
	n, err := t.floatLen()
	if err != nil {
		return nil, err
	}
	out := make([]float32, n)
	DecodeFloat32s(out, t.Data, t.DType)
	return out, nil
}

// DecodeFloat32s decodes the little-endian values of float dtype dt in
// src into dst, as many as both hold, and returns that count: exact for
// F16, BF16 and F32, rounded to nearest even for F64. (The loops are
// written so that the compiler proves every index in range.)
func DecodeFloat32s(dst []float32, src []byte, dt DType) int {
	n := min(len(dst), len(src)/max(dt.Size(), 1))
	dst = dst[:n]
	switch dt {
	case F32:
		if littleEndianHost {
			// The stored bytes are the values' bytes: one memmove. (The
			// loop below ran at a quarter of the speed of reading the
			// file; it was 8% of inspect's CPU over a folder.)
			copy(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(dst))), 4*len(dst)), src)
			break
		}
		decodeF32(dst, src)
	case F64:
		for i := range dst {
			dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(src[8*i : 8*i+8])))
		}
	case F16:
		for i := range dst {
			h := binary.LittleEndian.Uint16(src[2*i : 2*i+2])
			if h&0x7C00 == 0x7C00 {
				dst[i] = f16NotFinite(h)
			} else {
				dst[i] = f16Finite(h)
			}
		}
	case BF16:
		for i := range dst {
			dst[i] = BF16ToF32(binary.LittleEndian.Uint16(src[2*i : 2*i+2]))
		}
	default:
		return 0
	}
	return n
}

// FromFloat32s builds a tensor of float dtype dt from float32 values,
// rounding to nearest even when dt is narrower and canonicalising NaN.
func FromFloat32s(dt DType, shape []int, v []float32) (*Tensor, error) {
	n, err := NumElements(shape)
	if err != nil {
		return nil, err
	}
	if n != len(v) {
		return nil, fmt.Errorf("tensor: shape %v holds %d elements, have %d values", shape, n, len(v))
	}
	if !dt.IsFloat() {
		return nil, fmt.Errorf("tensor: %s is not a float dtype", dt)
	}
	data := make([]byte, n*dt.Size())
	d := data
	switch dt {
	case F32:
		for _, f := range v {
			if len(d) < 4 {
				break
			}
			binary.LittleEndian.PutUint32(d, F32Bits(f))
			d = d[4:]
		}
	case F64:
		for _, f := range v {
			if len(d) < 8 {
				break
			}
			binary.LittleEndian.PutUint64(d, F64Bits(float64(f)))
			d = d[8:]
		}
	case F16:
		for _, f := range v {
			if len(d) < 2 {
				break
			}
			binary.LittleEndian.PutUint16(d, F32ToF16(f))
			d = d[2:]
		}
	case BF16:
		for _, f := range v {
			if len(d) < 2 {
				break
			}
			binary.LittleEndian.PutUint16(d, F32ToBF16(f))
			d = d[2:]
		}
	}
	return &Tensor{DType: dt, Shape: append([]int(nil), shape...), Data: data}, nil
}

// Convert returns t in float dtype dt, rounding to nearest even (each
// value is rounded once, also from F64 to F16/BF16) and canonicalising NaN.
// Converting to the same dtype returns t itself.
func (t *Tensor) Convert(dt DType) (*Tensor, error) {
	if t.DType == dt {
		return t, nil
	}
	if !t.DType.IsFloat() || !dt.IsFloat() {
		return nil, fmt.Errorf("tensor: cannot convert %s to %s", t.DType, dt)
	}
	if t.DType == F64 && dt != F32 {
		// Round to odd into float32 first, so the second rounding to
		// F16/BF16 gives the correctly rounded result of the float64.
		vals, err := t.Float64s()
		if err != nil {
			return nil, err
		}
		f32 := make([]float32, len(vals))
		for i, v := range vals {
			f32[i] = roundToOddF32(v)
		}
		return FromFloat32s(dt, t.Shape, f32)
	}
	vals, err := t.Float32s()
	if err != nil {
		return nil, err
	}
	return FromFloat32s(dt, t.Shape, vals)
}

// CountNonFinite reports how many elements of a float tensor are NaN and
// how many are ±Inf.
func (t *Tensor) CountNonFinite() (nan, inf int) {
	vals, err := t.Float64s()
	if err != nil {
		return 0, 0
	}
	for _, v := range vals {
		switch {
		case math.IsNaN(v):
			nan++
		case math.IsInf(v, 0):
			inf++
		}
	}
	return nan, inf
}

// littleEndianHost: float32 values in memory have the byte order they
// are stored in.
var littleEndianHost = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// decodeF32 decodes little-endian float32 values on any host.
func decodeF32(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i : 4*i+4]))
	}
}
