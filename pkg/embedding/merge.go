package embedding

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"github.com/embtool/embtool/pkg/tensor"
)

// Merge modes.
const (
	ModeBlend  = "blend"  // Σ wᵢ·eᵢ vector by vector
	ModeConcat = "concat" // the inputs' vectors stacked in order
)

// RecipeKey is the safetensors metadata key recording how a merge was made.
const RecipeKey = "embtool.recipe"

// MergeInput is one input of a merge: an embedding read from Path,
// optionally sliced.
type MergeInput struct {
	Path   string
	Slice  *Slice
	SHA256 string
	E      *Embedding
}

// MergeOptions say how to combine the inputs.
type MergeOptions struct {
	Mode    string
	Weights []float64 // nil: 1/n each (blend only)
	Scale   *float64  // multiply every vector
	Norm    *float64  // rescale every vector to this L2 norm
	Vectors *int      // crop or zero-pad the result to this many vectors
	// NormByWidth rescales every vector to the norm given for its width
	// (a vocabulary's mean token norm: 768 CLIP-L, 1280 CLIP-G); NormSource
	// says where the figures come from, for the recipe.
	NormByWidth map[int]float64
	NormSource  string
}

// component is one encoder's rows as float32: key, width and rows×width values.
type component struct {
	key   string
	width int
	rows  int
	vals  []float32
}

// Merge blends or concatenates the inputs into a new embedding, whose
// Metadata holds the recipe. SDXL inputs are merged clip_l with clip_l and
// clip_g with clip_g, in step.
func Merge(inputs []MergeInput, opts MergeOptions) (*Embedding, []string, error) {
	if len(inputs) == 0 {
		return nil, nil, fmt.Errorf("merge needs at least one input")
	}
	if opts.Mode == "" {
		opts.Mode = ModeBlend
	}
	if opts.Mode != ModeBlend && opts.Mode != ModeConcat {
		return nil, nil, fmt.Errorf("mode %q: want blend or concat", opts.Mode)
	}
	if opts.Weights != nil && len(opts.Weights) != len(inputs) {
		return nil, nil, fmt.Errorf("%d weights for %d inputs", len(opts.Weights), len(inputs))
	}
	if opts.Weights != nil && opts.Mode == ModeConcat {
		return nil, nil, fmt.Errorf("weights apply to blend, not concat")
	}
	var warnings []string
	parts := make([][]component, len(inputs))
	for i, in := range inputs {
		comps, err := components(in)
		if err != nil {
			return nil, nil, err
		}
		parts[i] = comps
	}
	if err := sameWidths(inputs, parts); err != nil {
		return nil, nil, err
	}
	var out []component
	if opts.Mode == ModeConcat {
		out = concat(parts)
	} else {
		weights := opts.Weights
		if weights == nil {
			weights = make([]float64, len(inputs))
			for i := range weights {
				weights[i] = 1 / float64(len(inputs))
			}
		}
		var padded []int
		out, padded = blend(parts, weights)
		for _, i := range padded {
			warnings = append(warnings, fmt.Sprintf("%s has fewer vectors than the longest input: zero-padded", inputs[i].Path))
		}
	}
	for i := range out {
		c := &out[i]
		if opts.Scale != nil {
			tensor.Scale(float32(*opts.Scale), c.vals)
		}
		if opts.Norm != nil {
			normalise(c, *opts.Norm)
		}
		if opts.NormByWidth != nil {
			x, ok := opts.NormByWidth[c.width]
			if !ok {
				return nil, nil, fmt.Errorf("no vocabulary mean norm for %d-wide vectors (have: %s)", c.width, opts.NormSource)
			}
			normalise(c, x)
		}
		if opts.Vectors != nil {
			c.resize(*opts.Vectors)
		}
	}
	return assemble(inputs, out, opts, warnings)
}

// components takes an input's vectors (sliced) as float32 rows.
func components(in MergeInput) ([]component, error) {
	e := in.E
	if e.Refusal != "" {
		return nil, fmt.Errorf("%s: %s", in.Path, e.Refusal)
	}
	if len(e.Vectors) == 0 || e.Layout == LayoutOther {
		return nil, fmt.Errorf("%s: not an embedding that can be merged (layout %s)", in.Path, e.Layout)
	}
	var comps []component
	for _, v := range e.Vectors {
		vals, err := v.Tensor.Float32s()
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", in.Path, v.Key, err)
		}
		rows, width := v.Tensor.Rows()
		c := component{key: v.Key, width: width, rows: rows, vals: vals}
		if e.Layout != LayoutSDXL {
			c.key = ""
		}
		if in.Slice != nil {
			idx, err := in.Slice.Rows(rows)
			if err != nil {
				return nil, fmt.Errorf("%s%s: %w", in.Path, in.Slice.Text, err)
			}
			picked := make([]float32, 0, len(idx)*width)
			for _, r := range idx {
				picked = append(picked, vals[r*width:(r+1)*width]...)
			}
			c.vals, c.rows = picked, len(idx)
		}
		comps = append(comps, c)
	}
	return comps, nil
}

