package pngembed

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"

	"github.com/embtool/embtool/internal/sniff"
)

// Limits of the PNG reader.
const (
	// MaxChunkSize is the largest sd-ti-embedding text chunk read. A real
	// 8×768 embedding takes about 180 KB of base64.
	MaxChunkSize = 64 << 20
	// MaxInflated is the most a zTXt/iTXt text or the pixel-data zlib
	// stream may inflate to. A real 8×768 embedding is about 135 KB of JSON.
	MaxInflated = 64 << 20
	// MaxSide is the largest width or height decoded on the pixel path.
	MaxSide = 8192
	// MaxPixels is the largest width×height decoded on the pixel path.
	MaxPixels = 1 << 24
)

// TextKeyword is the keyword of the text chunk A1111 stores embeddings in.
const TextKeyword = "sd-ti-embedding"

// pngSignatureLen: the first chunk starts after the eight-byte signature
// (sniff.IsPNG).
const pngSignatureLen = 8

// maxPNGChunk is the largest chunk length the PNG specification allows.
const maxPNGChunk = 1<<31 - 1

// pngInfo is what the chunk walk learns about a file.
type pngInfo struct {
	width, height uint32
	depth         uint8
	colorType     uint8
	interlace     uint8
	idatBytes     int64
	text          *textChunk // the last sd-ti-embedding text chunk
}

// textChunk is an sd-ti-embedding text chunk: its type, where it starts,
// and its text (inflated for zTXt and compressed iTXt).
type textChunk struct {
	typ  string
	off  int64
	text []byte
}

// formatErr is a defect at offset off (-1: no one place) of record (a
// chunk; "" for the file).
func formatErr(record string, off int64, format string, args ...any) *FormatError {
	return &FormatError{Pkg: errPkg, Record: record, Offset: off, Msg: fmt.Sprintf(format, args...)}
}

// chunkName is a chunk's Record in errors: "IHDR chunk".
func chunkName(typ string) string { return typ + " chunk" }

// notPNG names, for the error about a file that is not a PNG, the
// formats internal/sniff recognises that a PNG is mistaken for.
var notPNG = map[sniff.Format]string{
	sniff.JPEG:     "JPEG",
	sniff.GIF:      "GIF",
	sniff.WebP:     "WebP",
	sniff.BMP:      "BMP",
	sniff.JPEGXL:   "JPEG XL",
	sniff.HEIF:     "AVIF/HEIF",
	sniff.TorchZip: "zip (a torch .pt file?)",
	sniff.HTML:     "an HTML page (a failed download?)",
	sniff.GitLFS:   "a git-lfs pointer",
}

// scan walks the chunks of a PNG from the signature to IEND, checking
// every length against size and every CRC-32, and collects the header,
// the amount of IDAT data and the last sd-ti-embedding text chunk.
func scan(r io.ReaderAt, size int64) (*pngInfo, error) {
	head, _ := sniff.Head(r, size)
	if !sniff.IsPNG(head) {
		if what := notPNG[sniff.Detect(head, size)]; what != "" {
			return nil, formatErr("", 0, "not a PNG file: the data is %s", what)
		}
		return nil, formatErr("", 0, "not a PNG file: no PNG signature")
	}
	// Every chunk costs a few small reads: batch them.
	r = newBlockReader(r)
	info := &pngInfo{}
	buf := make([]byte, 32<<10)
	off := int64(pngSignatureLen)
	for first := true; ; first = false {
		if size-off < 12 {
			return nil, formatErr("", off, "truncated file: no IEND chunk (file ends at offset %d)", size)
		}
		var hdr [8]byte
		if _, err := r.ReadAt(hdr[:], off); err != nil {
			return nil, &FormatError{Pkg: errPkg, Offset: off, Msg: fmt.Sprintf("reading chunk header: %v", err), Err: err}
		}
		length := int64(binary.BigEndian.Uint32(hdr[:4]))
		typ := string(hdr[4:8])
		if !validType(hdr[4:8]) {
			return nil, formatErr("", off, "invalid chunk type %q", typ)
		}
		if length > maxPNGChunk {
			return nil, formatErr(chunkName(typ), off, "declares length %d, over the PNG limit of 2^31-1", length)
		}
		if length > size-off-12 {
			return nil, formatErr(chunkName(typ), off, "truncated file: the chunk declares %d data bytes, only %d remain", length, size-off-12)
		}
		if first && (typ != "IHDR" || length != 13) {
			return nil, formatErr("", off, "first chunk is %s of %d bytes, not a 13-byte IHDR", typ, length)
		}
		data := off + 8
		var keep []byte // the chunk data, when read whole
		switch typ {
		case "IHDR":
			if !first {
				return nil, formatErr(chunkName("IHDR"), off, "a second IHDR chunk")
			}
			keep = make([]byte, 13)
		case "tEXt", "zTXt", "iTXt":
			kw, err := readKeyword(r, data, length)
			if err != nil {
				return nil, err
			}
			if kw == TextKeyword {
				if length > MaxChunkSize {
					return nil, formatErr(fmt.Sprintf("%s chunk %q", typ, TextKeyword), off, "holds %d bytes, over the limit of %d", length, MaxChunkSize)
				}
				keep = make([]byte, length)
			}
		case "IDAT":
			info.idatBytes += length
		}
		if keep != nil {
			if _, err := r.ReadAt(keep, data); err != nil {
				return nil, &FormatError{Pkg: errPkg, Record: chunkName(typ), Offset: data, Msg: fmt.Sprintf("reading: %v", err), Err: err}
			}
		}
		if err := checkCRC(r, off, typ, length, keep, buf); err != nil {
			return nil, err
		}
		switch typ {
		case "IHDR":
			if err := info.parseIHDR(keep, off); err != nil {
				return nil, err
			}
		case "tEXt", "zTXt", "iTXt":
			if keep != nil {
				text, err := chunkText(typ, off, keep)
				if err != nil {
					return nil, err
				}
				info.text = &textChunk{typ: typ, off: off, text: text}
			}
		case "IEND":
			return info, nil
		}
		off += 12 + length
	}
}

