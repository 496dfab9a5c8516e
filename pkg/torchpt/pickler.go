package torchpt

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/embtool/embtool/pkg/tensor"
)

// The pickle opcodes the writer emits (protocol 2, formats.md §2).
const (
	opProto      = 0x80
	opStop       = '.'
	opMark       = '('
	opEmptyDict  = '}'
	opEmptyList  = ']'
	opEmptyTuple = ')'
	opTuple      = 't'
	opTuple1     = 0x85
	opTuple2     = 0x86
	opTuple3     = 0x87
	opSetItem    = 's'
	opSetItems   = 'u'
	opAppend     = 'a'
	opAppends    = 'e'
	opBinUnicode = 'X'
	opBinInt     = 'J'
	opBinInt1    = 'K'
	opBinInt2    = 'M'
	opLong1      = 0x8A
	opBinFloat   = 'G'
	opNone       = 'N'
	opNewTrue    = 0x88
	opNewFalse   = 0x89
	opBinPut     = 'q'
	opLongBinPut = 'r'
	opBinGet     = 'h'
	opLongBinGet = 'j'
	opGlobal     = 'c'
	opReduce     = 'R'
	opBinPersID  = 'Q'
)

// pickleBatch is CPython's BATCHSIZE: SETITEMS and APPENDS carry at most
// this many entries.
const pickleBatch = 1000

// maxWriteDepth bounds the nesting of a value the writer accepts; it is the
// limit the reader enforces, so everything written can be read back.
const maxWriteDepth = 100

// The dict classes of Dict.Class.
const (
	classDict        = "dict"
	classOrderedDict = "collections.OrderedDict"
)

// storageClassOf maps a tensor dtype to the legacy storage class torch.save
// names in the persistent id (formats.md §1.2). Other dtypes have no such
// class (torch uses _rebuild_tensor_v3 for them) and are refused.
var storageClassOf = sync.OnceValue(func() map[tensor.DType]string {
	return map[tensor.DType]string{
		tensor.F32:  "FloatStorage",
		tensor.F16:  "HalfStorage",
		tensor.BF16: "BFloat16Storage",
		tensor.F64:  "DoubleStorage",
		tensor.I64:  "LongStorage",
		tensor.I32:  "IntStorage",
		tensor.I16:  "ShortStorage",
		tensor.I8:   "CharStorage",
		tensor.U8:   "ByteStorage",
		tensor.BOOL: "BoolStorage",
	}
})

// pickleStorage is one storage the pickle refers to: a tensor to be written
// as record data/<key>, with the dtype and shape the pickle promised.
type pickleStorage struct {
	key    string
	src    tensor.Source
	dtype  tensor.DType
	shape  []int
	nbytes int
	path   string // where the tensor sits in the value, for errors
}

// pathElem is one step from the root to a value: a dict key or a
// tuple/list/set index.
type pathElem struct {
	key   any
	index int
	isKey bool
}

// pickler encodes a value as CPython's C pickler does at protocol 2 with
// torch.save's persistent_id, so that the bytes equal torch 1.13's data.pkl
// for the same object (formats.md §1.2, §1.5).
//
// CPython memoizes by object identity. Go values have no identity except
// pointers, so the pickler memoizes strings by value (which is what CPython
// does for the interned identifier-like and single-character strings that
// make up embedding files, and for equal constants of one code object),
// globals by name, and *Dict by pointer. Storage keys are never looked up,
// as torch builds each with str() at save time.
type pickler struct {
	buf      []byte
	nmemo    int
	strs     map[string]int
	globals  map[string]int
	dicts    map[*Dict]int
	active   map[*Dict]bool
	path     []pathElem
	storages []pickleStorage
}

func newPickler() *pickler {
	return &pickler{
		strs:    map[string]int{},
		globals: map[string]int{},
		dicts:   map[*Dict]int{},
		active:  map[*Dict]bool{},
	}
}

// dump pickles v and returns the pickle bytes; p.storages then lists the
// tensors it referred to, in key order "0", "1", ….
func (p *pickler) dump(v any) ([]byte, error) {
	p.buf = append(p.buf, opProto, 2)
	if err := p.save(v, 0); err != nil {
		return nil, err
	}
	p.buf = append(p.buf, opStop)
	return p.buf, nil
}

// errorf returns an error naming the path of the value being saved.
func (p *pickler) errorf(format string, args ...any) error {
	return fmt.Errorf("torchpt: %s: %s", p.pathString(), fmt.Sprintf(format, args...))
}

