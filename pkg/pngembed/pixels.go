package pngembed

import (
	"fmt"
	"image"
	"image/color"
)

// pixelsEmbedding extracts an image embedding from the data border of img,
// bit for bit as A1111's extract_image_data_embed does (formats.md §6.2).
// img is normally what image/png decoded. A *image.Gray16 is converted as
// Pillow converts 16-bit gray (values clipped to 255); any other 16-bit
// image by its high bytes. (Decode also clips 16-bit gray with tRNS, which
// image/png returns as *image.NRGBA64; pixelsEmbedding cannot tell it apart.)
// An image with no data border gives an error wrapping ErrNotEmbedding.
func pixelsEmbedding(img image.Image) (*Result, error) {
	_, gray16 := img.(*image.Gray16)
	return decodePixels(img, gray16)
}

func decodePixels(img image.Image, clipGray16 bool) (*Result, error) {
	rgb, w, h, err := toRGB(img, clipGray16)
	if err != nil {
		return nil, err
	}
	stream, err := extract(rgb, w, h)
	if err != nil {
		return nil, err
	}
	if !zlibHeader(stream) {
		return nil, &NotEmbeddingError{"the pixel border does not start with a zlib stream"}
	}
	data, err := inflate(stream, -1, "pixel data")
	if err != nil {
		return nil, err
	}
	root, err := parseJSON(data)
	if err != nil {
		return nil, &FormatError{Pkg: errPkg, Record: "pixel data", Offset: -1, Msg: err.Error(), Err: err}
	}
	return &Result{Source: SourcePixels, Root: root}, nil
}

// zlibHeader reports whether b starts with a valid RFC 1950 header without
// a preset dictionary.
func zlibHeader(b []byte) bool {
	if len(b) < 2 {
		return false
	}
	cmf, flg := b[0], b[1]
	return cmf&0x0F == 8 && cmf>>4 <= 7 && (uint16(cmf)<<8|uint16(flg))%31 == 0 && flg&0x20 == 0
}

// toRGB converts img to 8-bit RGB bytes, row-major, as Pillow's
// convert("RGB") does for the same PNG: alpha is dropped without
// compositing, gray and palette images are expanded, 16-bit samples keep
// their high byte, and 16-bit gray (Pillow mode "I") is clipped to 255
// when clipGray16 is set.
func toRGB(img image.Image, clipGray16 bool) ([]byte, int, int, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return nil, 0, 0, formatErr("", -1, "empty image (%d×%d pixels)", w, h)
	}
	if w > MaxSide || h > MaxSide || w*h > MaxPixels {
		return nil, 0, 0, formatErr("", -1, "image of %d×%d pixels is over the limit of %d per side and %d in all", w, h, MaxSide, MaxPixels)
	}
	out := make([]byte, 0, w*h*3)
	clip := func(hi, lo byte) byte {
		if hi != 0 {
			return 0xFF
		}
		return lo
	}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		switch m := img.(type) {
		case *image.NRGBA:
			row := m.Pix[m.PixOffset(b.Min.X, y):]
			for x := range w {
				p := row[4*x:]
				out = append(out, p[0], p[1], p[2])
			}
		case *image.NRGBA64:
			row := m.Pix[m.PixOffset(b.Min.X, y):]
			for x := range w {
				p := row[8*x:]
				if clipGray16 {
					out = append(out, clip(p[0], p[1]), clip(p[2], p[3]), clip(p[4], p[5]))
				} else {
					out = append(out, p[0], p[2], p[4])
				}
			}
		case *image.RGBA:
			row := m.Pix[m.PixOffset(b.Min.X, y):]
			for x := range w {
				p := row[4*x:]
				if p[3] == 0xFF {
					out = append(out, p[0], p[1], p[2])
				} else {
					c := color.NRGBAModel.Convert(color.RGBA{p[0], p[1], p[2], p[3]}).(color.NRGBA)
					out = append(out, c.R, c.G, c.B)
				}
			}
		case *image.RGBA64:
			row := m.Pix[m.PixOffset(b.Min.X, y):]
			for x := range w {
				p := row[8*x:]
				if p[6] == 0xFF && p[7] == 0xFF {
					out = append(out, p[0], p[2], p[4])
				} else {
					c := color.NRGBA64Model.Convert(m.RGBA64At(b.Min.X+x, y)).(color.NRGBA64)
					out = append(out, byte(c.R>>8), byte(c.G>>8), byte(c.B>>8))
				}
			}
		case *image.Gray:
			row := m.Pix[m.PixOffset(b.Min.X, y):]
			for x := range w {
				out = append(out, row[x], row[x], row[x])
			}
		case *image.Gray16:
			row := m.Pix[m.PixOffset(b.Min.X, y):]
			for x := range w {
				v := clip(row[2*x], row[2*x+1])
				out = append(out, v, v, v)
			}
		case *image.Paletted:
			row := m.Pix[m.PixOffset(b.Min.X, y):]
			for x := range w {
				var c color.NRGBA
				if i := int(row[x]); i < len(m.Palette) {
					c = color.NRGBAModel.Convert(m.Palette[i]).(color.NRGBA)
				}
				out = append(out, c.R, c.G, c.B)
			}
		default:
			for x := b.Min.X; x < b.Max.X; x++ {
				c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
				out = append(out, c.R, c.G, c.B)
			}
		}
	}
	return out, w, h, nil
}

