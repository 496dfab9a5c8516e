package embedding

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/embtool/embtool/pkg/tensor"
)

// TestInspectMergeNormsAgree holds inspect's norms (statsOf) and the norm
// merge --norm rescales by (normalise) to the same bits on 1000 random
// rows: before issue 10 they came from two routines that disagreed in the
// last bit on 821 of 1000 rows.
func TestInspectMergeNormsAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(10, 1000))
	const rows, width = 1000, 768
	vals := make([]float32, rows*width)
	for i := range vals {
		vals[i] = float32(r.NormFloat64() * 0.02 * float64(1+i/width%7))
	}
	for _, dt := range []tensor.DType{tensor.F32, tensor.F16, tensor.BF16} {
		tn, err := tensor.FromFloat32s(dt, []int{rows, width}, vals)
		if err != nil {
			t.Fatal(err)
		}
		stored, err := tn.Float32s() // the values after rounding to dt
		if err != nil {
			t.Fatal(err)
		}
		inspect := statsOf(tn).norms
		c := component{width: width, rows: rows, vals: append([]float32(nil), stored...)}
		const target = 0.4
		normalise(&c, target)
		for i := 0; i < rows; i++ {
			row := stored[i*width : (i+1)*width]
			n := tensor.Norm(row)
			if math.Float64bits(inspect[i]) != math.Float64bits(n) {
				t.Fatalf("%s row %d: inspect's norm %v, merge's %v", dt, i, inspect[i], n)
			}
			f := target / inspect[i]
			for j, v := range row {
				if want := float32(float64(v) * f); c.vals[i*width+j] != want {
					t.Fatalf("%s row %d: merge --norm scaled element %d to %v, inspect's norm gives %v", dt, i, j, c.vals[i*width+j], want)
				}
			}
		}
	}
}
