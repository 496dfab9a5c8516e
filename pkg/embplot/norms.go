package embplot

import (
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"
)

// seriesColors tell the embeddings apart in the norm bars (matplotlib's
// tab10 colours).
var seriesColors = []color.RGBA{
	{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255},
	{214, 39, 40, 255}, {148, 103, 189, 255}, {140, 86, 75, 255},
	{227, 119, 194, 255}, {127, 127, 127, 255},
}

// Layout of the norms panel (pixels from its top left).
const (
	normsLeft   = 80
	normsRight  = widthPx - 20
	legendTop   = 34
	legendLines = 2
	legendName  = 40 // characters of a name in the legend
)

// drawNorms draws one bar per vector, its height the vector's L2 norm,
// coloured by embedding, with the vocabulary's mean as a dashed line.
func drawNorms(c canvas, top int, series []Series, opts Options, notes []string) {
	var norms [][]float64
	nonFinite, total := 0, 0
	ymax := 0.0
	for _, s := range series {
		ns := make([]float64, len(s.Rows))
		for r, row := range s.Rows {
			ns[r] = norm(row)
			if math.IsNaN(ns[r]) {
				nonFinite++
				ns[r] = 0
			}
			ymax = math.Max(ymax, ns[r])
		}
		norms = append(norms, ns)
		total += len(ns)
	}
	if nonFinite > 0 {
		notes = append(notes, fmt.Sprintf("%d with NaN/Inf values, drawn as 0", nonFinite))
	}
	t := "Norm of each vector"
	if len(notes) > 0 {
		t += " (" + strings.Join(notes, "; ") + ")"
	}
	title(c, top+14, t)

	vocab := opts.VocabMean > 0 && finite(opts.VocabMean)
	if vocab {
		ymax = math.Max(ymax, opts.VocabMean)
	}
	if ymax == 0 {
		ymax = 1
	}
	ymax = math.Min(ymax*1.08, math.MaxFloat64) // headroom, short of +Inf
	lines := legend(c, top+legendTop, series, opts, vocab)

	x0, x1 := normsLeft, normsRight
	y0, y1 := top+legendTop+lines*16+8, top+normsHeight-52
	py := func(v float64) int { return y1 - int(math.Round(v/ymax*float64(y1-y0))) }
	yt := niceTicks(0, ymax, 5)
	var ys []int
	var ls []string
	for _, tk := range yt {
		if tk.v > ymax {
			continue
		}
		c.hline(x0, x1, py(tk.v), 1, color.RGBA{235, 235, 235, 255}, 0)
		c.hline(x0-5, x0, py(tk.v), 1, black, 0)
		ys, ls = append(ys, py(tk.v)), append(ls, tk.label)
	}
	yLabels(c, x0-8, ys, ls, tickStyle)
	c.text(18, (y0+y1)/2, "L2 norm", middle, upStyle)

	// Positions: the vectors of each series in turn, one free slot
	// between series and at both ends.
	drawn := 0
	for _, ns := range norms {
		drawn += boolInt(len(ns) > 0)
	}
	slots := total + drawn
	unit := float64(x1-x0) / float64(max(slots, 1))
	barW := max(1, min(28, int(unit*0.7)))
	var xs []int
	var xl []string
	p := 0
	for i, ns := range norms {
		col := seriesColors[i%len(seriesColors)]
		step := max(1, len(ns)/8)
		for r, v := range ns {
			cx := x0 + int(math.Round((float64(p+r)+1)*unit))
			if h := y1 - py(v); h > 0 {
				c.fill(cx-barW/2, y1-h, barW, h, col)
			}
			if r%step == 0 {
				c.vline(cx, y1, y1+5, 1, black)
				xs, xl = append(xs, cx), append(xl, strconv.Itoa(r))
			}
		}
		if len(ns) > 0 {
			p += len(ns) + 1
		}
	}
	c.hline(x0, x1, y1, 1, black, 0)
	c.vline(x0, y0, y1+1, 1, black)
	xLabels(c, y1+15, xs, xl, middle, tickStyle)
	c.text((x0+x1)/2, y1+36, "vector (each embedding from its row 0)", middle, plainStyle)
	if vocab {
		c.hline(x0, x1, py(opts.VocabMean), 2, black, 8)
	}
}

// legend lists the embeddings' colours (and the vocabulary line) in rows
// from the left; it returns the rows used.
func legend(c canvas, y int, series []Series, opts Options, vocab bool) int {
	type entry struct {
		text string
		col  color.RGBA
		line bool
	}
	var es []entry
	for i, s := range series {
		if len(s.Rows) > 0 { // past MaxVectors: not drawn
			es = append(es, entry{label(s.Name, legendName), seriesColors[i%len(seriesColors)], false})
		}
	}
	if vocab {
		l := opts.VocabLabel
		if l == "" {
			l = "vocabulary mean"
		}
		es = append(es, entry{label(l, 80) + " " + fmtValue(opts.VocabMean), black, true})
	}
	x, row := normsLeft, 0
	for i, e := range es {
		w := 26 + textWidth(e.text)
		need := func() int {
			if row == legendLines-1 && i < len(es)-1 {
				return w + 14 + textWidth("+999 more") // room to say what is left out
			}
			return w
		}
		if x+need() > normsRight && x > normsLeft {
			if row == legendLines-1 {
				c.text(x, y+row*16, fmt.Sprintf("+%d more", len(es)-i), start, tickStyle)
				return legendLines
			}
			x, row = normsLeft, row+1
		}
		ly := y + row*16
		if e.line {
			c.hline(x, x+20, ly, 2, e.col, 6)
		} else {
			c.fill(x+5, ly-5, 11, 11, e.col)
		}
		c.text(x+24, ly, e.text, start, plainStyle)
		x += w + 14
	}
	return row + 1
}

// fmtValue writes a norm with three decimals, or three significant digits
// when it is very large or small.
func fmtValue(v float64) string {
	if a := math.Abs(v); a >= 1e6 || (a != 0 && a < 1e-3) {
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}
