package embplot

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand"
	"testing"
)

// FuzzWrite draws series made of arbitrary float32 bit patterns (NaN,
// Inf, subnormal, huge), ragged rows, names and splits: it must not panic.
func FuzzWrite(f *testing.F) {
	f.Add([]byte("\x02\x03\x08\x04a</svg>\x00\x00\x80\x7f\x00\x00\xc0\x7f\x00\x00\x00\x00\x01\x02\x03\x04"), true)
	f.Add([]byte{1, 1, 1, 0, 0, 0, 0, 0}, false)
	f.Fuzz(func(t *testing.T, data []byte, svg bool) {
		out, err := fuzzOne(data, svg)
		if err != nil {
			t.Fatal(err)
		}
		if svg && out != nil {
			parseSVG(t, out)
		}
	})
}

// fuzzOne draws the series that data describes.
func fuzzOne(data []byte, svg bool) ([]byte, error) {
	{
		if len(data) < 4 {
			return nil, nil
		}
		ns, rows, width, split := int(data[0]%4)+1, int(data[1]%6), int(data[2]%40), int(data[3]%50)
		data = data[4:]
		next := func() float64 {
			if len(data) < 4 {
				return 0
			}
			v := math.Float32frombits(binary.LittleEndian.Uint32(data))
			data = data[4:]
			return float64(v)
		}
		var ss []Series
		for i := range ns {
			s := Series{Name: string(data[:min(len(data), 12)]), Width: width + i%2, Split: split}
			for r := range rows {
				row := make([]float64, (width+r*i)%41)
				for d := range row {
					row[d] = next()
				}
				s.Rows = append(s.Rows, row)
			}
			ss = append(ss, s)
		}
		format := "png"
		if svg {
			format = "svg"
		}
		var buf bytes.Buffer
		err := Write(&buf, format, ss, Options{VocabMean: next(), VocabLabel: string(data)})
		return buf.Bytes(), err
	}
}

// TestRandomInputs runs a fixed set of random inputs through FuzzWrite's
// body (fuzzing itself is slow here: every write fills a 1200-pixel-wide
// raster under coverage instrumentation).
func TestRandomInputs(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for i := range 24 {
		d := make([]byte, r.Intn(600))
		r.Read(d)
		out, err := fuzzOne(d, i%2 == 1)
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 1 && out != nil {
			parseSVG(t, out)
		}
	}
}
