package embplot

import (
	"reflect"
	"testing"
)

func TestNiceTicks(t *testing.T) {
	labels := func(ts []tick) []string {
		var s []string
		for _, x := range ts {
			s = append(s, x.label)
		}
		return s
	}
	for _, c := range []struct {
		lo, hi float64
		n      int
		want   []string
	}{
		{0, 767, 8, []string{"0", "100", "200", "300", "400", "500", "600", "700"}},
		{0, 4.9, 5, []string{"0", "1", "2", "3", "4"}},
		{0, 1, 4, []string{"0.00", "0.25", "0.50", "0.75", "1.00"}},
		{-1, 1, 4, []string{"-1.0", "-0.5", "0.0", "0.5", "1.0"}},
		{0, 3e7, 3, []string{"0", "1e+07", "2e+07", "3e+07"}},
		{2, 2, 5, []string{"2"}},
	} {
		if got := labels(niceTicks(c.lo, c.hi, c.n)); !reflect.DeepEqual(got, c.want) {
			t.Errorf("niceTicks(%g, %g, %d) = %q, want %q", c.lo, c.hi, c.n, got, c.want)
		}
	}
}

func TestFmtValue(t *testing.T) {
	for v, want := range map[float64]string{0.35: "0.350", 1e308: "1e+308", 0.0001234: "0.000123", 0: "0.000", 12.5: "12.500"} {
		if got := fmtValue(v); got != want {
			t.Errorf("fmtValue(%g) = %q, want %q", v, got, want)
		}
	}
}
