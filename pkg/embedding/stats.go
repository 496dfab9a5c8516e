package embedding

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"strings"

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
// so inspect and merge agree bit for bit; each row is widened (exactly)
// into one reused buffer.
func statsOf(t *tensor.Tensor) vectorStats {
	n, w := t.Rows()
	st := vectorStats{norms: make([]float64, n)}
	es := t.DType.Size()
	if w == 0 || es == 0 || len(t.Data) != n*w*es || !t.DType.IsFloat() {
		return st
	}
	at := elementReader(t.DType)
	var row32 []float32
	var row64 []float64
	var stack [2048]float32 // every embedding row (768, 1024, 1280) without a heap allocation
	switch {
	case t.DType == tensor.F64:
		row64 = make([]float64, w)
	case w <= len(stack):
		row32 = stack[:w]
	default:
		row32 = make([]float32, w)
	}
	for r := 0; r < n; r++ {
		row := t.Data[r*w*es : (r+1)*w*es]
		nonzero := false
		if row64 != nil {
			for i := range row64 {
				row64[i] = at(row, i)
			}
			for _, x := range row64 {
				if x != 0 {
					nonzero = true
					st.count(x)
				}
			}
		} else {
			if t.DType == tensor.F32 {
				for i := range row32 {
					row32[i] = math.Float32frombits(binary.LittleEndian.Uint32(row[4*i:]))
				}
			} else {
				for i := range row32 {
					row32[i] = float32(at(row, i)) // exact: widened from F16 or BF16
				}
			}
			for _, x := range row32 {
				if x != 0 {
					nonzero = true
					st.count(float64(x))
				}
			}
		}
		if !nonzero {
			st.zeroRows = append(st.zeroRows, r)
		}
		if row64 != nil {
			st.norms[r] = tensor.Norm64(row64)
		} else {
			st.norms[r] = tensor.Norm(row32)
		}
	}
	return st
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

// elementReader returns a function reading element i of little-endian
// float data of dtype dt, widened exactly to float64.
func elementReader(dt tensor.DType) func(b []byte, i int) float64 {
	switch dt {
	case tensor.F64:
		return func(b []byte, i int) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])) }
	case tensor.F32:
		return func(b []byte, i int) float64 {
			return float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
		}
	case tensor.F16:
		return func(b []byte, i int) float64 { return float64(tensor.F16ToF32(binary.LittleEndian.Uint16(b[2*i:]))) }
	default: // BF16
		return func(b []byte, i int) float64 { return float64(tensor.BF16ToF32(binary.LittleEndian.Uint16(b[2*i:]))) }
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
	if n < 2 || len(t.Data)%n != 0 {
		return out
	}
	zero := map[int]bool{}
	for _, r := range st.zeroRows {
		zero[r] = true
	}
	rowBytes := len(t.Data) / n
	row := func(i int) []byte { return t.Data[i*rowBytes : (i+1)*rowBytes] }
	// Group rows by their first 16 bytes, and compare whole rows only
	// within a group: most embeddings have no repeats, and hashing every
	// row in full would cost as much as reading the file again.
	var key [16]byte
	groups := map[[16]byte][]int{}
	same := map[int][]int{} // first row → the rows equal to it, in order
	var firsts []int
	for i := 0; i < n; i++ {
		if zero[i] {
			continue
		}
		copy(key[:], row(i))
		first := -1
		for _, j := range groups[key] {
			if bytes.Equal(row(j), row(i)) {
				first = j
				break
			}
		}
		if first >= 0 {
			if same[first] == nil {
				firsts = append(firsts, first)
			}
			same[first] = append(same[first], i)
			continue
		}
		groups[key] = append(groups[key], i)
	}
	if len(firsts) > 0 {
		var phrases []string
		for _, f := range firsts {
			idx := []string{fmt.Sprint(f)}
			for _, r := range same[f] {
				idx = append(idx, fmt.Sprint(r))
			}
			if len(idx) == n && n > 2 {
				phrases = append(phrases, fmt.Sprintf("all %d vectors are identical", n))
				continue
			}
			phrases = append(phrases, "vectors "+andList(idx, 6)+" are identical")
		}
		out = append(out, place(v.Key)+strings.Join(phrases[:min(len(phrases), 4)], "; ")+moreGroups(len(phrases)-4))
	}
	return out
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
