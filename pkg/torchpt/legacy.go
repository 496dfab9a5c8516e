package torchpt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"sync"

	"github.com/embtool/embtool/internal/memread"
)

// legacyMagic is torch's MAGIC_NUMBER, the first pickle of a legacy file.
var legacyMagic = sync.OnceValue(func() *big.Int {
	m, _ := new(big.Int).SetString("1950a86a20f9469cfc6c", 16)
	return m
})

const legacyProtocol = 1001

type legacyReader struct {
	f       *File
	size    int64
	storage map[string]*Storage
	order   []string
}

// legacyFirstRead is the prefix first read for a legacy file's pickles.
// When they do not end inside it, the prefix grows fourfold up to
// MaxPickleSize, so that a checkpoint's storages (gigabytes after pickles
// of a few hundred KiB) are neither allocated nor read to open it; the
// last try reads the whole limit, so errors are the same as in one read.
const legacyFirstRead = 64 << 10

// openLegacy reads the pre-1.6 format: five pickles (magic, protocol,
// sys_info, the object, the sorted storage keys), then per key an int64
// element count and the little-endian data (formats.md §1.3).
func openLegacy(r io.ReaderAt, size int64, opts Options) (*File, error) {
	limit := min(size, MaxPickleSize)
	for n := min(limit, legacyFirstRead); ; n = min(4*n, limit) {
		f, err := openLegacyPrefix(r, size, n, opts)
		var ue *UnsafeError
		if err == nil || n == limit || errors.As(err, &ue) {
			return f, err
		}
	}
}

// openLegacyPrefix is openLegacy with the pickles read from the first n
// bytes of the file.
func openLegacyPrefix(r io.ReaderAt, size, n int64, opts Options) (*File, error) {
	buf, ok := memread.Slice(r, 0, min(n, size))
	if !ok {
		buf = make([]byte, n)
		if _, err := r.ReadAt(buf, 0); err != nil && err != io.EOF {
			return nil, err
		}
	}
	f := &File{Format: FormatLegacy}
	lr := newLegacyReader(f, size)
	var values [len(legacyPickles)]any
	pos := int64(0)
	for i := range legacyPickles {
		if pos >= int64(len(buf)) {
			return nil, legacyMissing(i, pos)
		}
		record := legacyRecord(i)
		v, res, err := scanAndLoad(f, buf[pos:], record, lr.resolve, opts)
		if err != nil {
			return nil, atPickle(err, pos)
		}
		values[i] = v
		pos += res.End
		if err := legacyCheck(i, v); err != nil {
			return nil, err
		}
	}
	if err := lr.finish(r, values[3], values[4], pos); err != nil {
		return nil, err
	}
	return f, nil
}

// legacyPickles name the five pickles of a legacy file.
var legacyPickles = [...]string{"magic number", "protocol version", "sys_info", "data", "storage keys"}

// legacyRecord names pickle i (from 0) in the reader's errors.
func legacyRecord(i int) string { return fmt.Sprintf("pickle %d (%s)", i+1, legacyPickles[i]) }

func newLegacyReader(f *File, size int64) *legacyReader {
	return &legacyReader{f: f, size: size, storage: map[string]*Storage{}}
}

// legacyMissing is the error for a file that ends before pickle i.
func legacyMissing(i int, pos int64) error {
	return &FormatError{Pkg: errPkg, Offset: pos, Msg: fmt.Sprintf("file ends before the %s pickle", legacyPickles[i])}
}

// atPickle moves the offset of an error within the pickle at pos to the
// file.
func atPickle(err error, pos int64) error {
	if fe, ok := err.(*FormatError); ok && fe.Offset >= 0 {
		fe.Offset += pos
	}
	return err
}

// legacyCheck checks the value of pickle i: the magic number, the
// protocol version.
func legacyCheck(i int, v any) error {
	switch i {
	case 0:
		if m, ok := v.(*big.Int); !ok || m.Cmp(legacyMagic()) != 0 {
			return &FormatError{Pkg: errPkg, Msg: "a pickle, but not a torch file (no torch magic number)"}
		}
	case 1:
		if p, ok := v.(int64); !ok || p != legacyProtocol {
			return unsupportedf("legacy protocol version %v", v)
		}
	}
	return nil
}

// finish takes the object and the storage key list, whose storages
// begin at pos.
func (lr *legacyReader) finish(r io.ReaderAt, root, keyList any, pos int64) error {
	lr.f.Root = root
	keys, ok := keyList.(List)
	if !ok {
		return &FormatError{Pkg: errPkg, Offset: -1, Msg: fmt.Sprintf("storage key list is a %s", pyTypeName(keyList))}
	}
	return lr.placeStorages(r, keys, pos)
}

