package safetensors

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/embtool/embtool/internal/memread"
	"github.com/embtool/embtool/internal/readerr"
	"github.com/embtool/embtool/pkg/tensor"
)

// MaxHeaderSize is the largest header length N accepted, in bytes: the
// reference reader's MAX_HEADER_SIZE, which guards against a lying N.
const MaxHeaderSize = 100_000_000

// readChunk is the most Open and Load allocate ahead of the bytes they have
// actually read.
const readChunk = 8 << 20

// The errors of this package follow internal/readerr, the scheme all of
// embtool's readers share: a file that breaks the format gives a
// *FormatError (Record is the file's path when it was opened by name,
// Offset the byte offset of the defect when one place is at fault), which
// wraps ErrFormat.
var (
	// ErrFormat is wrapped by every error about a file that breaks the format.
	ErrFormat = readerr.ErrFormat
	// ErrHeaderTooLarge is wrapped (with ErrFormat) when N exceeds
	// MaxHeaderSize, and by Write when the header it would write does.
	ErrHeaderTooLarge = errors.New("header too large")
)

// FormatError is a defect of a safetensors file, at Offset when known.
type FormatError = readerr.FormatError

// errPkg starts every message of this package.
const errPkg = "safetensors"

// File is an opened safetensors file. Its entries are checked against the
// file size when it is opened; their bytes are read on demand.
type File struct {
	r    io.ReaderAt
	size int64
	n    uint64
	path string

	metadata map[string]string
	entries  []*Entry
	byName   map[string]*Entry
}

// Entry is one tensor of a File. It implements tensor.Source.
type Entry struct {
	Name  string
	DType tensor.DType
	Shape []int
	// Begin and End are absolute file offsets of the tensor's bytes
	// (8 + N + data_offsets).
	Begin, End int64

	f *File
}

// OpenNamed is Open with name (the file's path) in its errors.
func OpenNamed(r io.ReaderAt, size int64, name string) (*File, error) {
	return open(r, size, name)
}

// Open reads and checks the header of the safetensors file of size bytes
// that r reads. Tensor bytes are read through r when an Entry is loaded, so
// r must stay usable until then.
func Open(r io.ReaderAt, size int64) (*File, error) {
	return open(r, size, "")
}

// headerLen is N, the length in bytes of the header JSON including padding.
func (f *File) headerLen() uint64 { return f.n }

// Size is the file size the File was opened with.
func (f *File) Size() int64 { return f.size }

// Metadata returns a copy of the __metadata__ map, or nil when the header has
// none (or has "__metadata__": null, which the reference reader also reads as
// none). An empty but present map is returned as an empty, non-nil map.
func (f *File) Metadata() map[string]string { return maps.Clone(f.metadata) }

// Tensors returns the entries in the order their keys are written in the
// header JSON.
func (f *File) Tensors() []*Entry { return slices.Clone(f.entries) }

// Get returns the entry of the named tensor.
func (f *File) Get(name string) (*Entry, bool) {
	e, ok := f.byName[name]
	return e, ok
}

// Meta implements tensor.Source: the dtype and a copy of the shape.
func (e *Entry) Meta() (tensor.DType, []int) { return e.DType, slices.Clone(e.Shape) }

// Size is the number of bytes of the tensor, End-Begin.
func (e *Entry) Size() int64 { return e.End - e.Begin }

// Reader returns a reader of the tensor's bytes. The entry must come from
// an opened File.
func (e *Entry) Reader() *io.SectionReader {
	return io.NewSectionReader(e.f.r, e.Begin, e.End-e.Begin)
}

// Load reads the tensor's End-Begin bytes. It implements tensor.Source.
// Entries may be loaded concurrently when the File's io.ReaderAt allows
// it (an *os.File or a *bytes.Reader does).
func (e *Entry) Load() (*tensor.Tensor, error) {
	if e.f == nil {
		return nil, fmt.Errorf("safetensors: tensor %q: entry does not belong to an opened file", e.Name)
	}
	n := e.End - e.Begin
	if n < 0 || uint64(n) > math.MaxInt {
		return nil, fmt.Errorf("safetensors: %stensor %q: %d bytes do not fit in memory on this platform", e.f.prefix(), e.Name, n)
	}
	if data, ok := memread.Slice(e.f.r, e.Begin, n); ok {
		// The file is already in memory: the tensor is its bytes.
		return &tensor.Tensor{DType: e.DType, Shape: slices.Clone(e.Shape), Data: data}, nil
	}
	data, err := readAt(e.f.r, e.Begin, n)
	if err != nil {
		return nil, e.f.readErr(fmt.Sprintf("tensor %q: reading bytes %d to %d", e.Name, e.Begin, e.End), err)
	}
	return &tensor.Tensor{DType: e.DType, Shape: slices.Clone(e.Shape), Data: data}, nil
}

