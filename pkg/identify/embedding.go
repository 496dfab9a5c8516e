package identify

import (
	"strings"

	"github.com/embtool/embtool/pkg/tensor"
)

// The layouts and model families, spelled as pkg/embedding spells them
// (its tests hold the two to the same answers on every fixture).
const (
	layoutA1111     = "a1111"
	layoutTI        = "textual-inversion"
	layoutDiffusers = "diffusers"
	layoutKohya     = "kohya"
	layoutSDXL      = "sdxl"
	layoutOther     = "other"

	modelSD1     = "sd1"
	modelSD2     = "sd2"
	modelSDXL    = "sdxl"
	modelUnknown = "unknown"
)

// Bounds of a file of several loose vectors that is still reported as an
// embedding (which A1111 refuses for its several terms, with the reason)
// rather than as unknown: kohya XTI has 16, a pair under odd names 2.
const (
	maxTermTensors = 64
	maxTermBytes   = 16 << 20
)

// classifyEmbedding applies the layout rules of formats.md §12 to the
// top-level dict, from shapes alone.
func classifyEmbedding(res *Result, root *node) bool {
	if v, ok := root.Get("string_to_param"); ok {
		res.Kind, res.Layout = KindEmbedding, layoutA1111
		p, ok := v.(*node)
		if !ok {
			return true
		}
		if p.pdict {
			res.Layout = layoutTI
		}
		ts := p.direct()
		if len(ts) == 1 && len(p.Keys) == 1 {
			setVectors(res, ts)
		} else if len(ts) > 1 || len(p.Keys) > 1 {
			refuse(res, ts)
		}
		return true
	}
	_, hasL := root.Get("clip_l")
	_, hasG := root.Get("clip_g")
	if hasL && hasG {
		res.Kind, res.Layout = KindEmbedding, layoutSDXL
		l, okL := root.Values[index(root, "clip_l")].(meta)
		g, okG := root.Values[index(root, "clip_g")].(meta)
		if okL && okG {
			setVectors(res, []entry{{"clip_l", l}, {"clip_g", g}})
		}
		return true
	}
	ts := root.direct()
	if len(ts) != 1 {
		return false
	}
	res.Kind = KindEmbedding
	switch ts[0].key {
	case "emb_params":
		res.Layout = layoutKohya
	case "":
		res.Layout = layoutOther
	default:
		res.Layout = layoutDiffusers
	}
	setVectors(res, ts)
	return true
}

func index(n *node, key string) int {
	for i, k := range n.Keys {
		if k == key {
			return i
		}
	}
	return -1
}

// setVectors records count, width, dtype and model family as
// pkg/embedding computes them.
func setVectors(res *Result, vecs []entry) {
	var dts []string
	for _, v := range vecs {
		n, err := tensor.NumElements(v.shape)
		if len(v.shape) == 0 || n == 0 || err != nil {
			refuse(res, vecs)
			return
		}
		if len(dts) == 0 || dts[len(dts)-1] != string(v.dtype) {
			dts = append(dts, string(v.dtype))
		}
	}
	res.DType = strings.Join(dts, "+")
	rows := func(s []int) (int, int) {
		if len(s) == 1 {
			return 1, s[0]
		}
		n, _ := tensor.NumElements(s[:len(s)-1])
		return n, s[len(s)-1]
	}
	n, w := rows(vecs[0].shape)
	res.Vectors, res.Width = n, w
	if res.Layout == layoutSDXL {
		ng, wg := rows(vecs[1].shape)
		res.Vectors, res.Width = ng, w+wg
		res.Model = modelUnknown
		if w == 768 && wg == 1280 {
			res.Model = modelSDXL
		}
		return
	}
	switch w {
	case 768:
		res.Model = modelSD1
	case 1024:
		res.Model = modelSD2
	default:
		res.Model = modelUnknown
		if w != 1280 {
			res.Layout = layoutOther // a T5 width, or no CLIP width at all
		}
	}
}

// refuse: tensors, but not one embedding a UI loads.
func refuse(res *Result, ts []entry) {
	res.Kind, res.Layout, res.Model = KindEmbedding, layoutOther, modelUnknown
	res.Vectors, res.Width = 0, 0
	var dts []string
	for _, t := range ts {
		if len(dts) == 0 || dts[len(dts)-1] != string(t.dtype) {
			dts = append(dts, string(t.dtype))
		}
	}
	res.DType = strings.Join(dts, "+")
}

// looseTerms: a few small tensors of at most two dimensions under names no layout uses (kohya
// XTI, an SDXL pair under other names): an embedding file A1111 refuses.
func looseTerms(all []entry) bool {
	if len(all) < 2 || len(all) > maxTermTensors {
		return false
	}
	var total int64
	for _, t := range all {
		if len(t.shape) > 2 {
			return false
		}
		n, err := tensor.ByteSize(t.dtype, t.shape)
		if err != nil {
			return false
		}
		if total += int64(n); total > maxTermBytes {
			return false
		}
	}
	return true
}
