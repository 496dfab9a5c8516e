package compare

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/embtool/embtool/internal/testcorpus"
	"github.com/embtool/embtool/pkg/embedding"
	"github.com/embtool/embtool/pkg/tensor"
)

func load(t *testing.T, path string) *Item {
	t.Helper()
	e, _, err := embedding.ReadFile(path, embedding.Options{})
	if err != nil {
		t.Fatal(err)
	}
	it, err := FromEmbedding(filepath.Base(path), e)
	if err != nil {
		t.Fatal(err)
	}
	return it
}

// TestCorpusPairs checks every row against torch's answer
// (testdata/gen/gen_compare_expected.py).
func TestCorpusPairs(t *testing.T) {
	dir := testcorpus.Dir(t)
	raw, err := os.ReadFile("../../testdata/compare/corpus_expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var want []struct {
		A, B string
		Rows []struct {
			A, B       int
			Cos, Ratio float64
			Same       bool
		}
	}
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	relations := map[string]string{
		"FastNegativeV2.pt":    Contains,
		"negative_hand-neg.pt": Contained,
		"EasyNegative.pt":      Identical,
	}
	for _, w := range want {
		p := ComparePair(load(t, filepath.Join(dir, w.A)), load(t, filepath.Join(dir, w.B)))
		if p.Relation != relations[w.A] {
			t.Errorf("%s vs %s: relation %s, want %s", w.A, w.B, p.Relation, relations[w.A])
		}
		if len(p.Rows) != len(w.Rows) {
			t.Fatalf("%s vs %s: %d rows, want %d", w.A, w.B, len(p.Rows), len(w.Rows))
		}
		for i, r := range w.Rows {
			got := p.Rows[i]
			if got.B != r.B || got.Same != r.Same || math.Abs(float64(got.Cos)-r.Cos) > 1e-12 {
				t.Errorf("%s[%d]: got b=%d cos=%v same=%v, torch b=%d cos=%v same=%v", w.A, i, got.B, got.Cos, got.Same, r.B, r.Cos, r.Same)
			}
			if got.Scale != nil && math.Abs(*got.Scale-r.Ratio) > 1e-12 {
				t.Errorf("%s[%d]: scale %v, torch %v", w.A, i, *got.Scale, r.Ratio)
			}
		}
	}
	// The fact, corrected by torch: negative_hand is FastNegativeV2
	// rows 59–66 exactly; rows 50–57 point the same way at 0.9× the norm.
	p := ComparePair(load(t, filepath.Join(dir, "FastNegativeV2.pt")), load(t, filepath.Join(dir, "negative_hand-neg.pt")))
	for j, at := range p.At {
		if at != 59+j {
			t.Errorf("negative_hand[%d] at row %d, want %d", j, at, 59+j)
		}
	}
	for r := 50; r <= 57; r++ {
		if m := p.Rows[r]; m.Same || m.Scale == nil || math.Abs(*m.Scale-0.9) > 1e-6 {
			t.Errorf("row %d: %+v, want a 0.9× copy", r, m)
		}
	}
}

func randomRows(r *rand.Rand, rows, width int) []float64 {
	v := make([]float64, rows*width)
	for i := range v {
		v[i] = float64(float32(r.NormFloat64() * 0.1))
	}
	return v
}

func roundTo(v []float64, dt tensor.DType) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		switch dt {
		case tensor.F16:
			out[i] = float64(tensor.F16ToF32(tensor.F32ToF16(float32(x))))
		case tensor.BF16:
			out[i] = float64(tensor.BF16ToF32(tensor.F32ToBF16(float32(x))))
		}
	}
	return out
}

