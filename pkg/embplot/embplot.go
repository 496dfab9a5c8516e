package embplot

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// MaxVectors caps the vectors drawn over all embeddings; the rest are
// left out with a note in the title.
const MaxVectors = 256

// Series is one embedding: its vectors as rows of float64.
type Series struct {
	Name  string
	Width int
	Rows  [][]float64
	// Split is the clip_l width of an SDXL row (a line is drawn there), or 0.
	Split int
}

// Options adjust the picture.
type Options struct {
	// VocabMean is the vocabulary's mean token norm (0: unknown), drawn
	// as a line over the norm bars, labelled VocabLabel.
	VocabMean  float64
	VocabLabel string
}

// Size of the picture: 1200 px wide at 96 dpi.
const (
	dpi      = 96
	widthPx  = 1200
	pxPerRow = 14 // heat-strip height per vector
)

func px(n float64) vg.Length { return vg.Length(n) * vg.Inch / dpi }

// Write draws series to w as PNG or SVG (format "png" or "svg").
func Write(w io.Writer, format string, series []Series, opts Options) error {
	if len(series) == 0 {
		return errors.New("nothing to plot")
	}
	series, dropped := capVectors(series)
	panels := layout(series)
	height := 0.0
	for _, p := range panels {
		height += p.height
	}
	W, H := px(widthPx), px(height)
	var c vg.CanvasWriterTo
	switch strings.ToLower(format) {
	case "png":
		c = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(W, H), vgimg.UseDPI(dpi), vgimg.UseBackgroundColor(color.White))}
	case "svg":
		c = vgsvg.New(W, H)
	default:
		return fmt.Errorf("format %q: want png or svg", format)
	}
	dc := draw.New(c.(vg.CanvasSizer))
	if format == "svg" {
		dc.SetColor(color.White)
		dc.Fill(dc.Rectangle.Path())
	}
	top := H
	for _, p := range panels {
		h := px(p.height)
		sub := draw.Crop(dc, 0, 0, top-h, top-H)
		if err := p.draw(sub, series, opts, dropped); err != nil {
			return err
		}
		top -= h
	}
	_, err := c.WriteTo(w)
	return err
}

// FormatForPath is "png" or "svg" by the file's extension.
func FormatForPath(path string) (string, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".png":
		return "png", nil
	case ".svg":
		return "svg", nil
	}
	return "", fmt.Errorf("%s: the output must end in .png or .svg", path)
}

func capVectors(series []Series) ([]Series, int) {
	out := make([]Series, len(series))
	left, dropped := MaxVectors, 0
	for i, s := range series {
		out[i] = s
		if len(s.Rows) > left {
			dropped += len(s.Rows) - left
			out[i].Rows = s.Rows[:left]
		}
		left -= len(out[i].Rows)
	}
	return out, dropped
}

type panel struct {
	height float64
	draw   func(c draw.Canvas, series []Series, opts Options, dropped int) error
}

func layout(series []Series) []panel {
	total := 0
	for _, s := range series {
		total += len(s.Rows)
	}
	ps := []panel{{height: 380, draw: drawNorms}}
	for i := range series {
		i := i
		h := 110 + float64(pxPerRow*max(len(series[i].Rows), 2))
		ps = append(ps, panel{height: h, draw: func(c draw.Canvas, s []Series, o Options, _ int) error {
			return drawStrip(c, s[i])
		}})
	}
	if len(series) > 1 && total > 1 {
		ps = append(ps, panel{height: 760, draw: drawCosines})
	}
	return ps
}

// newPlot is a plot with fonts sized for a 1200 px picture.
func newPlot(title string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(15)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font.Size = vg.Points(13)
		a.Tick.Label.Font.Size = vg.Points(11)
	}
	p.Legend.TextStyle.Font.Size = vg.Points(12)
	return p
}

var seriesColors = []color.Color{
	color.RGBA{31, 119, 180, 255}, color.RGBA{255, 127, 14, 255}, color.RGBA{44, 160, 44, 255},
	color.RGBA{214, 39, 40, 255}, color.RGBA{148, 103, 189, 255}, color.RGBA{140, 86, 75, 255},
	color.RGBA{227, 119, 194, 255}, color.RGBA{127, 127, 127, 255},
}

func norm(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v * v
	}
	return math.Sqrt(s)
}

