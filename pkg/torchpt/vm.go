package torchpt

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/bits"
)

// maxDepth bounds the nesting of the decoded value; real files nest a
// handful of levels (a checkpoint's state_dict inside a dict).
const maxDepth = 100

// storageResolver turns a persistent id into a storage. It is given by the
// container (zip or legacy), which knows where storages live.
type storageResolver func(pid Tuple) (any, error)

// Go stand-ins for the allowed globals: a GLOBAL pushes one, REDUCE or
// NEWOBJ calls it. Nothing named in a pickle is ever looked up or run.
type (
	rebuildFunc  struct{ kind globalKind }
	storageClass struct{ name string }
	setClass     struct{}
	odictClass   struct{}
	pdictClass   struct{}
	// inertGlobal stands for a disallowed global when the caller asked to
	// extract tensors from an unsafe file anyway (and for the inert
	// checkpoint extras): calling it yields an Opaque value and runs
	// nothing.
	inertGlobal struct{ name string }
)

// Opaque is what a disallowed call becomes under AllowUnsafe.
type Opaque struct{ Name string }

// The containers while the VM runs. They are pointers, so that the memo
// shares them as Python does: an item SETITEM or APPEND adds later shows
// wherever the container was referenced. finish turns them into the
// value model (types.go) once the pickle has run.
type (
	vNode struct {
		state  uint8 // nodeNew, nodeBusy (on the conversion path) or nodeDone
		size   int   // values in the converted subtree
		height int   // levels below the node
		out    any   // the converted value, once nodeDone
	}
	vTuple struct {
		vNode
		items []any
		small [3]any // the items of a short tuple, in the same allocation
	}
	vList struct {
		vNode
		items []any
	}
	// vSet is an EMPTY_SET: the value model holds no set built that way.
	vSet  struct{ vNode }
	vDict struct {
		vNode
		odict   bool
		entries []vEntry
		// index maps the entries' hk to their place once the dict is too
		// large for a linear search.
		index map[any]int
		// nonStr counts the keys that are not strings (BUILD's check of
		// attribute names, without a walk per BUILD).
		nonStr int
	}
	// vEntry is a dict item; hk is the key under which k merges with an
	// equal key (pyKey, or the container itself).
	vEntry struct{ k, v, hk any }
	vPDict struct {
		vNode
		state any
	}
)

const (
	nodeNew uint8 = iota
	nodeBusy
	nodeDone
)

// dictIndexAt is the size from which a dict looks its keys up in a map.
const dictIndexAt = 16

// vm is the data-only VM. It runs inside the scan (scanner.vm): the
// scanner decodes and checks every opcode and operand once, keeps the
// stack and memo, and asks the VM for the value of each item it pushes.
// The VM never runs an opcode the reader refuses (opInfo.allowed, or a
// finding without AllowUnsafe): it stops at the first such opcode, at the
// scan's first soft defect and at its own first error, and the reader
// then refuses the pickle for the first of these that applies.
type vm struct {
	record      string
	resolve     storageResolver
	allowUnsafe bool
	// left is how many more values the conversions may yield
	// (valueBudget); used counts those conversions made while running.
	left, used int
	stopped    bool
	err        error // why the VM stopped, when it was an error of its own
	result     any   // the value STOP returned
	ran        bool  // STOP was reached with the VM running
	// empty is the pickle's empty tuple: one value, as in CPython.
	empty *vTuple
}

// emptyTuple is EMPTY_TUPLE's value.
func (m *vm) emptyTuple() *vTuple {
	if m.empty == nil {
		m.empty = &vTuple{}
	}
	return m.empty
}

// valueBudget is how many values a pickle of n bytes may decode to,
// counting a container the memo shares once per reference. A few bytes of
// memo references can describe a tree of 2^k values (lists holding the
// list before them twice), which would take forever to walk; real pickles
// decode to fewer values than they have bytes.
func valueBudget(n int) int { return 1<<10 + 4*n }

var (
	errTooDeep   = fmt.Errorf("values nested deeper than %d", maxDepth)
	errTooMany   = errors.New("the pickle decodes to more values than its size allows: containers shared through the memo repeat them")
	errSelfCycle = errors.New("a container contains itself")
)