// sameWidths refuses to mix families: SD1 with SD2, SD1 with SDXL.
func sameWidths(inputs []MergeInput, parts [][]component) error {
	desc := func(i int) string {
		var ws []string
		for _, c := range parts[i] {
			ws = append(ws, fmt.Sprint(c.width))
		}
		return fmt.Sprintf("%s is %s wide (%s)", inputs[i].Path, strings.Join(ws, "+"), inputs[i].E.Model)
	}
	for i := 1; i < len(parts); i++ {
		ok := len(parts[i]) == len(parts[0])
		for j := 0; ok && j < len(parts[i]); j++ {
			ok = parts[i][j].width == parts[0][j].width && parts[i][j].key == parts[0][j].key
		}
		if !ok {
			return fmt.Errorf("cannot merge embeddings of different widths: %s, %s", desc(0), desc(i))
		}
	}
	return nil
}

func concat(parts [][]component) []component {
	out := make([]component, len(parts[0]))
	for j := range out {
		out[j] = component{key: parts[0][j].key, width: parts[0][j].width}
		for _, p := range parts {
			out[j].vals = append(out[j].vals, p[j].vals...)
			out[j].rows += p[j].rows
		}
	}
	return out
}

// blend computes Σ wᵢ·eᵢ row by row in float32, zero-padding shorter
// inputs; it returns the indices of the inputs that were padded.
func blend(parts [][]component, weights []float64) ([]component, []int) {
	out := make([]component, len(parts[0]))
	var padded []int
	for j := range out {
		rows := 0
		for _, p := range parts {
			rows = max(rows, p[j].rows)
		}
		c := component{key: parts[0][j].key, width: parts[0][j].width, rows: rows}
		c.vals = make([]float32, rows*c.width)
		for i, p := range parts {
			tensor.Axpy(float32(weights[i]), p[j].vals, c.vals[:len(p[j].vals)])
			if j == 0 && p[j].rows < rows {
				padded = append(padded, i)
			}
		}
		out[j] = c
	}
	return out, padded
}

// normalise rescales each row to L2 norm x; zero rows stay zero.
func normalise(c *component, x float64) {
	for r := 0; r < c.rows; r++ {
		row := c.vals[r*c.width : (r+1)*c.width]
		n := tensor.Norm(row)
		if n == 0 || math.IsNaN(n) || math.IsInf(n, 0) {
			continue
		}
		// Scale in float64 per element: float32(x/n) alone would put the
		// result up to an ulp of the factor off the target norm.
		f := x / n
		for i, v := range row {
			row[i] = float32(float64(v) * f)
		}
	}
}

// resize crops or zero-pads to n rows.
func (c *component) resize(n int) {
	if n <= c.rows {
		c.vals = c.vals[:n*c.width]
	} else {
		c.vals = append(c.vals, make([]float32, (n-c.rows)*c.width)...)
	}
	c.rows = n
}

// recipe is the provenance stored under RecipeKey.
type recipe struct {
	Mode    string    `json:"mode"`
	Weights []float64 `json:"weights,omitempty"`
	Scale   *float64  `json:"scale,omitempty"`
	Norm    *float64  `json:"norm,omitempty"`
	// NormVocab: each width's target norm, the vocabulary mean (--norm vocab).
	NormVocab  map[string]float64 `json:"norm_vocab,omitempty"`
	NormSource string             `json:"norm_source,omitempty"`
	Vectors    *int               `json:"vectors,omitempty"`
	Inputs     []recipeSource     `json:"inputs"`
}

type recipeSource struct {
	File   string `json:"file"`
	Slice  string `json:"slice,omitempty"`
	SHA256 string `json:"sha256"`
}

// assemble turns the merged float32 components into an embedding: F32
// unless every input shares another float dtype.
func assemble(inputs []MergeInput, out []component, opts MergeOptions, warnings []string) (*Embedding, []string, error) {
	dt := inputs[0].E.Vectors[0].Tensor.DType
	for _, in := range inputs {
		for _, v := range in.E.Vectors {
			if v.Tensor.DType != dt {
				dt = tensor.F32
			}
		}
	}
	if dt == tensor.F64 {
		dt = tensor.F32 // the arithmetic was float32
	}
	e := &Embedding{Layout: LayoutKohya, Container: "merge"}
	if inputs[0].E.Layout == LayoutSDXL {
		e.Layout = LayoutSDXL
	}
	for _, c := range out {
		if c.rows == 0 {
			return nil, nil, fmt.Errorf("the result has no vectors")
		}
		t, err := tensor.FromFloat32s(dt, []int{c.rows, c.width}, c.vals)
		if err != nil {
			return nil, nil, err
		}
		key := c.key
		if key == "" {
			key = "emb_params"
		}
		e.Vectors = append(e.Vectors, Named{Key: key, Tensor: t})
		e.Width += c.width
	}
	e.All = e.Vectors
	e.Count = out[0].rows
	e.Model = inputs[0].E.Model
	r := recipe{Mode: opts.Mode, Weights: opts.Weights, Scale: opts.Scale, Norm: opts.Norm, Vectors: opts.Vectors, NormSource: opts.NormSource}
	for w, x := range opts.NormByWidth {
		if r.NormVocab == nil {
			r.NormVocab = map[string]float64{}
		}
		r.NormVocab[fmt.Sprint(w)] = x
	}
	for _, in := range inputs {
		src := recipeSource{File: filepath.Base(in.Path), SHA256: in.SHA256}
		if in.Slice != nil {
			src.Slice = in.Slice.Text
		}
		r.Inputs = append(r.Inputs, src)
	}
	js, err := json.Marshal(r)
	if err != nil {
		return nil, nil, err
	}
	e.Metadata = map[string]string{RecipeKey: string(js)}
	for _, v := range e.Vectors {
		warnings = append(warnings, valueWarnings(v, statsOf(v.Tensor))...)
	}
	return e, warnings, nil
}
