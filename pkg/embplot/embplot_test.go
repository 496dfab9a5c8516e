package embplot

import (
	"bytes"
	"image/png"
	"math"
	"strings"
	"testing"
)

func series(name string, rows, width int, f func(r, d int) float64) Series {
	s := Series{Name: name, Width: width}
	for r := 0; r < rows; r++ {
		row := make([]float64, width)
		for d := range row {
			row[d] = f(r, d)
		}
		s.Rows = append(s.Rows, row)
	}
	return s
}

func TestPNG1200Wide(t *testing.T) {
	a := series("a", 4, 768, func(r, d int) float64 { return math.Sin(float64(r*768+d)) * 0.05 })
	b := series("b", 2, 768, func(r, d int) float64 { return math.Cos(float64(d)) * float64(r+1) })
	var buf bytes.Buffer
	if err := Write(&buf, "png", []Series{a, b}, Options{VocabMean: 0.35, VocabLabel: "CLIP-L"}); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if w := img.Bounds().Dx(); w != widthPx {
		t.Errorf("width %d px, want %d", w, widthPx)
	}
	// Norms panel, two strips, the cosine map.
	want := 380 + (110 + 4*pxPerRow) + (110 + 2*pxPerRow) + 760
	if h := img.Bounds().Dy(); h < want-2 || h > want+2 {
		t.Errorf("height %d px, want %d", h, want)
	}
	// The top-left corner is the white background.
	if r, g, b, _ := img.At(1, 1).RGBA(); r != 0xffff || g != 0xffff || b != 0xffff {
		t.Errorf("background %x %x %x", r, g, b)
	}
}

func TestSVGAndOddValues(t *testing.T) {
	odd := series("odd", 3, 16, func(r, d int) float64 {
		switch {
		case r == 0:
			return 0 // a zero vector: cosine undefined
		case d == 3:
			return math.NaN()
		case d == 4:
			return math.Inf(1)
		}
		return float64(d)
	})
	sdxl := series("x", 1, 2048, func(r, d int) float64 { return 0.01 })
	sdxl.Split = 768
	var buf bytes.Buffer
	if err := Write(&buf, "svg", []Series{odd, sdxl}, Options{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "<svg") {
		t.Error("not an SVG")
	}
	if err := Write(&buf, "gif", []Series{odd}, Options{}); err == nil {
		t.Error("gif accepted")
	}
	if err := Write(&buf, "png", nil, Options{}); err == nil {
		t.Error("nothing to plot accepted")
	}
}

func TestCapsVectors(t *testing.T) {
	big := series("big", MaxVectors+50, 8, func(r, d int) float64 { return float64(r + d) })
	s, dropped := capVectors([]Series{big, big})
	if len(s[0].Rows) != MaxVectors || len(s[1].Rows) != 0 || dropped != MaxVectors+100 {
		t.Errorf("kept %d+%d, dropped %d", len(s[0].Rows), len(s[1].Rows), dropped)
	}
	var buf bytes.Buffer
	if err := Write(&buf, "png", []Series{big}, Options{}); err != nil {
		t.Fatal(err)
	}
}

func TestFormatForPath(t *testing.T) {
	for p, want := range map[string]string{"a.PNG": "png", "b.svg": "svg", "c.jpg": ""} {
		got, err := FormatForPath(p)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("%s: %q %v", p, got, err)
		}
	}
}