// scanAndBuild scans one pickle and, in the same pass, runs the data-only
// VM over it. The value is returned only when the scan passed (no error,
// no finding unless allowUnsafe, no opcode the VM may not run); vmErr is
// the VM's own error, to be reported only then.
//
// vmRecord names the pickle in the VM's errors (the legacy reader's
// "pickle 4 (data)"), record in the scan's.
func scanAndBuild(data []byte, record, vmRecord string, resolve storageResolver, allowUnsafe bool) (res *ScanResult, v any, vmErr, err error) {
	m := &vm{record: vmRecord, resolve: resolve, allowUnsafe: allowUnsafe, left: valueBudget(len(data))}
	s := newScanner(data, record)
	defer s.release()
	s.vm = m
	defer func() {
		if p := recover(); p != nil {
			// Defence in depth: no input is known to panic.
			res, v, vmErr = s.res, nil, nil
			err = &FormatError{Pkg: errPkg, Record: record, Offset: int64(s.op), Msg: fmt.Sprintf("malformed pickle: %v", p)}
		}
	}()
	err = s.run()
	res = s.res
	if err != nil || (len(res.Findings) > 0 && !allowUnsafe) || res.disallowed != 0 {
		return res, nil, nil, err
	}
	if m.err != nil {
		return res, nil, m.err, nil
	}
	if !m.ran {
		return res, nil, &FormatError{Pkg: errPkg, Record: vmRecord, Offset: -1, Msg: "the VM stopped early"}, nil
	}
	m.left = valueBudget(int(res.End)) - m.used
	out, _, _, cerr := m.conv(m.result, 0, true)
	if cerr != nil {
		return res, nil, m.wrap(cerr, -1), nil
	}
	return res, out, nil, nil
}

// wrap names the record (and the opcode's offset, when off >= 0); an
// unsupported feature stays unsupported.
func (m *vm) wrap(err error, off int64) error {
	var ue *UnsupportedError
	if errors.As(err, &ue) {
		return &UnsupportedError{Pkg: errPkg, Msg: m.record + ": " + ue.Msg}
	}
	return &FormatError{Pkg: errPkg, Record: m.record, Offset: off, Msg: err.Error()}
}

// findClass is the stand-in of an allowed global; a disallowed one is an
// inert global under AllowUnsafe and an error otherwise.
func findClass(module, name string, allowUnsafe bool) (any, error) {
	switch k := classify(module, name); k {
	case kRebuildTensor, kRebuildParameter, kRebuildParameterWithState:
		return &rebuildFunc{kind: k}, nil
	case kSet:
		return &setClass{}, nil
	case kParameterDict:
		return &pdictClass{}, nil
	case kStorage, kUnsupportedStorage:
		return &storageClass{name: name}, nil
	case kOrderedDict:
		return &odictClass{}, nil
	case kInert:
		return &inertGlobal{name: module + "." + name}, nil
	}
	if allowUnsafe {
		return &inertGlobal{name: module + "." + name}, nil
	}
	return nil, fmt.Errorf("global %s.%s is not allowed", module, name)
}

// call applies fn to args (REDUCE, and INST and OBJ under AllowUnsafe).
func (m *vm) call(fn any, args []any) (any, error) {
	switch f := fn.(type) {
	case *rebuildFunc:
		return m.rebuild(f.kind, args)
	case *setClass:
		// The value model holds a set as the list of its items.
		switch {
		case len(args) == 0:
			return &vList{}, nil
		case len(args) != 1:
			return nil, fmt.Errorf("set() takes one argument, got %d", len(args))
		}
		switch a := args[0].(type) {
		case *vList:
			return a, nil
		case *vTuple:
			// The tuple's items, not a copy (a copy per call would let
			// memo references multiply a large tuple): the capacity is
			// cut, so an APPEND to the list never writes into the tuple.
			return &vList{items: a.items[:len(a.items):len(a.items)]}, nil
		}
		return nil, fmt.Errorf("set() of a %s", vmTypeName(args[0]))
	case *odictClass:
		if len(args) != 0 {
			return nil, fmt.Errorf("OrderedDict() with %d arguments", len(args))
		}
		return &vDict{odict: true}, nil
	case *inertGlobal:
		return &Opaque{Name: f.name}, nil
	}
	return nil, fmt.Errorf("calls a %s, which is not callable", vmTypeName(fn))
}

// newObj is cls.__new__(cls, *args) (NEWOBJ, NEWOBJ_EX) with nargs
// arguments, which no stand-in looks at.
func (m *vm) newObj(cls any, nargs int) (any, error) {
	switch c := cls.(type) {
	case *pdictClass:
		if nargs != 0 {
			return nil, fmt.Errorf("ParameterDict.__new__ with %d arguments", nargs)
		}
		return &vPDict{}, nil
	case *inertGlobal:
		return &Opaque{Name: c.name}, nil
	}
	return nil, fmt.Errorf("instantiates a %s, which has no __new__ here", vmTypeName(cls))
}

