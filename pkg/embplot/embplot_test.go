package embplot

import (
	"bytes"
	"image"
	"image/color"
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

func writePNG(t *testing.T, ss []Series, o Options) image.Image {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, "png", ss, o); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func rgb(img image.Image, x, y int) color.RGBA {
	r, g, b, _ := img.At(x, y).RGBA()
	return color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 255}
}

// runs finds the runs of colour c along row y: their start x and length.
func runs(img image.Image, y int, c color.RGBA) [][2]int {
	var out [][2]int
	for x := 0; x < img.Bounds().Dx(); x++ {
		if rgb(img, x, y) != c {
			continue
		}
		if n := len(out); n > 0 && out[n-1][0]+out[n-1][1] == x {
			out[n-1][1]++
		} else {
			out = append(out, [2]int{x, 1})
		}
	}
	return out
}

// barHeight is how far above the axis the topmost pixel of colour c at x
// stands (lines drawn over a bar do not cut it short).
func barHeight(img image.Image, x, axis int, c color.RGBA) int {
	for y := 0; y < axis; y++ {
		if rgb(img, x, y) == c {
			return axis - y
		}
	}
	return 0
}

func TestPNGLayoutBarsAndColours(t *testing.T) {
	// a: norms 1, 2, 3, 4; b: norms 2, 2; both 768 wide.
	a := series("a", 4, 768, func(r, d int) float64 {
		if d == 5 {
			return float64(r + 1)
		}
		return 0
	})
	b := series("b", 2, 768, func(r, d int) float64 {
		if d == 7 {
			return -2
		}
		return 0
	})
	img := writePNG(t, []Series{a, b}, Options{VocabMean: 0.35, VocabLabel: "CLIP-L"})
	if w := img.Bounds().Dx(); w != widthPx {
		t.Errorf("width %d px, want %d", w, widthPx)
	}
	// Norms panel, two strips, the cosine map.
	want := normsHeight + stripHeight(4) + stripHeight(2) + cosineHeight
	if h := img.Bounds().Dy(); h != want {
		t.Errorf("height %d px, want %d", h, want)
	}
	if c := rgb(img, 1, 1); c != white {
		t.Errorf("background %v", c)
	}
	// Just above the x axis: four bars of the first colour, then two of
	// the second, in that order, none wider than 28 px.
	axis := normsHeight - 52
	blue, orange := runs(img, axis-3, seriesColors[0]), runs(img, axis-3, seriesColors[1])
	if len(blue) != 4 || len(orange) != 2 {
		t.Fatalf("bars: %d blue %v, %d orange %v", len(blue), blue, len(orange), orange)
	}
	if blue[3][0] >= orange[0][0] || blue[0][1] > 28 {
		t.Errorf("bars out of order or too wide: %v %v", blue, orange)
	}
	// Heights in proportion to the norms (to a pixel).
	h1 := barHeight(img, blue[0][0]+blue[0][1]/2, axis, seriesColors[0])
	for i, r := range blue {
		x := r[0] + r[1]/2
		if h := barHeight(img, x, axis, seriesColors[0]); math.Abs(float64(h)-float64(h1*(i+1))) > 2 {
			t.Errorf("bar %d: %d px, want about %d", i, h, h1*(i+1))
		}
	}
	if h := barHeight(img, orange[0][0]+orange[0][1]/2, axis, seriesColors[1]); math.Abs(float64(h-2*h1)) > 2 {
		t.Errorf("orange bar %d px, want about %d", h, 2*h1)
	}
	// The vocabulary line: black dashes at 0.35 / 1 of the first bar's
	// height above the axis, between the bars.
	ly := axis - int(math.Round(0.35*float64(h1)))
	if n := len(runs(img, ly, black)) + len(runs(img, ly-1, black)) + len(runs(img, ly+1, black)); n < 20 {
		t.Errorf("vocabulary line: %d dashes near y=%d", n, ly)
	}

	// Cosines: a's rows all point along d5, b's along -d7: a×a is +1 (the
	// red end), a×b is 0 (the grey middle).
	top := normsHeight + stripHeight(4) + stripHeight(2) + cosTop
	cell := cosSide / 6
	if c := rgb(img, cosLeft+cell/2, top+cell/2); c != diverge(1) {
		t.Errorf("cos(a0, a0) drawn %v", c)
	}
	if c := rgb(img, cosLeft+5*cell+cell/2, top+cell/2); c != diverge(0) {
		t.Errorf("cos(a0, b1) drawn %v", c)
	}
}

