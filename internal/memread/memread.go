// Package memread is an io.ReaderAt over bytes already in memory whose
// readers may take sub-slices of it instead of copying: a file read whole
// (to be hashed) is parsed without a second copy of its tensors.
//
// # Security
//
// Slice only hands out ranges inside the buffer, with their capacity cut
// at the range's end, so an append to one never writes into the bytes
// after it. The bytes are shared: a reader that takes a slice must not
// write to it (a byte swap copies first). Out-of-range requests get
// ok == false, and the caller falls back to ReadAt, which reports them as
// an ordinary short read.
package memread

import "io"

// Reader reads from b. Its zero value is an empty reader.
type Reader struct{ b []byte }

// New returns a Reader of b; b must not change while the Reader is used.
func New(b []byte) *Reader { return &Reader{b: b} }

// Size is the number of bytes.
func (r *Reader) Size() int64 { return int64(len(r.b)) }

// ReadAt implements io.ReaderAt as bytes.Reader does.
func (r *Reader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, io.ErrUnexpectedEOF
	}
	if off >= int64(len(r.b)) {
		return 0, io.EOF
	}
	n := copy(p, r.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Slice returns the n bytes at off of r without copying when r is a
// *Reader and the range lies inside it; ok is false otherwise. The
// slice's capacity ends with the range.
func Slice(r io.ReaderAt, off, n int64) (b []byte, ok bool) {
	m, isMem := r.(*Reader)
	if !isMem || off < 0 || n < 0 || off > int64(len(m.b)) || n > int64(len(m.b))-off {
		return nil, false
	}
	return m.b[off : off+n : off+n], true
}
