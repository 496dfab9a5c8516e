package embplot

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"image/png"
	"io"
	"strconv"
	"strings"
	"testing"
)

// svgInfo is what parseSVG found in a document.
type svgInfo struct {
	width, height int
	count         map[string]int
	texts         []string
	images        [][2]int // embedded PNGs' pixel sizes
}

// parseSVG reads doc as XML and checks that it is one <svg> element.
func parseSVG(t *testing.T, doc []byte) svgInfo {
	t.Helper()
	info := svgInfo{count: map[string]int{}}
	d := xml.NewDecoder(bytes.NewReader(doc))
	depth := 0
	var text *strings.Builder
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not XML: %v", err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			depth++
			info.count[e.Name.Local]++
			attr := map[string]string{}
			for _, a := range e.Attr {
				attr[a.Name.Local] = a.Value
			}
			switch e.Name.Local {
			case "svg":
				if depth != 1 {
					t.Errorf("nested <svg>")
				}
				info.width, _ = strconv.Atoi(attr["width"])
				info.height, _ = strconv.Atoi(attr["height"])
			case "text":
				text = &strings.Builder{}
			case "image":
				data, ok := strings.CutPrefix(attr["href"], "data:image/png;base64,")
				if !ok {
					t.Fatalf("image href %.40q", attr["href"])
				}
				raw, err := base64.StdEncoding.DecodeString(data)
				if err != nil {
					t.Fatal(err)
				}
				img, err := png.Decode(bytes.NewReader(raw))
				if err != nil {
					t.Fatal(err)
				}
				info.images = append(info.images, [2]int{img.Bounds().Dx(), img.Bounds().Dy()})
			}
		case xml.CharData:
			if text != nil {
				text.Write(e)
			}
		case xml.EndElement:
			depth--
			if e.Name.Local == "text" {
				info.texts = append(info.texts, text.String())
				text = nil
			}
		}
	}
	if info.count["svg"] != 1 {
		t.Errorf("%d <svg> elements", info.count["svg"])
	}
	return info
}

func TestSVGElements(t *testing.T) {
	a := series("a", 3, 768, func(r, d int) float64 { return float64((r*7+d)%11) - 5 })
	x := series("x", 2, 2048, func(r, d int) float64 { return float64(d % 3) })
	x.Split = 768
	var buf bytes.Buffer
	if err := Write(&buf, "svg", []Series{a, x}, Options{VocabMean: 0.35, VocabLabel: "CLIP-L token mean norm"}); err != nil {
		t.Fatal(err)
	}
	info := parseSVG(t, buf.Bytes())
	if info.width != widthPx || info.height != normsHeight+stripHeight(3)+stripHeight(2)+cosineHeight {
		t.Errorf("size %d×%d", info.width, info.height)
	}
	// 5 bars + background + legend swatches at least; axes, ticks, the
	// split and vocabulary lines; 2 strips + 1 cosine map + 3 colour bars.
	if info.count["rect"] < 8 || info.count["line"] < 20 || info.count["image"] != 6 {
		t.Errorf("elements %v", info.count)
	}
	all := strings.Join(info.texts, "\n")
	for _, want := range []string{"Norm of each vector", "CLIP-L token mean norm 0.350", "a: 3 vectors x 768 dimensions",
		"clip_g: dimensions 768-2047", "Cosine between all 3 vectors of width 768 (1 embeddings of another width left out)", "L2 norm", "cosine"} {
		if !strings.Contains(all, want) {
			t.Errorf("no text %q in %q", want, all)
		}
	}
	// The heat maps are no larger than on screen.
	for _, im := range info.images {
		if im[0] > heatRight-heatLeft || im[1] > cosSide {
			t.Errorf("embedded image %v px", im)
		}
	}
}

func TestSVGEscapesNames(t *testing.T) {
	evil := `</svg><script>alert("x")</script>&amp;]]>` + "\x00\x1b\xff"
	a := series(evil, 2, 4, func(r, d int) float64 { return float64(r - d) })
	b := series("b", 1, 4, func(r, d int) float64 { return 1 })
	var buf bytes.Buffer
	if err := Write(&buf, "svg", []Series{a, b}, Options{VocabMean: 1, VocabLabel: evil}); err != nil {
		t.Fatal(err)
	}
	info := parseSVG(t, buf.Bytes())
	if info.count["script"] != 0 || bytes.Contains(buf.Bytes(), []byte("<script")) {
		t.Error("a name became markup")
	}
	want := `</svg><script>alert("x")</script>&amp;]]>???`
	if !strings.Contains(strings.Join(info.texts, "\n"), want) {
		t.Errorf("the name is not drawn as text %q: %q", want, info.texts)
	}
}

func TestWideRowsAreReduced(t *testing.T) {
	// A 100 000-wide row: the picture stays 1200 px wide and the strip's
	// image one pixel per screen pixel; the largest value is kept.
	w := series("w", 1, 100000, func(_, d int) float64 {
		if d == 54321 {
			return -1000
		}
		return 0.001
	})
	img := writePNG(t, []Series{w}, Options{})
	if img.Bounds().Dx() != widthPx {
		t.Errorf("width %d", img.Bounds().Dx())
	}
	y := normsHeight + stripTop + pxPerRow
	blue := runs(img, y, diverge(-1))
	if len(blue) != 1 || blue[0][1] != 1 {
		t.Errorf("the outlier is drawn as %v", blue)
	}
	var buf bytes.Buffer
	if err := Write(&buf, "svg", []Series{w}, Options{}); err != nil {
		t.Fatal(err)
	}
	if info := parseSVG(t, buf.Bytes()); info.images[0] != [2]int{heatRight - heatLeft, 2 * pxPerRow} {
		t.Errorf("strip image %v", info.images[0])
	}
}

// TestEscapeText: every byte comes out as well-formed character data that
// reads back as the printable ASCII put in (anything else as '?'), the
// same text encoding/xml's EscapeText gives for printable ASCII.
func TestEscapeText(t *testing.T) {
	var in []byte
	for c := 0; c < 256; c++ {
		in = append(in, byte(c))
	}
	in = append(in, "a&b<c>d\"e'f"...)
	var buf bytes.Buffer
	buf.WriteString("<t>")
	escapeText(&buf, string(in))
	buf.WriteString("</t>")
	var got struct {
		Text string `xml:",chardata"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("ill-formed: %v\n%s", err, buf.Bytes())
	}
	want := []byte(nil)
	for _, c := range in {
		if c < 0x20 || c >= 0x7F {
			c = '?'
		}
		want = append(want, c)
	}
	if got.Text != string(want) {
		t.Errorf("read back %q, want %q", got.Text, want)
	}
	var a, b bytes.Buffer
	printable := "a&b<c>d\"e'f ~!"
	escapeText(&a, printable)
	xml.EscapeText(&b, []byte(printable))
	if a.String() != b.String() {
		t.Errorf("%q: %q, encoding/xml %q", printable, a.String(), b.String())
	}
}