func (p *pickler) pathString() string {
	if len(p.path) == 0 {
		return "root"
	}
	var b strings.Builder
	for _, e := range p.path {
		b.WriteByte('[')
		if !e.isKey {
			b.WriteString(strconv.Itoa(e.index))
		} else if s, ok := e.key.(string); ok {
			b.WriteString(strconv.Quote(s))
		} else {
			fmt.Fprintf(&b, "%v", e.key)
		}
		b.WriteByte(']')
	}
	return b.String()
}

func (p *pickler) push(e pathElem) { p.path = append(p.path, e) }
func (p *pickler) pop()            { p.path = p.path[:len(p.path)-1] }

func (p *pickler) memoPut() {
	i := p.nmemo
	p.nmemo++
	if i < 256 {
		p.buf = append(p.buf, opBinPut, byte(i))
	} else {
		p.buf = append(p.buf, opLongBinPut)
		p.buf = binary.LittleEndian.AppendUint32(p.buf, uint32(i))
	}
}

func (p *pickler) memoGet(i int) {
	if i < 256 {
		p.buf = append(p.buf, opBinGet, byte(i))
	} else {
		p.buf = append(p.buf, opLongBinGet)
		p.buf = binary.LittleEndian.AppendUint32(p.buf, uint32(i))
	}
}

func (p *pickler) save(v any, depth int) error {
	if depth > maxWriteDepth {
		return p.errorf("values nested deeper than %d", maxWriteDepth)
	}
	switch x := v.(type) {
	case nil:
		p.buf = append(p.buf, opNone)
	case bool:
		if x {
			p.buf = append(p.buf, opNewTrue)
		} else {
			p.buf = append(p.buf, opNewFalse)
		}
	case int:
		p.saveInt(int64(x))
	case int8:
		p.saveInt(int64(x))
	case int16:
		p.saveInt(int64(x))
	case int32:
		p.saveInt(int64(x))
	case int64:
		p.saveInt(x)
	case uint8:
		p.saveInt(int64(x))
	case uint16:
		p.saveInt(int64(x))
	case uint32:
		p.saveInt(int64(x))
	case uint:
		return p.saveBig(new(big.Int).SetUint64(uint64(x)))
	case uint64:
		return p.saveBig(new(big.Int).SetUint64(x))
	case *big.Int:
		if x == nil {
			return p.errorf("nil *big.Int")
		}
		return p.saveBig(x)
	case float64:
		p.saveFloat(x)
	case float32:
		p.saveFloat(float64(x))
	case string:
		return p.saveStr(x)
	case *Dict:
		return p.saveDict(x, depth)
	case Tuple:
		return p.saveTuple(x, depth)
	case List:
		return p.saveList(x, depth)
	case Set:
		return p.saveSet(x, depth)
	case tensor.Source:
		if rv := reflect.ValueOf(x); rv.Kind() == reflect.Pointer && rv.IsNil() {
			return p.errorf("nil %T", x)
		}
		return p.saveTensor(x)
	default:
		return p.errorf("unsupported value type %T", v)
	}
	return nil
}

// saveInt picks the opcode as CPython's save_long does at protocol 2.
func (p *pickler) saveInt(v int64) {
	switch {
	case v >= 0 && v < 1<<8:
		p.buf = append(p.buf, opBinInt1, byte(v))
	case v >= 0 && v < 1<<16:
		p.buf = append(p.buf, opBinInt2)
		p.buf = binary.LittleEndian.AppendUint16(p.buf, uint16(v))
	case v >= math.MinInt32 && v <= math.MaxInt32:
		p.buf = append(p.buf, opBinInt)
		p.buf = binary.LittleEndian.AppendUint32(p.buf, uint32(int32(v)))
	default:
		p.buf = append(p.buf, opLong1)
		p.buf = appendLong1(p.buf, big.NewInt(v))
	}
}

func (p *pickler) saveBig(v *big.Int) error {
	if v.IsInt64() {
		p.saveInt(v.Int64())
		return nil
	}
	b := appendLong1(nil, v)
	if len(b) > 256 {
		// CPython would switch to LONG4, which readers do not accept.
		return p.errorf("integer of %d bits is too large", v.BitLen())
	}
	p.buf = append(p.buf, opLong1)
	p.buf = append(p.buf, b...)
	return nil
}

