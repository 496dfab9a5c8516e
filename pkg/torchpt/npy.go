package torchpt

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// FormatNumpy is the FileScan format of a NumPy .npy file.
const FormatNumpy = "numpy-npy"

// npyMagic starts every .npy file.
var npyMagic = []byte("\x93NUMPY")

// IsNPY reports whether head starts like a NumPy .npy file.
func IsNPY(head []byte) bool { return bytes.HasPrefix(head, npyMagic) }

// ScanNPY scans a NumPy .npy file the way numpy.load reads it: an array of
// a plain dtype is raw bytes and safe; anything else is followed by a
// pickle, which is scanned as any other.
func ScanNPY(r io.ReaderAt, size int64) *FileScan {
	s := &FileScan{Format: FormatNumpy}
	var pre [12]byte
	n, _ := r.ReadAt(pre[:], 0)
	if n < 10 || !IsNPY(pre[:n]) {
		s.Err = &FormatError{Pkg: errPkg, Offset: 0, Msg: "not a NumPy .npy file"}
		return s
	}
	var hlen, start int64
	switch ver := [2]byte{pre[6], pre[7]}; ver {
	case [2]byte{1, 0}:
		hlen, start = int64(binary.LittleEndian.Uint16(pre[8:10])), 10
	case [2]byte{2, 0}, [2]byte{3, 0}:
		if n < 12 {
			s.Err = &FormatError{Pkg: errPkg, Offset: 8, Msg: "truncated .npy header length"}
			return s
		}
		hlen, start = int64(binary.LittleEndian.Uint32(pre[8:12])), 12
	default:
		s.Err = &FormatError{Pkg: errPkg, Offset: 6, Msg: fmt.Sprintf(".npy format version %d.%d, which numpy does not read", ver[0], ver[1])}
		return s
	}
	if hlen > size-start {
		s.Err = &FormatError{Pkg: errPkg, Offset: 8, Msg: fmt.Sprintf(".npy header of %d bytes runs past the end of the %d-byte file", hlen, size)}
		return s
	}
	dataAt := start + hlen
	if hlen <= 1<<16 {
		hdr := make([]byte, hlen)
		if _, err := r.ReadAt(hdr, start); err != nil {
			s.Err = &FormatError{Pkg: errPkg, Offset: start, Msg: "reading the .npy header: " + err.Error()}
			return s
		}
		if plainNPYHeader(hdr) {
			return s // raw array bytes: numpy.load builds them with no pickle
		}
	}
	if size-dataAt > MaxPickleSize {
		s.Err = &FormatError{Pkg: errPkg, Offset: dataAt, Msg: fmt.Sprintf("the .npy array data holds a pickle of %d bytes, more than %d", size-dataAt, MaxPickleSize)}
		return s
	}
	data := make([]byte, size-dataAt)
	if _, err := r.ReadAt(data, dataAt); err != nil && !(err == io.EOF && len(data) == 0) {
		s.Err = &FormatError{Pkg: errPkg, Offset: dataAt, Msg: "reading the .npy array data: " + err.Error()}
		return s
	}
	res, err := Scan(data, fmt.Sprintf("object array data at file offset %d", dataAt))
	s.Pickles = append(s.Pickles, res)
	s.Err = err
	return s
}
