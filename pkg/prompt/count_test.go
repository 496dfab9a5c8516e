package prompt

import (
	"strings"
	"testing"
)

func testDB(t *testing.T, named map[string]int) *DB {
	t.Helper()
	db := NewDB(nil)
	for name, n := range named {
		if err := db.Register(Embedding{Name: name, Vectors: n, Path: name + ".pt"}); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

func chunkSizes(r *Result) []int {
	var s []int
	for _, c := range r.Chunks {
		s = append(s, len(c.Slots))
	}
	return s
}

func TestCountPlain(t *testing.T) {
	// "cat" is one token; 80 of them: 75 + 5.
	r, err := Count(strings.Repeat("cat ", 80), nil, Options{CommaBacktrack: DefaultCommaBacktrack})
	if err != nil {
		t.Fatal(err)
	}
	if r.Tokens != 80 || r.A1111Count != 80 || len(r.Chunks) != 2 || r.Chunks[1].Padding != 70 {
		t.Fatalf("tokens %d, A1111 %d, chunks %v", r.Tokens, r.A1111Count, chunkSizes(r))
	}
	// The empty prompt is one empty chunk.
	r, _ = Count("", nil, Options{})
	if r.Tokens != 0 || r.A1111Count != 0 || len(r.Chunks) != 1 || r.Chunks[0].Padding != 75 {
		t.Fatalf("empty: %+v", r)
	}
}

func TestCountBreak(t *testing.T) {
	r, _ := Count("a BREAK b", nil, Options{})
	// BREAK closes the first chunk: A1111's counter says 75 + 1.
	if r.Tokens != 2 || r.A1111Count != 76 || len(r.Chunks) != 2 {
		t.Fatalf("tokens %d, A1111 %d, chunks %v", r.Tokens, r.A1111Count, chunkSizes(r))
	}
	// Inside parentheses BREAK is a word.
	r, _ = Count("(a BREAK b)", nil, Options{})
	if r.Tokens != 3 || len(r.Chunks) != 1 {
		t.Fatalf("(a BREAK b): tokens %d, chunks %v", r.Tokens, chunkSizes(r))
	}
}

func TestCountCommaBacktrack(t *testing.T) {
	// 70 words, a comma (71 slots), 10 more words. When the chunk is full
	// (75) at the 76th token, the last comma is at slot 70, 5 slots back
	// (≤ 20): the 4 words after it move to the next chunk.
	p := strings.Repeat("cat ", 70) + ", " + strings.Repeat("dog ", 10)
	r, _ := Count(p, nil, Options{CommaBacktrack: 20})
	if got := chunkSizes(r); len(got) != 2 || got[0] != 71 || got[1] != 10 || r.Tokens != 81 || r.A1111Count != 85 {
		t.Fatalf("backtrack 20: chunks %v, tokens %d, A1111 %d", got, r.Tokens, r.A1111Count)
	}
	r, _ = Count(p, nil, Options{CommaBacktrack: 0})
	if got := chunkSizes(r); got[0] != 75 || got[1] != 6 || r.A1111Count != 81 {
		t.Fatalf("backtrack 0: chunks %v, A1111 %d", got, r.A1111Count)
	}
	// A comma further back than the limit is not used.
	p = strings.Repeat("cat ", 50) + ", " + strings.Repeat("dog ", 30)
	r, _ = Count(p, nil, Options{CommaBacktrack: 20})
	if got := chunkSizes(r); got[0] != 75 {
		t.Fatalf("far comma: chunks %v", got)
	}
}

// The example, counted by hand from A1111's rules: the pieces
// "EasyNegative, " (1.0), "worst quality" (1.4), ", badhandv4" (1.0);
// EasyNegative (8 vectors) + "," + "worst" "quality" + "," + badhandv4
// (6 vectors) = 8 + 1 + 2 + 1 + 6 = 18.
func TestCountEmbeddings(t *testing.T) {
	db := testDB(t, map[string]int{"EasyNegative": 8, "badhandv4": 6})
	r, err := Count("EasyNegative, (worst quality:1.4), badhandv4", db, Options{CommaBacktrack: 20})
	if err != nil {
		t.Fatal(err)
	}
	if r.Tokens != 18 || r.A1111Count != 18 || len(r.Used) != 2 || r.Used[0].Name != "EasyNegative" {
		t.Fatalf("tokens %d, A1111 %d, used %v", r.Tokens, r.A1111Count, r.Used)
	}
	if s := r.Chunks[0].Slots; s[9].Weight != 1.4 || s[9].Embedding != nil || s[0].Embedding == nil {
		t.Fatalf("slots %+v", s[:10])
	}
	// Matching is by token ids: case does not matter.
	r, _ = Count("easynegative", db, Options{})
	if r.Tokens != 8 {
		t.Fatalf("easynegative: %d tokens", r.Tokens)
	}
}

func TestLongestNameFirst(t *testing.T) {
	db := testDB(t, map[string]int{"bad-artist": 1, "bad-artist-anime": 2})
	r, _ := Count("bad-artist-anime, bad-artist", db, Options{})
	if len(r.Used) != 2 || r.Used[0].Name != "bad-artist-anime" || r.Used[1].Name != "bad-artist" || r.Tokens != 2+1+1 {
		t.Fatalf("used %v, tokens %d", r.Used, r.Tokens)
	}
}

func TestEmbeddingDoesNotSplit(t *testing.T) {
	db := testDB(t, map[string]int{"EasyNegative": 8})
	r, _ := Count(strings.Repeat("cat ", 70)+"EasyNegative", db, Options{})
	if got := chunkSizes(r); len(got) != 2 || got[0] != 70 || got[1] != 8 || r.Tokens != 78 || r.A1111Count != 83 {
		t.Fatalf("chunks %v, tokens %d, A1111 %d", got, r.Tokens, r.A1111Count)
	}
}

func TestReplaceSameName(t *testing.T) {
	db := NewDB(nil)
	db.Register(Embedding{Name: "EasyNegative", Vectors: 8, Path: "a/EasyNegative.pt"})
	db.Register(Embedding{Name: "EasyNegative", Vectors: 16, Path: "b/EasyNegative.safetensors"})
	r, _ := Count("EasyNegative", db, Options{})
	if r.Tokens != 16 || db.Len() != 1 || len(db.Replaced) != 1 {
		t.Fatalf("tokens %d, len %d, replaced %v", r.Tokens, db.Len(), db.Replaced)
	}
	if err := db.Register(Embedding{Name: " ", Vectors: 1}); err == nil {
		t.Error("a name without tokens registered")
	}
}

func TestComfyEmbeddingSyntax(t *testing.T) {
	known := map[string]*Embedding{"EasyNegative": {Name: "EasyNegative", Vectors: 8}}
	opts := Options{Resolve: func(n string) (*Embedding, bool) { e, ok := known[n]; return e, ok }}
	// "embedding:" takes no tokens; the trailing comma is text again.
	r, err := Count("embedding:EasyNegative, cat", nil, opts)
	if err != nil || r.Tokens != 8+1+1 || len(r.Used) != 1 {
		t.Fatalf("tokens %d, used %v, %v", r.Tokens, r.Used, err)
	}
	// Unknown: counted as text ("embed" "ding" ":" "nope", ids 19703 796
	// 281 15625 from simple_tokenizer.py), with a warning.
	r, _ = Count("embedding:nope", nil, opts)
	if r.Tokens != 4 || len(r.Warnings) != 1 {
		t.Fatalf("tokens %d, warnings %v", r.Tokens, r.Warnings)
	}
	// Not at a word start: text.
	r, _ = Count("xembedding:EasyNegative", nil, opts)
	if len(r.Used) != 0 {
		t.Fatalf("used %v", r.Used)
	}
}

func TestExtraNetworksRemoved(t *testing.T) {
	r, _ := Count("<lora:add_detail:0.8>, cat", nil, Options{})
	if r.Tokens != 2 || len(r.Warnings) != 1 {
		t.Fatalf("tokens %d, warnings %v", r.Tokens, r.Warnings)
	}
}
