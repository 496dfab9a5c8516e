package embplot

import (
	"math"
	"strconv"
)

// tick is a position on an axis and its label.
type tick struct {
	v     float64
	label string
}

// niceTicks are about n round values (steps of 1, 2, 2.5 or 5 times a
// power of ten) from lo to hi. lo < hi, both finite.
func niceTicks(lo, hi float64, n int) []tick {
	if !(hi > lo) || math.IsInf(hi-lo, 0) {
		return []tick{{lo, fmtTick(lo, 1)}}
	}
	raw := (hi - lo) / float64(max(n, 1))
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * mag
	for _, m := range []float64{1, 2, 2.5, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var ts []tick
	for k := math.Ceil(lo/step - 1e-9); k*step <= hi+step*1e-9 && len(ts) < 2*n+2; k++ {
		v := k * step
		if v == 0 {
			v = 0 // no "-0"
		}
		ts = append(ts, tick{v, fmtTick(v, step)})
	}
	return ts
}

// fmtTick writes v with as many decimals as the step needs.
func fmtTick(v, step float64) string {
	if a := math.Abs(v); a != 0 && (a >= 1e6 || a < 1e-4) {
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
	for dec := 0; dec < 8; dec++ {
		p := math.Pow(10, float64(dec))
		if math.Abs(math.Round(step*p)-step*p) < 1e-6*step*p {
			return strconv.FormatFloat(v, 'f', dec, 64)
		}
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}
