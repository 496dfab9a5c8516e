package pngembed

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLCG checks the generator against formats.md §6.2 (A1111's own
// self-test in image_embedding.py).
func TestLCG(t *testing.T) {
	want := []byte{253, 242, 127, 44, 157, 27, 239, 133, 38, 79, 167, 4, 177, 95, 130, 79, 78, 14, 52, 215,
		220, 194, 126, 28, 240, 179, 160, 153, 149, 50, 105, 14, 21, 218, 199, 18, 54, 198, 193, 38, 128, 19, 53, 195,
		124, 75, 205, 12, 6, 145, 0, 28, 30, 148, 8, 45, 218, 171, 55, 249, 97, 166, 12, 35, 0, 41, 221, 122, 215, 170,
		31, 113, 186, 97, 119, 31, 23, 185, 66, 140, 30, 41, 37, 63, 137, 109, 216, 55, 159, 145, 82, 204, 86, 73, 222,
		44, 198, 118, 240, 97}
	g := lcg{}
	for i, w := range want {
		if got := g.next(); got != w {
			t.Fatalf("output %d = %d, want %d", i, got, w)
		}
	}
	sum := 0
	for range 100000 {
		sum += int(g.next())
	}
	if sum != 12731374 {
		t.Errorf("sum of the next 100000 outputs = %d, want 12731374", sum)
	}
	g = lcg{}
	var nib []byte
	for range 12 {
		nib = append(nib, g.next()&0x0F)
	}
	if want := []byte{13, 2, 15, 12, 13, 11, 15, 5, 6, 15, 7, 4}; !bytes.Equal(nib, want) {
		t.Errorf("low nibbles %v, want %v", nib, want)
	}
}

// TestPillowRGB checks toRGB against what Pillow 9.4's convert("RGB")
// made of PNGs of every color type and bit depth (testdata/pillow/gen.py).
func TestPillowRGB(t *testing.T) {
	f, err := os.Open("testdata/pillow/expected.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		fields := strings.Fields(line)
		name, mode := fields[0], fields[1]
		want, err := hex.DecodeString(fields[2])
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join("testdata/pillow", name+".png"))
		if err != nil {
			t.Fatal(err)
		}
		info, err := scan(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, _, _, err := toRGB(img, info.colorType == 0 && info.depth == 16)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s (Pillow mode %s, Go %T):\n got %x\nwant %x", name, mode, img, got, want)
		}
		n++
	}
	if n < 20 {
		t.Errorf("only %d cases", n)
	}
}

func TestToRGBOtherImages(t *testing.T) {
	// A premultiplied RGBA with partial alpha is un-premultiplied; a
	// sub-image honours its bounds; unknown types go through NRGBAModel.
	rgba := image.NewRGBA(image.Rect(0, 0, 2, 1))
	rgba.SetRGBA(0, 0, color.RGBA{10, 20, 30, 0xFF})
	rgba.SetRGBA(1, 0, color.RGBA{50, 50, 50, 0x80})
	got, _, _, _ := toRGB(rgba, false)
	if want := []byte{10, 20, 30, 99, 99, 99}; !bytes.Equal(got, want) {
		t.Errorf("RGBA: %v, want %v", got, want)
	}
	sub := picture(4, 4, 3).SubImage(image.Rect(1, 1, 3, 2)).(*image.NRGBA)
	got, w, h, _ := toRGB(sub, false)
	if w != 2 || h != 1 || !bytes.Equal(got[:3], sub.Pix[sub.PixOffset(1, 1):][:3]) {
		t.Errorf("sub-image: %d×%d %v", w, h, got)
	}
	cmyk := image.NewCMYK(image.Rect(0, 0, 1, 1))
	cmyk.Set(0, 0, color.CMYK{0, 0, 0, 0})
	got, _, _, _ = toRGB(cmyk, false)
	if !bytes.Equal(got, []byte{255, 255, 255}) {
		t.Errorf("CMYK: %v", got)
	}
	pal := image.NewPaletted(image.Rect(0, 0, 2, 1), color.Palette{color.RGBA{1, 2, 3, 255}})
	pal.Pix[1] = 7 // out of the palette: black
	got, _, _, _ = toRGB(pal, false)
	if !bytes.Equal(got, []byte{1, 2, 3, 0, 0, 0}) {
		t.Errorf("Paletted: %v", got)
	}
}

func TestCropBlack(t *testing.T) {
	for _, tc := range []struct {
		mask       []bool
		start, end int
	}{
		{[]bool{false, true, true, false}, 1, 3},
		{[]bool{true}, 0, 1},
		{[]bool{false, false}, 0, 2}, // nothing true: numpy's argmax crops nothing
		{[]bool{false, true, false, true, false, false}, 1, 4},
	} {
		if s, e := span(tc.mask); s != tc.start || e != tc.end {
			t.Errorf("span(%v) = %d, %d, want %d, %d", tc.mask, s, e, tc.start, tc.end)
		}
	}
}
