package embedding

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/embtool/embtool/pkg/safetensors"
	"github.com/embtool/embtool/pkg/tensor"
	"github.com/embtool/embtool/pkg/torchpt"
)

// Output formats, chosen by the output file's extension.
const (
	FormatPT          = "pt"          // torch zip, A1111 layout by default
	FormatSafetensors = "safetensors" // kohya emb_params / SDXL clip_l+clip_g
	FormatBin         = "bin"         // torch zip, diffusers {"<token>": T}
)

// FormatForPath picks the output format from a file name's extension.
func FormatForPath(path string) (string, error) {
	i := strings.LastIndexByte(path, '.')
	ext := ""
	if i >= 0 {
		ext = strings.ToLower(path[i+1:])
	}
	switch ext {
	case FormatPT, FormatSafetensors, FormatBin:
		return ext, nil
	}
	return "", fmt.Errorf("output %q: the extension must be .pt, .safetensors or .bin", path)
}

// ErrNeedsName: a diffusers file is to be written but neither the target,
// the embedding nor the file name gives its token name.
var ErrNeedsName = errors.New("a diffusers file needs a token name")

// a1111Token is the token id A1111 writes for "*" (CLIP's id, inherited
// from the original textual-inversion format).
const a1111Token = 265

// Target says what to write.
type Target struct {
	Format string // FormatPT, FormatSafetensors or FormatBin
	Layout Layout // "" for the format's default
	DType  tensor.DType
	// Name is the A1111 name (.pt), the diffusers token (.bin) and the
	// "name" metadata (.safetensors).
	Name string
	// Stem is the output file's name without extension: the name of last
	// resort for layouts that need one.
	Stem string
	// Metadata is extra safetensors metadata (provenance), merged over the
	// embedding's own.
	Metadata map[string]string
}

// Planned is an embedding arranged for writing: the exact tensors, names
// and fields that go into the file, which the writer's read-back check
// compares against.
type Planned struct {
	Layout   Layout
	Tensors  []Named // in the order the layout lists them
	Name     string  // A1111 name / diffusers token / metadata name ("" if none)
	Step     *int64
	Ckpt     *string
	CkptName *string
	// Metadata goes into safetensors __metadata__, or an A1111 .pt's
	// "__metadata__" dict; nil for layouts that cannot carry it.
	Metadata map[string]string
	Warnings []string
}

// Plan arranges e for target: picks and checks the layout, converts the
// dtype, reshapes 1-D vectors to [1, D], and lists what cannot be carried.
func Plan(e *Embedding, t Target) (*Planned, error) {
	if e.Refusal != "" {
		return nil, fmt.Errorf("cannot convert: %s", e.Refusal)
	}
	if e.Layout == LayoutOther {
		return nil, fmt.Errorf("cannot convert as an embedding: %s", e.OtherReason)
	}
	if len(e.Vectors) == 0 {
		return nil, fmt.Errorf("cannot convert: no embedding vectors (layout %s)", e.Layout)
	}
	sdxl := e.Layout == LayoutSDXL
	layout := t.Layout
	if layout == "" {
		switch {
		case sdxl:
			layout = LayoutSDXL
		case t.Format == FormatPT:
			layout = LayoutA1111
		case t.Format == FormatSafetensors:
			layout = LayoutKohya
		default:
			layout = LayoutDiffusers
		}
	}
	if err := checkLayout(layout, t.Format, sdxl); err != nil {
		return nil, err
	}
	p := &Planned{Layout: layout, Step: e.Step, Ckpt: e.SDCheckpoint, CkptName: e.SDCheckpointName}
	for _, v := range e.Vectors {
		dt := orDefault(t.DType, v.Tensor.DType)
		if t.DType == "" && v.Tensor.DType == tensor.F64 && e.Container == ContainerPNG && exactFloat32(v.Tensor) {
			// Image embeddings decode to float64 only because JSON numbers
			// do; their values are float32 (formats.md §15.3).
			dt = tensor.F32
		}
		tt, err := v.Tensor.Convert(dt)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", v.Key, err)
		}
		if tt != v.Tensor {
			_, before := v.Tensor.CountNonFinite()
			if _, after := tt.CountNonFinite(); after > before {
				p.Warnings = append(p.Warnings, fmt.Sprintf("%s: narrowing to %s turned %d finite values into infinity", v.Key, tt.DType, after-before))
			}
		}
		if len(tt.Shape) == 1 { // always [n, D]: A1111 misreads a 1-D string_to_param
			tt = &tensor.Tensor{DType: tt.DType, Shape: []int{1, tt.Shape[0]}, Data: tt.Data}
		}
		key := v.Key
		switch layout {
		case LayoutA1111:
			key = "*"
		case LayoutKohya:
			key = "emb_params"
		}
		p.Tensors = append(p.Tensors, Named{Key: key, Tensor: tt})
	}
	// The stored name defaults to the output file's stem, which A1111 and
	// ComfyUI use as the trigger word, so every UI agrees on it; a stale
	// name inside the input is not carried over.
	switch {
	case layout == LayoutA1111:
		p.Name = firstNonEmpty(t.Name, t.Stem, deref(e.StoredName))
	case layout == LayoutDiffusers:
		p.Name = firstNonEmpty(t.Name, t.Stem, deref(e.StoredName), diffusersToken(e))
		if p.Name == "" {
			return nil, ErrNeedsName
		}
		p.Tensors[0].Key = p.Name
	case t.Format == FormatSafetensors:
		p.Name = firstNonEmpty(t.Name, t.Stem, deref(e.StoredName))
	default:
		p.Name = firstNonEmpty(t.Name, deref(e.StoredName))
	}
	p.noteLosses(e, t)
	return p, nil
}

