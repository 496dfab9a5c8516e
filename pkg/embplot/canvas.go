package embplot

import "image/color"

// canvas is what the panels draw on: a PNG raster or an SVG document.
// Coordinates are whole pixels, x to the right and y down from the top
// left; every shape is axis-aligned.
type canvas interface {
	// fill paints the rectangle [x, x+w) × [y, y+h).
	fill(x, y, w, h int, c color.RGBA)
	// hline and vline draw a line of the given thickness centred on y (x)
	// from x0 to x1 (y0 to y1); dash > 0 draws dash-long dashes.
	hline(x0, x1, y, thick int, c color.RGBA, dash int)
	vline(x, y0, y1, thick int, c color.RGBA)
	// text draws s (already cleaned by label) with its vertical centre at
	// y; anchor says where x is: at its start, middle or end. Vertical
	// text reads upwards and is centred on (x, y).
	text(x, y int, s string, a anchor, st textStyle)
	// heat draws the cell grid g scaled to [x, x+w) × [y, y+h).
	heat(x, y, w, h int, g *grid)
}

type anchor int

const (
	start anchor = iota
	middle
	end
)

type textStyle struct {
	bold, vertical bool
	c              color.RGBA
}

var (
	black     = color.RGBA{0, 0, 0, 255}
	white     = color.RGBA{255, 255, 255, 255}
	grey      = color.RGBA{110, 110, 110, 255}
	lightGrey = color.RGBA{200, 200, 200, 255}
)

// The font is X11's fixed 7×13 (golang.org/x/image/font/basicfont): every
// character advances charW pixels.
const (
	charW = 7
	lineH = 13
)

// textWidth is the width in pixels of a cleaned label.
func textWidth(s string) int { return len(s) * charW }

// label makes s safe to draw: printable ASCII only (anything else becomes
// '?'), at most maxChars characters (longer ones end in "...").
func label(s string, maxChars int) string {
	maxChars = max(maxChars, 4)
	b := make([]byte, 0, min(len(s), maxChars))
	n := 0
	for _, r := range s {
		if n == maxChars {
			return string(b[:len(b)-3]) + "..."
		}
		if r < 0x20 || r > 0x7e {
			r = '?'
		}
		b = append(b, byte(r))
		n++
	}
	return string(b)
}
