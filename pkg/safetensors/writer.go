package safetensors

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/embtool/embtool/internal/jsonstr"
	"github.com/embtool/embtool/pkg/tensor"
)

var (
	// ErrInvalid is wrapped by Write errors about tensors or metadata that
	// cannot be written: bad names, unknown dtypes, impossible shapes.
	ErrInvalid = errors.New("invalid input")
	// ErrMismatch is wrapped when a Source loads a tensor whose dtype, shape
	// or byte count differs from what its Meta promised.
	ErrMismatch = errors.New("loaded tensor does not match its description")
)

// Named is a tensor to write and the name to write it under.
type Named struct {
	Name string
	Src  tensor.Source
}

// planned is one tensor of the file Write is about to write.
type planned struct {
	name       string
	src        tensor.Source
	dtype      tensor.DType
	shape      []int
	begin, end int64
}

// Write writes tensors and metadata as a safetensors file, byte for byte as
// the reference writer does: tensors sorted by descending dtype (the
// safetensors enum order) then by name, a compact JSON header with
// __metadata__ first (keys sorted; omitted when metadata is nil, written as
// {} when it is empty), padded with spaces so that the data starts at a
// multiple of 8.
//
// The header is built from each Source's Meta; the Sources are then
// streamed (tensor.Streamer) or loaded one at a time, checked against their Meta (ErrMismatch) and written, so
// only one tensor is held in memory. If an error occurs after writing has
// begun, w holds a partial file: write to a temporary file and discard it on
// error.
func Write(w io.Writer, tensors []Named, metadata map[string]string) error {
	plan, hdr, err := prepare(tensors, metadata)
	if err != nil {
		return err
	}
	head := make([]byte, 8, 8+len(hdr))
	binary.LittleEndian.PutUint64(head, uint64(len(hdr)))
	head = append(head, hdr...)
	if _, err := w.Write(head); err != nil {
		return fmt.Errorf("safetensors: writing header: %w", err)
	}
	for i := range plan {
		p := &plan[i]
		if st, ok := p.src.(tensor.Streamer); ok {
			n, err := st.StreamTo(w)
			if err != nil {
				return fmt.Errorf("safetensors: tensor %q: %w", p.name, err)
			}
			if n != p.end-p.begin {
				return fmt.Errorf("safetensors: %w: tensor %q: streamed %d bytes, Meta promised %d", ErrMismatch, p.name, n, p.end-p.begin)
			}
			continue
		}
		t, err := p.src.Load()
		if err != nil {
			return fmt.Errorf("safetensors: tensor %q: loading: %w", p.name, err)
		}
		if t == nil {
			return fmt.Errorf("safetensors: %w: tensor %q: Load returned no tensor", ErrMismatch, p.name)
		}
		if t.DType != p.dtype || !slices.Equal(t.Shape, p.shape) || int64(len(t.Data)) != p.end-p.begin {
			return fmt.Errorf("safetensors: %w: tensor %q: Meta promised %s%s (%d bytes), Load returned %s%s (%d bytes)",
				ErrMismatch, p.name, p.dtype, fmtShape(p.shape), p.end-p.begin, t.DType, fmtShape(nonNegative(t.Shape)), len(t.Data))
		}
		if len(t.Data) == 0 {
			continue
		}
		if _, err := w.Write(t.Data); err != nil {
			return fmt.Errorf("safetensors: tensor %q: writing: %w", p.name, err)
		}
	}
	return nil
}

// nonNegative clamps negative dimensions to 0 for printing.
func nonNegative(shape []int) []int {
	out := slices.Clone(shape)
	for i, d := range out {
		out[i] = max(d, 0)
	}
	return out
}

