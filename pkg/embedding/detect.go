package embedding

import (
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"

	"github.com/embtool/embtool/internal/ordered"
	"github.com/embtool/embtool/pkg/pngembed"
	"github.com/embtool/embtool/pkg/safetensors"
	"github.com/embtool/embtool/pkg/tensor"
	"github.com/embtool/embtool/pkg/torchpt"
)

// object is a container's top-level map, normalised so one detector
// serves every container: values are *tensor.Tensor, *object, string,
// int64, float64, bool or nil (anything else is kept as is).
type object struct {
	ordered.Map[string, any]
	// pdict marks a torch ParameterDict read through _parameters.
	pdict bool
	// params marks values wrapped in torch.nn.Parameter, by key.
	params map[string]bool
}

func (o *object) tensors() []Named {
	var out []Named
	for i, v := range o.Values {
		if t, ok := v.(*tensor.Tensor); ok {
			out = append(out, Named{Key: o.Keys[i], Tensor: t})
		}
	}
	return out
}

// loadFactor and loadSlack bound the bytes of tensors fromTorch
// materialises: loadFactor times the file's size plus loadSlack. A real
// file's tensors hold no more than its storages, and those no more than
// the file (float data does not deflate); but many views of one storage,
// or one tensor the memo repeats under many keys, would each be copied
// anew.
const (
	loadFactor = 2
	loadSlack  = 64 << 10
)

func fromTorch(f *torchpt.File, size int64) (*Embedding, error) {
	e := &Embedding{Container: f.Format, Warnings: append([]string(nil), f.Warnings...)}
	for _, fd := range f.Findings {
		e.Unsafe = append(e.Unsafe, fd.String())
	}
	budget := loadFactor*size + loadSlack
	root, err := torchValue(f.Root, 0, &budget)
	if err != nil {
		return nil, err
	}
	obj, ok := root.(*object)
	if !ok {
		if t, isT := root.(*tensor.Tensor); isT {
			obj = &object{Map: ordered.Map[string, any]{Keys: []string{""}, Values: []any{t}}}
			e.OtherReason = "the file holds a bare tensor with no token name; no UI loads it as an embedding"
			e.Warnings = append(e.Warnings, e.OtherReason)
		} else {
			return nil, fmt.Errorf("%w: top-level object is a %s, not a dict", ErrNotEmbedding, describe(root))
		}
	}
	return detect(e, obj)
}

// torchValue loads tensors and turns torchpt's dicts into objects; budget
// is how many more bytes of tensors it may load.
func torchValue(v any, depth int, budget *int64) (any, error) {
	if depth > 32 {
		return nil, fmt.Errorf("dicts nested deeper than 32 levels")
	}
	switch x := v.(type) {
	case *torchpt.Tensor:
		dt, shape := x.Meta()
		n, err := tensor.ByteSize(dt, shape)
		if err != nil {
			return nil, err
		}
		if *budget -= int64(n); *budget < 0 {
			return nil, fmt.Errorf("the file's tensors hold more than %d times its size: views of one storage overlap, or one tensor is repeated", loadFactor)
		}
		return x.Load()
	case *torchpt.Dict:
		o := &object{params: map[string]bool{}}
		o.Grow(len(x.Keys))
		for i, k := range x.Keys {
			key := fmt.Sprint(k)
			if s, ok := k.(string); ok {
				key = s
			}
			if t, ok := x.Values[i].(*torchpt.Tensor); ok && t.Parameter {
				o.params[key] = true
			}
			val, err := torchValue(x.Values[i], depth+1, budget)
			if err != nil {
				return nil, fmt.Errorf("key %q: %w", key, err)
			}
			o.Append(key, val)
		}
		return o, nil
	case *torchpt.Object:
		params, ok := x.State.Get("_parameters")
		if !ok {
			return nil, fmt.Errorf("ParameterDict without _parameters")
		}
		inner, err := torchValue(params, depth+1, budget)
		if err != nil {
			return nil, err
		}
		o, ok := inner.(*object)
		if !ok {
			return nil, fmt.Errorf("ParameterDict _parameters is a %s", describe(inner))
		}
		o.pdict = true
		return o, nil
	case *big.Int:
		return x.String(), nil
	}
	return v, nil
}