// instantiate is INST's and OBJ's call: a callable is called, else a
// class is instantiated.
func (m *vm) instantiate(cls any, args []any) (any, error) {
	switch cls.(type) {
	case *rebuildFunc, *setClass, *odictClass, *inertGlobal:
		return m.call(cls, args)
	}
	return m.newObj(cls, len(args))
}

// build applies BUILD's state to target.
func (m *vm) build(target, state any) error {
	switch t := target.(type) {
	case *Tensor, *Opaque:
		// A tensor's state holds Python-side attributes, never data.
		return nil
	case *vPDict:
		if t.state != nil {
			return errors.New("ParameterDict built twice")
		}
		t.state = state
		return nil
	}
	// An object without __setstate__: BUILD updates its __dict__ (and its
	// slots, from a (dict, slots) pair). Only an OrderedDict has one here,
	// and its attributes are not data.
	var slots any
	if tup, ok := state.(*vTuple); ok && len(tup.items) == 2 {
		state, slots = tup.items[0], tup.items[1]
	}
	if d, ok := state.(*vDict); ok && !d.odict {
		od, ok := target.(*vDict)
		if !ok || !od.odict {
			return fmt.Errorf("BUILD sets attributes of a %s", vmTypeName(target))
		}
		if d.nonStr > 0 {
			return errors.New("BUILD sets an attribute not named by a string")
		}
	}
	if d, ok := slots.(*vDict); ok && !d.odict {
		return fmt.Errorf("BUILD sets slots of a %s", vmTypeName(target))
	}
	return nil
}

// persistent resolves BINPERSID's id.
func (m *vm) persistent(pid any) (any, error) {
	if _, ok := pid.(*vTuple); !ok {
		return nil, fmt.Errorf("persistent id is a %s, not a tuple", vmTypeName(pid))
	}
	c, err := m.snapshot(pid)
	if err != nil {
		return nil, err
	}
	return m.resolve(c.(Tuple))
}

// snapshot converts a value while the pickle runs (a persistent id, the
// arguments of a rebuild function): containers may still change, so
// nothing is kept of the conversion but its cost.
func (m *vm) snapshot(v any) (any, error) {
	out, size, _, err := m.conv(v, 0, false)
	m.used += size
	return out, err
}

// rebuild calls a tensor or parameter rebuild function.
func (m *vm) rebuild(kind globalKind, args []any) (any, error) {
	var buf [8]any
	conv := buf[:0]
	if len(args) > len(buf) {
		conv = make([]any, 0, len(args))
	}
	conv = conv[:len(args)]
	for i, a := range args {
		switch a.(type) {
		case *Tensor, *Storage:
			conv[i] = a
			continue
		}
		c, err := m.snapshot(a)
		if err != nil {
			return nil, err
		}
		conv[i] = c
	}
	if kind == kRebuildTensor {
		return rebuildTensor(conv)
	}
	want := 3
	if kind == kRebuildParameterWithState {
		want = 4
	}
	if len(conv) != want {
		return nil, fmt.Errorf("_rebuild_parameter takes %d arguments, got %d", want, len(conv))
	}
	t, ok := conv[0].(*Tensor)
	if !ok {
		return nil, fmt.Errorf("_rebuild_parameter of a %s, not a tensor", pyTypeName(conv[0]))
	}
	p := *t
	p.Parameter = true
	if rg, ok := conv[1].(bool); ok {
		p.RequiresGrad = rg
	}
	return &p, nil
}

// set is d[k] = v: a key equal to one already there (pyKey, or the same
// container) keeps its place and takes the new value, as in Python.
func (d *vDict) set(k, v any) {
	hk, ok := pyKey(k)
	if !ok {
		hk = k // a container or object: equal only to itself
	}
	if d.index != nil {
		if i, dup := d.index[hk]; dup {
			d.entries[i].v = v
			return
		}
		d.index[hk] = len(d.entries)
	} else {
		for i := range d.entries {
			if d.entries[i].hk == hk {
				d.entries[i].v = v
				return
			}
		}
		if len(d.entries) >= dictIndexAt {
			d.index = make(map[any]int, 2*len(d.entries))
			for i := range d.entries {
				d.index[d.entries[i].hk] = i
			}
			d.index[hk] = len(d.entries)
		}
	}
	if _, ok := k.(string); !ok {
		d.nonStr++
	}
	d.entries = append(d.entries, vEntry{k, v, hk})
}