func TestPNGStripColours(t *testing.T) {
	// One vector: -1 on the first half, +1 on the second: the strip is the
	// blue end then the red end; the split line is black.
	s := series("s", 1, 8, func(_, d int) float64 {
		if d < 4 {
			return -1
		}
		return 1
	})
	s.Split = 4
	img := writePNG(t, []Series{s}, Options{})
	if h := img.Bounds().Dy(); h != normsHeight+stripHeight(1) {
		t.Errorf("height %d (no cosine map for one vector)", h)
	}
	y := normsHeight + stripTop + pxPerRow
	if c := rgb(img, heatLeft+10, y); c != (color.RGBA{59, 76, 192, 255}) {
		t.Errorf("left %v", c)
	}
	if c := rgb(img, heatRight-10, y); c != (color.RGBA{180, 4, 38, 255}) {
		t.Errorf("right %v", c)
	}
	if c := rgb(img, (heatLeft+heatRight)/2, y); c != black {
		t.Errorf("split line %v", c)
	}
}

func TestDeterministic(t *testing.T) {
	a := series("a", 3, 64, func(r, d int) float64 { return math.Sin(float64(r*64 + d)) })
	b := series("b", 2, 64, func(r, d int) float64 { return math.Cos(float64(d)) })
	for _, f := range []string{"png", "svg"} {
		var x, y bytes.Buffer
		if err := Write(&x, f, []Series{a, b}, Options{VocabMean: 1}); err != nil {
			t.Fatal(err)
		}
		if err := Write(&y, f, []Series{a, b}, Options{VocabMean: 1}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(x.Bytes(), y.Bytes()) {
			t.Errorf("%s: two runs differ", f)
		}
	}
}

func TestOddValuesDoNotPanic(t *testing.T) {
	odd := series("odd", 4, 16, func(r, d int) float64 {
		switch {
		case r == 0:
			return 0 // a zero vector: cosine undefined
		case r == 1 && d == 3:
			return math.NaN()
		case r == 2 && d == 4:
			return math.Inf(-1)
		}
		return 1e300 * float64(d) // squares overflow
	})
	short := Series{Name: "short", Width: 16, Rows: [][]float64{{1, 2}, nil}, Split: 99}
	cases := map[string][]Series{
		"odd":        {odd},
		"odd+short":  {odd, short},
		"no rows":    {{Name: "empty", Width: 768}},
		"no rows x2": {{Name: "e1"}, {Name: "e2", Width: -5}},
		"all zero":   {series("z", 2, 4, func(int, int) float64 { return 0 }), series("z2", 1, 4, func(int, int) float64 { return 0 })},
		"all nan":    {series("n", 2, 4, func(int, int) float64 { return math.NaN() }), series("n2", 1, 4, func(int, int) float64 { return math.NaN() })},
		"widths":     {series("w1", 1, 4, func(int, int) float64 { return 1 }), series("w2", 1, 9, func(int, int) float64 { return 1 })},
		"bad split":  {{Name: "s", Width: 4, Rows: [][]float64{{1, 2, 3, 4}}, Split: -3}},
	}
	opts := []Options{{}, {VocabMean: math.NaN()}, {VocabMean: -1}, {VocabMean: 1e308}, {VocabMean: math.Inf(1)}}
	for name, ss := range cases {
		for _, o := range []Options{opts[len(name)%len(opts)], opts[(len(name)+1)%len(opts)]} {
			for _, f := range []string{"png", "svg"} {
				var buf bytes.Buffer
				if err := Write(&buf, f, ss, o); err != nil {
					t.Errorf("%s %s: %v", name, f, err)
				}
				if f == "svg" {
					parseSVG(t, buf.Bytes())
				} else if _, err := png.Decode(&buf); err != nil {
					t.Errorf("%s: %v", name, err)
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := Write(&buf, "gif", []Series{odd}, Options{}); err == nil {
		t.Error("gif accepted")
	}
	if err := Write(&buf, "png", nil, Options{}); err == nil {
		t.Error("nothing to plot accepted")
	}
}

func TestNorm(t *testing.T) {
	if n := norm([]float64{3, 4}); n != 5 {
		t.Errorf("norm(3,4) = %g", n)
	}
	if n := norm([]float64{3e300, 4e300}); math.Abs(n/5e300-1) > 1e-15 {
		t.Errorf("norm(3e300,4e300) = %g", n)
	}
	if n := norm([]float64{1, math.Inf(1)}); !math.IsNaN(n) {
		t.Errorf("norm with Inf = %g", n)
	}
	if n := norm(nil); n != 0 {
		t.Errorf("norm() = %g", n)
	}
}

func TestCapsVectorsAndHeight(t *testing.T) {
	big := series("big", MaxVectors+50, 8, func(r, d int) float64 { return float64(r + d) })
	s, dropped := capVectors([]Series{big, big})
	if len(s[0].Rows) != MaxVectors || len(s[1].Rows) != 0 || dropped != MaxVectors+100 {
		t.Errorf("kept %d+%d, dropped %d", len(s[0].Rows), len(s[1].Rows), dropped)
	}
	img := writePNG(t, []Series{big}, Options{})
	if h := img.Bounds().Dy(); h != normsHeight+stripHeight(MaxVectors) {
		t.Errorf("height %d", h)
	}
	// Many one-vector embeddings: the strips stop at MaxHeight.
	var many []Series
	for i := 0; i < 300; i++ {
		many = append(many, series("m", 1, 8, func(r, d int) float64 { return float64(i + d) }))
	}
	img = writePNG(t, many, Options{})
	if h := img.Bounds().Dy(); h > MaxHeight || h < MaxHeight-stripHeight(1) {
		t.Errorf("height %d, want at most %d and close to it", h, MaxHeight)
	}
	var buf bytes.Buffer
	if err := Write(&buf, "svg", many, Options{}); err != nil {
		t.Fatal(err)
	}
	texts := parseSVG(t, buf.Bytes()).texts
	if !strings.Contains(strings.Join(texts, "\n"), "heat strips left out") {
		t.Error("no note of the strips left out")
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

func TestLabel(t *testing.T) {
	for _, c := range []struct {
		in   string
		max  int
		want string
	}{
		{"plain", 20, "plain"},
		{"tab\there\x00\xff", 20, "tab?here??"},
		{"naïve 猫", 20, "na?ve ?"},
		{strings.Repeat("x", 9), 8, "xxxxx..."},
		{strings.Repeat("x", 8), 8, "xxxxxxxx"},
		{"</svg><script>", 2, "<..."},
	} {
		if got := label(c.in, c.max); got != c.want {
			t.Errorf("label(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
	}
}

func TestCosineWorkCap(t *testing.T) {
	// 100 rows of 65536: over the cosine work cap, so left out with a note.
	w := []Series{series("w1", 99, 1<<16, func(r, d int) float64 { return float64(r ^ d) }),
		series("w2", 1, 1<<16, func(int, int) float64 { return 1 })}
	var buf bytes.Buffer
	if err := Write(&buf, "svg", w, Options{}); err != nil {
		t.Fatal(err)
	}
	if all := strings.Join(parseSVG(t, buf.Bytes()).texts, "\n"); !strings.Contains(all, "rows too wide, not computed") {
		t.Error("no note of the cosines left out")
	}
}
