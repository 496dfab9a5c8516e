package pngembed

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/embtool/embtool/internal/testcorpus"
	"github.com/embtool/embtool/pkg/tensor"
)

// expectedNorms reads the per-vector norms torch computed for file from
// expected.json (JSON Lines).
func expectedNorms(t *testing.T, file string) []float64 {
	t.Helper()
	f, err := os.Open(filepath.Join(testcorpus.Dir(t), "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.Contains(line, []byte(`"file": "`+file+`"`)) {
			continue
		}
		var rec struct {
			File  string    `json:"file"`
			Norms []float64 `json:"norms"`
		}
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatalf("expected.json line for %s: %v", file, err)
		}
		if rec.File == file {
			return rec.Norms
		}
	}
	t.Fatalf("expected.json has no line for %s", file)
	return nil
}

// embeddingTensor returns string_to_param["*"] of a decoded A1111 embedding.
func embeddingTensor(t *testing.T, root *Object) *tensor.Tensor {
	t.Helper()
	v, ok := root.Get("string_to_param")
	if !ok {
		t.Fatal("no string_to_param")
	}
	stp, ok := v.(*Object)
	if !ok {
		t.Fatalf("string_to_param is %T", v)
	}
	v, ok = stp.Get("*")
	if !ok {
		t.Fatal(`no string_to_param["*"]`)
	}
	tt, ok := v.(*tensor.Tensor)
	if !ok {
		t.Fatalf(`string_to_param["*"] is %T`, v)
	}
	return tt
}

// dropChunks rewrites a PNG without the chunks drop selects.
func dropChunks(t *testing.T, b []byte, drop func(typ string, data []byte) bool) []byte {
	t.Helper()
	out := append([]byte(nil), b[:8]...)
	for off := 8; off < len(b); {
		n := int(binary.BigEndian.Uint32(b[off:]))
		typ := string(b[off+4 : off+8])
		if !drop(typ, b[off+8:off+8+n]) {
			out = append(out, b[off:off+12+n]...)
		}
		off += 12 + n
	}
	return out
}

func TestRealImages(t *testing.T) {
	for _, tc := range []struct {
		file string
		name string
		step float64
	}{
		{"test_embedding.png", "rick", 60},
		{"gasai yuno-1000.png", "gasai yuno", 1000},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := corpusFile(t, tc.file)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			text, err := decodeFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if text.Source != SourceTextChunk || text.Chunk != "tEXt" {
				t.Errorf("source %q chunk %q, want text-chunk tEXt", text.Source, text.Chunk)
			}
			wantKeys := []string{"string_to_token", "string_to_param", "name", "step", "sd_checkpoint", "sd_checkpoint_name"}
			if !reflect.DeepEqual(text.Root.Keys, wantKeys) {
				t.Errorf("keys %q, want %q", text.Root.Keys, wantKeys)
			}
			if v, _ := text.Root.Get("name"); v != tc.name {
				t.Errorf("name %v, want %q", v, tc.name)
			}
			if v, _ := text.Root.Get("step"); v != tc.step {
				t.Errorf("step %v, want %v", v, tc.step)
			}
			if v, ok := text.Root.Get("sd_checkpoint"); !ok || v != nil {
				t.Errorf("sd_checkpoint %v %v, want null", v, ok)
			}
			only, err := DecodeTextChunk(bytes.NewReader(data), int64(len(data)))
			if err != nil || !reflect.DeepEqual(only, text) {
				t.Errorf("DecodeTextChunk differs from Decode: %v", err)
			}

			img, err := png.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() != 592 || b.Dy() != 512 {
				t.Errorf("image is %v, want 592×512", b)
			}
			pix, err := pixelsEmbedding(img)
			if err != nil {
				t.Fatal(err)
			}
			if pix.Source != SourcePixels {
				t.Errorf("source %q, want pixels", pix.Source)
			}
			tt, pt := embeddingTensor(t, text.Root), embeddingTensor(t, pix.Root)
			if tt.DType != tensor.F64 || !reflect.DeepEqual(tt.Shape, []int{8, 768}) {
				t.Fatalf("tensor %s%v, want F64[8 768]", tt.DType, tt.Shape)
			}
			if !bytes.Equal(tt.Data, pt.Data) || !reflect.DeepEqual(tt.Shape, pt.Shape) {
				t.Error("text-chunk and pixel tensors differ")
			}
			// The whole documents agree, not only the tensor.
			pixRoot := *pix.Root
			if !reflect.DeepEqual(&pixRoot, text.Root) {
				t.Error("text-chunk and pixel documents differ")
			}

			// Decode falls back to the pixels once the text chunk is gone.
			stripped := dropChunks(t, data, func(typ string, _ []byte) bool { return typ == "tEXt" })
			viaDecode, err := Decode(bytes.NewReader(stripped), int64(len(stripped)))
			if err != nil {
				t.Fatal(err)
			}
			if viaDecode.Source != SourcePixels || !reflect.DeepEqual(viaDecode.Root, text.Root) {
				t.Error("Decode without the text chunk did not give the pixel copy")
			}
			if _, err := DecodeTextChunk(bytes.NewReader(stripped), int64(len(stripped))); !errors.Is(err, ErrNotEmbedding) {
				t.Errorf("DecodeTextChunk without text chunk: %v, want ErrNotEmbedding", err)
			}

			vals, err := tt.Float64s()
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				if float64(float32(v)) != v {
					t.Fatalf("value %d = %v is not float32-representable", i, v)
				}
			}
			want := expectedNorms(t, tc.file)
			if len(want) != 8 {
				t.Fatalf("expected.json has %d norms", len(want))
			}
			for r := range 8 {
				var s float64
				for _, v := range vals[r*768 : (r+1)*768] {
					s += v * v
				}
				got := math.Sqrt(s)
				if math.Abs(got-want[r]) > 1e-9*want[r] {
					t.Errorf("norm[%d] = %.17g, want %.17g", r, got, want[r])
				}
			}
		})
	}
}