// pyKey is a Go map key that is equal for the scalar keys Python deems
// equal (1 == 1.0 == True); other keys (tuples, objects) are not merged.
func pyKey(k any) (any, bool) {
	type bytesKey string
	type bigKey string
	switch x := k.(type) {
	case nil, string, int64:
		return x, true
	case bool:
		if x {
			return int64(1), true
		}
		return int64(0), true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<63 {
			return int64(x), true
		}
		if x != x {
			// NaN: equal to nothing, not even itself, in a Go map.
			return nil, false
		}
		return x, true
	case []byte:
		return bytesKey(x), true
	case *big.Int:
		return bigKey(x.String()), true
	}
	return nil, false
}

// conv turns a VM value into the value model, checking depth, cycles and
// the number of values (one per reference, so a container the memo
// shares counts as often as it is referenced). It returns the value, the
// number of values it counts and its height. With keep, a container is
// converted once (the pickle has run, nothing changes any more) and every
// reference yields the same Go value; without, each conversion is fresh.
func (m *vm) conv(v any, depth int, keep bool) (out any, size, height int, err error) {
	if depth > maxDepth {
		return nil, 0, 0, errTooDeep
	}
	if m.left--; m.left < 0 {
		return nil, 0, 0, errTooMany
	}
	var n *vNode
	switch x := v.(type) {
	case nil, bool, int64, float64, string, []byte, *big.Int, *Tensor, *Storage, *Opaque, *storageClass, *pdictClass:
		return x, 1, 0, nil
	case *inertGlobal:
		// A class named as a value (a dict key in checkpoint callbacks).
		return &Opaque{Name: x.name}, 1, 0, nil
	case *vTuple:
		n = &x.vNode
	case *vList:
		n = &x.vNode
	case *vDict:
		n = &x.vNode
	case *vPDict:
		n = &x.vNode
	default:
		return nil, 0, 0, fmt.Errorf("unexpected %s in the data", vmTypeName(v))
	}
	switch n.state {
	case nodeBusy:
		return nil, 0, 0, errSelfCycle
	case nodeDone:
		if depth+n.height > maxDepth {
			return nil, 0, 0, errTooDeep
		}
		if m.left -= n.size - 1; m.left < 0 {
			return nil, 0, 0, errTooMany
		}
		return n.out, n.size, n.height, nil
	}
	n.state = nodeBusy
	size, height = 1, 0
	at := convAt{m: m, depth: depth + 1, keep: keep, size: &size, height: &height}
	switch x := v.(type) {
	case *vTuple:
		var items []any
		items, err = at.items(x.items)
		out = Tuple(items)
	case *vList:
		var items []any
		items, err = at.items(x.items)
		out = List(items)
	case *vDict:
		d := &Dict{Class: "dict"}
		if x.odict {
			d.Class = "collections.OrderedDict"
		}
		kv := make([]any, 2*len(x.entries))
		d.Keys, d.Values = kv[:len(x.entries):len(x.entries)], kv[len(x.entries):]
		for i, e := range x.entries {
			if d.Keys[i], err = at.conv(e.k); err != nil {
				break
			}
			if d.Values[i], err = at.conv(e.v); err != nil {
				break
			}
		}
		out = d
	case *vPDict:
		var st any
		if st, err = at.conv(x.state); err == nil {
			sd, ok := st.(*Dict)
			if !ok {
				err = fmt.Errorf("ParameterDict state is a %s, not a dict", pyTypeName(st))
			}
			out = &Object{Class: "torch.nn.modules.container.ParameterDict", State: sd}
		}
	}
	if err != nil {
		return nil, 0, 0, err
	}
	n.state = nodeNew
	if keep {
		n.state, n.out, n.size, n.height = nodeDone, out, size, height
	}
	return out, size, height, nil
}

// convAt converts the children of a container at depth, adding their
// sizes and heights to the container's.
type convAt struct {
	m            *vm
	depth        int
	keep         bool
	size, height *int
}

func (a convAt) conv(c any) (any, error) {
	o, s, h, err := a.m.conv(c, a.depth, a.keep)
	*a.size += s
	*a.height = max(*a.height, h+1)
	return o, err
}

// items converts the items of a tuple or list. When no item changes
// (only scalars, the common case of a shape or stride), the items are
// used as they are: a tuple's never change, and a list's only grow (the
// capacity is cut, so they cannot grow into the value).
func (a convAt) items(items []any) ([]any, error) {
	var out []any
	for i, it := range items {
		c, err := a.conv(it)
		if err != nil {
			return nil, err
		}
		if out == nil {
			switch it.(type) {
			case *vTuple, *vList, *vDict, *vPDict, *inertGlobal:
				out = make([]any, len(items))
				copy(out, items[:i])
			default:
				continue
			}
		}
		out[i] = c
	}
	switch {
	case len(items) == 0:
		return []any{}, nil // empty, not nil: JSON writes [] (no allocation)
	case out == nil:
		return items[:len(items):len(items)], nil
	}
	return out, nil
}

