// Package legacyfile lays out torch's pre-1.6 file format (formats.md
// §1.3) for F32 tensors, as torch 1.13's torch.save(obj,
// _use_new_zipfile_serialization=False) writes a state dict: the magic
// number, protocol 1001 and sys_info pickles, the data pickle (an
// OrderedDict of _rebuild_tensor_v2 calls, one ('storage', FloatStorage,
// key, 'cpu', numel) persistent id each), the sorted storage key list,
// then per storage an int64 element count and its data. embtool reads
// this format and never writes it; the tests and benchmarks that need
// such files in bulk (with real key names, or gigabytes of them) build
// them with Head instead of torch.
//
// # Security
//
// Head trusts its caller: shapes are not checked for overflow.
package legacyfile

import (
	"bytes"
	"encoding/binary"
	"math/big"
	"sort"
	"strconv"

	"github.com/embtool/embtool/pkg/tensor"
)

// Tensor is one F32 tensor of the state dict.
type Tensor struct {
	Key   string
	Shape []int
}

// Numel is the tensor's element count.
func (t Tensor) Numel() int64 {
	n, _ := tensor.NumElements(t.Shape)
	return int64(n)
}

// Head returns the five pickles of a legacy file holding ts, and the
// indices into ts in the order their storages follow the pickles (torch
// writes them in the order of their sorted keys): each storage is an
// int64 element count, little-endian, then 4 bytes per element.
func Head(ts []Tensor) (head []byte, order []int) {
	var p bytes.Buffer
	str := func(s string) {
		p.WriteByte('X') // BINUNICODE
		binary.Write(&p, binary.LittleEndian, uint32(len(s)))
		p.WriteString(s)
	}
	i32 := func(v int) {
		p.WriteByte('J') // BININT
		binary.Write(&p, binary.LittleEndian, int32(v))
	}
	magic, _ := new(big.Int).SetString("1950a86a20f9469cfc6c", 16)
	le := magic.Bytes()
	for i, j := 0, len(le)-1; i < j; i, j = i+1, j-1 {
		le[i], le[j] = le[j], le[i]
	}
	p.Write([]byte{0x80, 2, 0x8a, byte(len(le))}) // LONG1
	p.Write(le)
	p.WriteString(".")
	p.Write([]byte{0x80, 2, 'M', 0xe9, 0x03, '.'}) // protocol 1001
	p.Write([]byte{0x80, 2, '}', '.'})             // sys_info
	p.Write([]byte{0x80, 2, '}', '('})
	keys := make([]string, len(ts))
	for i, t := range ts {
		keys[i] = strconv.Itoa(i)
		str(t.Key)
		p.WriteString("ctorch._utils\n_rebuild_tensor_v2\n((")
		str("storage")
		p.WriteString("ctorch\nFloatStorage\n")
		str(keys[i])
		str("cpu")
		i32(int(t.Numel()))
		p.WriteString("NtQK\x00(") // BINPERSID, storage offset 0
		for _, d := range t.Shape {
			i32(d)
		}
		p.WriteString("t(")
		strides := make([]int, len(t.Shape))
		stride := 1
		for d := len(t.Shape) - 1; d >= 0; d-- {
			strides[d], stride = stride, stride*t.Shape[d]
		}
		for _, s := range strides {
			i32(s)
		}
		p.WriteString("t\x89ccollections\nOrderedDict\n)RtR") // requires_grad False, empty hooks
	}
	p.WriteString("u.")
	order = make([]int, len(ts))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return keys[order[a]] < keys[order[b]] })
	p.Write([]byte{0x80, 2, ']', '('})
	for _, i := range order {
		str(keys[i])
	}
	p.WriteString("e.")
	return p.Bytes(), order
}