// appendLong1 appends the length byte and the little-endian two's
// complement bytes of v as pickle's encode_long does: (bit_length>>3)+1
// bytes, less one for a negative number whose top byte is only sign bits.
func appendLong1(b []byte, v *big.Int) []byte {
	if v.Sign() == 0 {
		return append(b, 0)
	}
	n := v.BitLen()>>3 + 1
	u := new(big.Int).Set(v)
	if v.Sign() < 0 {
		u.Add(u, new(big.Int).Lsh(big.NewInt(1), uint(8*n)))
	}
	be := u.FillBytes(make([]byte, n))
	le := make([]byte, n)
	for i := range be {
		le[n-1-i] = be[i]
	}
	if v.Sign() < 0 && n > 1 && le[n-1] == 0xff && le[n-2]&0x80 != 0 {
		le = le[:n-1]
	}
	b = append(b, byte(len(le))) // the caller checks len(le) <= 255
	return append(b, le...)
}

// saveFloat writes BINFLOAT (big-endian); NaN is written as Python's
// float('nan'), 0x7FF8000000000000, whatever its payload.
func (p *pickler) saveFloat(f float64) {
	p.buf = append(p.buf, opBinFloat)
	p.buf = binary.BigEndian.AppendUint64(p.buf, tensor.F64Bits(f))
}

func (p *pickler) saveStr(s string) error {
	if i, ok := p.strs[s]; ok {
		p.memoGet(i)
		return nil
	}
	if err := p.writeStr(s); err != nil {
		return err
	}
	p.strs[s] = p.nmemo
	p.memoPut()
	return nil
}

// writeStr writes BINUNICODE without touching the memo.
func (p *pickler) writeStr(s string) error {
	if !utf8.ValidString(s) {
		return p.errorf("string %q is not valid UTF-8", s)
	}
	if uint64(len(s)) > math.MaxUint32 {
		return p.errorf("string of %d bytes is too long", len(s))
	}
	p.buf = append(p.buf, opBinUnicode)
	p.buf = binary.LittleEndian.AppendUint32(p.buf, uint32(len(s)))
	p.buf = append(p.buf, s...)
	return nil
}

// saveGlobal writes GLOBAL module name once and BINGET afterwards, as
// CPython memoizes the class or function object.
func (p *pickler) saveGlobal(module, name string) {
	k := module + "\n" + name
	if i, ok := p.globals[k]; ok {
		p.memoGet(i)
		return
	}
	p.buf = append(p.buf, opGlobal)
	p.buf = append(p.buf, k...)
	p.buf = append(p.buf, '\n')
	p.globals[k] = p.nmemo
	p.memoPut()
}

func (p *pickler) saveTuple(t Tuple, depth int) error {
	if len(t) == 0 {
		p.buf = append(p.buf, opEmptyTuple)
		return nil
	}
	if len(t) > 3 {
		p.buf = append(p.buf, opMark)
	}
	for i, e := range t {
		p.push(pathElem{index: i})
		err := p.save(e, depth+1)
		p.pop()
		if err != nil {
			return err
		}
	}
	switch len(t) {
	case 1:
		p.buf = append(p.buf, opTuple1)
	case 2:
		p.buf = append(p.buf, opTuple2)
	case 3:
		p.buf = append(p.buf, opTuple3)
	default:
		p.buf = append(p.buf, opTuple)
	}
	p.memoPut()
	return nil
}

// saveList follows CPython's save_list and batch_list_exact: one item is
// APPEND, more go in MARK … APPENDS batches of up to 1000.
func (p *pickler) saveList(l List, depth int) error {
	p.buf = append(p.buf, opEmptyList)
	p.memoPut()
	return p.appendItems(l, depth)
}

func (p *pickler) appendItems(l []any, depth int) error {
	save := func(i int) error {
		p.push(pathElem{index: i})
		defer p.pop()
		return p.save(l[i], depth+1)
	}
	switch len(l) {
	case 0:
		return nil
	case 1:
		if err := save(0); err != nil {
			return err
		}
		p.buf = append(p.buf, opAppend)
		return nil
	}
	for start := 0; start < len(l); start += pickleBatch {
		p.buf = append(p.buf, opMark)
		for i := start; i < len(l) && i < start+pickleBatch; i++ {
			if err := save(i); err != nil {
				return err
			}
		}
		p.buf = append(p.buf, opAppends)
	}
	return nil
}

// saveSet writes a set as protocol 2 must: REDUCE(__builtin__.set, (list,)).
func (p *pickler) saveSet(s Set, depth int) error {
	if err := p.checkKeys(s, "set element"); err != nil {
		return err
	}
	p.saveGlobal("__builtin__", "set")
	p.buf = append(p.buf, opEmptyList)
	p.memoPut()
	if err := p.appendItems(s, depth); err != nil {
		return err
	}
	p.buf = append(p.buf, opTuple1)
	p.memoPut()
	p.buf = append(p.buf, opReduce)
	p.memoPut()
	return nil
}