// prepare checks the input, assigns offsets and builds the padded header.
func prepare(tensors []Named, metadata map[string]string) ([]planned, []byte, error) {
	invalid := func(format string, args ...any) error {
		return fmt.Errorf("safetensors: %w: %s", ErrInvalid, fmt.Sprintf(format, args...))
	}
	for k, v := range metadata {
		if !utf8.ValidString(k) {
			return nil, nil, invalid("metadata key %q is not valid UTF-8", k)
		}
		if !utf8.ValidString(v) {
			return nil, nil, invalid("metadata key %q: value is not valid UTF-8", k)
		}
	}
	plan := make([]planned, 0, len(tensors))
	seen := make(map[string]bool, len(tensors))
	for _, nt := range tensors {
		switch {
		case !utf8.ValidString(nt.Name):
			return nil, nil, invalid("tensor name %q is not valid UTF-8", nt.Name)
		case nt.Name == metadataKey:
			return nil, nil, invalid("a tensor cannot be named %q", metadataKey)
		case seen[nt.Name]:
			return nil, nil, invalid("duplicate tensor name %q", nt.Name)
		case nt.Src == nil:
			return nil, nil, invalid("tensor %q has no source", nt.Name)
		}
		seen[nt.Name] = true
		dt, shape := nt.Src.Meta()
		if !dt.Known() {
			return nil, nil, invalid("tensor %q: unknown dtype %q", nt.Name, dt)
		}
		nelem := uint64(1)
		for _, d := range shape {
			if d < 0 {
				return nil, nil, invalid("tensor %q: negative dimension %d in shape", nt.Name, d)
			}
			hi, lo := bits.Mul64(nelem, uint64(d))
			if hi != 0 {
				return nil, nil, invalid("tensor %q: shape %s: element count overflows", nt.Name, fmtShape(shape))
			}
			nelem = lo
		}
		hi, nbits := bits.Mul64(nelem, uint64(dt.Bits()))
		if hi != 0 || nbits/8 > math.MaxInt64 {
			return nil, nil, invalid("tensor %q: %s%s: byte count overflows", nt.Name, dt, fmtShape(shape))
		}
		if nbits%8 != 0 {
			return nil, nil, invalid("tensor %q: %d elements of %s do not fill whole bytes", nt.Name, nelem, dt)
		}
		plan = append(plan, planned{name: nt.Name, src: nt.Src, dtype: dt, shape: slices.Clone(shape), end: int64(nbits / 8)})
	}
	slices.SortStableFunc(plan, func(a, b planned) int {
		return cmp.Or(cmp.Compare(b.dtype.Order(), a.dtype.Order()), cmp.Compare(a.name, b.name))
	})
	var off int64
	for i := range plan {
		size := plan[i].end
		if size > math.MaxInt64-off {
			return nil, nil, invalid("tensors total more than %d bytes", int64(math.MaxInt64))
		}
		plan[i].begin, plan[i].end = off, off+size
		off += size
	}

	hdr := []byte{'{'}
	if metadata != nil {
		hdr = jsonstr.AppendSerde(hdr, metadataKey)
		hdr = append(hdr, ':', '{')
		keys := make([]string, 0, len(metadata))
		for k := range metadata {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				hdr = append(hdr, ',')
			}
			hdr = jsonstr.AppendSerde(hdr, k)
			hdr = append(hdr, ':')
			hdr = jsonstr.AppendSerde(hdr, metadata[k])
		}
		hdr = append(hdr, '}')
	}
	for i, p := range plan {
		if i > 0 || metadata != nil {
			hdr = append(hdr, ',')
		}
		hdr = jsonstr.AppendSerde(hdr, p.name)
		hdr = append(hdr, `:{"dtype":`...)
		hdr = jsonstr.AppendSerde(hdr, string(p.dtype))
		hdr = append(hdr, `,"shape":[`...)
		for j, d := range p.shape {
			if j > 0 {
				hdr = append(hdr, ',')
			}
			hdr = strconv.AppendInt(hdr, int64(d), 10)
		}
		hdr = append(hdr, `],"data_offsets":[`...)
		hdr = strconv.AppendInt(hdr, p.begin, 10)
		hdr = append(hdr, ',')
		hdr = strconv.AppendInt(hdr, p.end, 10)
		hdr = append(hdr, ']', '}')
	}
	hdr = append(hdr, '}')
	for len(hdr)%8 != 0 {
		hdr = append(hdr, ' ')
	}
	if len(hdr) > MaxHeaderSize {
		return nil, nil, fmt.Errorf("safetensors: %w: %w: the header would be %d bytes, more than %d", ErrInvalid, ErrHeaderTooLarge, len(hdr), MaxHeaderSize)
	}
	return plan, hdr, nil
}
