package torchpt

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math/bits"

	"github.com/embtool/embtool/pkg/tensor"
)

// rebuildTensor checks the arguments of torch._utils._rebuild_tensor_v2
// (storage, storage_offset, size, stride, requires_grad, backward_hooks
// [, metadata]) and returns the view. The view must lie inside its storage
// and may not address more elements than the storage holds, so that
// materialising it never allocates more than the file provides.
func rebuildTensor(args []any) (*Tensor, error) {
	if len(args) != 6 && len(args) != 7 {
		return nil, fmt.Errorf("_rebuild_tensor_v2 takes 6 or 7 arguments, got %d", len(args))
	}
	st, ok := args[0].(*Storage)
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor_v2 storage is a %s, not a storage", pyTypeName(args[0]))
	}
	offset, ok := args[1].(int64)
	if !ok || offset < 0 {
		return nil, fmt.Errorf("_rebuild_tensor_v2 storage offset %v is not a non-negative int", args[1])
	}
	shape, err := intTuple(args[2], "size")
	if err != nil {
		return nil, err
	}
	stride, err := intTuple(args[3], "stride")
	if err != nil {
		return nil, err
	}
	if len(shape) != len(stride) {
		return nil, fmt.Errorf("tensor size %v and stride %v differ in length", shape, stride)
	}
	rg, _ := args[4].(bool)
	if len(args) == 7 && args[6] != nil {
		if d, ok := args[6].(*Dict); !ok || d.Len() != 0 {
			return nil, unsupportedf("tensor metadata %v (conjugate or negative bit tensors)", args[6])
		}
	}
	t := &Tensor{Storage: st, Offset: int(offset), Shape: shape, Stride: stride, RequiresGrad: rg}
	if err := t.checkView(); err != nil {
		return nil, err
	}
	return t, nil
}

func intTuple(v any, what string) ([]int, error) {
	tup, ok := v.(Tuple)
	if !ok {
		return nil, fmt.Errorf("tensor %s is a %s, not a tuple", what, pyTypeName(v))
	}
	if len(tup) > 64 {
		return nil, fmt.Errorf("tensor %s has %d dimensions", what, len(tup))
	}
	out := make([]int, len(tup))
	for i, e := range tup {
		n, ok := e.(int64)
		if !ok || n < 0 || n > 1<<62 {
			return nil, fmt.Errorf("tensor %s %v: element %d is not a non-negative int", what, tup, i)
		}
		out[i] = int(n)
	}
	return out, nil
}

// checkView verifies, with overflow-checked arithmetic, that every element
// the view addresses lies within the storage, and that the view is no
// larger than the storage.
func (t *Tensor) checkView() error {
	n, err := tensor.NumElements(t.Shape)
	if err != nil {
		return fmt.Errorf("tensor size %v: %v", t.Shape, err)
	}
	if n == 0 {
		return nil
	}
	last := uint64(t.Offset)
	for i, d := range t.Shape {
		hi, lo := bits.Mul64(uint64(d-1), uint64(t.Stride[i]))
		var carry uint64
		last, carry = bits.Add64(last, lo, 0)
		if hi != 0 || carry != 0 {
			return fmt.Errorf("tensor view offset %d size %v stride %v overflows", t.Offset, t.Shape, t.Stride)
		}
	}
	if last >= uint64(t.Storage.NumElem) {
		return fmt.Errorf("tensor view offset %d size %v stride %v reaches element %d of storage %q, which holds %d", t.Offset, t.Shape, t.Stride, last, t.Storage.Key, t.Storage.NumElem)
	}
	if n > t.Storage.NumElem {
		// Inside the storage but with overlapping strides (an expanded
		// view): materialising it could cost far more than the file.
		return unsupportedf("tensor view %v of storage %q addresses %d elements, more than the storage's %d (an expanded view)", t.Shape, t.Storage.Key, n, t.Storage.NumElem)
	}
	return nil
}

// Meta implements tensor.Source.
func (t *Tensor) Meta() (tensor.DType, []int) { return t.Storage.DType, t.Shape }

// NumElements is the number of elements of the view.
func (t *Tensor) NumElements() int {
	n, _ := tensor.NumElements(t.Shape)
	return n
}

// Contiguous reports whether the view is row-major with no gaps.
func (t *Tensor) Contiguous() bool {
	want := 1
	for i := len(t.Shape) - 1; i >= 0; i-- {
		if t.Shape[i] != 1 && t.Stride[i] != want {
			return false
		}
		want *= t.Shape[i]
	}
	return true
}