func (p *pickler) saveDict(d *Dict, depth int) error {
	if d == nil {
		return p.errorf("nil *Dict")
	}
	if i, ok := p.dicts[d]; ok {
		if p.active[d] {
			return p.errorf("dict contains itself")
		}
		p.memoGet(i)
		return nil
	}
	if len(d.Keys) != len(d.Values) {
		return p.errorf("dict has %d keys and %d values", len(d.Keys), len(d.Values))
	}
	if err := p.checkKeys(d.Keys, "key"); err != nil {
		return err
	}
	p.active[d] = true
	defer delete(p.active, d)
	switch d.Class {
	case classDict, "":
		// save_dict: EMPTY_DICT, memoize, then batch_dict_exact.
		p.buf = append(p.buf, opEmptyDict)
		p.dicts[d] = p.nmemo
		p.memoPut()
		return p.dictItemsExact(d, depth)
	case classOrderedDict:
		// save_reduce of OrderedDict.__reduce__ = (OrderedDict, (), None,
		// None, iter(items)): REDUCE, memoize, then batch_dict.
		p.saveGlobal("collections", "OrderedDict")
		p.buf = append(p.buf, opEmptyTuple, opReduce)
		p.dicts[d] = p.nmemo
		p.memoPut()
		return p.dictItemsIter(d, depth)
	default:
		return p.errorf("unsupported dict class %q", d.Class)
	}
}

func (p *pickler) saveItem(d *Dict, i, depth int) error {
	p.push(pathElem{key: d.Keys[i], isKey: true})
	defer p.pop()
	if err := p.save(d.Keys[i], depth+1); err != nil {
		return err
	}
	return p.save(d.Values[i], depth+1)
}

// dictItemsExact is CPython's batch_dict_exact: one entry is SETITEM;
// otherwise MARK … SETITEMS batches of 1000, and a batch that comes out full
// is always followed by another, possibly empty, one.
func (p *pickler) dictItemsExact(d *Dict, depth int) error {
	n := len(d.Keys)
	switch n {
	case 0:
		return nil
	case 1:
		if err := p.saveItem(d, 0, depth); err != nil {
			return err
		}
		p.buf = append(p.buf, opSetItem)
		return nil
	}
	for start := 0; ; start += pickleBatch {
		p.buf = append(p.buf, opMark)
		end := min(start+pickleBatch, n)
		for i := start; i < end; i++ {
			if err := p.saveItem(d, i, depth); err != nil {
				return err
			}
		}
		p.buf = append(p.buf, opSetItems)
		if end-start < pickleBatch {
			return nil
		}
	}
}

// dictItemsIter is CPython's batch_dict over an iterator: a batch that
// would hold one entry is a lone SETITEM, others are MARK … SETITEMS of up
// to 1000, and nothing is written for an exhausted iterator.
func (p *pickler) dictItemsIter(d *Dict, depth int) error {
	n := len(d.Keys)
	for start := 0; start < n; start += pickleBatch {
		if start == n-1 {
			if err := p.saveItem(d, start, depth); err != nil {
				return err
			}
			p.buf = append(p.buf, opSetItem)
			return nil
		}
		p.buf = append(p.buf, opMark)
		for i := start; i < n && i < start+pickleBatch; i++ {
			if err := p.saveItem(d, i, depth); err != nil {
				return err
			}
		}
		p.buf = append(p.buf, opSetItems)
	}
	return nil
}

// checkKeys refuses keys (or set elements) Python could not hash, and
// duplicates, which a loader would silently collapse.
func (p *pickler) checkKeys(keys []any, what string) error {
	seen := make(map[string]bool, len(keys))
	for i, k := range keys {
		h, ok := hashKey(k)
		if !ok {
			p.push(pathElem{index: i})
			defer p.pop()
			return p.errorf("%s of type %T is not hashable", what, k)
		}
		if h == "" { // NaN: never equal to anything
			continue
		}
		if seen[h] {
			p.push(pathElem{key: k, isKey: true})
			defer p.pop()
			return p.errorf("duplicate %s", what)
		}
		seen[h] = true
	}
	return nil
}

