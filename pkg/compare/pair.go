package compare

import (
	"fmt"
	"math"
	"slices"

	"github.com/embtool/embtool/internal/jsonstr"
)

// Relations of a pair.
const (
	Identical = "identical" // same vectors in the same order
	Contains  = "contains"  // every vector of B is a vector of A
	Contained = "contained" // every vector of A is a vector of B
	Overlap   = "overlap"   // some vector shared, or a pair at NearCos or more
	Unrelated = "unrelated"
)

// NearCos: a pair of vectors this close in direction makes two files
// overlap even when no vector is shared exactly (a rescaled copy).
const NearCos = 0.999

// SameDirection: a best match at this cosine or more, but not the same
// vector, is reported as a rescaled copy with its norm ratio.
const SameDirection = 1 - 1e-9

// MaxPairs bounds the vector pairs ComparePair scores by cosine (each a
// float64 dot product of the width): two hostile files of 100,000 vectors
// must not cost 10^10 dot products.
const MaxPairs = 1 << 22

// Cos is a cosine that encodes as null in JSON when it is not finite.
type Cos float64

// MarshalJSON writes the shortest repr, or null for NaN.
func (c Cos) MarshalJSON() ([]byte, error) { return jsonstr.AppendFloat(nil, float64(c)), nil }

// Match is vector A of the first file and its best match B in the second.
type Match struct {
	A     int      `json:"a"`
	B     int      `json:"b"`
	Cos   Cos      `json:"cos"`
	Same  bool     `json:"same"`            // the same vector (doc: Sameness)
	Scale *float64 `json:"scale,omitempty"` // |a|/|b| when same direction, other norm
}

// Pair is the comparison of two files.
type Pair struct {
	Relation string  `json:"relation"`
	A        string  `json:"a"`
	B        string  `json:"b"`
	Rows     []Match `json:"rows"`
	// At: for contains, the row of A holding each vector of B (the first
	// when several do); for contained, the row of B holding each vector of A.
	At []int `json:"at,omitempty"`
	// Precision the values were compared at.
	Precision string `json:"precision"`
	Note      string `json:"note,omitempty"`
}

// ComparePair compares two embeddings vector by vector.
func ComparePair(a, b *Item) Pair {
	res := Pair{A: a.Path, B: b.Path, Rows: []Match{}, Precision: Coarser(a.Prec, b.Prec).String()}
	a2, b2 := a, b
	if a.Width != b.Width {
		var ok bool
		a2, b2, ok = clipLOnly(a, b)
		if !ok {
			res.Relation = Unrelated
			res.Note = fmt.Sprintf("different widths (%d and %d): not comparable", a.Width, b.Width)
			return res
		}
		res.Note = "SDXL and SD1 widths: compared on the SDXL file's clip_l part"
	}
	// same[i] lists the rows of b2 that are the same vector as row i of a2.
	same := make([][]int, a2.Rows)
	bHas := make([]int, b2.Rows)
	for j := range bHas {
		bHas[j] = -1
	}
	near := false
	takenB := make([]bool, b2.Rows)
	// Beyond MaxPairs row pairs, only the rows whose hashes match are
	// compared: exact relations stay right, best matches are exact ones.
	all := a2.Rows <= MaxPairs/max(b2.Rows, 1)
	p := Coarser(a2.Prec, b2.Prec)
	if !all {
		res.Note = fmt.Sprintf("%d×%d vectors: more than %d pairs, so only exact matches are shown", a2.Rows, b2.Rows, MaxPairs)
	}
	every := make([]int, b2.Rows)
	for j := range every {
		every[j] = j
	}
	for i := 0; i < a2.Rows; i++ {
		best := Match{A: i, B: -1, Cos: Cos(math.Inf(-1))}
		cands := every
		if !all {
			cands = b2.rowSet(p)[a2.Keys(p)[i]]
		}
		for _, j := range cands {
			c := Cosine(a2.Row(i), b2.Row(j))
			s := SameRow(a2, i, b2, j)
			if s {
				same[i] = append(same[i], j)
			}
			if c >= NearCos {
				near = true
			}
			// The same vector beats any cosine, a copy no earlier vector
			// of A took beats one taken; then the higher cosine; then the
			// lower index.
			if best.B < 0 || (s && !best.Same) || (s && best.Same && takenB[best.B] && !takenB[j]) ||
				(!s && !best.Same && c > float64(best.Cos)) {
				best = Match{A: i, B: j, Cos: Cos(c), Same: s}
			}
		}
		if best.B < 0 {
			continue
		}
		if best.Same {
			takenB[best.B] = true
		}
		if math.IsInf(float64(best.Cos), -1) {
			best.Cos = Cos(math.NaN())
		}
		if !best.Same && float64(best.Cos) >= SameDirection {
			na, nb := norm(a2.Row(i)), norm(b2.Row(best.B))
			if nb > 0 {
				r := na / nb
				best.Scale = &r
			}
		}
		res.Rows = append(res.Rows, best)
	}
	allA, anyShared := a2.Rows > 0, false
	for i := range same {
		if len(same[i]) == 0 {
			allA = false
		} else {
			anyShared = true
		}
	}
	// Each vector of B takes the first row of A holding it that no
	// earlier vector of B took (B's repeated vectors map to successive
	// copies in A when A has them).
	taken := make([]bool, a2.Rows)
	for i := range same {
		for _, j := range same[i] {
			if bHas[j] < 0 && !taken[i] {
				bHas[j], taken[i] = i, true
			}
		}
	}
	for j := range bHas {
		if bHas[j] >= 0 {
			continue
		}
		for i := range same {
			if slices.Contains(same[i], j) {
				bHas[j] = i
				break
			}
		}
	}
	allB := b2.Rows > 0
	for _, i := range bHas {
		if i < 0 {
			allB = false
		}
	}
	identical := a2.Rows == b2.Rows && a2.Rows > 0
	for i := 0; identical && i < a2.Rows; i++ {
		identical = SameRow(a2, i, b2, i)
	}
	switch {
	case identical && a.Width == b.Width:
		res.Relation = Identical
	case allB && (!allA || a2.Rows >= b2.Rows):
		res.Relation = Contains
		res.At = bHas
	case allA:
		res.Relation = Contained
		for _, m := range res.Rows {
			res.At = append(res.At, m.B)
		}
	case anyShared || near:
		res.Relation = Overlap
	default:
		res.Relation = Unrelated
	}
	return res
}

func norm(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v * v
	}
	return math.Sqrt(s)
}

// clipLOnly views an SDXL item (clip_l|clip_g rows) beside an SD1 item of
// the clip_l width as two items of that width.
func clipLOnly(a, b *Item) (*Item, *Item, bool) {
	cut := func(sdxl *Item) *Item {
		out := &Item{Path: sdxl.Path, Rows: sdxl.Rows, Width: sdxl.Split, Prec: sdxl.Prec}
		for r := 0; r < sdxl.Rows; r++ {
			out.Vals = append(out.Vals, sdxl.Row(r)[:sdxl.Split]...)
		}
		return out
	}
	switch {
	case a.Split > 0 && b.Split == 0 && a.Split == b.Width:
		return cut(a), b, true
	case b.Split > 0 && a.Split == 0 && b.Split == a.Width:
		return a, cut(b), true
	}
	return a, b, false
}
