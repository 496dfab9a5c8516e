package vocab

import (
	"fmt"
	"math"

	"github.com/embtool/embtool/pkg/tensor"
)

// BridgeK is the default number of nearest CLIP-L tokens a bridged
// clip_g vector mixes.
const BridgeK = 8

// BridgeRecipe says, in words, how Bridge computes clip_g.
const BridgeRecipe = "clip_g = Σ w_i·G_i over the K CLIP-L tokens i nearest the clip_l vector v by cosine (ties to the lower id), " +
	"w_i = max(cos_i, 0)/Σ max(cos_j, 0) (1/K each if no cosine is positive), " +
	"then scaled so |clip_g|/mean|G| = |v|/mean|L| (the same strength relative to a word); computed in float64"

// Bridge computes an approximate clip_g vector for the clip_l vector v
// from the CLIP-L (l) and CLIP-G (g) token matrices of one SDXL model,
// which share one vocabulary (BridgeRecipe). It returns the vector and
// the tokens mixed. A zero v gives a zero vector.
func Bridge(l, g *Matrix, v []float32, k int) ([]float32, []Hit, error) {
	if l.Rows != g.Rows {
		return nil, nil, fmt.Errorf("the CLIP-L matrix has %d tokens and the CLIP-G matrix %d: not one vocabulary", l.Rows, g.Rows)
	}
	if len(v) != l.Width {
		return nil, nil, fmt.Errorf("a %d-wide vector for the %d-wide CLIP-L matrix", len(v), l.Width)
	}
	if k < 1 {
		return nil, nil, fmt.Errorf("K must be at least 1")
	}
	out := make([]float32, g.Width)
	nv := tensor.Norm(v)
	if nv == 0 {
		return out, nil, nil
	}
	hits := l.Nearest(v, k)
	w := make([]float64, len(hits))
	var sum float64
	for i, h := range hits {
		w[i] = max(h.Cos, 0)
		sum += w[i]
	}
	for i := range w {
		if sum > 0 {
			w[i] /= sum
		} else {
			w[i] = 1 / float64(len(w))
		}
	}
	mix := make([]float64, g.Width)
	for i, h := range hits {
		for d, x := range g.Row(h.ID) {
			mix[d] += w[i] * float64(x)
		}
	}
	var nm float64
	for _, x := range mix {
		nm += x * x
	}
	nm = math.Sqrt(nm)
	if nm == 0 {
		return out, hits, nil
	}
	scale := nv / l.MeanNorm() * g.MeanNorm() / nm
	for d, x := range mix {
		out[d] = float32(x * scale)
	}
	return out, hits, nil
}
