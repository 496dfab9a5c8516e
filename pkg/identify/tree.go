package identify

import (
	"fmt"
	"strconv"

	"github.com/embtool/embtool/internal/ordered"
	"github.com/embtool/embtool/pkg/pngembed"
	"github.com/embtool/embtool/pkg/tensor"
	"github.com/embtool/embtool/pkg/torchpt"
)

// node is a container's dict normalised so one classifier serves every
// container: values are *node, meta (a tensor's dtype and shape, never
// its bytes), or the scalar as decoded (string, int64, …).
type node struct {
	ordered.Map[string, any]
	// intKeys counts the keys that were integers (a hypernetwork's).
	intKeys []int64
	// pdict marks a torch ParameterDict read through _parameters.
	pdict bool
}

// meta is a tensor as its header describes it.
type meta struct {
	dtype tensor.DType
	shape []int
}

// Limits of the walk over a decoded pickle: it holds no more values than
// the pickle's bytes, but nothing needs more than this.
const (
	maxDepth  = 32
	maxValues = 1 << 20
)

// direct lists the tensors that are values of n itself.
func (n *node) direct() []entry {
	var out []entry
	for i, v := range n.Values {
		if m, ok := v.(meta); ok {
			out = append(out, entry{n.Keys[i], m})
		}
	}
	return out
}

// entry is one tensor under its dotted key path.
type entry struct {
	key string
	meta
}

// flatten lists every tensor under n with dotted key paths, as Stable
// Diffusion loaders flatten nested state dicts.
func (n *node) flatten() []entry {
	var out []entry
	var walk func(n *node, prefix string, depth int)
	walk = func(n *node, prefix string, depth int) {
		if depth > maxDepth {
			return
		}
		for i, v := range n.Values {
			switch x := v.(type) {
			case meta:
				out = append(out, entry{prefix + n.Keys[i], x})
			case *node:
				walk(x, prefix+n.Keys[i]+".", depth+1)
			}
		}
	}
	walk(n, "", 0)
	return out
}

// fromTorch normalises torchpt's decoded root; ok is false when it is
// not a dict (or a bare tensor, which becomes a dict with key "").
func fromTorch(root any) (*node, bool) {
	budget := maxValues
	switch v := torchValue(root, 0, &budget).(type) {
	case *node:
		return v, true
	case meta:
		return &node{Map: ordered.Map[string, any]{Keys: []string{""}, Values: []any{v}}}, true
	}
	return nil, false
}

func torchValue(v any, depth int, budget *int) any {
	if *budget--; *budget < 0 || depth > maxDepth {
		return nil
	}
	switch x := v.(type) {
	case *torchpt.Tensor:
		dt, shape := x.Meta()
		return meta{dt, shape}
	case *torchpt.Dict:
		n := &node{}
		n.Grow(len(x.Keys))
		for i, k := range x.Keys {
			var key string
			switch k := k.(type) {
			case string:
				key = k
			case int64:
				key = strconv.FormatInt(k, 10)
				n.intKeys = append(n.intKeys, k)
			default:
				key = fmt.Sprint(k)
			}
			n.Append(key, torchValue(x.Values[i], depth+1, budget))
		}
		return n
	case torchpt.List:
		return torchSeq(x, depth, budget)
	case torchpt.Tuple:
		return torchSeq(x, depth, budget)
	case *torchpt.Object:
		if x.State == nil {
			return nil
		}
		p, ok := x.State.Get("_parameters")
		if !ok {
			return nil
		}
		n, ok := torchValue(p, depth+1, budget).(*node)
		if !ok {
			return nil
		}
		n.pdict = true
		return n
	}
	return v
}

func torchSeq(s []any, depth int, budget *int) *node {
	n := &node{}
	n.Grow(len(s))
	for i, v := range s {
		n.Append(strconv.Itoa(i), torchValue(v, depth+1, budget))
	}
	return n
}

// fromPNG normalises a decoded sd-ti-embedding JSON object.
func fromPNG(o *pngembed.Object, depth int) *node {
	n := &node{}
	if depth > maxDepth {
		return n
	}
	n.Grow(len(o.Keys))
	for i, k := range o.Keys {
		var v any
		switch x := o.Values[i].(type) {
		case *pngembed.Object:
			v = fromPNG(x, depth+1)
		case *tensor.Tensor:
			v = meta{x.DType, x.Shape}
		default:
			v = x
		}
		n.Append(k, v)
	}
	return n
}
