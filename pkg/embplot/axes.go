package embplot

import (
	"fmt"
	"image/color"
)

var (
	titleStyle = textStyle{bold: true, c: black}
	plainStyle = textStyle{c: black}
	tickStyle  = textStyle{c: grey}
	upStyle    = textStyle{vertical: true, c: black}
)

// title draws a panel's bold title centred over the picture.
func title(c canvas, y int, s string) {
	c.text(widthPx/2, y, label(s, (widthPx-20)/charW), middle, titleStyle)
}

// xLabels draws labels centred on their x (or starting there when
// left-aligned), skipping any that would overlap the one before.
func xLabels(c canvas, y int, xs []int, labels []string, a anchor, st textStyle) {
	last := -1 << 30
	for i, x := range xs {
		w := textWidth(labels[i])
		left := x - anchorShift(w, a)
		if left < last+6 {
			continue
		}
		c.text(x, y, labels[i], a, st)
		last = left + w
	}
}

// yLabels draws labels right-aligned at x, centred on their y, skipping
// any that would overlap the one drawn before (in either direction).
func yLabels(c canvas, x int, ys []int, labels []string, st textStyle) {
	last := -1 << 30
	for i, y := range ys {
		if abs(y-last) < lineH+1 {
			continue
		}
		c.text(x, y, labels[i], end, st)
		last = y
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// frame draws a one-pixel border just outside [x, x+w) × [y, y+h).
func frame(c canvas, x, y, w, h int, col color.RGBA) {
	c.hline(x-1, x+w+1, y-1, 1, col, 0)
	c.hline(x-1, x+w+1, y+h, 1, col, 0)
	c.vline(x-1, y-1, y+h+1, 1, col)
	c.vline(x+w, y-1, y+h+1, 1, col)
}

// colorBar draws the colour scale from -limit (bottom) to +limit (top) at
// [x, x+w) × [y, y+h) with labelled ticks and a vertical name.
func colorBar(c canvas, x, y, w, h int, limit float64, ticks []tick, name string) {
	g := reduce(1, h, w, h, 1, func(_, r int) float64 { return 1 - 2*(float64(r)+0.5)/float64(h) })
	c.heat(x, y, w, h, g)
	frame(c, x, y, w, h, grey)
	var ys []int
	var ls []string
	for _, t := range ticks {
		ty := y + int(float64(h)*(1-(t.v/limit+1)/2)+0.5)
		c.hline(x+w, x+w+4, ty, 1, black, 0)
		ys = append(ys, ty)
		ls = append(ls, t.label)
	}
	for i := range ys {
		// Labels start right of the bar: draw with a left anchor.
		if i > 0 && abs(ys[i]-ys[i-1]) < lineH+1 {
			continue
		}
		c.text(x+w+7, ys[i], ls[i], start, tickStyle)
	}
	c.text(x+w+70, y+h/2, name, middle, upStyle)
}

// limitTicks are -limit, 0 and +limit, labelled with 3 significant digits
// (0 is left out when the bar is too short to hold three labels).
func limitTicks(limit float64, h int) []tick {
	f := func(v float64) string { return fmt.Sprintf("%+.3g", v) }
	ts := []tick{{limit, f(limit)}}
	if h >= 3*(lineH+1) {
		ts = append(ts, tick{0, "0"})
	}
	return append(ts, tick{-limit, f(-limit)})
}
