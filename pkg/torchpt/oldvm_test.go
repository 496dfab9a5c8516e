package torchpt

// The reader's VM before embtool had its own (main at 26b3b09): gopickle's
// VM, then a conversion of its values. Kept as the oracle of the
// differential tests of the VM (vmdiff_test.go).

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/big"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"
)

// unpickle runs gopickle's VM over a pickle that Scan has already
// validated. Every global is mapped to a fixed Go constructor; nothing is
// imported or executed. Panics inside the VM become errors.
func oldUnpickle(data []byte, record string, resolve storageResolver, allowUnsafe bool) (v any, err error) {
	defer func() {
		if p := recover(); p != nil {
			v, err = nil, &FormatError{Pkg: errPkg, Record: record, Offset: -1, Msg: fmt.Sprintf("malformed pickle: %v", p)}
		}
	}()
	st := &oldConvState{seen: map[any]bool{}, left: valueBudget(len(data))}
	u := pickle.NewUnpickler(bytes.NewReader(data))
	u.FindClass = func(module, name string) (any, error) {
		c, err := oldFindClass(module, name, allowUnsafe)
		if f, ok := c.(*oldRebuildFunc); ok {
			f.st = st
		}
		return c, err
	}
	u.PersistentLoad = func(pid any) (any, error) {
		t, ok := pid.(*types.Tuple)
		if !ok {
			return nil, fmt.Errorf("persistent id is a %T, not a tuple", pid)
		}
		conv, err := oldConvert(t, 0, st)
		if err != nil {
			return nil, err
		}
		return resolve(conv.(Tuple))
	}
	raw, err := u.Load()
	if err != nil {
		return nil, oldVMError(record, err)
	}
	out, err := oldConvert(raw, 0, st)
	if err != nil {
		return nil, oldVMError(record, err)
	}
	return out, nil
}

// vmError names the record; an unsupported feature stays unsupported.
func oldVMError(record string, err error) error {
	var ue *UnsupportedError
	if errors.As(err, &ue) {
		return &UnsupportedError{Pkg: errPkg, Msg: record + ": " + ue.Msg}
	}
	return &FormatError{Pkg: errPkg, Record: record, Offset: -1, Msg: err.Error()}
}

func oldFindClass(module, name string, allowUnsafe bool) (any, error) {
	switch k := classify(module, name); k {
	case kRebuildTensor, kRebuildParameter, kRebuildParameterWithState:
		return &oldRebuildFunc{kind: k}, nil
	case kSet:
		return &setClass{}, nil
	case kParameterDict:
		return &pdictClass{}, nil
	case kStorage, kUnsupportedStorage:
		return &storageClass{name: name}, nil
	case kOrderedDict:
		return &types.OrderedDictClass{}, nil
	case kInert:
		return &inertGlobal{name: module + "." + name}, nil
	}
	if allowUnsafe {
		return &inertGlobal{name: module + "." + name}, nil
	}
	return nil, fmt.Errorf("global %s.%s is not allowed", module, name)
}

func (g *inertGlobal) Call(args ...any) (any, error)  { return &Opaque{Name: g.name}, nil }
func (g *inertGlobal) PyNew(args ...any) (any, error) { return &Opaque{Name: g.name}, nil }
func (o *Opaque) PySetState(any) error                { return nil }

func (setClass) Call(args ...any) (any, error) {
	if len(args) == 0 {
		return &types.List{}, nil
	}
	if len(args) != 1 {
		return nil, fmt.Errorf("set() takes one argument, got %d", len(args))
	}
	switch a := args[0].(type) {
	case *types.List:
		return a, nil
	case *types.Tuple:
		l := types.List(*a)
		return &l, nil
	}
	return nil, fmt.Errorf("set() of a %T", args[0])
}

func (pdictClass) PyNew(args ...any) (any, error) {
	if len(args) != 0 {
		return nil, fmt.Errorf("ParameterDict.__new__ with %d arguments", len(args))
	}
	return &oldPdictInst{}, nil
}

func (p *oldPdictInst) PySetState(state any) error {
	if p.state != nil {
		return fmt.Errorf("ParameterDict built twice")
	}
	p.state = state
	return nil
}

// PySetState ignores the state BUILD gives a tensor: it holds Python-side
// attributes, never data.
func (t *Tensor) PySetState(any) error { return nil }

type (
	oldRebuildFunc struct {
		kind globalKind
		st   *oldConvState // the conversion of the pickle that names it
	}
	oldPdictInst struct{ state any }
)

func (f *oldRebuildFunc) Call(args ...any) (any, error) {
	conv := make([]any, len(args))
	for i, a := range args {
		switch a.(type) {
		case *Tensor, *Storage:
			conv[i] = a
			continue
		}
		c, err := oldConvert(a, 0, f.st)
		if err != nil {
			return nil, err
		}
		conv[i] = c
	}
	switch f.kind {
	case kRebuildTensor:
		return rebuildTensor(conv)
	default:
		want := 3
		if f.kind == kRebuildParameterWithState {
			want = 4
		}
		if len(conv) != want {
			return nil, fmt.Errorf("_rebuild_parameter takes %d arguments, got %d", want, len(conv))
		}
		t, ok := conv[0].(*Tensor)
		if !ok {
			return nil, fmt.Errorf("_rebuild_parameter of a %T, not a tensor", conv[0])
		}
		p := *t
		p.Parameter = true
		if rg, ok := conv[1].(bool); ok {
			p.RequiresGrad = rg
		}
		return &p, nil
	}
}