// hashKey returns a string equal for keys Python considers equal (1, 1.0
// and True are one key), "" for NaN, and false for unhashable values.
func hashKey(k any) (string, bool) {
	switch x := k.(type) {
	case nil:
		return "N", true
	case bool:
		if x {
			return "i1", true
		}
		return "i0", true
	case int:
		return "i" + strconv.FormatInt(int64(x), 10), true
	case int8:
		return "i" + strconv.FormatInt(int64(x), 10), true
	case int16:
		return "i" + strconv.FormatInt(int64(x), 10), true
	case int32:
		return "i" + strconv.FormatInt(int64(x), 10), true
	case int64:
		return "i" + strconv.FormatInt(x, 10), true
	case uint:
		return "i" + strconv.FormatUint(uint64(x), 10), true
	case uint8:
		return "i" + strconv.FormatUint(uint64(x), 10), true
	case uint16:
		return "i" + strconv.FormatUint(uint64(x), 10), true
	case uint32:
		return "i" + strconv.FormatUint(uint64(x), 10), true
	case uint64:
		return "i" + strconv.FormatUint(x, 10), true
	case *big.Int:
		if x == nil {
			return "", false
		}
		return "i" + x.String(), true
	case float32:
		return hashKey(float64(x))
	case float64:
		switch {
		case math.IsNaN(x):
			return "", true
		case x == math.Trunc(x) && !math.IsInf(x, 0):
			i, _ := big.NewFloat(x).Int(nil)
			return "i" + i.String(), true
		}
		return "f" + strconv.FormatFloat(x, 'g', -1, 64), true
	case string:
		return "s" + strconv.Quote(x), true
	case Tuple:
		var b strings.Builder
		b.WriteByte('(')
		for _, e := range x {
			h, ok := hashKey(e)
			if !ok {
				return "", false
			}
			if h == "" { // a tuple holding NaN: treat as unique
				return "", true
			}
			b.WriteString(h)
			b.WriteByte(',')
		}
		b.WriteByte(')')
		return b.String(), true
	}
	return "", false
}

// saveTensor writes what torch.save writes for a contiguous CPU tensor with
// its own storage and requires_grad False:
//
//	REDUCE(torch._utils._rebuild_tensor_v2,
//	       (BINPERSID(('storage', torch.XStorage, key, 'cpu', numel)),
//	        0, size, stride, False, REDUCE(collections.OrderedDict, ())))
func (p *pickler) saveTensor(src tensor.Source) error {
	dt, shape := src.Meta()
	class, ok := storageClassOf()[dt]
	if !ok {
		return p.errorf("tensor dtype %q has no torch storage class", dt)
	}
	shape = append([]int(nil), shape...)
	numel, err := tensor.NumElements(shape)
	if err != nil {
		return p.errorf("tensor shape %v: %v", shape, err)
	}
	nbytes, err := tensor.ByteSize(dt, shape)
	if err != nil {
		return p.errorf("tensor shape %v: %v", shape, err)
	}
	strided := make([]int, len(shape)) // torch's contiguous strides treat 0 as 1
	for i, d := range shape {
		strided[i] = max(d, 1)
	}
	if _, err := tensor.NumElements(strided); err != nil {
		return p.errorf("tensor shape %v: %v", shape, err)
	}
	key := strconv.Itoa(len(p.storages))
	p.storages = append(p.storages, pickleStorage{
		key: key, src: src, dtype: dt, shape: shape, nbytes: nbytes, path: p.pathString(),
	})

	p.saveGlobal("torch._utils", "_rebuild_tensor_v2")
	p.buf = append(p.buf, opMark)

	// The persistent id, a 5-tuple.
	p.buf = append(p.buf, opMark)
	if err := p.saveStr("storage"); err != nil {
		return err
	}
	p.saveGlobal("torch", class)
	// torch makes the key with str(len(id_map)): a new string object,
	// memoized but never identical to an earlier one.
	if err := p.writeStr(key); err != nil {
		return err
	}
	p.memoPut()
	if err := p.saveStr("cpu"); err != nil {
		return err
	}
	p.saveInt(int64(numel))
	p.buf = append(p.buf, opTuple)
	p.memoPut()
	p.buf = append(p.buf, opBinPersID)

	p.saveInt(0) // storage_offset
	size := make(Tuple, len(shape))
	stride := make(Tuple, len(shape))
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		size[i] = shape[i]
		stride[i] = s
		s *= strided[i]
	}
	if err := p.saveTuple(size, 0); err != nil {
		return err
	}
	if err := p.saveTuple(stride, 0); err != nil {
		return err
	}
	p.buf = append(p.buf, opNewFalse) // requires_grad
	// backward_hooks: an empty OrderedDict, a new object each time.
	p.saveGlobal("collections", "OrderedDict")
	p.buf = append(p.buf, opEmptyTuple, opReduce)
	p.memoPut()

	p.buf = append(p.buf, opTuple)
	p.memoPut()
	p.buf = append(p.buf, opReduce)
	p.memoPut()
	return nil
}
