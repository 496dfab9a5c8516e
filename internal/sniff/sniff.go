// Package sniff names a file's format from its first bytes: the one place
// in embtool that knows magic numbers. It reads nothing itself beyond
// what Head reads, judges no lengths (that is each reader's job, with the
// offset of the defect), and never fails: an unrecognised start is
// Unknown.
//
// # Security
//
// Detect looks at at most HeadSize bytes that the caller has read; it
// allocates nothing and cannot panic on any input.
package sniff

import (
	"bytes"
	"encoding/binary"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/embtool/embtool/internal/memread"
)

// Format is what a file's first bytes say it is.
type Format string

// The formats Detect names.
const (
	Empty        Format = "empty"
	TorchZip     Format = "zip"      // PK\x03\x04: torch.save since 1.6, TorchScript
	TorchPreview Format = "pytorch1" // PYTORCH1: the 2018 preview release's archive
	Tar          Format = "tar"      // ustar at 257: pre-1.0 torch.save
	Pickle       Format = "pickle"   // PROTO opcode: a legacy torch file or a bare pickle
	Safetensors  Format = "safetensors"
	PNG          Format = "png"
	JPEG         Format = "jpeg"
	GIF          Format = "gif"
	WebP         Format = "webp"
	BMP          Format = "bmp"
	JPEGXL       Format = "jpeg-xl"
	HEIF         Format = "heif" // ISO media with an image brand: AVIF, HEIC
	HTML         Format = "html"
	GitLFS       Format = "git-lfs-pointer"
	Text         Format = "text"
	Unknown      Format = "unknown"
)

// HeadSize is how many leading bytes Detect wants: enough for the tar
// magic at 257 and a few lines of text.
const HeadSize = 512

// Head reads the first min(size, HeadSize) bytes of r: a slice of r's
// own bytes, not a copy, when r is a memread.Reader (the caller must not
// write to it).
func Head(r io.ReaderAt, size int64) ([]byte, error) {
	if b, ok := memread.Slice(r, 0, min(max(size, 0), HeadSize)); ok {
		return b, nil
	}
	head := make([]byte, min(max(size, 0), HeadSize))
	n, err := r.ReadAt(head, 0)
	if err == io.EOF && n == len(head) {
		err = nil
	}
	return head[:n], err
}

var (
	zipMagic     = []byte("PK\x03\x04")
	previewMagic = []byte("PYTORCH1")
	pngMagic     = []byte("\x89PNG\r\n\x1a\n")
	jpegMagic    = []byte("\xff\xd8\xff")
	lfsMagic     = []byte("version https://git-lfs.github.com/spec/v1")
	utf8BOM      = []byte("\xef\xbb\xbf")
	// JPEG XL: the ISO BMFF container's signature box, or a bare codestream.
	jxlMagic      = []byte("\x00\x00\x00\x0cJXL \r\n\x87\n")
	jxlCodestream = []byte("\xff\x0a")
)

// isHEIFBrand: the major brands of AVIF and HEIF still images and
// sequences (an ISO media file of another brand, such as MP4, is not
// named).
func isHEIFBrand(b string) bool {
	switch b {
	case "avif", "avis", "heic", "heix", "hevc", "hevx", "mif1", "msf1":
		return true
	}
	return false
}

// Detect names the format of a file of size bytes that starts with head.
func Detect(head []byte, size int64) Format {
	switch {
	case size == 0:
		return Empty
	case IsZip(head):
		return TorchZip
	case IsTorchPreview(head):
		return TorchPreview
	case IsPNG(head):
		return PNG
	case IsSafetensors(head):
		// Before the pickle test: a header length of 128–255 bytes makes
		// the first byte 0x80, the pickle PROTO opcode.
		return Safetensors
	case IsPickle(head):
		return Pickle
	case IsJPEG(head):
		return JPEG
	case bytes.HasPrefix(head, []byte("GIF87a")), bytes.HasPrefix(head, []byte("GIF89a")):
		return GIF
	case len(head) >= 12 && string(head[:4]) == "RIFF" && string(head[8:12]) == "WEBP":
		return WebP
	case len(head) >= 14 && string(head[:2]) == "BM" && binary.LittleEndian.Uint32(head[2:]) == uint32(size):
		return BMP
	case bytes.HasPrefix(head, jxlMagic), bytes.HasPrefix(head, jxlCodestream):
		return JPEGXL
	case len(head) >= 12 && string(head[4:8]) == "ftyp" && isHEIFBrand(string(head[8:12])):
		return HEIF
	case IsUstar(head):
		return Tar
	case bytes.HasPrefix(head, lfsMagic):
		return GitLFS
	case isHTML(head):
		return HTML
	case isText(head, size):
		return Text
	}
	return Unknown
}

// The predicates below are Detect's tests, for readers that must try
// formats in an order of their own (torch.load's: zip, then a tar
// checksum, then a pickle from byte 0; see pkg/torchpt).

// IsZip: a zip local file header ("PK\x03\x04"), as torch.save since 1.6
// and TorchScript write.
func IsZip(head []byte) bool { return bytes.HasPrefix(head, zipMagic) }

