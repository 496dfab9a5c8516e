package pngembed

import (
	"bufio"
	"encoding/binary"
	"io"
)

// pixelChunks are the chunks image/png reads to decode pixels; it skips
// every other chunk after checking its CRC, which scan has done already.
var pixelChunks = map[string]bool{"IHDR": true, "PLTE": true, "tRNS": true, "IDAT": true, "IEND": true}

// pixelStream is a PNG stream holding only the pixelChunks of a PNG whose
// chunks scan has walked and checked, in their order. image/png allocates
// a 4 KiB buffer for every chunk it skips, so a PNG of a million text
// chunks would cost it 4 GB of garbage; filtered, it costs nothing, and the
// decoded image is the same.
type pixelStream struct {
	r      *bufio.Reader
	pend   []byte // header bytes (signature, chunk header) to return first
	hdr    [8]byte
	remain int64 // data and CRC bytes of the current kept chunk left to copy
	done   bool  // IEND passed
	start  bool
}

func newPixelStream(r io.ReaderAt, size int64) *pixelStream {
	return &pixelStream{r: bufio.NewReaderSize(io.NewSectionReader(r, 0, size), blockSize)}
}

func (s *pixelStream) Read(p []byte) (int, error) {
	if !s.start {
		s.start = true
		if _, err := io.ReadFull(s.r, s.hdr[:]); err != nil {
			return 0, noEOF(err)
		}
		s.pend = s.hdr[:]
	}
	for {
		if len(s.pend) > 0 {
			n := copy(p, s.pend)
			s.pend = s.pend[n:]
			return n, nil
		}
		if s.remain > 0 {
			n, err := s.r.Read(p[:min(int64(len(p)), s.remain)])
			s.remain -= int64(n)
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return n, err
		}
		if s.done {
			return 0, io.EOF
		}
		if _, err := io.ReadFull(s.r, s.hdr[:]); err != nil {
			return 0, noEOF(err)
		}
		length := int64(binary.BigEndian.Uint32(s.hdr[:4]))
		typ := string(s.hdr[4:8])
		if !pixelChunks[typ] {
			// length+4 < 2^31+4: discard in two steps for 32-bit ints.
			for skip := length + 4; skip > 0; {
				n, err := s.r.Discard(int(min(skip, 1<<30)))
				if err != nil {
					return 0, noEOF(err)
				}
				skip -= int64(n)
			}
			continue
		}
		s.pend, s.remain, s.done = s.hdr[:], length+4, typ == "IEND"
	}
}

// noEOF turns an EOF in the middle of the stream into ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