func TestJPEGNamedPNG(t *testing.T) {
	path := corpusFile(t, "SD1.5-HairDetail.preview.png")
	_, err := decodeFile(path)
	var fe *FormatError
	if !errors.As(err, &fe) || errors.Is(err, ErrNotEmbedding) {
		t.Fatalf("got %v, want a FormatError", err)
	}
	if !strings.Contains(err.Error(), "not a PNG") || !strings.Contains(err.Error(), "JPEG") {
		t.Errorf("message %q should say it is JPEG, not PNG", err)
	}
}

func checkSample(t *testing.T, res *Result) {
	t.Helper()
	if v, _ := res.Root.Get("name"); v != "café" {
		t.Errorf("name %q, want café", v)
	}
	if v, _ := res.Root.Get("step"); v != 3.0 {
		t.Errorf("step %v", v)
	}
	tok, _ := res.Root.Get("string_to_token")
	if o, ok := tok.(*Object); !ok || !reflect.DeepEqual(o.Values, []any{265.0}) {
		t.Errorf("string_to_token %#v", tok)
	}
	tt := embeddingTensor(t, res.Root)
	got, _ := tt.Float64s()
	want := []float64{0.5, -1.25, 1e-05, 3.0, math.Copysign(0, -1), 0.1, 2.0, -7.5}
	if tt.DType != tensor.F64 || !reflect.DeepEqual(tt.Shape, []int{2, 4}) {
		t.Fatalf("tensor %s%v", tt.DType, tt.Shape)
	}
	for i := range want {
		if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
			t.Errorf("value %d = %v, want %v", i, got[i], want[i])
		}
	}
}

func decodeBytes(b []byte) (*Result, error) { return Decode(bytes.NewReader(b), int64(len(b))) }

func TestTextChunks(t *testing.T) {
	js := []byte(sampleJSON)
	b64 := []byte(base64.StdEncoding.EncodeToString(js))
	wrapped := []byte{}
	for i := 0; i < len(b64); i += 76 {
		wrapped = append(wrapped, b64[i:min(i+76, len(b64))]...)
		wrapped = append(wrapped, '\r', '\n')
	}
	pic := picture(4, 4, 1)
	decoy := chunk("tEXt", textChunkData("parameters", []byte("a photo")))
	for _, tc := range []struct {
		name          string
		before, after [][]byte
		chunk         string
	}{
		{"tEXt", [][]byte{chunk("tEXt", textChunkData(TextKeyword, b64))}, nil, "tEXt"},
		{"tEXt with line breaks", [][]byte{chunk("tEXt", textChunkData(TextKeyword, wrapped))}, nil, "tEXt"},
		{"zTXt", [][]byte{chunk("zTXt", zTXtData(TextKeyword, b64))}, nil, "zTXt"},
		{"iTXt", [][]byte{chunk("iTXt", iTXtData(TextKeyword, b64, false))}, nil, "iTXt"},
		{"iTXt compressed", [][]byte{chunk("iTXt", iTXtData(TextKeyword, b64, true))}, nil, "iTXt"},
		{"after IDAT", [][]byte{decoy}, [][]byte{chunk("tEXt", textChunkData(TextKeyword, b64))}, "tEXt"},
		{"last of two wins", [][]byte{chunk("tEXt", textChunkData(TextKeyword, []byte("bm90IGpzb24=")))},
			[][]byte{chunk("zTXt", zTXtData(TextKeyword, b64))}, "zTXt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := encodePNG(t, pic, tc.before, tc.after)
			res, err := decodeBytes(b)
			if err != nil {
				t.Fatal(err)
			}
			if res.Source != SourceTextChunk || res.Chunk != tc.chunk {
				t.Errorf("source %q chunk %q, want text-chunk %s", res.Source, res.Chunk, tc.chunk)
			}
			checkSample(t, res)
		})
	}
}

