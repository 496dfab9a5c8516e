package embedding

import (
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

// Norms returns the L2 norm of each vector (row) of a float tensor,
// computed in float64 from the stored values.
func Norms(t *tensor.Tensor) []float64 {
	vals, err := t.Float64s()
	if err != nil {
		return nil
	}
	n, w := t.Rows()
	out := make([]float64, n)
	if w == 0 {
		return out
	}
	for i := range out {
		out[i] = tensor.Norm64(vals[i*w : (i+1)*w])
	}
	return out
}

// RowNorms returns the per-vector norms of the embedding: for SDXL the
// norm of each concatenated clip_l|clip_g row.
func (e *Embedding) RowNorms() []float64 {
	if len(e.Vectors) == 0 {
		return nil
	}
	out := make([]float64, e.Count)
	for _, v := range e.Vectors {
		for i, x := range Norms(v.Tensor) {
			if i < len(out) {
				out[i] += x * x
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
// careless merge. One pass over the values, one over the rows' bytes.
func valueWarnings(v Named) []string {
	var out []string
	t := v.Tensor
	n, w := t.Rows()
	vals, err := t.Float64s()
	if err != nil || n == 0 || w == 0 {
		return out
	}
	nan, inf := 0, 0
	var zero []string
	for i := 0; i < n; i++ {
		allZero := true
		for _, x := range vals[i*w : (i+1)*w] {
			switch {
			case x == 0:
				continue
			case x != x:
				nan++
			case math.IsInf(x, 0):
				inf++
			}
			allZero = false
		}
		if allZero {
			zero = append(zero, fmt.Sprint(i))
		}
	}
	if nan+inf > 0 {
		out = append(out, fmt.Sprintf("%s: %d NaN and %d infinite values: the embedding will produce garbage", v.Key, nan, inf))
	}
	if len(zero) > 0 {
		out = append(out, fmt.Sprintf("%s: all-zero vectors %s", v.Key, listSome(zero, 8)))
	}
	// Identical rows, bit for bit: each repeat names the first row it equals.
	rowBytes := len(t.Data) / n
	seen := map[string]int{}
	var dups []string
	for i := 0; i < n; i++ {
		row := t.Data[i*rowBytes : (i+1)*rowBytes]
		if j, ok := seen[string(row)]; ok { // no allocation for the lookup
			dups = append(dups, fmt.Sprintf("%d=%d", i, j))
			continue
		}
		seen[string(row)] = i
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
	if len(e.Vectors) != 1 {
		return "", false
	}
	vals, err := e.Vectors[0].Tensor.Float32s()
	if err != nil {
		return "", false
	}
	var r int64
	for _, v := range vals {
		x := v * 100 // float32 multiply, as torch does
		if math.IsNaN(float64(x)) || math.Abs(float64(x)) > 1e15 {
			// Python raises on NaN/Inf; beyond 1e15 the products would
			// need Python's unbounded ints. No real embedding comes near.
			return "", false
		}
		iv := int64(x) // truncates toward zero, as Python's int()
		r = ((r * 281) ^ (iv * 997)) & 0xFFFFFFFF
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
