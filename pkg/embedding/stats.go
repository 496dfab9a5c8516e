package embedding

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/embtool/embtool/pkg/tensor"
)

// Keys of safetensors __metadata__ that carry the A1111 fields, written by
// convert and read back by fromSafetensors.
const (
	MetaName           = "name"
	MetaStep           = "step"
	MetaCheckpoint     = "sd_checkpoint"
	MetaCheckpointName = "sd_checkpoint_name"
)

// vectorStats are the facts inspect reports about one tensor, from one
// pass over its stored bytes (no float64 copy of the tensor).
type vectorStats struct {
	norms    []float64 // per row, computed in float64
	nan, inf int
	zeroRows []int
}

// statsOf reads a float tensor row by row. The norms are tensor.Norm's
// (tensor.Norm64's for F64), the one norm routine merge --norm uses too,
// so inspect and merge agree bit for bit. Rows are widened (exactly) four
// at a time into one reused buffer and their norms taken by tensor.Norm4,
// which gives each row Norm's bits while working on four sums at once.
//
// The sum of squares also tells the rest, for 16- and 32-bit floats: the
// square of such a value widened to float64 is exact and nonzero unless
// the value is zero, and no sum of them overflows. So a row's norm is 0
// only when every value in it is zero, and it is finite unless the row
// holds a NaN or an infinity, which are then counted value by value.
func statsOf(t *tensor.Tensor) vectorStats {
	n, w := t.Rows()
	es := t.DType.Size()
	if n == 0 || w == 0 || es == 0 || len(t.Data) != n*w*es || !t.DType.IsFloat() {
		// No values to take norms of (a shape such as [2^40, 0] holds
		// none, in a 93-byte file): no norms, rather than one per row.
		return vectorStats{}
	}
	st := vectorStats{norms: make([]float64, n)}
	if t.DType == tensor.F64 {
		statsOf64(t, n, w, &st)
		return st
	}
	// Up to four rows at a time, never more rows than the tensor has:
	// the buffer holds at most two float32 per stored byte of F16 data.
	const group = 4
	g := min(group, n)
	// A buffer kept between calls (not a 20 KB array on the stack, which
	// the garbage collector shrinks and the next call grows again).
	p := rowBuffers.Get().(*[]float32)
	defer rowBuffers.Put(p)
	if cap(*p) < g*w {
		*p = make([]float32, g*w)
	}
	var rows [group][]float32
	for i := range g {
		rows[i] = (*p)[i*w : (i+1)*w]
	}
	rowBytes := w * es
	for r := 0; r < n; r += group {
		k := min(group, n-r) // the last group may be short: its last row stands in for the rest
		for i := 0; i < k; i++ {
			tensor.DecodeFloat32s(rows[i], t.Data[(r+i)*rowBytes:(r+i+1)*rowBytes], t.DType)
		}
		a, b, c, d := tensor.Norm4(rows[0], rows[min(1, k-1)], rows[min(2, k-1)], rows[min(3, k-1)])
		copy(st.norms[r:r+k], []float64{a, b, c, d}[:k])
		for i := 0; i < k; i++ {
			switch x := st.norms[r+i]; {
			case x == 0:
				st.zeroRows = append(st.zeroRows, r+i)
			case x != x || math.IsInf(x, 0):
				for _, v := range rows[i] {
					st.count(float64(v))
				}
			}
		}
	}
	return st
}

// rowBuffers holds statsOf's row buffers.
var rowBuffers = sync.Pool{New: func() any { return new([]float32) }}

// statsOf64 is statsOf for float64 rows, whose squares can underflow to
// zero or overflow: every value is looked at.
func statsOf64(t *tensor.Tensor, n, w int, st *vectorStats) {
	row := make([]float64, w)
	for r := 0; r < n; r++ {
		b := t.Data[r*w*8 : (r+1)*w*8]
		nonzero := false
		for i := range row {
			x := math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
			row[i] = x
			if x != 0 {
				nonzero = true
				st.count(x)
			}
		}
		if !nonzero {
			st.zeroRows = append(st.zeroRows, r)
		}
		st.norms[r] = tensor.Norm64(row)
	}
}

// count tallies a nonzero value that is NaN or infinite.
func (st *vectorStats) count(x float64) {
	switch {
	case x != x:
		st.nan++
	case math.IsInf(x, 0):
		st.inf++
	}
}

// Norms returns the L2 norm of each vector (row) of a float tensor,
// computed in float64 from the stored values.
func Norms(t *tensor.Tensor) []float64 { return statsOf(t).norms }

// VectorNorms returns the per-row norms of e.Vectors[i], computed once
// when the file was read.
func (e *Embedding) VectorNorms(i int) []float64 {
	if i < len(e.stats) {
		return e.stats[i].norms
	}
	return Norms(e.Vectors[i].Tensor)
}

// RowNorms returns the per-vector norms of the embedding: for SDXL the
// norm of each concatenated clip_l|clip_g row.
func (e *Embedding) RowNorms() []float64 {
	if len(e.Vectors) == 0 {
		return nil
	}
	out := make([]float64, e.Count)
	for i := range e.Vectors {
		for r, x := range e.VectorNorms(i) {
			if r < len(out) {
				out[r] += x * x
			}
		}
	}
	for i := range out {
		out[i] = math.Sqrt(out[i])
	}
	return out
}