// placeStorages walks the storage area, checking each element count
// against what the pickle declared and that the data lies within the file.
func (lr *legacyReader) placeStorages(r io.ReaderAt, keys List, pos int64) error {
	placed := map[string]bool{}
	for _, k := range keys {
		key, ok := k.(string)
		if !ok {
			return &FormatError{Pkg: errPkg, Offset: pos, Msg: fmt.Sprintf("storage key %v is not a string", k)}
		}
		st, ok := lr.storage[key]
		if !ok {
			return &FormatError{Pkg: errPkg, Offset: pos, Msg: fmt.Sprintf("storage key list names %q, which no tensor references", key)}
		}
		if placed[key] {
			return &FormatError{Pkg: errPkg, Offset: pos, Msg: fmt.Sprintf("storage key %q listed twice", key)}
		}
		placed[key] = true
		var cnt [8]byte
		if pos > lr.size-8 {
			return &FormatError{Pkg: errPkg, Offset: pos, Msg: fmt.Sprintf("file ends before the element count of storage %q", key)}
		}
		if _, err := r.ReadAt(cnt[:], pos); err != nil {
			return err
		}
		count := int64(binary.LittleEndian.Uint64(cnt[:]))
		if count != int64(st.NumElem) {
			return &FormatError{Pkg: errPkg, Offset: pos, Msg: fmt.Sprintf("storage %q has %d elements, the pickle says %d", key, count, st.NumElem)}
		}
		nbytes := count * int64(st.DType.Size())
		start := pos + 8
		if nbytes > lr.size-start {
			return &FormatError{Pkg: errPkg, Offset: start, Msg: fmt.Sprintf("storage %q of %d bytes runs past the end of the file", key, nbytes)}
		}
		st.at, st.base = r, start
		st.load = func() ([]byte, error) {
			if d, ok := memread.Slice(r, start, nbytes); ok {
				return d, nil
			}
			d := make([]byte, nbytes)
			_, err := r.ReadAt(d, start)
			if err == io.EOF && int64(len(d)) == nbytes {
				err = nil
			}
			return d, err
		}
		pos = start + nbytes
	}
	for _, key := range lr.order {
		if !placed[key] {
			return &FormatError{Pkg: errPkg, Offset: pos, Msg: fmt.Sprintf("storage %q is referenced but not in the key list", key)}
		}
	}
	if pos != lr.size {
		lr.f.Warnings = append(lr.f.Warnings, fmt.Sprintf("%d bytes after the last storage", lr.size-pos))
	}
	return nil
}

// resolve handles the legacy persistent ids: ('storage', cls, root_key,
// location, numel, view_metadata) and ('module', cls, file, source).
func (lr *legacyReader) resolve(pid Tuple) (any, error) {
	if len(pid) == 4 && asStr(pid[0]) == "module" {
		if _, ok := pid[1].(*pdictClass); !ok {
			return nil, fmt.Errorf("module persistent id for a %s", pyTypeName(pid[1]))
		}
		return pid[1], nil
	}
	if len(pid) != 6 {
		return nil, fmt.Errorf("legacy persistent id has %d fields, want 6", len(pid))
	}
	dt, key, loc, numel, err := storageFromID(pid[:5], lr.size)
	if err != nil {
		return nil, err
	}
	root, ok := lr.storage[key]
	if !ok {
		root = &Storage{Key: key, DType: dt, NumElem: numel, Location: loc}
		lr.storage[key] = root
		lr.order = append(lr.order, key)
	} else if root.DType != dt || root.NumElem != numel {
		return nil, fmt.Errorf("storage %q is referenced as %d×%s and as %d×%s", key, root.NumElem, root.DType, numel, dt)
	}
	if pid[5] == nil {
		return root, nil
	}
	// A storage view (view_key, offset, size) into the root storage.
	vm, ok := pid[5].(Tuple)
	if !ok || len(vm) != 3 {
		return nil, fmt.Errorf("storage %q view metadata %v is not (key, offset, size)", key, pid[5])
	}
	off, ok1 := vm[1].(int64)
	n, ok2 := vm[2].(int64)
	if !ok1 || !ok2 || off < 0 || n < 0 || off > int64(numel) || n > int64(numel)-off {
		return nil, fmt.Errorf("storage %q view %v lies outside its %d elements", key, vm, numel)
	}
	es := dt.Size()
	view := &Storage{Key: key + "/" + asStr(vm[0]), DType: dt, NumElem: int(n), Location: loc}
	view.load = func() ([]byte, error) {
		d, err := root.bytes()
		if err != nil {
			return nil, err
		}
		return d[int(off)*es : int(off+n)*es], nil
	}
	return view, nil
}
