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
	"unicode/utf8"
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

// Head reads the first min(size, HeadSize) bytes of r.
func Head(r io.ReaderAt, size int64) ([]byte, error) {
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
	case bytes.HasPrefix(head, zipMagic):
		return TorchZip
	case bytes.HasPrefix(head, previewMagic):
		return TorchPreview
	case bytes.HasPrefix(head, pngMagic):
		return PNG
	case IsSafetensors(head):
		// Before the pickle test: a header length of 128–255 bytes makes
		// the first byte 0x80, the pickle PROTO opcode.
		return Safetensors
	case len(head) > 0 && head[0] == 0x80:
		return Pickle
	case bytes.HasPrefix(head, jpegMagic):
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
	case len(head) >= 262 && string(head[257:262]) == "ustar":
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
