package vocab

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/embtool/embtool/internal/testvocab"
	"github.com/embtool/embtool/pkg/embedding"
	"github.com/embtool/embtool/pkg/safetensors"
	"github.com/embtool/embtool/pkg/tensor"
)

// expected is testdata/vocab/expected.json, computed by torch
// (testdata/gen/gen_clip_fixture.py).
type expected struct {
	Rows      int
	MeanNormL float64 `json:"mean_norm_l"`
	MeanNormG float64 `json:"mean_norm_g"`
	Nearest   [][]Hit
	BridgeK   int `json:"bridge_k"`
	Bridge    []struct {
		IDs   []int
		ClipG []float64 `json:"clip_g"`
	}
}

func loadExpected(t *testing.T) expected {
	t.Helper()
	raw, err := os.ReadFile("../../testdata/vocab/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var e expected
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

var (
	once       sync.Once
	matL, matG *Matrix
)

func matrices(t *testing.T) (*Matrix, *Matrix) {
	once.Do(func() {
		l, _ := testvocab.L().Float32s()
		g, _ := testvocab.G().Float32s()
		matL, _ = FromFloat32s("L", CLIPL, testvocab.Rows, testvocab.WidthL, l)
		matG, _ = FromFloat32s("G", CLIPG, testvocab.Rows, testvocab.WidthG, g)
	})
	return matL, matG
}

func query(t *testing.T) [][]float32 {
	t.Helper()
	e, _, err := embedding.ReadFile("../../testdata/vocab/query_sd1.safetensors", embedding.Options{})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := e.Vectors[0].Tensor.Float32s()
	var out [][]float32
	for i := 0; i < e.Count; i++ {
		out = append(out, v[i*768:(i+1)*768])
	}
	return out
}

func TestNearestMatchesTorch(t *testing.T) {
	exp := loadExpected(t)
	l, g := matrices(t)
	if d := math.Abs(l.MeanNorm() - exp.MeanNormL); d > 1e-12 {
		t.Errorf("mean norm L %v, torch %v", l.MeanNorm(), exp.MeanNormL)
	}
	if d := math.Abs(g.MeanNorm() - exp.MeanNormG); d > 1e-12 {
		t.Errorf("mean norm G %v, torch %v", g.MeanNorm(), exp.MeanNormG)
	}
	worst := 0.0
	for i, v := range query(t) {
		hits := l.Nearest(v, 10)
		for j, h := range hits {
			w := exp.Nearest[i][j]
			worst = max(worst, math.Abs(h.Cos-w.Cos))
			if h.ID != w.ID || math.Abs(h.Cos-w.Cos) > 1e-12 {
				t.Errorf("vector %d hit %d: %+v, torch %+v", i, j, h, w)
			}
		}
	}
	// The planted row answers itself at cosine 1.
	if h := l.Nearest(query(t)[0], 1)[0]; h.ID != 1234 || h.Cos != 1 {
		t.Errorf("planted row: %+v", h)
	}
	t.Logf("largest cosine difference from torch: %.3g", worst)
}

func TestBridgeMatchesTorch(t *testing.T) {
	exp := loadExpected(t)
	l, g := matrices(t)
	worst := 0.0
	for i, v := range query(t) {
		out, hits, err := Bridge(l, g, v, exp.BridgeK)
		if err != nil {
			t.Fatal(err)
		}
		for j, h := range hits {
			if h.ID != exp.Bridge[i].IDs[j] {
				t.Errorf("vector %d: token %d is %d, torch %d", i, j, h.ID, exp.Bridge[i].IDs[j])
			}
		}
		for d, x := range out {
			worst = max(worst, math.Abs(float64(x)-exp.Bridge[i].ClipG[d]))
		}
	}
	if worst > 1e-6 {
		t.Errorf("bridge clip_g differs from torch by %g", worst)
	}
	t.Logf("bridge clip_g: largest difference from torch %.3g", worst)
	if out, hits, _ := Bridge(l, g, make([]float32, 768), 8); hits != nil || tensor.Norm(out) != 0 {
		t.Errorf("zero vector bridged to %v", hits)
	}
	if _, _, err := Bridge(l, g, make([]float32, 100), 8); err == nil {
		t.Error("wrong width accepted")
	}
}

// TestOpenLayouts finds the matrix in each checkpoint layout and loads
// the same values.
func TestOpenLayouts(t *testing.T) {
	if testing.Short() {
		t.Skip("writes ~500 MB of checkpoints")
	}
	dir := t.TempDir()
	l, g := matrices(t)
	sd1, sdxl, ckpt := filepath.Join(dir, "sd1.safetensors"), filepath.Join(dir, "sdxl.safetensors"), filepath.Join(dir, "sd1.ckpt")
	for p, w := range map[string]func(string) error{sd1: testvocab.WriteSD1, sdxl: testvocab.WriteSDXL, ckpt: testvocab.WriteCkpt} {
		if err := w(p); err != nil {
			t.Fatal(err)
		}
	}
	// A diffusers pipeline folder: text_encoder and text_encoder_2.
	diff := filepath.Join(dir, "pipe")
	for _, enc := range []struct {
		sub string
		t   *tensor.Tensor
	}{{"text_encoder", testvocab.L()}, {"text_encoder_2", testvocab.G()}} {
		os.MkdirAll(filepath.Join(diff, enc.sub), 0o755)
		f, _ := os.Create(filepath.Join(diff, enc.sub, "model.safetensors"))
		if err := safetensors.Write(f, []safetensors.Named{{Name: "text_model.embeddings.token_embedding.weight", Src: enc.t}}, nil); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	cases := []struct {
		path string
		want map[string]*Matrix
	}{
		{sd1, map[string]*Matrix{CLIPL: l}},
		{ckpt, map[string]*Matrix{CLIPL: l}},
		{sdxl, map[string]*Matrix{CLIPL: l, CLIPG: g}},
		{diff, map[string]*Matrix{CLIPL: l, CLIPG: g}},
		{filepath.Join(diff, "text_encoder_2"), map[string]*Matrix{CLIPG: g}},
	}
	for _, c := range cases {
		m, err := Open(c.path)
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		if len(m.Sources) != len(c.want) {
			t.Errorf("%s: %d matrices, want %d", c.path, len(m.Sources), len(c.want))
		}
		for enc, want := range c.want {
			s, ok := m.find(enc)
			if !ok {
				t.Errorf("%s: no %s", c.path, enc)
				continue
			}
			got, err := s.Load()
			if err != nil {
				t.Fatal(err)
			}
			if got.Rows != want.Rows || got.Width != want.Width || got.MeanNorm() != want.MeanNorm() {
				t.Errorf("%s %s: %d×%d mean %v", c.path, enc, got.Rows, got.Width, got.MeanNorm())
			}
		}
		m.Close()
	}
	if _, err := Open(dir); err == nil {
		t.Error("a folder without a text encoder was accepted")
	}
	if _, err := Open("../../testdata/vocab/query_sd1.safetensors"); err == nil {
		t.Error("an embedding was taken for a model")
	}
}

func TestRefusesOddMatrix(t *testing.T) {
	p := filepath.Join(t.TempDir(), "odd.safetensors")
	f, _ := os.Create(p)
	odd := &tensor.Tensor{DType: tensor.I32, Shape: []int{4, 2}, Data: make([]byte, 32)}
	safetensors.Write(f, []safetensors.Named{{Name: testvocab.KeySD1, Src: odd}}, nil)
	f.Close()
	if _, err := Open(p); err == nil {
		t.Error("an I32 matrix was accepted")
	}
}

// TestSparseSevenGB: a 7 GB checkpoint (a sparse file) answers nearest in
// well under 2 s, because only the matrix is read.
func TestSparseSevenGB(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 7 GB sparse file")
	}
	p := filepath.Join(t.TempDir(), "big.safetensors")
	if err := testvocab.WriteSparseBig(p, 7<<30); err != nil {
		t.Fatal(err)
	}
	q := query(t)
	start := time.Now()
	m, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s, _ := m.find(CLIPL)
	l, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range q {
		l.Nearest(v, 10)
	}
	el := time.Since(start)
	// The time is logged, not asserted: speed is shown by bench/ (see
	// bench/README.md), never by a timed test.
	t.Logf("7 GiB checkpoint: open, load the matrix, nearest for %d vectors: %v", len(q), el)
}

// TestRefusesHugeMatrix: a header that claims a matrix beyond MaxBytes is
// refused before anything is allocated.
func TestRefusesHugeMatrix(t *testing.T) {
	p := filepath.Join(t.TempDir(), "huge.safetensors")
	hdr := `{"` + testvocab.KeySD1 + `":{"dtype":"F32","shape":[1048576,8192],"data_offsets":[0,34359738368]}}`
	for len(hdr)%8 != 0 {
		hdr += " "
	}
	f, _ := os.Create(p)
	var n [8]byte
	n[0], n[1] = byte(len(hdr)), byte(len(hdr)>>8)
	f.Write(append(n[:], hdr...))
	f.Truncate(int64(8+len(hdr)) + 34359738368) // sparse
	f.Close()
	if _, err := Open(p); err == nil {
		t.Error("a 32 GiB matrix was accepted")
	}
}