func TestPixelBorder(t *testing.T) {
	js := []byte(sampleJSON)
	framed := func(img *image.NRGBA) *image.NRGBA {
		// A black frame of 3 pixels all round: crop_black removes it.
		b := img.Bounds()
		out := image.NewNRGBA(image.Rect(0, 0, b.Dx()+6, b.Dy()+6))
		for i := 3; i < len(out.Pix); i += 4 {
			out.Pix[i] = 0xFF
		}
		for y := range b.Dy() {
			copy(out.Pix[out.PixOffset(3, y+3):], img.Pix[img.PixOffset(0, y):img.PixOffset(0, y+1)])
		}
		return out
	}
	translucent := func(img *image.NRGBA) *image.NRGBA {
		for i := 3; i < len(img.Pix); i += 4 {
			img.Pix[i] = byte(i*7) | 1 // straight alpha: RGB must not be scaled
		}
		return img
	}
	deep := func(img *image.NRGBA) image.Image {
		out := image.NewNRGBA64(img.Bounds())
		for i, v := range img.Pix {
			out.Pix[2*i], out.Pix[2*i+1] = v, byte(i) // high byte carries the value
		}
		return out
	}
	for _, tc := range []struct {
		name string
		img  image.Image
	}{
		{"rgb", insertPixels(js, picture(8, 16, 2), 0x8)},
		{"zero high nibbles", insertPixels(js, picture(8, 64, 3), 0)},
		{"one row", insertPixels(js, picture(3, 1, 4), 0x5)},
		{"black frame", framed(insertPixels(js, picture(8, 16, 5), 0xC))},
		{"rgba", translucent(insertPixels(js, picture(8, 16, 6), 0x3))},
		{"16-bit", deep(insertPixels(js, picture(8, 16, 7), 0x9))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := encodePNG(t, tc.img, nil, nil)
			res, err := decodeBytes(b)
			if err != nil {
				t.Fatal(err)
			}
			if res.Source != SourcePixels || res.Chunk != "" {
				t.Errorf("source %q chunk %q, want pixels", res.Source, res.Chunk)
			}
			checkSample(t, res)
			direct, err := pixelsEmbedding(tc.img)
			if err != nil || !reflect.DeepEqual(direct, res) {
				t.Errorf("pixelsEmbedding differs from Decode: %v", err)
			}
		})
	}
}

func TestNotEmbedding(t *testing.T) {
	black := image.NewNRGBA(image.Rect(0, 0, 10, 10))
	for i := 3; i < len(black.Pix); i += 4 {
		black.Pix[i] = 0xFF
	}
	// A photo with two black-nibble columns at unequal distances from the edges.
	lines := picture(20, 10, 9)
	for y := range 10 {
		lines.SetNRGBA(3, y, color.NRGBA{0x10, 0x20, 0x30, 0xFF})
		lines.SetNRGBA(10, y, color.NRGBA{0x40, 0x50, 0x60, 0xFF})
	}
	gray := image.NewGray(image.Rect(0, 0, 7, 5))
	for i := range gray.Pix {
		gray.Pix[i] = byte(i*37) | 1
	}
	for _, tc := range []struct {
		name string
		img  image.Image
		want string
	}{
		{"photo", picture(30, 20, 8), "no data border"},
		{"all black", black, "zlib"},
		{"unequal blocks", lines, "different widths"},
		{"gray", gray, "no data border"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := encodePNG(t, tc.img, [][]byte{chunk("tEXt", textChunkData("parameters", []byte("x")))}, nil)
			_, err := decodeBytes(b)
			if !errors.Is(err, ErrNotEmbedding) {
				t.Fatalf("got %v, want ErrNotEmbedding", err)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "pngembed: ") {
				t.Errorf("message %q should mention %q", err, tc.want)
			}
			if _, err := DecodeTextChunk(bytes.NewReader(b), int64(len(b))); !errors.Is(err, ErrNotEmbedding) {
				t.Errorf("DecodeTextChunk: %v", err)
			}
		})
	}
	if _, err := DecodeTextChunk(bytes.NewReader(pixelPNG(t)), int64(len(pixelPNG(t)))); !errors.Is(err, ErrNotEmbedding) {
		t.Errorf("DecodeTextChunk of a pixel-only PNG: %v, want ErrNotEmbedding", err)
	}
}