func drawNorms(c draw.Canvas, series []Series, opts Options, dropped int) error {
	title := "Norm of each vector"
	if dropped > 0 {
		title += fmt.Sprintf(" (first %d vectors; %d more not drawn)", MaxVectors, dropped)
	}
	p := newPlot(title)
	p.Y.Label.Text = "L2 norm"
	p.X.Label.Text = "vector"
	p.Y.Min = 0
	x, nonFinite := 0, 0
	var ticks []plot.Tick
	total := 0
	for _, s := range series {
		total += len(s.Rows)
	}
	barW := vg.Length(math.Max(2, math.Min(28, 1000/float64(max(total, 1))))) * vg.Inch / dpi
	for i, s := range series {
		vals := make(plotter.Values, len(s.Rows))
		for r, row := range s.Rows {
			vals[r] = norm(row)
			if math.IsNaN(vals[r]) || math.IsInf(vals[r], 0) {
				vals[r] = 0
				nonFinite++
			}
		}
		if len(vals) == 0 {
			continue
		}
		b, err := plotter.NewBarChart(vals, barW)
		if err != nil {
			return err
		}
		b.Offset = 0
		b.XMin = float64(x)
		b.Color = seriesColors[i%len(seriesColors)]
		b.LineStyle.Width = 0
		p.Add(b)
		p.Legend.Add(s.Name, b)
		step := max(1, len(s.Rows)/8)
		for r := 0; r < len(s.Rows); r += step {
			ticks = append(ticks, plot.Tick{Value: float64(x + r), Label: fmt.Sprint(r)})
		}
		x += len(s.Rows) + 1
	}
	if nonFinite > 0 {
		p.Title.Text += fmt.Sprintf(" (%d with NaN/Inf values, drawn as 0)", nonFinite)
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Min, p.X.Max = -1, float64(x)
	if opts.VocabMean > 0 {
		l, err := plotter.NewLine(plotter.XYs{{X: -1, Y: opts.VocabMean}, {X: float64(x), Y: opts.VocabMean}})
		if err != nil {
			return err
		}
		l.Color = color.Black
		l.Dashes = []vg.Length{vg.Points(6), vg.Points(4)}
		l.Width = vg.Points(1.5)
		p.Add(l)
		label := opts.VocabLabel
		if label == "" {
			label = "vocabulary mean"
		}
		p.Legend.Add(fmt.Sprintf("%s %.3f", label, opts.VocabMean), l)
	}
	p.Legend.Top = true
	p.Legend.XOffs = -px(10)
	p.Draw(pad(c))
	return nil
}

// pad leaves a margin around a panel.
func pad(c draw.Canvas) draw.Canvas {
	return draw.Crop(c, px(12), -px(16), px(8), -px(10))
}

// grid is a GridXYZ over a matrix: columns x, rows y (row 0 at the top).
type grid struct {
	z          [][]float64
	cols, rows int
}

func (g grid) Dims() (int, int)   { return g.cols, g.rows }
func (g grid) Z(c, r int) float64 { return g.z[g.rows-1-r][c] }
func (g grid) X(c int) float64    { return float64(c) }
func (g grid) Y(r int) float64    { return float64(r) }

var _ plotter.GridXYZ = grid{}

func diverging(limit float64) (palette.ColorMap, palette.Palette) {
	cm := moreland.SmoothBlueRed()
	cm.SetMin(-limit)
	cm.SetMax(limit)
	return cm, cm.Palette(255)
}

func drawStrip(c draw.Canvas, s Series) error {
	if len(s.Rows) == 0 {
		return nil
	}
	limit := 0.0
	var all []float64
	for _, r := range s.Rows {
		for _, v := range r {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				all = append(all, math.Abs(v))
			}
		}
	}
	limit = percentile(all, 0.99)
	if limit == 0 {
		limit = 1
	}
	cm, pal := diverging(limit)
	p := newPlot(fmt.Sprintf("%s: %d vectors × %d dimensions (colour: value, ±%.3g = 99th percentile of |value|)", s.Name, len(s.Rows), s.Width, limit))
	p.X.Label.Text = "dimension"
	p.X.Tick.Marker = intTicks{}
	p.Y.Label.Text = "vector"
	h := plotter.NewHeatMap(grid{z: s.Rows, cols: s.Width, rows: len(s.Rows)}, pal)
	h.Min, h.Max = -limit, limit
	h.Underflow, h.Overflow = pal.Colors()[0], pal.Colors()[len(pal.Colors())-1]
	h.NaN = color.Black
	h.Rasterized = len(s.Rows)*s.Width > 200000
	p.Add(h)
	n := len(s.Rows)
	var ticks []plot.Tick
	step := max(1, n/6)
	for r := 0; r < n; r += step {
		ticks = append(ticks, plot.Tick{Value: float64(n - 1 - r), Label: fmt.Sprint(r)})
	}
	p.Y.Tick.Marker = plot.ConstantTicks(ticks)
	if s.Split > 0 {
		l, _ := plotter.NewLine(plotter.XYs{{X: float64(s.Split) - 0.5, Y: -0.5}, {X: float64(s.Split) - 0.5, Y: float64(n) - 0.5}})
		l.Color = color.Black
		l.Width = vg.Points(2)
		p.Add(l)
	}
	inner := pad(c)
	bar := draw.Crop(inner, inner.Rectangle.Size().X-px(90), 0, 0, 0)
	main := draw.Crop(inner, 0, -px(100), 0, 0)
	p.Draw(main)
	return colorBar(bar, cm, "value")
}

