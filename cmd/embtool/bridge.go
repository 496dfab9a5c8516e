package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/embtool/embtool/pkg/embedding"
	"github.com/embtool/embtool/pkg/tensor"
	"github.com/embtool/embtool/pkg/vocab"
)

// bridgeFlags are convert's SD1 ↔ SDXL options.
type bridgeFlags struct {
	clip string
	k    int
}

// bridgeHelp is shown by convert --help.
const bridgeHelp = `SD1.5 → SDXL (--layout sdxl --clip SDXL_MODEL): clip_l is the SD1.5 vectors
unchanged; clip_g is an APPROXIMATION built from the model's vocabulary,
which both encoders share: ` + vocab.BridgeRecipe + `, K = --bridge-k.
It is better than a zero clip_g, not a trained one. The recipe is stored in
the output's metadata (embtool.recipe).
SDXL → SD1 (--layout a1111, kohya or diffusers on an SDXL input) keeps
clip_l and drops clip_g, with a warning.
`

// RecipeKey is where the bridge recipe goes, as merge's does.
type bridgeRecipe struct {
	Bridge      string `json:"bridge"`
	Method      string `json:"method,omitempty"`
	K           int    `json:"k,omitempty"`
	ClipModel   string `json:"clip_model,omitempty"`
	ClipLKey    string `json:"clip_l_key,omitempty"`
	ClipGKey    string `json:"clip_g_key,omitempty"`
	Input       string `json:"input"`
	InputSHA256 string `json:"input_sha256"`
}

// bridgeLayout rewrites e for a cross-family target layout: SD1 → SDXL
// with a bridged clip_g, or SDXL → SD1 keeping clip_l. It returns e
// unchanged otherwise, and the warnings to print.
func (b bridgeFlags) bridgeLayout(e *embedding.Embedding, target *embedding.Target, in, sum string) (*embedding.Embedding, []string, error) {
	toSDXL := target.Layout == embedding.LayoutSDXL
	fromSDXL := e.Layout == embedding.LayoutSDXL
	switch {
	case toSDXL && !fromSDXL:
		return b.toSDXL(e, target, in, sum)
	case fromSDXL && target.Layout != "" && !toSDXL:
		if b.clip != "" {
			return nil, nil, fmt.Errorf("--clip is for SD1 → SDXL; SDXL → SD1 needs no model")
		}
		out := *e
		out.Layout, out.Model, out.Width = embedding.LayoutKohya, embedding.ModelSD1, 0
		out.Vectors = nil
		for _, v := range e.Vectors {
			if v.Key == embedding.KeyClipL {
				out.Vectors = []embedding.Named{{Key: "emb_params", Tensor: v.Tensor}}
				_, out.Width = v.Tensor.Rows()
			}
		}
		if out.Vectors == nil {
			return nil, nil, fmt.Errorf("the SDXL embedding has no clip_l")
		}
		out.All = out.Vectors
		setRecipe(target, &out, bridgeRecipe{Bridge: "sdxl-to-sd1: clip_l kept, clip_g dropped", Input: filepath.Base(in), InputSHA256: sum})
		return &out, []string{"SDXL → SD1: only clip_l is kept; clip_g is dropped (the result works with SD1.5 models, which have no CLIP-G)"}, nil
	}
	if b.clip != "" {
		return nil, nil, fmt.Errorf("--clip goes with --layout sdxl on an SD1 embedding")
	}
	return e, nil, nil
}

func (b bridgeFlags) toSDXL(e *embedding.Embedding, target *embedding.Target, in, sum string) (*embedding.Embedding, []string, error) {
	if e.Width != 768 || len(e.Vectors) != 1 {
		return nil, nil, fmt.Errorf("only an SD1 (768-wide) embedding can be bridged to SDXL; this one is %d wide (%s)", e.Width, e.Model)
	}
	if b.clip == "" {
		return nil, nil, fmt.Errorf("SD1 → SDXL needs --clip SDXL_MODEL: its CLIP-L and CLIP-G token embeddings build clip_g")
	}
	if b.k < 1 {
		return nil, nil, fmt.Errorf("--bridge-k must be at least 1")
	}
	vs, err := openVocab(b.clip)
	if err != nil {
		return nil, nil, err
	}
	defer vs.Close()
	l, err := vs.matrix(768)
	if err != nil {
		return nil, nil, err
	}
	g, err := vs.matrix(1280)
	if err != nil {
		return nil, nil, err
	}
	if l == nil || g == nil {
		return nil, nil, fmt.Errorf("%s: not an SDXL model: it needs both a CLIP-L (768) and a CLIP-G (1280) token matrix", b.clip)
	}
	src := e.Vectors[0].Tensor
	vals, err := src.Float32s()
	if err != nil {
		return nil, nil, err
	}
	n, _ := src.Rows()
	gv := make([]float32, 0, n*g.Width)
	for i := 0; i < n; i++ {
		out, _, err := vocab.Bridge(l, g, vals[i*768:(i+1)*768], b.k)
		if err != nil {
			return nil, nil, err
		}
		gv = append(gv, out...)
	}
	dt := src.DType
	if dt == tensor.F64 {
		dt = tensor.F32
	}
	lt := &tensor.Tensor{DType: src.DType, Shape: []int{n, 768}, Data: src.Data}
	gt, err := tensor.FromFloat32s(dt, []int{n, g.Width}, gv)
	if err != nil {
		return nil, nil, err
	}
	out := *e
	out.Layout, out.Model, out.Width, out.Count = embedding.LayoutSDXL, embedding.ModelSDXL, 768+g.Width, n
	out.Vectors = []embedding.Named{{Key: embedding.KeyClipL, Tensor: lt}, {Key: embedding.KeyClipG, Tensor: gt}}
	out.All = out.Vectors
	setRecipe(target, &out, bridgeRecipe{Bridge: "sd1-to-sdxl", Method: vocab.BridgeRecipe, K: b.k,
		ClipModel: filepath.Base(b.clip), ClipLKey: l.Key, ClipGKey: g.Key, Input: filepath.Base(in), InputSHA256: sum})
	return &out, []string{fmt.Sprintf("clip_g is an approximation (a mix of the CLIP-G rows of the %d CLIP-L tokens nearest each vector), not trained", b.k)}, nil
}

func setRecipe(target *embedding.Target, e *embedding.Embedding, r bridgeRecipe) {
	js, _ := json.Marshal(r)
	target.Metadata = map[string]string{embedding.RecipeKey: string(js)}
}
