package embedding

import (
	"bytes"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/embtool/embtool/internal/testcorpus"
	"github.com/embtool/embtool/pkg/tensor"
)

// encode plans e for format and writes it to memory.
func encode(t testing.TB, e *Embedding, format, stem string) []byte {
	t.Helper()
	p, err := Plan(e, Target{Format: format, Stem: stem})
	if err != nil {
		t.Fatalf("plan %s: %v", format, err)
	}
	var buf bytes.Buffer
	if err := p.Write(&buf, format, "archive"); err != nil {
		t.Fatalf("write %s: %v", format, err)
	}
	return buf.Bytes()
}

func decode(t testing.TB, b []byte) *Embedding {
	t.Helper()
	e, err := Decode(bytes.NewReader(b), int64(len(b)), Options{})
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return e
}

// sameVectors requires bit-identical vectors; a 1-D source becomes [1, D]
// and an image's float64 values float32 (they are exact), as Plan does.
func sameVectors(t *testing.T, what string, got, want *Embedding) {
	t.Helper()
	if len(got.Vectors) != len(want.Vectors) {
		t.Fatalf("%s: %d tensors, want %d", what, len(got.Vectors), len(want.Vectors))
	}
	for i, w := range want.Vectors {
		g := got.Vectors[i].Tensor
		wt := w.Tensor
		if wt.DType == tensor.F64 && want.Container == ContainerPNG {
			wt, _ = wt.Convert(tensor.F32)
		}
		n, d := wt.Rows()
		if g.DType != wt.DType || !reflect.DeepEqual(g.Shape, []int{n, d}) || !bytes.Equal(g.Data, wt.Data) {
			t.Errorf("%s: tensor %d is %s%v, want %s[%d %d] bit for bit", what, i, g.DType, g.Shape, wt.DType, n, d)
		}
	}
}

// sameFields: the fields survive, and the stored name written is the
// output's stem (what A1111 and ComfyUI use), not the input's stale one.
func sameFields(t *testing.T, what string, got, want *Embedding, stem string) {
	t.Helper()
	if got.StoredName != nil && *got.StoredName != stem {
		t.Errorf("%s: name %q, want the stem %q", what, *got.StoredName, stem)
	}
	if !sameInt(got.Step, want.Step) || deref(got.SDCheckpoint) != deref(want.SDCheckpoint) ||
		deref(got.SDCheckpointName) != deref(want.SDCheckpointName) {
		t.Errorf("%s: step/checkpoint %v %q %q, want %v %q %q", what, got.Step, deref(got.SDCheckpoint),
			deref(got.SDCheckpointName), want.Step, deref(want.SDCheckpoint), deref(want.SDCheckpointName))
	}
}

// chain converts src through three formats in turn, checking after each
// step that the tensors are bit-identical and the A1111 fields intact.
func chain(t *testing.T, src *Embedding, stem string, formats ...string) (a, b, c *Embedding) {
	t.Helper()
	steps := make([]*Embedding, len(formats))
	cur, what := src, ""
	for i, format := range formats {
		cur = decode(t, encode(t, cur, format, stem))
		what += "→." + format
		sameVectors(t, what, cur, src)
		sameFields(t, what, cur, src, stem)
		steps[i] = cur
	}
	return steps[0], steps[1], steps[2]
}

