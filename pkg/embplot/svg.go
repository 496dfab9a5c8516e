package embplot

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
)

// svgDoc is the SVG canvas: elements are appended to a buffer as they are
// drawn. Text is escaped (and already printable ASCII); numbers are whole
// pixels, so the same picture gives the same bytes.
type svgDoc struct {
	w, h int
	buf  bytes.Buffer
}

func newSVG(w, h int) *svgDoc {
	s := &svgDoc{w: w, h: h}
	fmt.Fprintf(&s.buf, `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="%d" height="%d" viewBox="0 0 %d %d" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="11.5">
`, w, h, w, h)
	s.fill(0, 0, w, h, white)
	return s
}

func (s *svgDoc) bytes() []byte {
	s.buf.WriteString("</svg>\n")
	return s.buf.Bytes()
}

func hex(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

func (s *svgDoc) fill(x, y, w, h int, c color.RGBA) {
	fmt.Fprintf(&s.buf, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>\n", x, y, w, h, hex(c))
}

func (s *svgDoc) hline(x0, x1, y, thick int, c color.RGBA, dash int) {
	extra := ""
	if dash > 0 {
		extra = fmt.Sprintf(` stroke-dasharray="%d %d"`, dash, max(dash*2/3, 1))
	}
	// An odd thickness is centred on the pixel row y, as in the PNG.
	fy := fmt.Sprintf("%d", y)
	if thick%2 == 1 {
		fy += ".5"
	}
	fmt.Fprintf(&s.buf, "<line x1=\"%d\" y1=\"%s\" x2=\"%d\" y2=\"%s\" stroke=\"%s\" stroke-width=\"%d\"%s/>\n", x0, fy, x1, fy, hex(c), thick, extra)
}

func (s *svgDoc) vline(x, y0, y1, thick int, c color.RGBA) {
	fx := fmt.Sprintf("%d", x)
	if thick%2 == 1 {
		fx += ".5"
	}
	fmt.Fprintf(&s.buf, "<line x1=\"%s\" y1=\"%d\" x2=\"%s\" y2=\"%d\" stroke=\"%s\" stroke-width=\"%d\"/>\n", fx, y0, fx, y1, hex(c), thick)
}

func (s *svgDoc) text(x, y int, str string, a anchor, st textStyle) {
	anchors := [...]string{"start", "middle", "end"}
	attrs := fmt.Sprintf(`text-anchor="%s" fill="%s"`, anchors[a], hex(st.c))
	if st.bold {
		attrs += ` font-weight="bold"`
	}
	if st.vertical { // turned a quarter left about (x, y)
		attrs += fmt.Sprintf(` transform="rotate(-90 %d %d)"`, x, y)
	}
	// The baseline of a line whose centre is y.
	fmt.Fprintf(&s.buf, `<text x="%d" y="%d" %s>`, x, y+4, attrs)
	escapeText(&s.buf, str)
	s.buf.WriteString("</text>\n")
}

// heat embeds the grid as a PNG, each cell repeated to a whole number of
// pixels as near its size on screen as fits, so that viewers which smooth
// scaled images (ignoring image-rendering) still show crisp cells.
func (s *svgDoc) heat(x, y, w, h int, g *grid) {
	if g.cols == 0 || g.rows == 0 {
		return
	}
	kx, ky := max(1, w/g.cols), max(1, h/g.rows)
	img := image.NewRGBA(image.Rect(0, 0, g.cols*kx, g.rows*ky))
	for py := range img.Rect.Dy() {
		for px := range img.Rect.Dx() {
			img.SetRGBA(px, py, g.at(px/kx, py/ky))
		}
	}
	var p bytes.Buffer
	if err := png.Encode(&p, img); err != nil {
		return // an RGBA image of positive size always encodes
	}
	fmt.Fprintf(&s.buf, "<image x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" preserveAspectRatio=\"none\" image-rendering=\"optimizeSpeed\" style=\"image-rendering:pixelated\" xlink:href=\"data:image/png;base64,%s\"/>\n",
		x, y, w, h, base64.StdEncoding.EncodeToString(p.Bytes()))
}

// escapeText writes str as XML character data: &, <, >, and both quotes
// as entities, as encoding/xml's EscapeText does (importing encoding/xml
// cost every run of embtool its package initialisation). Text here is
// printable ASCII, names being reduced to it; any other byte becomes '?',
// so no input can make the document ill-formed.
func escapeText(buf *bytes.Buffer, str string) {
	for _, c := range []byte(str) {
		switch {
		case c < 0x20 || c >= 0x7F:
			c = '?'
		}
		switch c {
		case '&':
			buf.WriteString("&amp;")
		case '<':
			buf.WriteString("&lt;")
		case '>':
			buf.WriteString("&gt;")
		case '"':
			buf.WriteString("&#34;")
		case '\'':
			buf.WriteString("&#39;")
		default:
			buf.WriteByte(c)
		}
	}
}
