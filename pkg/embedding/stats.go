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

// statsOf reads a float tensor row by row.
func statsOf(t *tensor.Tensor) vectorStats {
	n, w := t.Rows()
	st := vectorStats{norms: make([]float64, n)}
	es := t.DType.Size()
	if w == 0 || es == 0 || len(t.Data) != n*w*es || !t.DType.IsFloat() {
		return st
	}
	at := elementReader(t.DType)
	for r := 0; r < n; r++ {
		row := t.Data[r*w*es : (r+1)*w*es]
		var sum float64
		nonzero := false
		if t.DType == tensor.F32 && fastRowF32(row, &sum) {
			// The common case, finite and not all zero, without a call
			// per element.
			st.norms[r] = math.Sqrt(sum)
			continue
		}
		sum = 0
		for i := 0; i < w; i++ {
			x := at(row, i)
			switch {
			case x == 0:
				continue
			case x != x:
				st.nan++
			case math.IsInf(x, 0):
				st.inf++
			}
			nonzero = true
			sum += x * x
		}
		if !nonzero {
			st.zeroRows = append(st.zeroRows, r)
		}
		if math.IsInf(sum, 0) || (sum != 0 && sum < 0x1p-900) {
			// Overflow or deep underflow of the plain sum: the scaled
			// algorithm gives the exact-as-possible norm.
			vals := make([]float64, w)
			for i := range vals {
				vals[i] = at(row, i)
			}
			st.norms[r] = tensor.Norm64(vals)
			continue
		}
		st.norms[r] = math.Sqrt(sum)
	}
	return st
}

// fastRowF32 sums the squares of an F32 row in float64 and reports true
// when every value was finite, the row not all zero and the sum in range;
// otherwise the caller takes the general path.
func fastRowF32(row []byte, sum *float64) bool {
	var s float64
	var or uint32
	for len(row) >= 4 {
		b := binary.LittleEndian.Uint32(row)
		if b&0x7f800000 == 0x7f800000 {
			return false // NaN or Inf
		}
		or |= b &^ 0x80000000
		x := float64(math.Float32frombits(b))
		s += x * x
		row = row[4:]
	}
	*sum = s
	return or != 0 && !math.IsInf(s, 0) && s >= 0x1p-900
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
		out = append(out, fmt.Sprintf("%s: %d NaN and %d infinite values: the embedding will produce garbage", v.Key, st.nan, st.inf))
	}
	if len(st.zeroRows) > 0 {
		zero := make([]string, len(st.zeroRows))
		for i, r := range st.zeroRows {
			zero[i] = fmt.Sprint(r)
		}
		out = append(out, fmt.Sprintf("%s: all-zero vectors %s", v.Key, listSome(zero, 8)))
	}
	// Identical rows, bit for bit: each repeat names the first row it equals.
	t := v.Tensor
	n, _ := t.Rows()
	if n < 2 || len(t.Data)%n != 0 {
		return out
	}
	rowBytes := len(t.Data) / n
	row := func(i int) []byte { return t.Data[i*rowBytes : (i+1)*rowBytes] }
	// Group rows by their first 16 bytes, and compare whole rows only
	// within a group: most embeddings have no repeats, and hashing every
	// row in full would cost as much as reading the file again.
	var key [16]byte
	groups := map[[16]byte][]int{}
	var dups []string
	for i := 0; i < n; i++ {
		copy(key[:], row(i))
		first := -1
		for _, j := range groups[key] {
			if bytes.Equal(row(j), row(i)) {
				first = j
				break
			}
		}
		if first >= 0 {
			dups = append(dups, fmt.Sprintf("%d=%d", i, first))
			continue
		}
		groups[key] = append(groups[key], i)
	}
	if len(dups) > 0 {
		out = append(out, fmt.Sprintf("%s: identical vectors %s", v.Key, listSome(dups, 8)))
	}
	return out
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
