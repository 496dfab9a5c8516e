package compare

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math"

	"github.com/embtool/embtool/pkg/embedding"
	"github.com/embtool/embtool/pkg/tensor"
)

// Precision is the rounding two files' values are compared at.
type Precision int

// The comparison precisions, finest first.
const (
	P32 Precision = iota
	P16
	PBF16
	numPrecisions
)

func (p Precision) String() string {
	return [...]string{"F32", "F16", "BF16"}[p]
}

// Coarser is the precision two files are compared at.
func Coarser(a, b Precision) Precision { return max(a, b) }

// precisionOf: the coarsest dtype among an embedding's vector tensors.
func precisionOf(dts ...tensor.DType) Precision {
	p := P32
	for _, dt := range dts {
		switch dt {
		case tensor.F16:
			p = max(p, P16)
		case tensor.BF16:
			p = max(p, PBF16)
		}
	}
	// F16 with BF16: BF16 (8 significant bits) is the coarser.
	return p
}

// Item is one embedding's vectors as float64 rows. For SDXL each row is
// clip_l followed by clip_g (2048 wide).
type Item struct {
	Path  string
	Rows  int
	Width int
	Vals  []float64
	Prec  Precision
	// Split is the clip_l width of an SDXL row (768), else 0.
	Split int
	keys  [numPrecisions][]uint64
	sets  [numPrecisions]map[uint64][]int
}

// FromEmbedding takes the vectors of a decoded embedding.
func FromEmbedding(path string, e *embedding.Embedding) (*Item, error) {
	if e.Refusal != "" {
		return nil, fmt.Errorf("%s", e.Refusal)
	}
	if len(e.Vectors) == 0 {
		return nil, fmt.Errorf("no embedding vectors (layout %s)", e.Layout)
	}
	it := &Item{Path: path, Rows: e.Count, Width: e.Width}
	var dts []tensor.DType
	parts := make([][]float64, len(e.Vectors))
	widths := make([]int, len(e.Vectors))
	for i, v := range e.Vectors {
		vals, err := v.Tensor.Float64s()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", v.Key, err)
		}
		n, w := v.Tensor.Rows()
		if n != e.Count {
			return nil, fmt.Errorf("%s has %d vectors, want %d", v.Key, n, e.Count)
		}
		parts[i], widths[i] = vals, w
		dts = append(dts, v.Tensor.DType)
	}
	if len(parts) == 1 {
		it.Vals = parts[0]
	} else {
		it.Split = widths[0]
		it.Vals = make([]float64, 0, it.Rows*it.Width)
		for r := 0; r < it.Rows; r++ {
			for i, p := range parts {
				it.Vals = append(it.Vals, p[r*widths[i]:(r+1)*widths[i]]...)
			}
		}
	}
	it.Prec = precisionOf(dts...)
	return it, nil
}

// New builds an Item from raw rows (tests, benchmarks).
func New(path string, rows, width int, vals []float64, prec Precision) *Item {
	return &Item{Path: path, Rows: rows, Width: width, Vals: vals, Prec: prec}
}

// Row returns vector r.
func (it *Item) Row(r int) []float64 { return it.Vals[r*it.Width : (r+1)*it.Width] }

// rounded returns the bits of x rounded to p, with -0 as +0 and one NaN.
func rounded(x float64, p Precision) uint32 {
	if x == 0 {
		return 0
	}
	if x != x {
		return 0x7fc00000
	}
	f := float32(x)
	switch p {
	case P16:
		return uint32(tensor.F32ToF16(f))
	case PBF16:
		return uint32(tensor.F32ToBF16(f))
	}
	return math.Float32bits(f)
}

var seed = maphash.MakeSeed()

// Keys returns one hash per row of the row's values rounded to p.
func (it *Item) Keys(p Precision) []uint64 {
	if it.keys[p] != nil {
		return it.keys[p]
	}
	ks := make([]uint64, it.Rows)
	buf := make([]byte, 4*it.Width)
	for r := range ks {
		for i, x := range it.Row(r) {
			binary.LittleEndian.PutUint32(buf[4*i:], rounded(x, p))
		}
		ks[r] = maphash.Bytes(seed, buf)
	}
	it.keys[p] = ks
	return ks
}

// rowSet maps a row hash at p to the rows that have it.
func (it *Item) rowSet(p Precision) map[uint64][]int {
	if it.sets[p] == nil {
		m := make(map[uint64][]int, it.Rows)
		for r, k := range it.Keys(p) {
			m[k] = append(m[k], r)
		}
		it.sets[p] = m
	}
	return it.sets[p]
}

// SameRow reports whether row i of a and row j of b are the same vector
// (module doc): bit-equal at the coarser precision of the two files.
func SameRow(a *Item, i int, b *Item, j int) bool {
	if a.Width != b.Width {
		return false
	}
	p := Coarser(a.Prec, b.Prec)
	ra, rb := a.Row(i), b.Row(j)
	for k := range ra {
		if rounded(ra[k], p) != rounded(rb[k], p) {
			return false
		}
	}
	return true
}

// zeroRow reports whether row r is all zeros.
func (it *Item) zeroRow(r int) bool {
	for _, x := range it.Row(r) {
		if x != 0 {
			return false
		}
	}
	return true
}

// Cosine is x·y / (|x||y|) accumulated in float64; 0 when either vector
// is zero, except that two zero vectors have cosine 1 (they are the same
// vector). NaN when the values are not finite.
func Cosine(x, y []float64) float64 {
	var dot, xx, yy float64
	for i := range x {
		dot += x[i] * y[i]
		xx += x[i] * x[i]
		yy += y[i] * y[i]
	}
	if xx == 0 || yy == 0 {
		if xx == 0 && yy == 0 {
			return 1
		}
		return 0
	}
	return dot / (math.Sqrt(xx) * math.Sqrt(yy))
}