func checkLayout(layout Layout, format string, sdxl bool) error {
	switch {
	case sdxl && layout != LayoutSDXL:
		return fmt.Errorf("an SDXL embedding (clip_l + clip_g) cannot be written in the %s layout", layout)
	case !sdxl && layout == LayoutSDXL:
		return fmt.Errorf("only an SDXL embedding can be written in the sdxl layout")
	case sdxl && format == FormatBin:
		return fmt.Errorf("an SDXL embedding cannot be a diffusers .bin (one token per file); write .safetensors or .pt")
	case format == FormatSafetensors && (layout == LayoutA1111 || layout == LayoutTI):
		return fmt.Errorf("the %s layout nests dicts, which .safetensors cannot hold; write .pt", layout)
	case layout == LayoutTI:
		return fmt.Errorf("embtool does not write the textual-inversion (ParameterDict) layout: torch weights_only and diffusers refuse it; use a1111")
	case layout == LayoutOther:
		return fmt.Errorf("layout %q cannot be written", layout)
	}
	return nil
}

// noteLosses decides where every field goes and warns about those the
// target cannot carry. Metadata (a safetensors __metadata__, a merge
// recipe) goes into .safetensors, and into an A1111 .pt as an extra
// "__metadata__" dict of strings, which every loader ignores.
func (p *Planned) noteLosses(e *Embedding, t Target) {
	lost := func(what string) {
		p.Warnings = append(p.Warnings, fmt.Sprintf("%s is not kept: the %s layout in .%s has no place for it", what, p.Layout, t.Format))
	}
	extra := map[string]string{}
	for k, v := range e.Metadata {
		if !isNativeKey(k) {
			extra[k] = v
		}
	}
	for k, v := range t.Metadata {
		extra[k] = v
	}
	switch {
	case t.Format == FormatSafetensors:
		p.Metadata = extra
		setMeta := func(k string, v *string) {
			if v != nil {
				p.Metadata[k] = *v
			}
		}
		if p.Name != "" {
			p.Metadata[MetaName] = p.Name
		}
		if p.Step != nil {
			p.Metadata[MetaStep] = strconv.FormatInt(*p.Step, 10)
		}
		setMeta(MetaCheckpoint, p.Ckpt)
		setMeta(MetaCheckpointName, p.CkptName)
		if p.Layout == LayoutDiffusers {
			p.Metadata["format"] = "pt"
		}
		return
	case p.Layout == LayoutA1111:
		// name, step and checkpoint have their own fields.
		p.Metadata = extra
		return
	}
	// A stored name the layout has no place for is not reported: the
	// file name, which every UI then uses, replaces it by design.
	if p.Step != nil {
		lost("step")
	}
	if p.Ckpt != nil || p.CkptName != nil {
		lost("the training checkpoint")
	}
	p.Step, p.Ckpt, p.CkptName = nil, nil, nil
	if len(extra) > 0 {
		keys := make([]string, 0, len(extra))
		for k := range extra {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		lost("metadata " + strings.Join(keys, ", "))
	}
}

// isNativeKey: metadata keys that are A1111 fields of their own in a .pt.
func isNativeKey(k string) bool {
	return k == MetaName || k == MetaStep || k == MetaCheckpoint || k == MetaCheckpointName
}

// Write encodes the plan into w in format.
func (p *Planned) Write(w io.Writer, format string, prefix string) error {
	if format == FormatSafetensors {
		named := make([]safetensors.Named, len(p.Tensors))
		for i, t := range p.Tensors {
			named[i] = safetensors.Named{Name: t.Key, Src: t.Tensor}
		}
		meta := p.Metadata
		if len(meta) == 0 {
			meta = nil
		}
		return safetensors.Write(w, named, meta)
	}
	root := torchpt.NewDict()
	switch p.Layout {
	case LayoutA1111:
		tok := torchpt.NewDict()
		tok.Set("*", int64(a1111Token))
		params := torchpt.NewDict()
		params.Set("*", p.Tensors[0].Tensor)
		root.Set("string_to_token", tok)
		root.Set("string_to_param", params)
		root.Set("name", p.Name)
		root.Set("step", optAny(p.Step))
		root.Set("sd_checkpoint", optAny(p.Ckpt))
		root.Set("sd_checkpoint_name", optAny(p.CkptName))
		if len(p.Metadata) > 0 {
			root.Set(MetaKeyPT, stringDict(p.Metadata))
		}
	default:
		for _, t := range p.Tensors {
			root.Set(t.Key, t.Tensor)
		}
	}
	return torchpt.WriteZip(w, prefix, root)
}

// MetaKeyPT is the key of the metadata dict in an A1111 .pt written by embtool.
const MetaKeyPT = "__metadata__"

// stringDict is a plain dict of m's entries in key order (deterministic output).
func stringDict(m map[string]string) *torchpt.Dict {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	d := torchpt.NewDict()
	for _, k := range keys {
		d.Set(k, m[k])
	}
	return d
}

func optAny[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// exactFloat32 reports whether every value of t survives float32 unchanged.
func exactFloat32(t *tensor.Tensor) bool {
	vals, err := t.Float64s()
	if err != nil {
		return false
	}
	for _, v := range vals {
		if float64(float32(v)) != v && v == v {
			return false
		}
	}
	return true
}

func orDefault(dt, def tensor.DType) tensor.DType {
	if dt == "" {
		return def
	}
	return dt
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// diffusersToken is the token of a diffusers input, or "".
func diffusersToken(e *Embedding) string {
	if e.Layout == LayoutDiffusers {
		return e.Token
	}
	return ""
}
