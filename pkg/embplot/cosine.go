package embplot

import (
	"fmt"
	"math"
)

// Layout of the cosine panel (pixels from its top left).
const (
	cosLeft = 170
	cosTop  = 36
	cosSide = 610
	// maxCosineWork caps the multiply-adds of the cosine matrix (about a
	// third of a second): MaxVectors rows of up to 8192 dimensions.
	maxCosineWork = MaxVectors * (MaxVectors + 1) / 2 * 8192
)

// drawCosines draws the cosine between every two vectors of the series
// that share the commonest width (by vectors; the first met on a tie), as
// a square heat map with a line between embeddings; a zero or non-finite
// vector's cosines are black.
func drawCosines(c canvas, top int, series []Series) {
	width := commonWidth(series)
	var unit [][]float64
	var names []string
	var bounds []int
	skipped := 0
	for _, s := range series {
		if len(s.Rows) == 0 {
			continue
		}
		if s.Width != width {
			skipped++
			continue // cosines need one width
		}
		bounds = append(bounds, len(unit))
		names = append(names, s.Name)
		for _, r := range s.Rows {
			unit = append(unit, unitVector(r))
		}
	}
	n := len(unit)
	t := fmt.Sprintf("Cosine between all %d vectors of width %d", n, width)
	if skipped > 0 {
		t += fmt.Sprintf(" (%d embeddings of another width left out)", skipped)
	}
	if work := float64(n) * float64(n+1) / 2 * float64(max(width, 0)); work > maxCosineWork {
		title(c, top+14, t+": rows too wide, not computed")
		return
	}
	cos := make([]float64, n*n)
	undefined := false
	for i := range n {
		for j := i; j < n; j++ {
			v := dot(unit[i], unit[j])
			cos[i*n+j], cos[j*n+i] = v, v
			undefined = undefined || math.IsNaN(v)
		}
	}
	if undefined {
		t += " (black: undefined, a zero or non-finite vector)"
	}
	title(c, top+14, t)
	x0, y0, side := cosLeft, top+cosTop, cosSide
	if n > 0 {
		c.heat(x0, y0, side, side, reduce(n, n, side, side, 1, func(x, y int) float64 { return cos[y*n+x] }))
	}
	frame(c, x0, y0, side, side, grey)
	pos := func(i int) int { return i * side / max(n, 1) }
	var xs, ys []int
	var ls []string
	for k, b := range bounds {
		if b > 0 {
			c.vline(x0+pos(b), y0, y0+side, 2, black)
			c.hline(x0, x0+side, y0+pos(b), 2, black, 0)
		}
		// A name stands at its embedding's first row and column.
		ys = append(ys, y0+(pos(b)+pos(b+1))/2)
		xs = append(xs, x0+pos(b))
		ls = append(ls, label(names[k], (cosLeft-16)/charW))
	}
	yLabels(c, x0-8, ys, ls, plainStyle)
	xLabels(c, y0+side+14, xs, ls, start, plainStyle)
	c.text(x0+side/2, y0+side+38, "vector (embeddings in order, each from its row 0)", middle, plainStyle)
	colorBar(c, x0+side+30, y0, 20, side, 1, niceTicks(-1, 1, 4), "cosine")
}

// unitVector is x / |x|, or nil when that is undefined (zero, NaN, Inf).
func unitVector(x []float64) []float64 {
	n := norm(x)
	if n == 0 || !finite(n) {
		return nil
	}
	u := make([]float64, len(x))
	for i, v := range x {
		u[i] = v / n
	}
	return u
}

// dot is the cosine of two unit vectors (NaN if either is undefined);
// rows of different lengths meet over the shorter.
func dot(a, b []float64) float64 {
	if a == nil || b == nil {
		return math.NaN()
	}
	var d float64
	for i := range min(len(a), len(b)) {
		d += a[i] * b[i]
	}
	return math.Max(-1, math.Min(1, d))
}

// commonWidth is the width that most vectors have (the first met on a tie).
func commonWidth(series []Series) int {
	count := map[int]int{}
	best, bestN := 0, -1
	for _, s := range series {
		count[s.Width] += len(s.Rows)
		if n := count[s.Width]; n > bestN {
			best, bestN = s.Width, n
		}
	}
	return best
}
