package sniff

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/embtool/embtool/internal/memread"
)

func TestDetect(t *testing.T) {
	st := func(n uint64, rest string) []byte {
		b := binary.LittleEndian.AppendUint64(nil, n)
		return append(b, rest...)
	}
	tar := make([]byte, 512)
	copy(tar[257:], "ustar")
	bmp := append([]byte("BM"), binary.LittleEndian.AppendUint32(nil, 70)...)
	bmp = append(bmp, make([]byte, 10)...)
	for _, c := range []struct {
		name string
		head []byte
		size int64
		want Format
	}{
		{"empty", nil, 0, Empty},
		{"torch zip", []byte("PK\x03\x04\x00\x00"), 100, TorchZip},
		{"preview", []byte("PYTORCH1"), 100, TorchPreview},
		{"legacy", []byte("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"), 100, Pickle},
		{"safetensors", st(90, `{"a":{"dtype":"F32"`), 200, Safetensors},
		{"safetensors, header length 128 (first byte 0x80)", st(128, `{"__metadata__"`), 300, Safetensors},
		{"safetensors, leading whitespace", st(90, "  \n{"), 200, Safetensors},
		{"safetensors, lying length", st(1<<63, "{"), 31, Safetensors},
		{"JSON document, not safetensors", []byte(`{"name":{"a":1}}`), 16, Text},
		{"png", []byte("\x89PNG\r\n\x1a\n\x00\x00"), 100, PNG},
		{"jpeg", []byte("\xff\xd8\xff\xe0\x00\x10JFIF"), 100, JPEG},
		{"gif", []byte("GIF89a\x01\x00"), 100, GIF},
		{"webp", []byte("RIFF\x10\x00\x00\x00WEBPVP8 "), 100, WebP},
		{"bmp", bmp, 70, BMP},
		{"jpeg xl container", []byte("\x00\x00\x00\x0cJXL \r\n\x87\n\x00"), 100, JPEGXL},
		{"jpeg xl codestream", []byte("\xff\x0a\xfa\x1f"), 100, JPEGXL},
		{"avif", []byte("\x00\x00\x00\x1cftypavif\x00\x00"), 100, HEIF},
		{"heic", []byte("\x00\x00\x00\x18ftypheic\x00\x00"), 100, HEIF},
		{"mp4 is not an image", []byte("\x00\x00\x00\x18ftypisom\x00\x00"), 100, Unknown},
		{"tar", tar, 1024, Tar},
		{"html", []byte("\xef\xbb\xbf \r\n<!DOCTYPE html><html>"), 100, HTML},
		{"html, upper case", []byte("<HTML><BODY>"), 12, HTML},
		{"git-lfs", []byte("version https://git-lfs.github.com/spec/v1\noid sha256:ab\nsize 12\n"), 64, GitLFS},
		{"text", []byte("trigger: ohwx\n"), 14, Text},
		{"text cut inside a rune", []byte("caf\xc3"), 600, Text},
		{"binary", []byte("\x00\x01\x02garbage"), 10, Unknown},
		{"invalid utf-8", []byte("caf\xc3"), 4, Unknown},
	} {
		if got := Detect(c.head, c.size); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

func TestHead(t *testing.T) {
	b := bytes.Repeat([]byte("x"), 1000)
	for _, size := range []int64{0, 5, 512, 1000} {
		h, err := Head(bytes.NewReader(b[:size]), size)
		if err != nil || int64(len(h)) != min(size, HeadSize) {
			t.Errorf("size %d: %d bytes, %v", size, len(h), err)
		}
	}
	if _, err := Head(bytes.NewReader(b[:10]), 100); err == nil {
		t.Errorf("a file shorter than its size: no error")
	}
	// A file already in memory is not copied: the head is its own bytes.
	m := memread.New(b)
	var h []byte
	if n := testing.AllocsPerRun(10, func() { h, _ = Head(m, 1000) }); n != 0 || len(h) != HeadSize || &h[0] != &b[0] {
		t.Errorf("memread: %v allocations, %d bytes, shared %v", n, len(h), &h[0] == &b[0])
	}
	if _, err := Head(memread.New(b[:10]), 100); err == nil {
		t.Errorf("memread shorter than its size: no error")
	}
}

func FuzzDetect(f *testing.F) {
	f.Add([]byte("\x80\x02"), int64(2))
	f.Add([]byte("PK\x03\x04"), int64(4))
	f.Fuzz(func(t *testing.T, head []byte, size int64) {
		Detect(head, size)
	})
}

func TestIsTarHeader(t *testing.T) {
	// A minimal header: a name, and the octal checksum of the block with
	// the checksum field as spaces (Python tarfile's rule). pkg/torchpt's
	// TestIsTarHeader checks the spellings tarfile accepts on a real file.
	b := make([]byte, TarBlock)
	copy(b, "x")
	sum := 256 + int('x')
	copy(b[148:], []byte(fmt.Sprintf("%06o\x00 ", sum)))
	if !IsTarHeader(b) {
		t.Error("valid checksum: not a tar header")
	}
	if IsTarHeader(b[:TarBlock-1]) {
		t.Error("short block taken for a tar header")
	}
	if IsTarHeader(make([]byte, TarBlock)) {
		t.Error("all-NUL block taken for a tar header")
	}
	if !IsPickle([]byte(TorchLegacyMagic)) || Detect([]byte(TorchLegacyMagic), 100) != Pickle {
		t.Error("torch's legacy magic pickle is not a pickle")
	}
}
