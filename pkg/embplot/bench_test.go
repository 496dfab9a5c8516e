package embplot

import (
	"io"
	"math"
	"testing"
)

func BenchmarkWritePNG(b *testing.B) {
	a := series("a", 8, 768, func(r, d int) float64 { return math.Sin(float64(r*768 + d)) })
	c := series("c", 2, 768, func(r, d int) float64 { return math.Cos(float64(r*768 + d)) })
	for b.Loop() {
		if err := Write(io.Discard, "png", []Series{a, c}, Options{VocabMean: 1}); err != nil {
			b.Fatal(err)
		}
	}
}
