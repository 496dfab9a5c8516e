package embplot

import "testing"

func TestCommonWidth(t *testing.T) {
	rows := func(n int) [][]float64 { return make([][]float64, n) }
	for _, c := range []struct {
		ss   []Series
		want int
	}{
		{[]Series{{Width: 1024, Rows: rows(4)}, {Width: 768, Rows: rows(2)}, {Width: 768, Rows: rows(3)}}, 768},
		{[]Series{{Width: 1024, Rows: rows(2)}, {Width: 768, Rows: rows(2)}}, 1024},
		{[]Series{{Width: 5}, {Width: 768, Rows: rows(1)}}, 768},
	} {
		if got := commonWidth(c.ss); got != c.want {
			t.Errorf("commonWidth = %d, want %d", got, c.want)
		}
	}
}