// lcg is the generator of A1111's xor_block: seed = seed*1664525 +
// 1013904223 mod 2^32, yielding seed mod 255.
type lcg struct{ seed uint32 }

func (g *lcg) next() byte {
	g.seed = g.seed*1664525 + 1013904223
	return byte(g.seed % 255)
}

// extract finds the data border in the RGB pixels of a w×h image and
// returns the byte stream it holds: crop_black, low nibbles, the two
// outermost black columns, xor_block on each block, upper<<4 | lower.
func extract(rgb []byte, w, h int) ([]byte, error) {
	px := func(x, y int) []byte { return rgb[3*(y*w+x) : 3*(y*w+x)+3] }

	// crop_black(tol=0): keep the rows and columns that have a pixel with
	// all three channels > 0; when none has, numpy's argmax crops nothing.
	colAny := make([]bool, w)
	rowAny := make([]bool, h)
	for y := range h {
		for x := range w {
			if p := px(x, y); p[0] > 0 && p[1] > 0 && p[2] > 0 {
				colAny[x], rowAny[y] = true, true
			}
		}
	}
	c0, c1 := span(colAny)
	r0, r1 := span(rowAny)
	cw := c1 - c0

	// Columns whose low nibbles are all zero.
	black := make([]bool, cw)
	var blackIdx []int
	for x := range cw {
		zero := true
		for y := r0; y < r1 && zero; y++ {
			p := px(c0+x, y)
			zero = (p[0]|p[1]|p[2])&0x0F == 0
		}
		if zero {
			black[x] = true
			blackIdx = append(blackIdx, x)
		}
	}
	if len(blackIdx) < 2 {
		return nil, &NotEmbeddingError{fmt.Sprintf("the pixels hold no data border (%d black column(s), 2 needed)", len(blackIdx))}
	}
	lo, hi := blackIdx[0], blackIdx[len(blackIdx)-1]
	if lo != cw-1-hi || lo == 0 {
		// Not in A1111, which fails here: retry with the outermost pair
		// of black columns that leaves non-empty blocks of equal width.
		found := false
		for _, a := range blackIdx {
			b := cw - 1 - a
			if b <= a {
				break
			}
			if a > 0 && black[b] {
				lo, hi, found = a, b, true
				break
			}
		}
		if !found && lo == 0 && hi == cw-1 {
			return nil, &NotEmbeddingError{fmt.Sprintf("black columns %d and %d leave empty data blocks", c0+lo, c0+hi)}
		}
		if !found {
			return nil, &NotEmbeddingError{fmt.Sprintf("black columns %d and %d leave data blocks of different widths (%d and %d)",
				c0+lo, c0+hi, lo, cw-1-hi)}
		}
	}
	bw := lo
	stream := make([]byte, 0, (r1-r0)*bw*3)
	g := lcg{} // one fresh generator serves both blocks: they see the same sequence
	for y := r0; y < r1; y++ {
		for x := range bw {
			lower := px(c0+x, y)
			upper := px(c0+hi+1+x, y)
			for ch := range 3 {
				r := g.next() & 0x0F
				stream = append(stream, ((upper[ch]&0x0F)^r)<<4|((lower[ch]&0x0F)^r))
			}
		}
	}
	return stream, nil
}

// span returns the first true index and one past the last true index of
// mask, or the whole range when mask has no true element.
func span(mask []bool) (start, end int) {
	start, end = 0, len(mask)
	for i, m := range mask {
		if m {
			start = i
			break
		}
	}
	for i := len(mask) - 1; i >= 0; i-- {
		if mask[i] {
			end = i + 1
			break
		}
	}
	return start, end
}