// valueWarnings reports non-finite values, all-zero vectors and vectors
// that repeat one another, which usually mean a broken training run or a
// careless merge.
func valueWarnings(v Named, st vectorStats) []string {
	var out []string
	if st.nan+st.inf > 0 {
		out = append(out, fmt.Sprintf("%s%d NaN and %d infinite values: the embedding will produce garbage", place(v.Key), st.nan, st.inf))
	}
	if len(st.zeroRows) > 0 {
		zero := make([]string, len(st.zeroRows))
		for i, r := range st.zeroRows {
			zero[i] = fmt.Sprint(r)
		}
		if len(zero) == 1 {
			out = append(out, fmt.Sprintf("%svector %s is all zero", place(v.Key), zero[0]))
		} else {
			out = append(out, fmt.Sprintf("%svectors %s are all zero", place(v.Key), andList(zero, 8)))
		}
	}
	// Identical rows, bit for bit, grouped: "vectors 1 and 4 are
	// identical; vectors 2, 5 and 9 are identical". All-zero rows are
	// reported above, not again as repeats of one another.
	t := v.Tensor
	n, _ := t.Rows()
	if n < 2 || len(t.Data) < n || len(t.Data)%n != 0 {
		return out // fewer bytes than rows: rows of no values
	}
	if groups := repeatedRows(t.Data, n, st.zeroRows); len(groups) > 0 {
		var phrases []string
		for _, g := range groups {
			if len(g) == n && n > 2 {
				phrases = append(phrases, fmt.Sprintf("all %d vectors are identical", n))
				continue
			}
			idx := make([]string, len(g))
			for i, r := range g {
				idx[i] = fmt.Sprint(r)
			}
			phrases = append(phrases, "vectors "+andList(idx, 6)+" are identical")
		}
		out = append(out, place(v.Key)+strings.Join(phrases[:min(len(phrases), 4)], "; ")+moreGroups(len(phrases)-4))
	}
	return out
}

// repeatedRows groups the rows of data (n rows of equal length) that are
// identical bit for bit, leaving out the rows in zeroRows (sorted): each
// group in row order, the groups in the order of their second row (where
// a reader going down the rows meets the repeat). The rows are sorted by
// their first eight bytes, and only a run of rows that share them is
// sorted by its whole rows, so equal rows end up side by side: O(n log n)
// comparisons however many rows share a prefix, and for the usual
// embedding (no repeats) one sort of integers.
func repeatedRows(data []byte, n int, zeroRows []int) [][]int {
	rowBytes := len(data) / n
	row := func(i int) []byte { return data[i*rowBytes : (i+1)*rowBytes] }
	type keyed struct {
		key uint64 // the row's first (up to) eight bytes
		i   int
	}
	rows := make([]keyed, 0, n)
	var k [8]byte
	for i := 0; i < n; i++ {
		if _, zero := slices.BinarySearch(zeroRows, i); !zero {
			copy(k[:], row(i))
			rows = append(rows, keyed{binary.BigEndian.Uint64(k[:]), i})
		}
	}
	slices.SortFunc(rows, func(a, b keyed) int {
		if a.key != b.key {
			return cmp.Compare(a.key, b.key)
		}
		return a.i - b.i
	})
	var groups [][]int
	for lo := 0; lo < len(rows); {
		hi := lo + 1
		for hi < len(rows) && rows[hi].key == rows[lo].key {
			hi++
		}
		if hi-lo > 1 {
			run := make([]int, hi-lo)
			for j := range run {
				run[j] = rows[lo+j].i
			}
			slices.SortFunc(run, func(a, b int) int {
				if c := bytes.Compare(row(a), row(b)); c != 0 {
					return c
				}
				return a - b
			})
			for a := 0; a < len(run); {
				b := a + 1
				for b < len(run) && bytes.Equal(row(run[b]), row(run[a])) {
					b++
				}
				if b-a > 1 {
					groups = append(groups, run[a:b:b])
				}
				a = b
			}
		}
		lo = hi
	}
	slices.SortFunc(groups, func(a, b []int) int { return a[1] - b[1] })
	return groups
}

// andList is "1 and 4", "2, 5 and 9", or "2, 5, 9 … and 12 more".
func andList(items []string, n int) string {
	if len(items) > n {
		return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
	}
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

func moreGroups(n int) string {
	if n <= 0 {
		return ""
	}
	return fmt.Sprintf("; and %d more groups", n)
}

// Checksum is A1111's legacy 4-hex embedding checksum (formats.md §5.3):
// const_hash over the float32 values × 100, row-major. It is undefined for
// SDXL embeddings and for non-finite values; ok is false then.
func (e *Embedding) Checksum() (string, bool) {
	if len(e.Vectors) != 1 || e.Layout == LayoutOther {
		return "", false
	}
	t := e.Vectors[0].Tensor
	es := t.DType.Size()
	if !t.DType.IsFloat() || es == 0 {
		return "", false
	}
	r, ok := constHash(t.DType, t.Data)
	if !ok {
		return "", false
	}
	return fmt.Sprintf("%04x", r&0xffff), true
}

// listSome joins the first n items and says how many more there are.
func listSome(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}

// place names where a vector warning applies in the user's words: the
// encoder of an SDXL embedding, nothing for a single-tensor layout (whose
// key, emb_params or "*", is an internal name).
func place(key string) string {
	if key == KeyClipL || key == KeyClipG {
		return key + ": "
	}
	return ""
}