func fromSafetensors(f *safetensors.File) (*Embedding, error) {
	e := &Embedding{Container: ContainerSafetensors, Metadata: f.Metadata()}
	obj := &object{}
	entries := f.Tensors()
	obj.Grow(len(entries))
	for _, en := range entries {
		if !en.DType.IsFloat() && en.DType.Size() == 0 {
			// F4/F6 (sub-byte) cannot be loaded into a dense tensor; report them.
			return nil, fmt.Errorf("tensor %q has dtype %s, which embtool does not read", en.Name, en.DType)
		}
		t, err := en.Load()
		if err != nil {
			return nil, err
		}
		obj.Append(en.Name, t)
	}
	// The metadata embtool writes carries what A1111's .pt keeps in the dict.
	if m := e.Metadata; m != nil {
		if s, ok := m[MetaName]; ok {
			e.StoredName = &s
		}
		if s, ok := m[MetaStep]; ok {
			if n, ok := parseStep(s); ok {
				e.Step = &n
			}
		}
		if s, ok := m[MetaCheckpoint]; ok {
			e.SDCheckpoint = &s
		}
		if s, ok := m[MetaCheckpointName]; ok {
			e.SDCheckpointName = &s
		}
	}
	return detect(e, obj)
}

func fromPNG(r *pngembed.Result) (*Embedding, error) {
	e := &Embedding{Container: ContainerPNG}
	root, err := pngValue(r.Root, 0)
	if err != nil {
		return nil, err
	}
	return detect(e, root.(*object))
}

func pngValue(v any, depth int) (any, error) {
	if depth > 32 {
		return nil, fmt.Errorf("objects nested deeper than 32 levels")
	}
	switch x := v.(type) {
	case *pngembed.Object:
		o := &object{}
		o.Grow(len(x.Keys))
		for i, k := range x.Keys {
			val, err := pngValue(x.Values[i], depth+1)
			if err != nil {
				return nil, err
			}
			o.Append(k, val)
		}
		return o, nil
	case float64:
		// JSON numbers: step is an int in the original dict.
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), nil
		}
	}
	return v, nil
}

// detect applies formats.md §12 to the normalised top-level object.
func detect(e *Embedding, o *object) (*Embedding, error) {
	e.All = o.tensors()
	if stp, ok := o.Get("string_to_param"); ok {
		return detectA1111(e, o, stp)
	}
	_, hasG := o.Get(KeyClipG)
	_, hasL := o.Get(KeyClipL)
	if hasG && hasL {
		return detectSDXL(e, o)
	}
	ts := e.All
	switch {
	case len(ts) == 0:
		return nil, fmt.Errorf("%w: no tensors in the file (keys %s)", ErrNotEmbedding, strings.Join(o.Keys, ", "))
	case len(ts) > 1:
		return refuse(e, multiTermReason(o.Keys, ts)), nil
	}
	t := ts[0]
	if len(o.Keys) > 1 && e.Container != ContainerPNG {
		e.Warnings = append(e.Warnings, fmt.Sprintf("keys besides %q (%s): A1111 refuses a file whose only tensor is not its only key", t.Key, strings.Join(otherKeys(o.Keys, t.Key), ", ")))
	}
	if o.params[t.Key] {
		e.Warnings = append(e.Warnings, fmt.Sprintf("%q is a torch.nn.Parameter: A1111's exact type check rejects it", t.Key))
	}
	switch {
	case t.Key == "emb_params":
		e.Layout = LayoutKohya
	case t.Key == "":
		e.Layout = LayoutOther
	default:
		e.Layout = LayoutDiffusers
		e.Token = t.Key
	}
	return setVectors(e, []Named{t})
}