// IsTorchPreview: "PYTORCH1", the 2018 preview release's archive.
func IsTorchPreview(head []byte) bool { return bytes.HasPrefix(head, previewMagic) }

// IsPNG: the eight-byte PNG signature.
func IsPNG(head []byte) bool { return bytes.HasPrefix(head, pngMagic) }

// IsJPEG: an SOI marker followed by another marker.
func IsJPEG(head []byte) bool { return bytes.HasPrefix(head, jpegMagic) }

// IsPickle: the PROTO opcode (0x80) first, as every pickle of protocol 2
// or later, torch's legacy format included, starts.
func IsPickle(head []byte) bool { return len(head) > 0 && head[0] == 0x80 }

// IsUstar: the POSIX tar magic "ustar" at offset 257.
func IsUstar(head []byte) bool { return len(head) >= 262 && string(head[257:262]) == "ustar" }

// TorchLegacyMagic is the first pickle torch.save writes in the legacy
// (pre-1.6) format: the int 0x1950a86a20f9469cfc6c at protocol 2.
const TorchLegacyMagic = "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19\x2e"

// IsSafetensors: eight bytes of header length, then a JSON object
// (leading whitespace tolerated, formats.md §4). The length is not judged
// here: a lying one is the safetensors reader's to report precisely.
// Eight printable bytes are text (a JSON document), not a length.
func IsSafetensors(head []byte) bool {
	return len(head) >= 9 && bytes.HasPrefix(bytes.TrimLeft(head[8:], " \t\n\r"), []byte("{")) &&
		!printable(head[:8])
}

func printable(b []byte) bool {
	for _, c := range b {
		if (c < 0x20 || c > 0x7e) && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// isHTML: "<!DOCTYPE html" or "<html" (any case) after an optional BOM and
// whitespace — what a download link that served a web page leaves.
func isHTML(head []byte) bool {
	b := bytes.TrimLeft(bytes.TrimPrefix(head, utf8BOM), " \t\r\n")
	for _, p := range []string{"<!doctype html", "<html", "<head", "<!-- "} {
		if len(b) >= len(p) && bytes.EqualFold(b[:len(p)], []byte(p)) {
			return true
		}
	}
	return false
}

// isText: valid UTF-8 (a rune cut by the end of head is allowed when the
// file goes on) without NUL or other control bytes besides tab, CR, LF
// and form feed.
func isText(head []byte, size int64) bool {
	b := bytes.TrimPrefix(head, utf8BOM)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 {
			return !utf8.FullRune(b) && int64(len(head)) < size
		}
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' && r != '\f' || r == 0x7f {
			return false
		}
		b = b[n:]
	}
	return true
}

// TarBlock is the size of a tar header block.
const TarBlock = 512

// IsTarHeader is Python tarfile's test of a first block, which torch.load
// tries before unpickling a non-zip file: TarBlock bytes, not all NUL,
// whose checksum field (octal, read as Python's int(s, 8) reads it, or
// base-256) equals the unsigned or signed sum of the block with that field
// as spaces. A shorter block is not a header.
func IsTarHeader(b []byte) bool {
	if len(b) < TarBlock {
		return false
	}
	b = b[:TarBlock]
	if bytes.Count(b, []byte{0}) == TarBlock {
		return false
	}
	want, ok := tarNumber(b[148:156])
	if !ok {
		return false
	}
	var unsigned, signed int64 = 256, 256
	for i, c := range b {
		if i >= 148 && i < 156 {
			continue
		}
		unsigned += int64(c)
		signed += int64(int8(c))
	}
	return want == unsigned || want == signed
}

// tarNumber is tarfile.nti: base-256 when the first byte is 0x80 or 0xff,
// else the text up to the first NUL, stripped, as int(s, 8) ("" is 0).
func tarNumber(f []byte) (int64, bool) {
	if f[0] == 0x80 || f[0] == 0xff {
		var n int64
		for _, c := range f[1:] {
			n = n<<8 | int64(c)
		}
		if f[0] == 0xff {
			n -= 1 << 56
		}
		return n, true
	}
	if i := bytes.IndexByte(f, 0); i >= 0 {
		f = f[:i]
	}
	for _, c := range f {
		if c >= 0x80 {
			return 0, false
		}
	}
	t := strings.TrimSpace(string(f))
	if t == "" {
		return 0, true
	}
	neg := false
	if t[0] == '+' || t[0] == '-' {
		neg = t[0] == '-'
		t = t[1:]
	}
	if len(t) > 2 && t[0] == '0' && (t[1] == 'o' || t[1] == 'O') {
		// int(s, 8) takes the 0o prefix, and one underscore after it.
		t = strings.TrimPrefix(t[2:], "_")
	}
	var n int64
	digits := 0
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case c >= '0' && c <= '7':
			n = n*8 + int64(c-'0')
			digits++
		case c == '_' && i > 0 && i+1 < len(t) && t[i-1] != '_':
		default:
			return 0, false
		}
	}
	if digits == 0 {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}
