package pngembed

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"strings"
	"testing"
)

// fixCRCs returns a copy of b with the CRC of every complete chunk
// recomputed, so that mutations reach the chunk contents instead of
// stopping at the checksum.
func fixCRCs(b []byte) []byte {
	b = append([]byte(nil), b...)
	for off := 8; off+12 <= len(b); {
		n := int64(binary.BigEndian.Uint32(b[off:]))
		end := int64(off) + 12 + n
		if end > int64(len(b)) {
			break
		}
		binary.BigEndian.PutUint32(b[end-4:], crc32.ChecksumIEEE(b[off+4:end-4]))
		off = int(end)
	}
	return b
}

func checkDecode(t *testing.T, data []byte) {
	for _, f := range []func(r *bytes.Reader, n int64) (*Result, error){
		func(r *bytes.Reader, n int64) (*Result, error) { return Decode(r, n) },
		func(r *bytes.Reader, n int64) (*Result, error) { return DecodeTextChunk(r, n) },
	} {
		res, err := f(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			if res != nil {
				t.Fatalf("result and error %v", err)
			}
			if !strings.HasPrefix(err.Error(), "pngembed: ") {
				t.Fatalf("error %q lacks the package prefix", err)
			}
			continue
		}
		if res == nil || res.Root == nil || (res.Source != SourceTextChunk && res.Source != SourcePixels) {
			t.Fatalf("bad result %#v", res)
		}
	}
}

func FuzzDecode(f *testing.F) {
	// The real PNGs (about 500 KB) are not seeds: the fuzzer minimises
	// every new input byte by byte, quadratic in its size, and spent whole
	// minutes on them without executing anything. The code-built images
	// below cover the same paths in a few hundred bytes; the real files
	// are decoded by the unit tests.
	b64 := []byte(base64.StdEncoding.EncodeToString([]byte(sampleJSON)))
	pic := picture(3, 3, 1)
	f.Add(textPNG(f))
	f.Add(pixelPNG(f))
	f.Add(encodePNG(f, insertPixels([]byte(`{"a": {"TORCHTENSOR": [[1, 2], [3, 4]]}}`), picture(2, 4, 3), 0), nil, nil))
	f.Add(encodePNG(f, pic, [][]byte{chunk("zTXt", zTXtData(TextKeyword, b64))}, nil))
	f.Add(encodePNG(f, pic, [][]byte{chunk("iTXt", iTXtData(TextKeyword, b64, true))}, nil))
	f.Add(encodePNG(f, pic, nil, [][]byte{chunk("iTXt", iTXtData(TextKeyword, b64, false))}))
	f.Add(encodePNG(f, image.NewGray16(image.Rect(0, 0, 3, 2)), nil, nil))
	f.Add(encodePNG(f, image.NewPaletted(image.Rect(0, 0, 3, 2), color.Palette{color.RGBA{1, 2, 3, 255}, color.NRGBA{10, 20, 30, 40}}), nil, nil))
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xE0})
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecode(t, data)
		checkDecode(t, fixCRCs(data))
	})
}

func FuzzJSON(f *testing.F) {
	f.Add([]byte(sampleJSON))
	f.Add([]byte(`{"a": [1, 2.5, NaN, -Infinity, "x\u00e9\ud83d\ude00", {"b": null}], "a": true}`))
	f.Add([]byte(`{"t": {"TORCHTENSOR": [[[1], [2]], [[3], [4]]]}, "s": {"TORCHTENSOR": -0.5e-3}}`))
	f.Add([]byte(`{"t": {"TORCHTENSOR": [[1.0, 2.0], [3.0]]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := parseJSON(data)
		if (o == nil) == (err == nil) {
			t.Fatalf("object %v, error %v", o, err)
		}
	})
}

// FuzzExtract feeds raw RGB pixels to the pixel-border path: the first
// byte picks the width, the rest are the pixels.
func FuzzExtract(f *testing.F) {
	img := insertPixels([]byte(sampleJSON), picture(2, 3, 4), 0x8)
	rgb, w, _, _ := toRGB(img, false)
	f.Add(append([]byte{byte(w)}, rgb...))
	f.Add([]byte{3, 0, 0, 0, 9, 9, 9, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 1 || data[0] == 0 {
			return
		}
		w := int(data[0])
		h := (len(data) - 1) / (3 * w)
		if h == 0 {
			return
		}
		m := image.NewNRGBA(image.Rect(0, 0, w, h))
		for i := range w * h {
			copy(m.Pix[4*i:4*i+3], data[1+3*i:])
			m.Pix[4*i+3] = 0xFF
		}
		res, err := pixelsEmbedding(m)
		if (res == nil) == (err == nil) {
			t.Fatalf("result %v, error %v", res, err)
		}
	})
}