func TestSameness(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	v := randomRows(r, 3, 768)
	a := New("a", 3, 768, v, P32)
	h := New("h", 3, 768, roundTo(v, tensor.F16), P16)
	b := New("b", 3, 768, roundTo(v, tensor.BF16), PBF16)
	for _, o := range []*Item{h, b} {
		if p := ComparePair(a, o); p.Relation != Identical {
			t.Errorf("F32 vs its %s rounding: %s", p.Precision, p.Relation)
		}
	}
	// One F16 ulp off in one element: no longer the same vector.
	h2 := New("h2", 3, 768, append([]float64(nil), h.Vals...), P16)
	bits := tensor.F32ToF16(float32(h2.Vals[5]))
	h2.Vals[5] = float64(tensor.F16ToF32(bits + 1))
	p := ComparePair(a, h2)
	if p.Relation != Overlap || p.Rows[0].Same || !p.Rows[1].Same {
		t.Errorf("one ulp off: %s %+v", p.Relation, p.Rows[:2])
	}
	// A rescaled copy: same direction, not the same vector.
	s := make([]float64, len(v))
	for i := range v {
		s[i] = v[i] * 2
	}
	p = ComparePair(New("s", 3, 768, s, P32), a)
	if p.Relation != Overlap || p.Rows[0].Scale == nil || math.Abs(*p.Rows[0].Scale-2) > 1e-12 {
		t.Errorf("2× copy: %s %+v", p.Relation, p.Rows[0])
	}
	// Different widths; SDXL beside SD1 compares clip_l.
	if p := ComparePair(a, New("w", 1, 1024, randomRows(r, 1, 1024), P32)); p.Relation != Unrelated || p.Note == "" {
		t.Errorf("different widths: %+v", p)
	}
	x := New("x", 3, 2048, nil, P32)
	x.Split = 768
	for i := 0; i < 3; i++ {
		x.Vals = append(x.Vals, v[i*768:(i+1)*768]...)
		x.Vals = append(x.Vals, randomRows(r, 1, 1280)...)
	}
	if p := ComparePair(x, a); p.Relation != Contains || p.Note == "" {
		t.Errorf("SDXL with SD1 clip_l: %s", p.Relation)
	}
}

func TestGroups(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	v := randomRows(r, 4, 768)
	a := New("a.pt", 4, 768, v, P32)
	a16 := New("a16.safetensors", 4, 768, roundTo(v, tensor.F16), P16)
	part := New("part.pt", 2, 768, append([]float64(nil), v[768:3*768]...), P32)
	other := New("other.pt", 2, 768, randomRows(r, 2, 768), P32)
	zero := New("zero.pt", 1, 768, make([]float64, 768), P32)
	gs := Groups([]*Item{a, a16, part, other, zero})
	var dups, cont int
	for _, g := range gs {
		switch g.Relation {
		case Duplicates:
			dups++
			if len(g.Paths) != 2 || g.Paths[0] != "a.pt" || g.Paths[1] != "a16.safetensors" {
				t.Errorf("duplicates %v", g.Paths)
			}
		case Contains:
			cont++
			if g.B != "part.pt" || g.At[0] != 1 || g.At[1] != 2 {
				t.Errorf("contains %s ⊃ %s at %v", g.A, g.B, g.At)
			}
		}
	}
	if dups != 1 || cont != 2 {
		t.Errorf("%d duplicate groups, %d containments; want 1, 2: %+v", dups, cont, gs)
	}
}

func TestNameClashes(t *testing.T) {
	files := []File{
		{Path: "e/x.pt", Root: "e", Name: "x"},
		{Path: "e/x.safetensors", Root: "e", Name: "x"},
		{Path: "e/sub/x.bin", Root: "e", Name: "x"},
		{Path: "e/a/y.pt", Root: "e", Name: "y"},
		{Path: "e/b/y.pt", Root: "e", Name: "y"},
		{Path: "e/z.png", Root: "e", Name: "w"},
		{Path: "e/w.pt", Root: "e", Name: "w"},
		{Path: "e/only.pt", Root: "e", Name: "only"},
	}
	gs := NameClashes(files)
	if len(gs) != 3 {
		t.Fatalf("%d clashes: %+v", len(gs), gs)
	}
	want := map[string][2]string{
		"x": {"e/sub/x.bin", ""}, // subfolder last in os.walk; ComfyUI: two folders
		"y": {"e/b/y.pt", ""},
		"w": {"e/z.png", "e/w.pt"}, // z.png lists after w.pt; ComfyUI ignores PNGs
	}
	for _, g := range gs {
		w := want[g.Name]
		if g.A1111 != w[0] || g.ComfyUI != w[1] {
			t.Errorf("%s: A1111 %q ComfyUI %q (%s); want %q %q", g.Name, g.A1111, g.ComfyUI, g.Note, w[0], w[1])
		}
	}
	// One folder, two extensions: ComfyUI prefers .safetensors.
	gs = NameClashes(files[:2])
	if gs[0].ComfyUI != "e/x.safetensors" || gs[0].A1111 != "e/x.safetensors" {
		t.Errorf("%+v", gs[0])
	}
}