// vmTypeName names a VM value in an error.
func vmTypeName(v any) string {
	switch v.(type) {
	case *vTuple:
		return "tuple"
	case *vList:
		return "list"
	case *vDict:
		return "dict"
	case *vSet:
		return "set"
	case *vPDict:
		return "ParameterDict"
	case *rebuildFunc, *setClass, *odictClass:
		return "uncalled function"
	case *storageClass, *pdictClass, *inertGlobal:
		return "class"
	}
	return pyTypeName(v)
}

func pyTypeName(v any) string {
	switch x := v.(type) {
	case float32:
		if math.IsNaN(float64(x)) {
			return "nan"
		}
	}
	return fmt.Sprintf("%T", v)
}

// The scanner's calls into the VM. Each runs only while the VM does
// (scanner.live), after the scan's own checks of the opcode.

// values are the VM values of stack items, copied out of the stack.
func values(items []sym) []any {
	out := make([]any, len(items))
	for i, x := range items {
		out[i] = x.value()
	}
	return out
}

// tuple is the item TUPLE(1,2,3) pushes.
func (s *scanner) tuple(items []sym) sym {
	x := tupleSym(items)
	if s.live() {
		t := &vTuple{}
		if len(items) <= len(t.small) {
			t.items = t.small[:len(items):len(items)]
		} else {
			t.items = make([]any, len(items))
		}
		for i, it := range items {
			t.items[i] = it.value()
		}
		x.v = t
	}
	return x
}

// vmResult is the value of a VM operation; an error stops the VM.
func (s *scanner) vmResult(v any, err error) any {
	if err != nil {
		s.stopVM(err)
		return nil
	}
	return v
}

// vmGlobal sets the value of a GLOBAL or STACK_GLOBAL.
func (s *scanner) vmGlobal(g *sym, module, name string) {
	if s.live() {
		g.v = s.vmResult(findClass(module, name, s.vm.allowUnsafe))
	}
}

// vmAppend is APPEND(S): the list is on top of the stack.
func (s *scanner) vmAppend(items ...sym) {
	if !s.live() {
		return
	}
	t, _ := s.top("APPEND")
	l, ok := t.value().(*vList)
	if !ok {
		s.stopVM(fmt.Errorf("%s to a %s", s.opName, vmTypeName(t.value())))
		return
	}
	for _, x := range items {
		l.items = append(l.items, x.value())
	}
}

// vmSetItems is SETITEM(S): the dict is on top of the stack, items are
// keys and values.
func (s *scanner) vmSetItems(items ...sym) {
	if !s.live() {
		return
	}
	t, _ := s.top("SETITEM")
	d, ok := t.value().(*vDict)
	if !ok {
		s.stopVM(fmt.Errorf("%s on a %s", s.opName, vmTypeName(t.value())))
		return
	}
	for i := 0; i+1 < len(items); i += 2 {
		d.set(items[i].value(), items[i+1].value())
	}
}

func isSet(v any) bool {
	_, ok := v.(*vSet)
	return ok
}

// scalar is the value of BININT, BININT1, BININT2, BINFLOAT, NONE,
// NEWTRUE and NEWFALSE; arg is the operand as the scanner read it
// (little-endian).
func scalar(code byte, arg uint64) any {
	switch code {
	case 'J':
		return int64(int32(uint32(arg)))
	case 'K', 'M':
		return int64(arg)
	case 'G':
		return math.Float64frombits(bits.ReverseBytes64(arg)) // big-endian
	case 0x88:
		return true
	case 0x89:
		return false
	}
	return nil // NONE
}

// decodeLong is LONG1's little-endian two's complement integer: an int64
// when it fits, else a *big.Int.
func decodeLong(b []byte) any {
	if len(b) == 0 {
		return int64(0)
	}
	if len(b) <= 8 {
		var u uint64
		for i := len(b) - 1; i >= 0; i-- {
			u = u<<8 | uint64(b[i])
		}
		shift := 64 - 8*uint(len(b))
		return int64(u<<shift) >> shift
	}
	be := make([]byte, len(b))
	for i, c := range b {
		be[len(b)-1-i] = c
	}
	n := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	if n.IsInt64() {
		return n.Int64()
	}
	return n
}