// TestBlockFallback checks the retry with the outermost pair of black
// columns that leaves blocks of equal width: when a data column happens to
// have all-zero low nibbles, A1111's min/max pair leaves blocks of
// different widths (and fails).
func TestBlockFallback(t *testing.T) {
	const h, w = 5, 4
	stream := make([]byte, h*w*3)
	for i := range stream {
		stream[i] = byte(i*29 + 7)
	}
	// Column 1 of the lower block: low nibbles equal to the LCG's, so
	// they are zero once drawn.
	g := lcg{}
	for k := range stream {
		r := g.next() & 0x0F
		if (k/3)%w == 1 {
			stream[k] = stream[k]&0xF0 | r
		}
	}
	img := borderImage(stream, picture(6, h, 11), 0x8)
	rgb, iw, ih, err := toRGB(img, false)
	if err != nil {
		t.Fatal(err)
	}
	got, err := extract(rgb, iw, ih)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, stream) {
		t.Errorf("extracted stream differs:\n got %x\nwant %x", got, stream)
	}
}

func TestCorrupt(t *testing.T) {
	good := textPNG(t)
	pix := pixelPNG(t)
	flip := func(b []byte, at int) []byte {
		c := append([]byte(nil), b...)
		c[at] ^= 0x01
		return c
	}
	// Offsets in good: signature 0..8, IHDR 8..33, tEXt from 33.
	textLen := int(binary.BigEndian.Uint32(good[33:]))
	textCRC := 33 + 8 + textLen
	idatOff := textCRC + 4
	ihdr := func(w, h uint32, depth, ct byte) []byte {
		d := make([]byte, 13)
		binary.BigEndian.PutUint32(d, w)
		binary.BigEndian.PutUint32(d[4:], h)
		d[8], d[9] = depth, ct
		return d
	}
	sig := []byte("\x89PNG\r\n\x1a\n")
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	withText := func(text []byte) []byte {
		return encodePNG(t, picture(2, 2, 1), [][]byte{chunk("tEXt", textChunkData(TextKeyword, text))}, nil)
	}
	b64 := func(s string) []byte { return []byte(base64.StdEncoding.EncodeToString([]byte(s))) }
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "not a PNG"},
		{"bad signature", flip(good, 1), "no PNG signature"},
		{"gif", []byte("GIF89a...."), "GIF"},
		{"tEXt data flipped", flip(good, 33+8+20), "tEXt chunk offset 33: CRC mismatch"},
		{"tEXt CRC flipped", flip(good, textCRC), "tEXt chunk offset 33: CRC mismatch"},
		{"IDAT CRC flipped", flip(good, idatOff+8), "IDAT chunk offset 341: CRC mismatch"},
		{"IHDR flipped", flip(good, 20), "IHDR chunk offset 8: CRC mismatch"},
		{"pixel IDAT flipped", flip(pix, 33+20), "IDAT chunk offset 33: CRC mismatch"},
		{"truncated in tEXt", good[:60], "tEXt chunk offset 33: truncated file"},
		{"truncated before IEND", good[:len(good)-12], "no IEND"},
		{"no IEND in pixel file", pix[:len(pix)-12], "no IEND"},
		{"first chunk not IHDR", cat(sig, chunk("tEXt", []byte("a\x00b"))), "not a 13-byte IHDR"},
		{"huge chunk length", cat(sig, []byte{0xFF, 0xFF, 0xFF, 0xF0}, []byte("IHDR"), make([]byte, 20)), "over the PNG limit"},
		{"bad chunk type", cat(sig, chunk("IH1R", ihdr(1, 1, 8, 2))), "invalid chunk type"},
		{"zero width", cat(sig, chunk("IHDR", ihdr(0, 1, 8, 2)), chunk("IEND", nil)), "invalid dimensions"},
		{"bad depth", cat(sig, chunk("IHDR", ihdr(1, 1, 3, 2)), chunk("IEND", nil)), "invalid bit depth"},
		{"bad base64", withText([]byte("e30*")), "base64: invalid character"},
		{"bad padding", withText([]byte("e30")), "base64"},
		{"empty text", withText(nil), "empty"},
		{"not json", withText(b64("{'a': 1}")), "json"},
		{"json array", withText(b64("[1, 2]")), "not an object"},
		{"json ragged", withText(b64(`{"t": {"TORCHTENSOR": [[1.0, 2.0], [3.0]]}}`)), "ragged"},
		{"zTXt method", encodePNG(t, picture(2, 2, 1), [][]byte{chunk("zTXt", []byte(TextKeyword+"\x00\x01xx"))}, nil), "unknown compression method 1"},
		{"zTXt not zlib", encodePNG(t, picture(2, 2, 1), [][]byte{chunk("zTXt", []byte(TextKeyword+"\x00\x00xx"))}, nil), "zTXt chunk offset 33: zlib: invalid header"},
		{"zTXt truncated", encodePNG(t, picture(2, 2, 1), [][]byte{chunk("zTXt", zTXtData(TextKeyword, b64(sampleJSON))[:40])}, nil), "truncated stream"},
		{"iTXt method", encodePNG(t, picture(2, 2, 1), [][]byte{chunk("iTXt", []byte(TextKeyword+"\x00\x01\x05\x00\x00xx"))}, nil), "unknown compression method 5"},
		{"iTXt short", encodePNG(t, picture(2, 2, 1), [][]byte{chunk("iTXt", []byte(TextKeyword+"\x00\x01"))}, nil), "missing"},
		{"pixel stream corrupt", encodePNG(t, corruptBorder(t), nil, nil), "pixel data: zlib"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeBytes(tc.data)
			if err == nil {
				t.Fatal("no error")
			}
			var fe *FormatError
			if !errors.As(err, &fe) || errors.Is(err, ErrNotEmbedding) {
				t.Errorf("%v is not a FormatError", err)
			}
			if !strings.HasPrefix(err.Error(), "pngembed: ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q should contain %q", err, tc.want)
			}
		})
	}
}