// BenchmarkGroups1000: a folder of 1000 embeddings of 8×768, with
// duplicates and containments among them.
func BenchmarkGroups1000(b *testing.B) {
	items := synthFolder(1000)
	b.ResetTimer()
	for b.Loop() {
		for _, it := range items {
			it.keys = [numPrecisions][]uint64{}
			it.sets = [numPrecisions]map[uint64][]int{}
		}
		Groups(items)
	}
}

func synthFolder(n int) []*Item {
	r := rand.New(rand.NewPCG(5, 6))
	var items []*Item
	for i := 0; i < n; i++ {
		switch {
		case i%10 == 1: // a duplicate of the previous file, in F16
			p := items[i-1]
			items = append(items, New("dup", p.Rows, 768, roundTo(p.Vals, tensor.F16), P16))
		case i%10 == 2: // its first two vectors
			p := items[i-2]
			items = append(items, New("part", 2, 768, p.Vals[:2*768], P32))
		default:
			items = append(items, New("x", 8, 768, randomRows(r, 8, 768), P32))
		}
	}
	return items
}

func TestGroupsScale(t *testing.T) {
	gs := Groups(synthFolder(1000))
	var dups, cont int
	for _, g := range gs {
		switch g.Relation {
		case Duplicates:
			dups++
		case Contains:
			cont++
		}
	}
	// 100 F32/F16 pairs; each part is in its F32 original and the F16 copy.
	if dups != 100 || cont != 200 {
		t.Errorf("%d duplicates, %d containments; want 100, 200", dups, cont)
	}
}

func TestCosJSON(t *testing.T) {
	b, _ := json.Marshal([]Cos{1, 0.5, Cos(math.NaN()), Cos(math.Inf(1))})
	if string(b) != "[1,0.5,null,null]" {
		t.Errorf("%s", b)
	}
	if c := Cosine([]float64{0, 0}, []float64{0, 0}); c != 1 {
		t.Errorf("two zero vectors: %v", c)
	}
	if c := Cosine([]float64{0, 0}, []float64{1, 0}); c != 0 {
		t.Errorf("a zero vector: %v", c)
	}
}

// TestLargePairExactOnly: past MaxPairs only hash matches are scored, and
// the relation is still exact.
func TestLargePairExactOnly(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	n := 2100 // 2100² > MaxPairs
	v := randomRows(r, n, 8)
	a := New("a", n, 8, v, P32)
	b := New("b", 3, 8, append([]float64(nil), v[8*10:8*13]...), P32)
	big := New("big", n, 8, append(append([]float64(nil), v[8:]...), v[:8]...), P32)
	if p := ComparePair(a, b); p.Relation != Contains || p.At[0] != 10 {
		t.Errorf("small in large: %s %v", p.Relation, p.At)
	}
	p := ComparePair(a, big) // same rows, rotated: contains both ways
	if p.Relation != Contains || p.Note == "" || len(p.Rows) != n || !p.Rows[0].Same || p.Rows[0].B != n-1 {
		t.Errorf("rotated: %s %q %d %+v", p.Relation, p.Note, len(p.Rows), p.Rows[0])
	}
}
