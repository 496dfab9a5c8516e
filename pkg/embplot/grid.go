package embplot

import (
	"image/color"
	"math"
)

// grid is a heat map reduced to at most one cell per pixel: cells are
// colours, row 0 at the top.
type grid struct {
	cols, rows int
	pix        []color.RGBA
}

func (g *grid) at(c, r int) color.RGBA { return g.pix[r*g.cols+c] }

// bins splits n cells into at most px bins of consecutive cells.
func bins(n, px int) [][2]int {
	out := min(n, max(px, 1))
	b := make([][2]int, out)
	for k := range b {
		b[k] = [2]int{k * n / out, max((k+1)*n/out, k*n/out+1)}
	}
	return b
}

// reduce builds the grid of a cols × rows matrix (value(c, r), scaled by
// 1/limit onto the colour map) for a w × h pixel area. Where several cells
// share a pixel, the one of largest magnitude is drawn, so a lone outlier
// stays visible; NaN (black) wins over any number.
func reduce(cols, rows, w, h int, limit float64, value func(c, r int) float64) *grid {
	cb, rb := bins(cols, w), bins(rows, h)
	g := &grid{cols: len(cb), rows: len(rb), pix: make([]color.RGBA, len(cb)*len(rb))}
	for j, r := range rb {
		for i, c := range cb {
			best := 0.0
		cells:
			for y := r[0]; y < r[1]; y++ {
				for x := c[0]; x < c[1]; x++ {
					v := value(x, y)
					if math.IsNaN(v) {
						best = v
						break cells
					}
					if math.Abs(v) > math.Abs(best) {
						best = v
					}
				}
			}
			g.pix[j*g.cols+i] = diverge(best / limit)
		}
	}
	return g
}