func otherKeys(keys []string, except string) []string {
	var out []string
	for _, k := range keys {
		if k != except {
			out = append(out, k)
		}
	}
	return out
}

func detectA1111(e *Embedding, o *object, stp any) (*Embedding, error) {
	params, ok := stp.(*object)
	if !ok {
		return nil, fmt.Errorf("string_to_param is a %s, not a dict", describe(stp))
	}
	e.Layout = LayoutA1111
	if params.pdict {
		e.Layout = LayoutTI
		e.Warnings = append(e.Warnings, "string_to_param is a torch ParameterDict: torch.load(weights_only=True), and so diffusers, refuse it; A1111 loads it")
	}
	e.StoredName = optString(o, "name")
	e.Step = optInt(o, "step")
	e.SDCheckpoint = optString(o, "sd_checkpoint")
	e.SDCheckpointName = optString(o, "sd_checkpoint_name")
	if m, ok := o.Get(MetaKeyPT); ok {
		e.Metadata = stringMap(m)
	}
	ts := params.tensors()
	if len(ts) == 0 {
		return nil, fmt.Errorf("%w: string_to_param holds no tensors", ErrNotEmbedding)
	}
	if len(ts) > 1 || len(params.Keys) > 1 {
		e.All = ts
		return refuse(e, fmt.Sprintf("embedding file has multiple terms in it (%s): A1111 refuses it, other UIs take the first", strings.Join(params.Keys, ", "))), nil
	}
	e.All = ts
	e.Token = ts[0].Key
	if len(ts[0].Tensor.Shape) == 1 {
		e.Warnings = append(e.Warnings, fmt.Sprintf("string_to_param %q is 1-D: A1111 reads it as %d vectors of width %d; convert writes it as [1, %d]", ts[0].Key, ts[0].Tensor.Shape[0], ts[0].Tensor.Shape[0], ts[0].Tensor.Shape[0]))
	}
	return setVectors(e, ts)
}

func detectSDXL(e *Embedding, o *object) (*Embedding, error) {
	lv, _ := o.Get(KeyClipL)
	gv, _ := o.Get(KeyClipG)
	l, okL := lv.(*tensor.Tensor)
	g, okG := gv.(*tensor.Tensor)
	if !okL || !okG {
		return nil, fmt.Errorf("clip_l and clip_g must both be tensors")
	}
	e.Layout = LayoutSDXL
	if extra := otherKeys(otherKeys(o.Keys, KeyClipL), KeyClipG); len(extra) > 0 {
		e.Warnings = append(e.Warnings, "keys besides clip_l and clip_g: "+strings.Join(extra, ", "))
	}
	vecs := []Named{{KeyClipL, l}, {KeyClipG, g}}
	if _, err := setVectors(e, vecs); err != nil {
		return nil, err
	}
	nl, wl := l.Rows()
	ng, wg := g.Rows()
	if nl != ng {
		e.Warnings = append(e.Warnings, fmt.Sprintf("clip_l has %d vectors but clip_g %d; A1111 counts clip_g's", nl, ng))
		e.Count = ng
	}
	e.Width = wl + wg
	e.Model = ModelUnknown
	if wl == 768 && wg == 1280 {
		e.Model = ModelSDXL
	} else {
		e.Warnings = append(e.Warnings, fmt.Sprintf("clip_l width %d and clip_g width %d are not SDXL's 768 and 1280", wl, wg))
	}
	return e, nil
}