func validType(t []byte) bool {
	for _, c := range t {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// readKeyword reads the keyword of a text chunk: the bytes before the
// first NUL, at most 79 (or the whole chunk when it has no NUL).
func readKeyword(r io.ReaderAt, data, length int64) (string, error) {
	b := make([]byte, min(length, 80))
	if _, err := r.ReadAt(b, data); err != nil {
		return "", &FormatError{Pkg: errPkg, Record: "text chunk", Offset: data, Msg: fmt.Sprintf("reading the keyword: %v", err), Err: err}
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b), nil
}

// checkCRC verifies the CRC-32 of the chunk at off, over its type and
// data; data is the chunk data when already read, else it is streamed.
func checkCRC(r io.ReaderAt, off int64, typ string, length int64, data, buf []byte) error {
	h := crc32.NewIEEE()
	h.Write([]byte(typ))
	if data != nil {
		h.Write(data)
	} else if _, err := io.CopyBuffer(h, io.NewSectionReader(r, off+8, length), buf); err != nil {
		return &FormatError{Pkg: errPkg, Record: chunkName(typ), Offset: off, Msg: fmt.Sprintf("reading: %v", err), Err: err}
	}
	var c [4]byte
	if _, err := r.ReadAt(c[:], off+8+length); err != nil {
		return &FormatError{Pkg: errPkg, Record: chunkName(typ), Offset: off, Msg: fmt.Sprintf("reading the CRC: %v", err), Err: err}
	}
	if got, want := binary.BigEndian.Uint32(c[:]), h.Sum32(); got != want {
		return formatErr(chunkName(typ), off, "CRC mismatch: stored %08x, computed %08x", got, want)
	}
	return nil
}

func (info *pngInfo) parseIHDR(b []byte, off int64) error {
	info.width = binary.BigEndian.Uint32(b[0:4])
	info.height = binary.BigEndian.Uint32(b[4:8])
	info.depth, info.colorType, info.interlace = b[8], b[9], b[12]
	if info.width == 0 || info.height == 0 || info.width > maxPNGChunk || info.height > maxPNGChunk {
		return formatErr(chunkName("IHDR"), off, "invalid dimensions %d×%d", info.width, info.height)
	}
	ok := false
	switch info.colorType {
	case 0:
		ok = info.depth == 1 || info.depth == 2 || info.depth == 4 || info.depth == 8 || info.depth == 16
	case 3:
		ok = info.depth == 1 || info.depth == 2 || info.depth == 4 || info.depth == 8
	case 2, 4, 6:
		ok = info.depth == 8 || info.depth == 16
	}
	if !ok {
		return formatErr(chunkName("IHDR"), off, "invalid bit depth %d for color type %d", info.depth, info.colorType)
	}
	if b[10] != 0 || b[11] != 0 || info.interlace > 1 {
		return formatErr(chunkName("IHDR"), off, "unknown compression %d, filter %d or interlace %d method", b[10], b[11], info.interlace)
	}
	return nil
}

// channels is the number of samples per pixel of the PNG color type.
func (info *pngInfo) channels() int {
	switch info.colorType {
	case 2:
		return 3
	case 4:
		return 2
	case 6:
		return 4
	}
	return 1
}

// checkPixels applies the pixel-path caps to the header, and checks that
// the IDAT chunks hold enough compressed data for the declared size
// (deflate cannot compress better than 1032:1), so that a small file
// declaring a large image is rejected before the image is allocated.
func (info *pngInfo) checkPixels() error {
	w, h := int64(info.width), int64(info.height)
	if w > MaxSide || h > MaxSide || w*h > MaxPixels {
		return formatErr(chunkName("IHDR"), 16, "image of %d×%d pixels is over the limit of %d per side and %d in all", w, h, MaxSide, MaxPixels)
	}
	rowBytes := (w*int64(info.channels())*int64(info.depth) + 7) / 8
	raw := h * rowBytes
	if raw > info.idatBytes*1032+1<<16 {
		return formatErr("", -1, "IDAT chunks hold %d bytes, too few for %d×%d pixels (%d bytes)", info.idatBytes, w, h, raw)
	}
	return nil
}

// chunkText extracts the text of an sd-ti-embedding chunk: tEXt as is,
// zTXt inflated, iTXt inflated when its compression flag is set.
func chunkText(typ string, off int64, b []byte) ([]byte, error) {
	i := bytes.IndexByte(b, 0)
	if i < 0 {
		// Pillow reads a tEXt without NUL as keyword only, value empty.
		return nil, nil
	}
	rest := b[i+1:]
	switch typ {
	case "tEXt":
		return rest, nil
	case "zTXt":
		if len(rest) == 0 {
			return nil, nil
		}
		if rest[0] != 0 {
			return nil, formatErr(chunkName("zTXt"), off, "unknown compression method %d", rest[0])
		}
		return inflate(rest[1:], off, chunkName("zTXt"))
	}
	// iTXt: flag, method, language tag NUL, translated keyword NUL, text.
	if len(rest) < 2 {
		return nil, formatErr(chunkName("iTXt"), off, "missing compression flag and method")
	}
	flag, method := rest[0], rest[1]
	rest = rest[2:]
	for range 2 {
		j := bytes.IndexByte(rest, 0)
		if j < 0 {
			return nil, formatErr(chunkName("iTXt"), off, "missing language tag or translated keyword")
		}
		rest = rest[j+1:]
	}
	switch {
	case flag == 0:
		return rest, nil
	case method != 0:
		return nil, formatErr(chunkName("iTXt"), off, "unknown compression method %d", method)
	}
	return inflate(rest, off, chunkName("iTXt"))
}

// errTooBig is returned by inflate when the output exceeds MaxInflated.
var errTooBig = errors.New("inflated data over the limit")

// inflate decompresses a zlib stream, ignoring anything after its end, to
// at most MaxInflated bytes. A first pass only measures the output, so a
// compression bomb is rejected without allocating for it and the result is
// allocated once, at its exact size.
func inflate(b []byte, off int64, where string) ([]byte, error) {
	size, err := inflateTo(io.Discard, b, off, where)
	if err != nil {
		return nil, err
	}
	out := make([]byte, size)
	zr, err := zlib.NewReader(bytes.NewReader(b))
	if err == nil {
		_, err = io.ReadFull(zr, out)
	}
	if err == nil {
		var one [1]byte
		if n, end := zr.Read(one[:]); n != 0 || end != io.EOF {
			err = fmt.Errorf("second pass disagrees with the first (%v)", end)
		}
	}
	if err != nil { // unreachable: the first pass read the same bytes
		return nil, &FormatError{Pkg: errPkg, Record: where, Offset: off, Msg: zlibMsg(err), Err: err}
	}
	return out, nil
}

func inflateTo(w io.Writer, b []byte, off int64, where string) (int64, error) {
	zr, err := zlib.NewReader(bytes.NewReader(b))
	if err != nil {
		return 0, &FormatError{Pkg: errPkg, Record: where, Offset: off, Msg: zlibMsg(err), Err: err}
	}
	defer zr.Close()
	n, err := io.Copy(w, io.LimitReader(zr, MaxInflated+1))
	switch {
	case err == io.ErrUnexpectedEOF:
		return 0, &FormatError{Pkg: errPkg, Record: where, Offset: off, Msg: "zlib: truncated stream", Err: err}
	case err != nil:
		return 0, &FormatError{Pkg: errPkg, Record: where, Offset: off, Msg: zlibMsg(err), Err: err}
	case n > MaxInflated:
		return 0, &FormatError{Pkg: errPkg, Record: where, Offset: off, Msg: fmt.Sprintf("zlib stream inflates to more than %d bytes", MaxInflated), Err: errTooBig}
	}
	return n, nil
}

// zlibMsg says "zlib: …" once, whether the error came from compress/zlib
// ("zlib: invalid header") or the flate stream inside ("flate: …").
func zlibMsg(err error) string {
	if s := err.Error(); strings.HasPrefix(s, "zlib: ") {
		return s
	}
	return "zlib: " + err.Error()
}
