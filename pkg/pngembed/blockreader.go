package pngembed

import (
	"errors"
	"io"
)

// blockSize is how much blockReader reads at a time.
const blockSize = 64 << 10

// blockReader serves the small reads of the chunk walk (8-byte headers,
// keywords, 4-byte CRCs) from one cached block of the underlying reader, so
// a PNG of a million tiny chunks costs a few hundred reads of a file rather
// than millions. Reads of half a block or more go straight through. It is
// not safe for concurrent use.
type blockReader struct {
	r   io.ReaderAt
	buf []byte
	off int64 // file offset of buf[0]
	n   int   // valid bytes in buf
}

func newBlockReader(r io.ReaderAt) *blockReader {
	return &blockReader{r: r, buf: make([]byte, blockSize)}
}

func (b *blockReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("pngembed: negative read offset")
	}
	if len(p) >= len(b.buf)/2 {
		return b.r.ReadAt(p, off)
	}
	if off < b.off || off-b.off+int64(len(p)) > int64(b.n) {
		n, err := b.r.ReadAt(b.buf, off)
		b.off, b.n = off, n
		if n < len(p) {
			copy(p, b.buf[:n])
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return n, err
		}
	}
	return copy(p, b.buf[off-b.off:b.n]), nil
}