// corruptBorder is a pixel-embedded image whose zlib stream is damaged
// after its valid header.
func corruptBorder(t *testing.T) *image.NRGBA {
	img := insertPixels([]byte(sampleJSON), picture(8, 16, 2), 0x8)
	for y := 2; y < 10; y++ {
		for x := range 3 {
			p := img.Pix[img.PixOffset(x, y):]
			p[0] ^= 0x05
		}
	}
	return img
}

// TestTruncations decodes every prefix of small valid files: each must
// fail cleanly, and only the whole file may succeed.
func TestTruncations(t *testing.T) {
	for name, b := range map[string][]byte{"text": textPNG(t), "pixels": pixelPNG(t)} {
		for n := range len(b) {
			res, err := decodeBytes(b[:n])
			if err == nil || res != nil {
				t.Fatalf("%s: prefix of %d bytes decoded", name, n)
			}
			if !strings.HasPrefix(err.Error(), "pngembed: ") {
				t.Fatalf("%s: prefix %d: error %q lacks the prefix", name, n, err)
			}
		}
		if _, err := decodeBytes(b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

// allocated runs f and returns the bytes it allocated.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestHugeDimensions(t *testing.T) {
	idat := chunk("IDAT", zlibBytes(make([]byte, 1000)))
	for _, tc := range []struct {
		w, h  uint32
		depth byte
		ct    byte
		want  string
	}{
		{1 << 30, 1 << 30, 8, 6, "over the limit"},
		{100000, 10, 8, 2, "over the limit"},
		{8192, 8192, 16, 6, "over the limit"},
		{4096, 4096, 16, 6, "too few"}, // within the caps: the IDAT check stops it
		{1 << 31, 1, 8, 2, "invalid dimensions"},
	} {
		d := make([]byte, 13)
		binary.BigEndian.PutUint32(d, tc.w)
		binary.BigEndian.PutUint32(d[4:], tc.h)
		d[8], d[9] = tc.depth, tc.ct
		b := bytes.Join([][]byte{[]byte("\x89PNG\r\n\x1a\n"), chunk("IHDR", d), idat, chunk("IEND", nil)}, nil)
		var err error
		n := allocated(func() { _, err = decodeBytes(b) })
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%d×%d: error %v, want %q", tc.w, tc.h, err, tc.want)
		}
		if n > 1<<20 {
			t.Errorf("%d×%d: allocated %d bytes", tc.w, tc.h, n)
		}
	}
	// pixelsEmbedding applies the caps to an image it is given.
	if _, err := pixelsEmbedding(image.NewGray(image.Rect(0, 0, MaxSide+1, 1))); err == nil || !strings.Contains(err.Error(), "over the limit") {
		t.Errorf("pixelsEmbedding of a too-wide image: %v", err)
	}
	if _, err := pixelsEmbedding(image.NewGray(image.Rect(0, 0, 0, 0))); err == nil {
		t.Error("pixelsEmbedding of an empty image: no error")
	}
}

func TestZlibBombs(t *testing.T) {
	// 64 MiB + 1000 bytes of valid base64, compressed once (about 64 KB).
	bomb := zlibBytes(bytes.Repeat([]byte("A"), MaxInflated+1000))
	t.Run("zTXt", func(t *testing.T) {
		b := encodePNG(t, picture(2, 2, 1), [][]byte{chunk("zTXt", append([]byte(TextKeyword+"\x00\x00"), bomb...))}, nil)
		if len(b) > 1<<20 {
			t.Fatalf("bomb is %d bytes", len(b))
		}
		var err error
		n := allocated(func() { _, err = decodeBytes(b) })
		if !errors.Is(err, errTooBig) || !strings.Contains(err.Error(), "zTXt chunk offset 33") {
			t.Errorf("got %v, want a too-big error naming the chunk", err)
		}
		if n > 4<<20 {
			t.Errorf("allocated %d bytes", n)
		}
	})
	t.Run("iTXt", func(t *testing.T) {
		if testing.Short() {
			t.Skip("inflates 64 MiB")
		}
		b := encodePNG(t, picture(2, 2, 1), [][]byte{chunk("iTXt", append([]byte(TextKeyword+"\x00\x01\x00en\x00\x00"), bomb...))}, nil)
		if _, err := decodeBytes(b); !errors.Is(err, errTooBig) {
			t.Errorf("got %v, want a too-big error", err)
		}
	})
	t.Run("pixels", func(t *testing.T) {
		if testing.Short() {
			t.Skip("inflates 64 MiB")
		}
		img := insertCompressed(bomb, picture(4, 64, 1), 0x8)
		var err error
		n := allocated(func() { _, err = pixelsEmbedding(img) })
		if !errors.Is(err, errTooBig) || !strings.Contains(err.Error(), "pixel data") {
			t.Errorf("got %v, want a too-big error", err)
		}
		if n > 4<<20 {
			t.Errorf("allocated %d bytes", n)
		}
	})
	t.Run("text chunk over MaxChunkSize", func(t *testing.T) {
		// Declared only: the length check fires before anything is read.
		hdr := make([]byte, 8)
		binary.BigEndian.PutUint32(hdr, MaxChunkSize+1)
		copy(hdr[4:], "tEXt")
		b := encodePNG(t, picture(2, 2, 1), nil, nil)
		b = append(append(b[:33:33], hdr...), []byte(TextKeyword+"\x00")...)
		r := &sparse{head: b, size: int64(len(b)) + MaxChunkSize + 100}
		var err error
		n := allocated(func() { _, err = Decode(r, r.size) })
		if err == nil || !strings.Contains(err.Error(), "over the limit") {
			t.Errorf("got %v", err)
		}
		if n > 1<<20 {
			t.Errorf("allocated %d bytes", n)
		}
	})
}

// sparse is a ReaderAt of size bytes: head, then zeros.
type sparse struct {
	head []byte
	size int64
}

func (s *sparse) ReadAt(p []byte, off int64) (int, error) {
	for i := range p {
		if off+int64(i) >= s.size {
			return i, errors.New("EOF")
		}
		if off+int64(i) < int64(len(s.head)) {
			p[i] = s.head[off+int64(i)]
		} else {
			p[i] = 0
		}
	}
	return len(p), nil
}

func TestDecodeFileErrors(t *testing.T) {
	_, err := decodeFile(filepath.Join(t.TempDir(), "missing.png"))
	if err == nil || !strings.HasPrefix(err.Error(), "pngembed: ") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := decodeFile(t.TempDir()); err == nil {
		t.Error("directory: no error")
	}
	p := filepath.Join(t.TempDir(), "x.png")
	if err := os.WriteFile(p, textPNG(t), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := decodeFile(p)
	if err != nil {
		t.Fatal(err)
	}
	checkSample(t, res)
}
