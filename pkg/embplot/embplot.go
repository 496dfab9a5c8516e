package embplot

import (
	"bytes"
	"errors"
	"fmt"
	"image/png"
	"io"
	"math"
	"path/filepath"
	"strings"
)

// MaxVectors caps the vectors drawn over all embeddings; the rest are
// left out with a note in the title.
const MaxVectors = 256

// Picture size: always widthPx wide; panels stack down to at most
// MaxHeight pixels (heat strips that do not fit are left out, with a note).
const (
	widthPx   = 1200
	MaxHeight = 8192
	pxPerRow  = 14 // heat-strip height per vector
)

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

// Write draws series to w as PNG or SVG (format "png" or "svg").
func Write(w io.Writer, format string, series []Series, opts Options) error {
	if len(series) == 0 {
		return errors.New("nothing to plot")
	}
	format = strings.ToLower(format)
	if format != "png" && format != "svg" {
		return fmt.Errorf("format %q: want png or svg", format)
	}
	series, dropped := capVectors(series)
	ps := layout(series, dropped, opts)
	height := 0
	for _, p := range ps {
		height += p.height
	}
	if format == "png" {
		r := newRaster(widthPx, height)
		drawAll(r, ps)
		enc := png.Encoder{CompressionLevel: png.DefaultCompression}
		return enc.Encode(w, r.img)
	}
	s := newSVG(widthPx, height)
	drawAll(s, ps)
	_, err := io.Copy(w, bytes.NewReader(s.bytes()))
	return err
}

func drawAll(c canvas, ps []panel) {
	top := 0
	for _, p := range ps {
		p.draw(c, top)
		top += p.height
	}
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

// capVectors keeps the first MaxVectors rows over all series.
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

// panel is one band of the picture, the full width, height pixels tall.
type panel struct {
	height int
	draw   func(c canvas, top int)
}

const (
	normsHeight  = 380
	cosineHeight = 720
)

// stripHeight is the height of a series' heat-strip panel.
func stripHeight(rows int) int { return 86 + pxPerRow*max(rows, 2) }

// layout stacks the panels: norms, one heat strip per series with vectors
// (while the picture stays within MaxHeight), cosines.
func layout(series []Series, dropped int, opts Options) []panel {
	total := 0
	for _, s := range series {
		total += len(s.Rows)
	}
	withCos := len(series) > 1 && total > 1
	used := normsHeight
	if withCos {
		used += cosineHeight
	}
	var strips []panel
	left := 0
	for i := range series {
		s := &series[i]
		if len(s.Rows) == 0 {
			continue
		}
		h := stripHeight(len(s.Rows))
		if used+h > MaxHeight {
			left++
			continue
		}
		used += h
		strips = append(strips, panel{h, func(c canvas, top int) { drawStrip(c, top, s) }})
	}
	var notes []string
	if dropped > 0 {
		notes = append(notes, fmt.Sprintf("first %d vectors; %d more not drawn", MaxVectors, dropped))
	}
	if left > 0 {
		notes = append(notes, fmt.Sprintf("%d heat strips left out to keep the picture under %d px", left, MaxHeight))
	}
	ps := []panel{{normsHeight, func(c canvas, top int) { drawNorms(c, top, series, opts, notes) }}}
	ps = append(ps, strips...)
	if withCos {
		ps = append(ps, panel{cosineHeight, func(c canvas, top int) { drawCosines(c, top, series) }})
	}
	return ps
}

// finite reports whether v is neither NaN nor ±Inf.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// norm is the L2 norm of x, scaled so that large values do not overflow;
// NaN if x holds a NaN or an Inf.
func norm(x []float64) float64 {
	m := 0.0
	for _, v := range x {
		if !finite(v) {
			return math.NaN()
		}
		m = math.Max(m, math.Abs(v))
	}
	if m == 0 {
		return 0
	}
	var s float64
	for _, v := range x {
		s += (v / m) * (v / m)
	}
	return m * math.Sqrt(s)
}