// Load reads the storage (once; it is shared between views) and returns
// the elements of the view as a dense row-major tensor: a contiguous view
// shares the storage's bytes (callers must not write to them), a strided
// one is copied.
func (t *Tensor) Load() (*tensor.Tensor, error) {
	data, err := t.Storage.bytes()
	if err != nil {
		return nil, err
	}
	es := t.Storage.DType.Size()
	n := t.NumElements()
	if n > 0 && t.Contiguous() {
		// The tensor is a run of the storage's bytes: share them (capacity
		// cut at the end, so an append cannot reach the rest).
		end := (t.Offset + n) * es
		return tensor.New(t.Storage.DType, t.Shape, data[t.Offset*es:end:end])
	}
	out := make([]byte, n*es)
	if n == 0 {
		return tensor.New(t.Storage.DType, t.Shape, out)
	}
	idx := make([]int, len(t.Shape))
	for k := 0; k < n; k++ {
		src := t.Offset
		for d, i := range idx {
			src += i * t.Stride[d]
		}
		copy(out[k*es:(k+1)*es], data[src*es:(src+1)*es])
		for d := len(idx) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < t.Shape[d] {
				break
			}
			idx[d] = 0
		}
	}
	return tensor.New(t.Storage.DType, t.Shape, out)
}

// bytes returns the storage's little-endian bytes, reading them on first use.
func (s *Storage) bytes() ([]byte, error) {
	if s.data != nil {
		return s.data, nil
	}
	if s.load == nil {
		return nil, fmt.Errorf("torchpt: storage %q has no data", s.Key)
	}
	d, err := s.load()
	if err != nil {
		return nil, err
	}
	if want := s.NumElem * s.DType.Size(); len(d) != want {
		return nil, &FormatError{Pkg: errPkg, Record: s.Key, Offset: -1, Msg: fmt.Sprintf("storage holds %d bytes, %d elements of %s need %d", len(d), s.NumElem, s.DType, want)}
	}
	if len(d) <= maxCachedStorage {
		s.data = d
	}
	return d, nil
}

// maxCachedStorage: storages up to this size are kept after the first
// read, since several views may share one; larger ones (whole checkpoint
// weights) are read again instead, so memory does not grow with the file.
const maxCachedStorage = 16 << 20

// StreamTo writes the view's dense bytes to w. A contiguous view of a
// storage that lies in the file as is (stored zip record, legacy file) is
// copied through a small buffer, and a whole-record copy is checked
// against the zip CRC-32; anything else is materialised with Load. It
// implements tensor.Streamer.
func (t *Tensor) StreamTo(w io.Writer) (int64, error) {
	s := t.Storage
	if s.at == nil || s.data != nil || !t.Contiguous() {
		tt, err := t.Load()
		if err != nil {
			return 0, err
		}
		n, err := w.Write(tt.Data)
		return int64(n), err
	}
	es := int64(s.DType.Size())
	size := int64(t.NumElements()) * es
	src := io.NewSectionReader(s.at, s.base+int64(t.Offset)*es, size)
	whole := t.Offset == 0 && t.NumElements() == s.NumElem && s.hasCRC
	h := crc32.NewIEEE()
	dst := w
	if whole {
		dst = io.MultiWriter(w, h)
	}
	n, err := io.CopyBuffer(dst, src, make([]byte, 1<<20))
	if err == nil && n != size {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return n, &FormatError{Pkg: errPkg, Record: s.Key, Offset: -1, Msg: "reading storage: " + err.Error()}
	}
	if whole && h.Sum32() != s.crc {
		return n, &FormatError{Pkg: errPkg, Record: s.Key, Offset: -1, Msg: fmt.Sprintf("CRC-32 %08x, the zip directory says %08x", h.Sum32(), s.crc)}
	}
	return n, nil
}

// byteswap reverses each element of size es in place: storages saved on a
// big-endian machine (byteorder record "big").
func byteswap(d []byte, es int) {
	switch es {
	case 2:
		for i := 0; i+1 < len(d); i += 2 {
			binary.LittleEndian.PutUint16(d[i:], binary.BigEndian.Uint16(d[i:]))
		}
	case 4:
		for i := 0; i+3 < len(d); i += 4 {
			binary.LittleEndian.PutUint32(d[i:], binary.BigEndian.Uint32(d[i:]))
		}
	case 8:
		for i := 0; i+7 < len(d); i += 8 {
			binary.LittleEndian.PutUint64(d[i:], binary.BigEndian.Uint64(d[i:]))
		}
	}
}
