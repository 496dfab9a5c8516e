package pngembed

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/embtool/embtool/internal/testcorpus"
)

// corpusFile returns the path of a corpus file, skipping the test when the
// shared folder is absent.
func corpusFile(t testing.TB, name string) string {
	t.Helper()
	return filepath.Join(testcorpus.Dir(t), name)
}

// sampleJSON is an embedding document as A1111's json.dumps writes it.
const sampleJSON = `{"string_to_token": {"*": 265}, "string_to_param": {"*": {"TORCHTENSOR": ` +
	`[[0.5, -1.25, 1e-05, 3.0], [-0.0, 0.1, 2.0, -7.5]]}}, "name": "caf\u00e9", "step": 3, ` +
	`"sd_checkpoint": null, "sd_checkpoint_name": null}`

// chunk encodes one PNG chunk with its length and CRC.
func chunk(typ string, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, uint32(len(data)))
	b.WriteString(typ)
	b.Write(data)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	return b.Bytes()
}

// zlibBytes compresses b at level 9, as A1111 does.
func zlibBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&buf, 9)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func textChunkData(keyword string, text []byte) []byte {
	return append([]byte(keyword+"\x00"), text...)
}

func zTXtData(keyword string, text []byte) []byte {
	return append([]byte(keyword+"\x00\x00"), zlibBytes(text)...)
}

func iTXtData(keyword string, text []byte, compress bool) []byte {
	b := []byte(keyword + "\x00")
	if compress {
		return append(append(b, 1, 0, 'e', 'n', 0, 0), zlibBytes(text)...)
	}
	return append(append(b, 0, 0, 0, 0), text...)
}

// encodePNG encodes img and inserts extra chunks: those in before right
// after IHDR, those in after right before IEND.
func encodePNG(t testing.TB, img image.Image, before, after [][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	const ihdrEnd = 8 + 12 + 13
	var out []byte
	out = append(out, b[:ihdrEnd]...)
	for _, c := range before {
		out = append(out, c...)
	}
	out = append(out, b[ihdrEnd:len(b)-12]...)
	for _, c := range after {
		out = append(out, c...)
	}
	return append(out, b[len(b)-12:]...)
}

// picture is a w×h image with random colors whose channels are all > 0
// and whose low nibbles are not all zero, so crop_black keeps it and it
// has no black column.
func picture(w, h int, seed uint64) *image.NRGBA {
	rng := rand.New(rand.NewPCG(seed, 1))
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i] = byte(rng.IntN(255)) | 1
		img.Pix[i+1] = byte(rng.IntN(255)) | 1
		img.Pix[i+2] = byte(rng.IntN(255)) | 1
		img.Pix[i+3] = 0xFF
	}
	return img
}

// insertPixels mirrors A1111's insert_image_data_embed (formats.md §6.3)
// without style_block: the zlib stream (level 9) of data is split into
// nibbles, padded cyclically to the size rule (np.resize), reshaped to
// (h, -1, 3), XORed with the LCG and drawn in the low nibbles of two
// blocks beside pic, separated from it by one black column each. Instead
// of style_block's ellipses, the high nibble of every data byte is hi.
func insertPixels(data []byte, pic *image.NRGBA, hi byte) *image.NRGBA {
	return insertCompressed(zlibBytes(data), pic, hi)
}

// insertCompressed is insertPixels for an already compressed stream.
func insertCompressed(comp []byte, pic *image.NRGBA, hi byte) *image.NRGBA {
	h := pic.Bounds().Dy()
	n := len(comp)
	next := n + (h - n%h)
	next += h*3 - next%(h*3)
	stream := make([]byte, next)
	for i := range stream {
		stream[i] = comp[i%n] // np.resize repeats the array
	}
	return borderImage(stream, pic, hi)
}

// borderImage draws stream, whose length must be a multiple of 3×height,
// as two XORed nibble blocks beside pic (see insertPixels).
func borderImage(stream []byte, pic *image.NRGBA, hi byte) *image.NRGBA {
	h, W := pic.Bounds().Dy(), pic.Bounds().Dx()
	w := len(stream) / (3 * h)
	low := make([]byte, len(stream))
	high := make([]byte, len(stream))
	for i, b := range stream {
		low[i], high[i] = b&0x0F, b>>4
	}
	for _, blk := range [][]byte{low, high} {
		g := lcg{}
		for i := range blk {
			blk[i] ^= g.next() & 0x0F
		}
	}
	out := image.NewNRGBA(image.Rect(0, 0, W+2*w+2, h))
	for y := range h {
		for x := range W + 2*w + 2 {
			out.SetNRGBA(x, y, color.NRGBA{0, 0, 0, 0xFF})
		}
		for x := range w {
			for c := range 3 {
				out.Pix[out.PixOffset(x, y)+c] = hi<<4 | low[(y*w+x)*3+c]
				out.Pix[out.PixOffset(w+1+W+1+x, y)+c] = hi<<4 | high[(y*w+x)*3+c]
			}
		}
		for x := range W {
			copy(out.Pix[out.PixOffset(w+1+x, y):][:4], pic.Pix[pic.PixOffset(x, y):][:4])
		}
	}
	return out
}

// textPNG is a small PNG holding sampleJSON in a tEXt chunk.
func textPNG(t testing.TB) []byte {
	t.Helper()
	text := []byte(base64.StdEncoding.EncodeToString([]byte(sampleJSON)))
	return encodePNG(t, picture(4, 4, 1), [][]byte{chunk("tEXt", textChunkData(TextKeyword, text))}, nil)
}

// pixelPNG is a small PNG holding sampleJSON in a pixel border only.
func pixelPNG(t testing.TB) []byte {
	t.Helper()
	return encodePNG(t, insertPixels([]byte(sampleJSON), picture(8, 16, 2), 0x8), nil, nil)
}

// decodeFile opens the file at path and calls Decode.
func decodeFile(path string) (*Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("pngembed: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("pngembed: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("pngembed: %s is not a regular file", path)
	}
	return Decode(f, st.Size())
}
