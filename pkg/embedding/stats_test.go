package embedding

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/embtool/embtool/pkg/tensor"
)

// TestStatsOfMatchesElementwise compares statsOf, which takes four rows at
// a time and reads NaN, infinity and zero rows off the sums of squares,
// with the plain definition: every value looked at, each row's norm by
// tensor.Norm64 of the widened values. Rows of every dtype and of 1 to 9
// vectors (so every remainder of four), with zeros, signed zeros,
// subnormals, NaN and infinities sprinkled in and some rows all zero.
func TestStatsOfMatchesElementwise(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	special := []float64{0, math.Copysign(0, -1), math.NaN(), math.Inf(1), math.Inf(-1), 1e-40, 6e-8}
	for _, dt := range []tensor.DType{tensor.F32, tensor.F16, tensor.BF16, tensor.F64} {
		for _, w := range []int{1, 5, 768, 1280, 2049} {
			for n := 1; n <= 9; n++ {
				es := dt.Size()
				data := make([]byte, n*w*es)
				for r := 0; r < n; r++ {
					zero := rng.IntN(4) == 0
					for i := 0; i < w; i++ {
						x := rng.NormFloat64() * 0.02
						switch {
						case zero:
							x = 0
						case rng.IntN(200) == 0:
							x = special[rng.IntN(len(special))]
						}
						putFloat(data[(r*w+i)*es:], dt, x)
					}
				}
				tt, err := tensor.New(dt, []int{n, w}, data)
				if err != nil {
					t.Fatal(err)
				}
				got := statsOf(tt)
				want := elementwiseStats(tt, n, w)
				if got.nan != want.nan || got.inf != want.inf || !slices.Equal(got.zeroRows, want.zeroRows) {
					t.Fatalf("%s %dx%d: nan %d inf %d zero rows %v, want %d %d %v", dt, n, w, got.nan, got.inf, got.zeroRows, want.nan, want.inf, want.zeroRows)
				}
				for r := range want.norms {
					g, x := got.norms[r], want.norms[r]
					if math.Float64bits(g) != math.Float64bits(x) && !(g != g && x != x) {
						t.Fatalf("%s %dx%d row %d: norm %v, want %v", dt, n, w, r, g, x)
					}
				}
			}
		}
	}
}

func putFloat(b []byte, dt tensor.DType, x float64) {
	switch dt {
	case tensor.F64:
		binary.LittleEndian.PutUint64(b, math.Float64bits(x))
	case tensor.F32:
		binary.LittleEndian.PutUint32(b, math.Float32bits(float32(x)))
	case tensor.F16:
		binary.LittleEndian.PutUint16(b, tensor.F32ToF16(float32(x)))
	default:
		binary.LittleEndian.PutUint16(b, tensor.F32ToBF16(float32(x)))
	}
}

func elementwiseStats(t *tensor.Tensor, n, w int) vectorStats {
	at := elementReader(t.DType)
	st := vectorStats{}
	es := t.DType.Size()
	for r := 0; r < n; r++ {
		row := make([]float64, w)
		nonzero := false
		for i := range row {
			row[i] = at(t.Data[r*w*es:], i)
			if x := row[i]; x != 0 {
				nonzero = true
				if x != x {
					st.nan++
				} else if math.IsInf(x, 0) {
					st.inf++
				}
			}
		}
		if !nonzero {
			st.zeroRows = append(st.zeroRows, r)
		}
		st.norms = append(st.norms, tensor.Norm64(row))
	}
	return st
}

// BenchmarkStatsOf: statsOf over a 75×768 embedding (EasyNegative's
// shape) of each dtype; bytes/s are the stored bytes read.
func BenchmarkStatsOf(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, dt := range []tensor.DType{tensor.F32, tensor.F16} {
		n, w, es := 75, 768, dt.Size()
		data := make([]byte, n*w*es)
		for i := 0; i < n*w; i++ {
			putFloat(data[i*es:], dt, rng.NormFloat64()*0.02)
		}
		tt, err := tensor.New(dt, []int{n, w}, data)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(string(dt), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				statsOf(tt)
			}
		})
	}
}

// TestRepeatedRows holds repeatedRows to the definition, checked pair by
// pair: row j joins the group of the first earlier row i equal to it
// (zero rows left out), groups ordered by their second row. Rows are drawn
// from a few patterns that mostly differ only after their first 8 bytes,
// so prefixes alone do not decide.
func TestRepeatedRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for trial := 0; trial < 500; trial++ {
		n, rowBytes := 1+rng.IntN(12), 32
		patterns := make([][]byte, 1+rng.IntN(4))
		for p := range patterns {
			patterns[p] = make([]byte, rowBytes)
			patterns[p][rng.IntN(32)] = byte(1 + p) // differ anywhere, often after the first 8 bytes
		}
		data := make([]byte, 0, n*rowBytes)
		var zeroRows []int
		for r := 0; r < n; r++ {
			data = append(data, patterns[rng.IntN(len(patterns))]...)
			if rng.IntN(5) == 0 {
				zeroRows = append(zeroRows, r)
			}
		}
		row := func(i int) []byte { return data[i*rowBytes : (i+1)*rowBytes] }
		var want [][]int
		first := map[int]int{} // row → index in want
		for j := 0; j < n; j++ {
			if slices.Contains(zeroRows, j) {
				continue
			}
			for i := 0; i < j; i++ {
				if slices.Contains(zeroRows, i) || string(row(i)) != string(row(j)) {
					continue
				}
				g, ok := first[i]
				if !ok {
					g = len(want)
					first[i] = g
					want = append(want, []int{i})
				}
				want[g] = append(want[g], j)
				break
			}
		}
		got := repeatedRows(data, n, zeroRows)
		if len(got) != len(want) {
			t.Fatalf("trial %d: %v, want %v", trial, got, want)
		}
		for g := range want {
			if !slices.Equal(got[g], want[g]) {
				t.Fatalf("trial %d: %v, want %v", trial, got, want)
			}
		}
	}
}

// TestStatsOfNoValues: shapes that hold no values, whatever their row
// count ([0, 768], [2^40, 0], [2, 0, 768]), give no norms and no
// warnings, without a panic or an allocation per claimed row.
func TestStatsOfNoValues(t *testing.T) {
	for _, shape := range [][]int{{0, 768}, {1 << 40, 0}, {2, 0, 768}, {0}} {
		tt := &tensor.Tensor{DType: tensor.F32, Shape: shape}
		var st vectorStats
		if a := testing.AllocsPerRun(1, func() { st = statsOf(tt) }); a > 2 {
			t.Errorf("%v: %v allocations", shape, a)
		}
		if len(st.norms) != 0 || len(st.zeroRows) != 0 {
			t.Errorf("%v: %d norms, zero rows %v", shape, len(st.norms), st.zeroRows)
		}
		if w := valueWarnings(Named{Key: "x", Tensor: tt}, st); len(w) != 0 {
			t.Errorf("%v: warnings %v", shape, w)
		}
	}
}
