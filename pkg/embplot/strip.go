package embplot

import (
	"fmt"
	"math"
	"sort"
	"strconv"
)

// Layout of a heat-strip panel (pixels from its top left).
const (
	heatLeft  = 80
	heatRight = widthPx - 150
	stripTop  = 32
	maxSample = 1 << 20
)

// drawStrip draws each vector of s as a row of cells coloured by value
// (±the 99th percentile of |value| at the ends of the scale), with the
// clip_l/clip_g boundary of an SDXL row as a black line.
func drawStrip(c canvas, top int, s *Series) {
	cols, cells := 0, 0
	for _, r := range s.Rows {
		cols = max(cols, len(r))
		cells += len(r)
	}
	// The scale's percentile from at most maxSample values, taken at a
	// fixed stride.
	stride := max(1, (cells+maxSample-1)/maxSample)
	var all []float64
	k := 0
	for _, r := range s.Rows {
		for _, v := range r {
			if k%stride == 0 && finite(v) {
				all = append(all, math.Abs(v))
			}
			k++
		}
	}
	rows := len(s.Rows)
	limit := percentile(all, 0.99)
	if limit == 0 || !finite(limit) {
		limit = 1
	}
	title(c, top+14, fmt.Sprintf("%s: %d vectors x %d dimensions (colour: value, +/-%.3g = 99th percentile of |value|)",
		label(s.Name, 60), rows, cols, limit))
	x0, y0 := heatLeft, top+stripTop
	w, h := heatRight-heatLeft, pxPerRow*max(rows, 2)
	if cols > 0 {
		c.heat(x0, y0, w, h, reduce(cols, rows, w, h, limit, func(x, y int) float64 {
			if r := s.Rows[y]; x < len(r) {
				return r[x]
			}
			return math.NaN() // a short row: nothing there
		}))
	}
	frame(c, x0, y0, w, h, grey)

	// Rows: every row's index while they fit, else every step-th.
	rowH := float64(h) / float64(rows)
	step := max(1, int(math.Ceil(float64(lineH+1)/rowH)))
	if rows > 16 {
		step = max(step, rows/8)
	}
	var ys []int
	var ls []string
	for r := 0; r < rows; r += step {
		y := y0 + int((float64(r)+0.5)*rowH)
		c.hline(x0-5, x0-1, y, 1, black, 0)
		ys, ls = append(ys, y), append(ls, strconv.Itoa(r))
	}
	yLabels(c, x0-8, ys, ls, tickStyle)
	c.text(18, y0+h/2, "vector", middle, upStyle)

	// Dimensions.
	px := func(d float64) int { return x0 + int((d+0.5)*float64(w)/float64(max(cols, 1))) }
	var xs []int
	var xl []string
	if cols > 0 {
		for _, t := range niceTicks(0, float64(cols-1), 8) {
			c.vline(px(t.v), y0+h, y0+h+5, 1, black)
			xs, xl = append(xs, px(t.v)), append(xl, t.label)
		}
	}
	xLabels(c, y0+h+15, xs, xl, middle, tickStyle)
	if sp := s.Split; sp > 0 && sp < cols {
		x := x0 + sp*w/cols
		c.vline(x, y0-3, y0+h+3, 2, black)
		c.text((x0+x)/2, y0+h+36, fmt.Sprintf("clip_l: dimensions 0-%d", sp-1), middle, plainStyle)
		c.text((x+x0+w)/2, y0+h+36, fmt.Sprintf("clip_g: dimensions %d-%d", sp, cols-1), middle, plainStyle)
	} else {
		c.text(x0+w/2, y0+h+36, "dimension", middle, plainStyle)
	}
	colorBar(c, heatRight+24, y0, 16, h, limit, limitTicks(limit, h), "value")
}

// percentile is the q-quantile of v (nearest rank), 0 for no values.
func percentile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s) // at most MaxVectors × a row's width values
	return s[min(len(s)-1, int(q*float64(len(s))))]
}