// StreamTo copies the tensor's bytes to w through a small buffer; it
// implements tensor.Streamer, so converting a large file never holds a
// whole tensor in memory.
func (e *Entry) StreamTo(w io.Writer) (int64, error) {
	if e.f == nil {
		return 0, fmt.Errorf("safetensors: tensor %q: entry does not belong to an opened file", e.Name)
	}
	// A 1 MiB buffer: io.Copy's 32 KiB one means 30,000 writes per GiB.
	n, err := io.CopyBuffer(w, e.Reader(), make([]byte, min(e.End-e.Begin, 1<<20)+1))
	if err == nil && n != e.End-e.Begin {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return n, e.f.readErr(fmt.Sprintf("tensor %q: reading bytes %d to %d", e.Name, e.Begin, e.End), err)
	}
	return n, nil
}

// prefix is "path: " when the path is known.
func (f *File) prefix() string {
	if f.path == "" {
		return ""
	}
	return f.path + ": "
}

// readErr wraps an error of the underlying reader. A read that ends early
// means the file is shorter than the size it was opened with: that is
// reported as truncation and wraps ErrFormat as well.
func (f *File) readErr(what string, err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return &FormatError{Pkg: errPkg, Record: f.path, Offset: -1, Msg: fmt.Sprintf("truncated: %s: %v", what, err), Err: err}
	}
	return fmt.Errorf("safetensors: %s%s: %w", f.prefix(), what, err)
}

// formatErr builds a *FormatError for the file, at no one offset.
func (f *File) formatErr(format string, args ...any) error {
	return f.formatErrAt(-1, format, args...)
}

// formatErrAt builds a *FormatError for the defect at file offset off.
func (f *File) formatErrAt(off int64, format string, args ...any) error {
	return &FormatError{Pkg: errPkg, Record: f.path, Offset: off, Msg: fmt.Sprintf(format, args...)}
}