// setVectors records the vector tensors, their count and width, and the
// warnings about their values.
func setVectors(e *Embedding, vecs []Named) (*Embedding, error) {
	for _, v := range vecs {
		if !v.Tensor.DType.IsFloat() {
			return nil, fmt.Errorf("tensor %q has dtype %s; embedding vectors are floats", v.Key, v.Tensor.DType)
		}
		if len(v.Tensor.Shape) == 0 || v.Tensor.NumElements() == 0 {
			e.All = vecs
			return refuse(e, fmt.Sprintf("tensor %q has shape %v: no vectors (A1111 fails on it)", v.Key, v.Tensor.Shape)), nil
		}
	}
	e.Vectors = vecs
	n, w := vecs[0].Tensor.Rows()
	e.Count, e.Width = n, w
	if e.Layout != LayoutSDXL {
		e.Model = ModelForWidth(w)
		other := func(reason string) {
			e.Layout, e.OtherReason = LayoutOther, reason
			e.Warnings = append(e.Warnings, reason)
		}
		switch {
		case w == 4096:
			other("width 4096 is a T5-XXL embedding (Flux/SD3), not a CLIP textual inversion")
		case w == 1280:
			e.Warnings = append(e.Warnings, "width 1280 alone: an SDXL clip_g half or an LDM-BERT embedding; no SD1/SD2 UI loads it")
		case e.Model == ModelUnknown:
			other(fmt.Sprintf("width %d matches no CLIP text encoder (768 SD1, 1024 SD2, 768+1280 SDXL)", w))
		}
	}
	e.stats = make([]vectorStats, len(vecs))
	for i, v := range vecs {
		e.stats[i] = statsOf(v.Tensor)
		e.Warnings = append(e.Warnings, valueWarnings(v, e.stats[i])...)
	}
	return e, nil
}

// refuse marks a file whose tensors no UI loads as one embedding.
func refuse(e *Embedding, reason string) *Embedding {
	e.Layout = LayoutOther
	e.Refusal = reason
	e.Model = ModelUnknown
	return e
}

func multiTermReason(keys []string, ts []Named) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.Key
	}
	xti := []string{"IN01", "IN02", "IN04", "IN05", "IN07", "IN08", "MID", "OUT03", "OUT04", "OUT05", "OUT06", "OUT07", "OUT08", "OUT09", "OUT10", "OUT11"}
	sorted := append([]string(nil), names...)
	sort.Strings(sorted)
	if strings.Join(sorted, ",") == strings.Join(xti, ",") {
		return "a kohya XTI embedding (16 per-block keys IN01…OUT11): A1111, ComfyUI and diffusers cannot use it"
	}
	if len(names) == 2 && names[0] == "emb" && names[1] == "emb2" {
		return "embedding file has multiple terms in it (emb, emb2): an SDXL pair under non-standard names; A1111 refuses it (rename to clip_l/clip_g)"
	}
	return fmt.Sprintf("embedding file has multiple terms in it (%s): A1111 refuses it", listSome(names, 8))
}

// stringMap reads embtool's "__metadata__" dict of a .pt; entries that
// are not strings are dropped.
func stringMap(v any) map[string]string {
	o, ok := v.(*object)
	if !ok {
		return nil
	}
	m := map[string]string{}
	for i, k := range o.Keys {
		if s, ok := o.Values[i].(string); ok {
			m[k] = s
		}
	}
	return m
}

func optString(o *object, key string) *string {
	v, ok := o.Get(key)
	if !ok {
		return nil
	}
	if s, ok := v.(string); ok {
		return &s
	}
	return nil
}

func optInt(o *object, key string) *int64 {
	v, ok := o.Get(key)
	if !ok {
		return nil
	}
	if n, ok := v.(int64); ok {
		return &n
	}
	return nil
}

func describe(v any) string {
	switch v.(type) {
	case *object:
		return "dict"
	case *tensor.Tensor:
		return "tensor"
	case nil:
		return "None"
	}
	return fmt.Sprintf("%T", v)
}

// parseStep reads the step metadata embtool writes: a canonical decimal
// int64 (-?[1-9][0-9]*|0). Anything else ("12abc", " 12", "+12", "1_2",
// "012") is no step, rather than the prefix fmt.Sscan would take.
func parseStep(s string) (int64, bool) {
	t := strings.TrimPrefix(s, "-")
	if t == "" || (t[0] == '0' && len(t) > 1) || (t == "0" && s != t) {
		return 0, false
	}
	for i := 0; i < len(t); i++ {
		if t[i] < '0' || t[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}