// oldConvState is the conversion of one pickle's values: the containers
// being converted, to catch cycles, and how many more values it may yield.
type oldConvState struct {
	seen map[any]bool
	left int
}

// convert turns gopickle's values into this package's value model (see
// types.go), checking depth, cycles and the number of values. A nil st
// starts a conversion of its own.
func oldConvert(v any, depth int, st *oldConvState) (any, error) {
	if st == nil {
		st = &oldConvState{seen: map[any]bool{}, left: valueBudget(0)}
	}
	if depth > maxDepth {
		return nil, fmt.Errorf("values nested deeper than %d", maxDepth)
	}
	if st.left--; st.left < 0 {
		return nil, fmt.Errorf("the pickle decodes to more values than its size allows: containers shared through the memo repeat them")
	}
	seen := st.seen
	enter := func(p any) error {
		if seen[p] {
			return fmt.Errorf("a container contains itself")
		}
		seen[p] = true
		return nil
	}
	leave := func(p any) { delete(seen, p) }
	switch x := v.(type) {
	case nil, bool, string, float64, []byte, *Tensor, *Storage, *Opaque:
		return x, nil
	case int:
		return int64(x), nil
	case *big.Int:
		if x.IsInt64() {
			return x.Int64(), nil
		}
		return x, nil
	case *types.Tuple:
		if err := enter(x); err != nil {
			return nil, err
		}
		defer leave(x)
		out, err := oldConvertAll(*x, depth, st)
		return Tuple(out), err
	case *types.List:
		if err := enter(x); err != nil {
			return nil, err
		}
		defer leave(x)
		out, err := oldConvertAll(*x, depth, st)
		return List(out), err
	case *types.Dict:
		if err := enter(x); err != nil {
			return nil, err
		}
		defer leave(x)
		d := &Dict{Class: "dict"}
		index := map[any]int{}
		for _, e := range *x {
			if err := oldAdd(d, e.Key, e.Value, depth, st, index); err != nil {
				return nil, err
			}
		}
		return d, nil
	case *types.OrderedDict:
		if err := enter(x); err != nil {
			return nil, err
		}
		defer leave(x)
		d := &Dict{Class: "collections.OrderedDict"}
		index := map[any]int{}
		for e := x.List.Front(); e != nil; e = e.Next() {
			entry := e.Value.(*types.OrderedDictEntry)
			if err := oldAdd(d, entry.Key, entry.Value, depth, st, index); err != nil {
				return nil, err
			}
		}
		return d, nil
	case *oldPdictInst:
		if err := enter(x); err != nil {
			return nil, err
		}
		defer leave(x)
		state, err := oldConvert(x.state, depth+1, st)
		if err != nil {
			return nil, err
		}
		sd, ok := state.(*Dict)
		if !ok {
			return nil, fmt.Errorf("ParameterDict state is a %T, not a dict", state)
		}
		return &Object{Class: "torch.nn.modules.container.ParameterDict", State: sd}, nil
	case *storageClass, *pdictClass:
		return x, nil
	case *inertGlobal:
		// A class named as a value (a dict key in checkpoint callbacks).
		return &Opaque{Name: x.name}, nil
	}
	return nil, fmt.Errorf("unexpected %s in the data", oldPyTypeName(v))
}

// convertAll converts the elements of a tuple or list.
func oldConvertAll(items []any, depth int, st *oldConvState) ([]any, error) {
	out := make([]any, len(items))
	for i, e := range items {
		c, err := oldConvert(e, depth+1, st)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

// add converts and sets one item. As in Python, a key set again keeps its
// place and takes the new value; index maps the keys so far to their place.
func oldAdd(d *Dict, k, v any, depth int, st *oldConvState, index map[any]int) error {
	ck, err := oldConvert(k, depth+1, st)
	if err != nil {
		return err
	}
	cv, err := oldConvert(v, depth+1, st)
	if err != nil {
		return err
	}
	if hk, ok := pyKey(ck); ok {
		if i, dup := index[hk]; dup {
			d.Values[i] = cv
			return nil
		}
		index[hk] = len(d.Keys)
	}
	d.Keys = append(d.Keys, ck)
	d.Values = append(d.Values, cv)
	return nil
}

func oldPyTypeName(v any) string {
	switch x := v.(type) {
	case *types.GenericClass:
		return "class " + x.Module + "." + x.Name
	case *types.GenericObject:
		return "object of " + x.Class.Module + "." + x.Class.Name
	case *oldRebuildFunc, *setClass, *pdictClass:
		return "uncalled function"
	case float32:
		if math.IsNaN(float64(x)) {
			return "nan"
		}
	}
	return fmt.Sprintf("%T", v)
}
