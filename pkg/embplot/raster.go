package embplot

import (
	"image"
	"image/color"
	"image/draw"

	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// raster is the PNG canvas.
type raster struct{ img *image.RGBA }

func newRaster(w, h int) *raster {
	r := &raster{img: image.NewRGBA(image.Rect(0, 0, w, h))}
	draw.Draw(r.img, r.img.Bounds(), image.NewUniform(white), image.Point{}, draw.Src)
	return r
}

func (r *raster) fill(x, y, w, h int, c color.RGBA) {
	rect := image.Rect(x, y, x+w, y+h).Intersect(r.img.Bounds())
	draw.Draw(r.img, rect, image.NewUniform(c), image.Point{}, draw.Src)
}

func (r *raster) hline(x0, x1, y, thick int, c color.RGBA, dash int) {
	top := y - thick/2
	if dash <= 0 {
		r.fill(x0, top, x1-x0, thick, c)
		return
	}
	gap := max(dash*2/3, 1)
	for x := x0; x < x1; x += dash + gap {
		r.fill(x, top, min(dash, x1-x), thick, c)
	}
}

func (r *raster) vline(x, y0, y1, thick int, c color.RGBA) {
	r.fill(x-thick/2, y0, thick, y1-y0, c)
}

func (r *raster) text(x, y int, s string, a anchor, st textStyle) {
	w := textWidth(s)
	if st.bold {
		w++
	}
	if !st.vertical {
		r.glyphs(r.img, x-anchorShift(w, a), y, s, st)
		return
	}
	// Draw the line of text on its own, then turn it a quarter left.
	tmp := image.NewRGBA(image.Rect(0, 0, w, lineH))
	r.glyphs(tmp, 0, lineH/2, s, st)
	left, bottom := x-lineH/2, y+w/2
	for ty := 0; ty < lineH; ty++ {
		for tx := 0; tx < w; tx++ {
			if c := tmp.RGBAAt(tx, ty); c.A != 0 {
				r.img.SetRGBA(left+ty, bottom-1-tx, c)
			}
		}
	}
}

// glyphs draws s with its vertical centre at y, starting at x.
func (r *raster) glyphs(dst draw.Image, x, y int, s string, st textStyle) {
	face := basicfont.Face7x13
	src := image.NewUniform(st.c)
	base := y + lineH/2 - face.Descent // the baseline
	for pass := 0; pass < 1+boolInt(st.bold); pass++ {
		dot := fixed.P(x+pass, base)
		for _, ch := range s {
			dr, mask, mp, adv, ok := face.Glyph(dot, ch)
			if ok {
				draw.DrawMask(dst, dr, src, image.Point{}, mask, mp, draw.Over)
			}
			dot.X += adv
		}
	}
}

func (r *raster) heat(x, y, w, h int, g *grid) {
	if g.cols == 0 || g.rows == 0 {
		return
	}
	for py := 0; py < h; py++ {
		gr := py * g.rows / h
		for px := 0; px < w; px++ {
			if p := (image.Point{X: x + px, Y: y + py}); p.In(r.img.Bounds()) {
				r.img.SetRGBA(p.X, p.Y, g.at(px*g.cols/w, gr))
			}
		}
	}
}

func anchorShift(w int, a anchor) int {
	switch a {
	case middle:
		return w / 2
	case end:
		return w
	}
	return 0
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