func open(r io.ReaderAt, size int64, path string) (*File, error) {
	f := &File{r: r, size: size, path: path}
	if size < 8 {
		return nil, f.formatErrAt(0, "file is %d bytes, too short for the 8-byte header length", max(size, 0))
	}
	var lenBuf [8]byte
	if err := readFullAt(r, lenBuf[:], 0); err != nil {
		return nil, f.readErr("reading the header length", err)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	f.n = n
	if n > MaxHeaderSize {
		return nil, &FormatError{Pkg: errPkg, Record: f.path, Offset: 0, Err: ErrHeaderTooLarge,
			Msg: fmt.Sprintf("header length %d exceeds the limit of %d bytes", n, MaxHeaderSize)}
	}
	// n ≤ MaxHeaderSize, so 8+n cannot overflow.
	if int64(8+n) > size {
		return nil, f.formatErrAt(0, "header length %d runs past the end of the %d-byte file", n, size)
	}
	hdr, err := readAt(r, 8, int64(n))
	if err != nil {
		return nil, f.readErr(fmt.Sprintf("reading the %d-byte header", n), err)
	}
	if !utf8.Valid(hdr) {
		return nil, f.formatErrAt(int64(8+invalidUTF8At(hdr)), "header is not valid UTF-8")
	}
	h, err := parseHeader(hdr)
	if err != nil {
		var se *syntaxError
		if errors.As(err, &se) {
			return nil, f.formatErrAt(int64(8+se.off), "header: %s", se.msg)
		}
		return nil, f.formatErr("header: %v", err)
	}
	if err := f.validate(h); err != nil {
		return nil, err
	}
	return f, nil
}

// validate replicates Metadata::validate and the final size check of the
// reference reader, then builds the entries.
func (f *File) validate(h *header) error {
	order := make([]int, len(h.entries))
	for i := range order {
		order[i] = i
	}
	// Sort by (begin, end) as the reference does; ties keep header order.
	slices.SortStableFunc(order, func(a, b int) int {
		ea, eb := &h.entries[a], &h.entries[b]
		return cmp.Or(cmp.Compare(ea.begin, eb.begin), cmp.Compare(ea.end, eb.end))
	})
	dataStart := 8 + f.n
	var start uint64
	prev, first := "", true
	for _, idx := range order {
		e := &h.entries[idx]
		switch {
		case e.end < e.begin:
			return f.formatErr("tensor %q: data_offsets [%d,%d] end before they begin", e.name, e.begin, e.end)
		case e.begin > start && first:
			return f.formatErr("tensor %q: data_offsets [%d,%d] leave a hole: the first tensor must start at 0", e.name, e.begin, e.end)
		case e.begin > start:
			return f.formatErr("tensor %q: data_offsets [%d,%d] leave a hole after tensor %q, which ends at %d", e.name, e.begin, e.end, prev, start)
		case e.begin < start:
			return f.formatErr("tensor %q: data_offsets [%d,%d] overlap tensor %q, which ends at %d", e.name, e.begin, e.end, prev, start)
		}
		start = e.end
		prev, first = e.name, false
		nelem := uint64(1)
		for _, d := range e.shape {
			hi, lo := bits.Mul64(nelem, d)
			if hi != 0 {
				return f.formatErr("tensor %q: shape %s: element count overflows", e.name, fmtShape(e.shape))
			}
			nelem = lo
		}
		hi, nbits := bits.Mul64(nelem, uint64(e.dtype.Bits()))
		if hi != 0 {
			return f.formatErr("tensor %q: shape %s of %s: bit count overflows", e.name, fmtShape(e.shape), e.dtype)
		}
		if nbits%8 != 0 {
			return f.formatErr("tensor %q: %d elements of %s (%d bits each) do not fill whole bytes", e.name, nelem, e.dtype, e.dtype.Bits())
		}
		if e.end-e.begin != nbits/8 {
			return f.formatErr("tensor %q: %s%s needs %d bytes, data_offsets [%d,%d] hold %d", e.name, e.dtype, fmtShape(e.shape), nbits/8, e.begin, e.end, e.end-e.begin)
		}
	}
	// dataStart ≤ size was checked, so avail cannot underflow.
	avail := uint64(f.size) - dataStart
	switch {
	case start > avail:
		return f.formatErr("truncated: tensor %q ends at data offset %d (file offset %d) but the file has only %d data bytes", prev, start, uint64(dataStart)+start, avail)
	case start < avail && first:
		return f.formatErr("%d trailing bytes after the header: the file has no tensors", avail-start)
	case start < avail:
		return f.formatErr("%d trailing bytes after the last tensor %q, which ends at file offset %d", avail-start, prev, dataStart+start)
	}

	f.metadata = h.metadata
	f.entries = make([]*Entry, len(h.entries))
	f.byName = make(map[string]*Entry, len(h.entries))
	for i := range h.entries {
		e := &h.entries[i]
		shape := make([]int, len(e.shape))
		for j, d := range e.shape {
			if d > math.MaxInt {
				return f.formatErr("tensor %q: shape dimension %d does not fit in an int on this platform", e.name, d)
			}
			shape[j] = int(d)
		}
		// All offsets are ≤ avail < size ≤ MaxInt64.
		ent := &Entry{
			Name:  e.name,
			DType: e.dtype,
			Shape: shape,
			Begin: int64(dataStart + e.begin),
			End:   int64(dataStart + e.end),
			f:     f,
		}
		f.entries[i] = ent
		f.byName[e.name] = ent
	}
	return nil
}

// invalidUTF8At returns the offset of the first byte of b that is not part
// of a valid UTF-8 sequence.
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(b)
}

// readAt reads n bytes at off. Large reads grow the buffer a chunk at a time,
// so a ReaderAt that is shorter than claimed fails at its end instead of
// causing an allocation of the claimed size.
func readAt(r io.ReaderAt, off, n int64) ([]byte, error) {
	if n <= readChunk {
		buf := make([]byte, n)
		if err := readFullAt(r, buf, off); err != nil {
			return nil, err
		}
		return buf, nil
	}
	var buf []byte
	for int64(len(buf)) < n {
		c := int(min(n-int64(len(buf)), readChunk))
		have := len(buf)
		buf = slices.Grow(buf, c)[:have+c]
		if err := readFullAt(r, buf[have:], off+int64(have)); err != nil {
			return nil, err
		}
	}
	return buf, nil
}

// readFullAt fills buf from off; a short read is io.ErrUnexpectedEOF.
func readFullAt(r io.ReaderAt, buf []byte, off int64) error {
	got, err := r.ReadAt(buf, off)
	if got == len(buf) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// fmtShape formats a shape as JSON writes it: [8,768].
func fmtShape[T int | uint64](shape []T) string {
	b := []byte{'['}
	for i, d := range shape {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, uint64(d), 10)
	}
	return string(append(b, ']'))
}
