package embplot

import (
	"image/color"
	"math"
	"testing"
)

func TestDiverge(t *testing.T) {
	// The end and middle points are the ones Moreland's paper gives for
	// the cool-warm map: (59,76,192), (221,221,221), (180,4,38); the
	// quarter points are gonum's moreland.SmoothBlueRed at ±0.5.
	for _, c := range []struct {
		t    float64
		want color.RGBA
	}{
		{-1, color.RGBA{59, 76, 192, 255}},
		{0, color.RGBA{221, 221, 221, 255}},
		{1, color.RGBA{180, 4, 38, 255}},
		{-0.5, color.RGBA{141, 176, 254, 255}},
		{0.5, color.RGBA{244, 154, 123, 255}},
		{-7, color.RGBA{59, 76, 192, 255}},
		{math.Inf(1), color.RGBA{180, 4, 38, 255}},
		{math.Inf(-1), color.RGBA{59, 76, 192, 255}},
		{math.NaN(), color.RGBA{0, 0, 0, 255}},
	} {
		if got := diverge(c.t); got != c.want {
			t.Errorf("diverge(%g) = %v, want %v", c.t, got, c.want)
		}
	}
	// Between table entries the colour moves monotonically in red from
	// the grey middle to the red end's peak.
	if a, b := diverge(0.01), diverge(0.02); a.R > b.R {
		t.Errorf("not monotonic: %v %v", a, b)
	}
}