// TestRoundTripCorpus: for every real embedding, .pt → .safetensors → .pt
// and .safetensors → .pt → .safetensors keep the tensors bit for bit and
// the A1111 fields (and safetensors metadata) intact.
func TestRoundTripCorpus(t *testing.T) {
	dir := testcorpus.Dir(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	n := 0
	for _, path := range files {
		if strings.HasSuffix(path, ".json") || strings.HasSuffix(path, ".md") {
			continue
		}
		src, _, err := ReadFile(path, Options{})
		if err != nil || src.Refusal != "" || src.Layout == LayoutOther {
			continue // refusals are tested by TestRealCorpus
		}
		n++
		t.Run(filepath.Base(path), func(t *testing.T) {
			stem := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
			chain(t, src, stem, FormatPT, FormatSafetensors, FormatPT)
			d, _, f := chain(t, src, stem, FormatSafetensors, FormatPT, FormatSafetensors)
			if src.Layout == LayoutSDXL {
				// An SDXL .pt is {clip_l, clip_g}: A1111 converts every value
				// of that dict to a tensor, so nothing else may go in, and
				// the plan must say what is dropped.
				if len(src.Metadata) > 0 {
					p, _ := Plan(d, Target{Format: FormatPT})
					if len(p.Warnings) == 0 || !strings.Contains(p.Warnings[len(p.Warnings)-1], "metadata") {
						t.Errorf("SDXL .pt drops metadata without a warning: %q", p.Warnings)
					}
				}
				return
			}
			// Metadata survives; the only key a round trip may add is the
			// name an A1111 .pt must have (the file stem).
			for k, v := range d.Metadata {
				if f.Metadata[k] != v {
					t.Errorf("metadata %s=%q after .safetensors→.pt→.safetensors is %q", k, v, f.Metadata[k])
				}
			}
			for k := range f.Metadata {
				if _, ok := d.Metadata[k]; !ok && k != MetaName {
					t.Errorf("metadata %s appeared after .safetensors→.pt→.safetensors", k)
				}
			}
			for k, v := range src.Metadata {
				if d.Metadata[k] != v {
					t.Errorf("source metadata %s=%q lost in .safetensors (got %q)", k, v, d.Metadata[k])
				}
			}
		})
	}
	if n < 35 {
		t.Errorf("only %d corpus embeddings round-tripped, want 35+", n)
	}
}

// TestPlanLayouts checks the layout rules of each target.
func TestPlanLayouts(t *testing.T) {
	sd1 := &Embedding{Layout: LayoutKohya, Model: ModelSD1, Count: 2, Width: 4,
		Vectors: []Named{{"emb_params", mustTensor(t, []int{2, 4})}}}
	sdxl := &Embedding{Layout: LayoutSDXL, Model: ModelSDXL,
		Vectors: []Named{{KeyClipL, mustTensor(t, []int{1, 4})}, {KeyClipG, mustTensor(t, []int{1, 6})}}}
	cases := []struct {
		e       *Embedding
		target  Target
		layout  Layout
		keys    string
		wantErr string
	}{
		{sd1, Target{Format: FormatPT, Stem: "x"}, LayoutA1111, "*", ""},
		{sd1, Target{Format: FormatSafetensors}, LayoutKohya, "emb_params", ""},
		{sd1, Target{Format: FormatBin, Stem: "tok"}, LayoutDiffusers, "tok", ""},
		{sd1, Target{Format: FormatBin, Name: "<n>"}, LayoutDiffusers, "<n>", ""},
		{sd1, Target{Format: FormatPT, Layout: LayoutKohya}, LayoutKohya, "emb_params", ""},
		{sd1, Target{Format: FormatSafetensors, Layout: LayoutA1111}, "", "", "nests dicts"},
		{sd1, Target{Format: FormatPT, Layout: LayoutSDXL}, "", "", "only an SDXL"},
		{sdxl, Target{Format: FormatPT}, LayoutSDXL, "clip_l,clip_g", ""},
		{sdxl, Target{Format: FormatSafetensors}, LayoutSDXL, "clip_l,clip_g", ""},
		{sdxl, Target{Format: FormatBin}, "", "", "cannot be a diffusers .bin"},
		{sdxl, Target{Format: FormatPT, Layout: LayoutA1111}, "", "", "cannot be written in the a1111 layout"},
	}
	for _, c := range cases {
		p, err := Plan(c.e, c.target)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%+v: error %v, want %q", c.target, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%+v: %v", c.target, err)
			continue
		}
		var keys []string
		for _, tt := range p.Tensors {
			keys = append(keys, tt.Key)
		}
		if p.Layout != c.layout || strings.Join(keys, ",") != c.keys {
			t.Errorf("%+v: layout %s keys %v, want %s %s", c.target, p.Layout, keys, c.layout, c.keys)
		}
	}
}

// TestPlanNarrowingWarns: values beyond F16's range become infinite, and
// the plan says so.
func TestPlanNarrowingWarns(t *testing.T) {
	big, _ := tensor.FromFloat32s(tensor.F32, []int{1, 4}, []float32{1, 70000, -1e6, 0.5})
	e := &Embedding{Layout: LayoutKohya, Vectors: []Named{{"emb_params", big}}}
	p, err := Plan(e, Target{Format: FormatSafetensors, DType: tensor.F16})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "turned 2 finite values into infinity") {
		t.Errorf("warnings %q", p.Warnings)
	}
}

func mustTensor(t testing.TB, shape []int) *tensor.Tensor {
	n, _ := tensor.NumElements(shape)
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(i) * 0.25
	}
	tt, err := tensor.FromFloat32s(tensor.F32, shape, v)
	if err != nil {
		t.Fatal(err)
	}
	return tt
}

// BenchmarkConvert8x768 converts an 8×768 F32 kohya embedding to an A1111
// .pt in memory: decode, plan, write.
func BenchmarkConvert8x768(b *testing.B) {
	src := &Embedding{Layout: LayoutKohya, Vectors: []Named{{"emb_params", mustTensor(b, []int{8, 768})}}}
	in := encode(b, src, FormatSafetensors, "x")
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		e, err := Decode(bytes.NewReader(in), int64(len(in)), Options{})
		if err != nil {
			b.Fatal(err)
		}
		p, err := Plan(e, Target{Format: FormatPT, Stem: "x"})
		if err != nil {
			b.Fatal(err)
		}
		var buf bytes.Buffer
		if err := p.Write(&buf, FormatPT, "x"); err != nil {
			b.Fatal(err)
		}
	}
}

func TestPlannedSameVectors(t *testing.T) {
	a, _, err := ReadFile("../../testdata/fixtures/kohya_f32.pt", Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := ReadFile("../../testdata/fixtures/kohya_f32.safetensors", Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := ReadFile("../../testdata/fixtures/kohya_b.safetensors", Options{})
	if err != nil {
		t.Fatal(err)
	}
	target := Target{Format: FormatPT, Stem: "x"}
	pa, _ := Plan(a, target)
	pb, _ := Plan(b, target)
	pc, _ := Plan(c, target)
	if !pa.SameVectors(pb) {
		t.Error("kohya_f32.pt and kohya_f32.safetensors: want the same vectors")
	}
	if pa.SameVectors(pc) {
		t.Error("kohya_f32.pt and kohya_b.safetensors: want different vectors")
	}
}
