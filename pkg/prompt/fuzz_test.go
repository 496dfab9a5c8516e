package prompt

import (
	"testing"
)

// FuzzCount: any prompt is counted or refused without panic, and the
// totals agree with the chunks.
func FuzzCount(f *testing.F) {
	for _, s := range []string{"", "EasyNegative, (worst quality:1.4), badhandv4", "a BREAK (b BREAK c)", "((a:1.2) [b] \\(c\\)", "embedding:EasyNegative,, x", "(a:1.2.3)", "<lora:x:1>"} {
		f.Add(s)
	}
	db := NewDB(nil)
	db.Register(Embedding{Name: "EasyNegative", Vectors: 8})
	db.Register(Embedding{Name: "big", Vectors: 100})
	known := map[string]*Embedding{"EasyNegative": {Name: "EasyNegative", Vectors: 8}}
	opts := Options{CommaBacktrack: DefaultCommaBacktrack, Resolve: func(n string) (*Embedding, bool) { e, ok := known[n]; return e, ok }}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Count(s, db, opts)
		if err != nil {
			return
		}
		n := 0
		for _, c := range r.Chunks {
			n += len(c.Slots)
		}
		if n != r.Tokens || len(r.Chunks) == 0 {
			t.Fatalf("tokens %d, slots %d, %d chunks", r.Tokens, n, len(r.Chunks))
		}
		// A1111's counter: 75 per chunk but the last, which counts its
		// slots, or 75 when a BREAK closed it ("0 BREAK" counts 75).
		base := ChunkLength * (len(r.Chunks) - 1)
		last := len(r.Chunks[len(r.Chunks)-1].Slots)
		if r.A1111Count != base+last && r.A1111Count != base+ChunkLength {
			t.Fatalf("A1111 counter %d, chunks of %d", r.A1111Count, last)
		}
	})
}