// intTicks are the default ticks labelled as integers.
type intTicks struct{}

func (intTicks) Ticks(min, max float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = fmt.Sprintf("%.0f", ts[i].Value)
		}
	}
	return ts
}

func colorBar(c draw.Canvas, cm palette.ColorMap, label string) error {
	p := newPlot("")
	p.HideX()
	p.Y.Label.Text = label
	p.Add(&plotter.ColorBar{ColorMap: cm, Vertical: true})
	p.Draw(c)
	return nil
}

func percentile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	// Partial selection is enough, but a sort of ≤ MaxVectors×width
	// values is fast.
	sort.Float64s(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

func drawCosines(c draw.Canvas, series []Series, _ Options, _ int) error {
	var rows [][]float64
	var names []string
	var bounds []int
	width := series[0].Width
	for _, s := range series {
		if s.Width != width {
			continue // cosines need one width
		}
		bounds = append(bounds, len(rows))
		names = append(names, s.Name)
		rows = append(rows, s.Rows...)
	}
	n := len(rows)
	z := make([][]float64, n)
	for i := range z {
		z[i] = make([]float64, n)
		for j := range z[i] {
			z[i][j] = cosine(rows[i], rows[j])
		}
	}
	cm := moreland.SmoothBlueRed()
	cm.SetMin(-1)
	cm.SetMax(1)
	pal := cm.Palette(255)
	p := newPlot(fmt.Sprintf("Cosine between all %d-wide vectors", width))
	h := plotter.NewHeatMap(grid{z: z, cols: n, rows: n}, pal)
	h.Min, h.Max = -1, 1
	h.NaN = color.Black
	// Rasterized heat maps are scaled smoothly, which blurs small ones.
	h.Rasterized = n > 128
	p.Add(h)
	var ticks []plot.Tick
	for i, b := range bounds {
		ticks = append(ticks, plot.Tick{Value: float64(b), Label: names[i]})
		if b > 0 {
			for _, xy := range []plotter.XYs{
				{{X: float64(b) - 0.5, Y: -0.5}, {X: float64(b) - 0.5, Y: float64(n) - 0.5}},
				{{X: -0.5, Y: float64(n-b) - 0.5}, {X: float64(n) - 0.5, Y: float64(n-b) - 0.5}},
			} {
				l, _ := plotter.NewLine(xy)
				l.Color = color.Black
				l.Width = vg.Points(1.5)
				p.Add(l)
			}
		}
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	var yt []plot.Tick
	for i, b := range bounds {
		yt = append(yt, plot.Tick{Value: float64(n - 1 - b), Label: names[i]})
	}
	p.Y.Tick.Marker = plot.ConstantTicks(yt)
	p.X.Label.Text = "vector (files in order, each from its row 0)"
	inner := pad(c)
	side := min(inner.Rectangle.Size().Y, inner.Rectangle.Size().X-px(100))
	main := draw.Crop(inner, 0, -(inner.Rectangle.Size().X - side), 0, 0)
	bar := draw.Crop(inner, side+px(10), -(inner.Rectangle.Size().X - side - px(100)), 0, 0)
	p.Draw(main)
	return colorBar(bar, cm, "cosine")
}

func cosine(x, y []float64) float64 {
	var d, a, b float64
	for i := range x {
		d += x[i] * y[i]
		a += x[i] * x[i]
		b += y[i] * y[i]
	}
	if a == 0 || b == 0 {
		return math.NaN()
	}
	return d / math.Sqrt(a*b)
}
