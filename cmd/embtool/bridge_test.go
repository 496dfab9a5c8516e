package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/embtool/embtool/internal/testvocab"
	"github.com/embtool/embtool/pkg/embedding"
)

// TestBridgeFileMatchesTorch runs convert --layout sdxl --clip end to end
// and checks the written clip_g against torch's (testdata/vocab/expected.json,
// testdata/gen/gen_clip_fixture.py) and clip_l against the input.
func TestBridgeFileMatchesTorch(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 200 MB SDXL checkpoint")
	}
	dir := t.TempDir()
	model := filepath.Join(dir, "sdxl.safetensors")
	if err := testvocab.WriteSDXL(model); err != nil {
		t.Fatal(err)
	}
	in := "../../testdata/vocab/query_sd1.safetensors"
	out := filepath.Join(dir, "bridged.safetensors")
	var stdout, stderr bytes.Buffer
	if st := run([]string{"convert", "--layout", "sdxl", "--clip", model, in, out}, &stdout, &stderr); st != 0 {
		t.Fatalf("exit %d: %s", st, stderr.String())
	}
	raw, err := os.ReadFile("../../testdata/vocab/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var exp struct {
		Bridge []struct {
			ClipG []float64 `json:"clip_g"`
		}
	}
	if err := json.Unmarshal(raw, &exp); err != nil {
		t.Fatal(err)
	}
	got, _, err := embedding.ReadFile(out, embedding.Options{})
	if err != nil {
		t.Fatal(err)
	}
	src, _, _ := embedding.ReadFile(in, embedding.Options{})
	if got.Layout != embedding.LayoutSDXL || got.Vectors[0].Key != embedding.KeyClipL || !bytes.Equal(got.Vectors[0].Tensor.Data, src.Vectors[0].Tensor.Data) {
		t.Fatalf("clip_l is not the input's vectors: %s %s", got.Layout, got.Vectors[0].Key)
	}
	g, _ := got.Vectors[1].Tensor.Float64s()
	worst := 0.0
	for i, want := range exp.Bridge {
		for d, x := range want.ClipG {
			worst = max(worst, math.Abs(g[i*1280+d]-x))
		}
	}
	t.Logf("clip_g in the written file: largest difference from torch %.3g", worst)
	if worst > 1e-6 {
		t.Errorf("clip_g differs from torch by %g", worst)
	}
	var recipe map[string]any
	if err := json.Unmarshal([]byte(got.Metadata[embedding.RecipeKey]), &recipe); err != nil || recipe["bridge"] != "sd1-to-sdxl" || recipe["k"] != 8.0 {
		t.Errorf("recipe %v (%v)", recipe, err)
	}
}
