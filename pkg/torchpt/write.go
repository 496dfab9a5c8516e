package torchpt

import (
	"archive/zip"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/embtool/embtool/pkg/tensor"
)

// defaultPrefix is the archive folder torch.save uses when it writes to a
// buffer rather than a named file.
const defaultPrefix = "archive"

// zipAlign is PyTorch's kFieldAlignment: every record's data starts on a
// multiple of it, so that a reader can mmap storages.
const zipAlign = 64

// Fixed MS-DOS modification stamp (1980-01-01 00:00:00) so that the same
// input always gives the same bytes. It is set through the MS-DOS fields:
// FileHeader.Modified would add an extended-timestamp extra field.
const (
	zipDOSDate = 1<<5 | 1
	zipDOSTime = 0
)

// zipLocalHeaderLen is the fixed part of a zip local file header.
const zipLocalHeaderLen = 30

// WriteZip writes root (a *Dict whose values are tensor.Source, string,
// int, int64, float64, bool, nil, *Dict, Tuple, List) as a torch zip
// archive under folder prefix (default "archive"), in the form every
// consumer accepts (formats.md §1.5):
//
//   - records exactly <prefix>/data.pkl, <prefix>/data/0, <prefix>/data/1,
//     … and <prefix>/version ("3\n"), with no byteorder and no
//     .data/serialization_id, which A1111's safety check rejects;
//   - stored entries with correct CRC-32, fixed modification times, and
//     each record's data on a 64-byte file offset through an "FB" padding
//     extra field, as PyTorch writes them;
//   - data.pkl byte-identical to what torch 1.13's torch.save pickles for
//     the same object: protocol 2, plain dicts as EMPTY_DICT, OrderedDicts
//     (Class "collections.OrderedDict") as REDUCE(OrderedDict, ()), every
//     tensor as a contiguous _rebuild_tensor_v2 with requires_grad False
//     and its own storage.
//
// Other integer types, float32, *big.Int and Set are accepted too. Tensor
// dtypes F32, F16, BF16, F64, I64, I32, I16, I8, U8 and BOOL map to torch's
// storage classes; other dtypes, other value types, unhashable or duplicate
// keys and values nested deeper than the reader accepts are errors naming
// the key path. Torch itself writes the same bytes for all of these, but
// not every consumer reads them: A1111's safety check refuses I16, I8 and
// BOOL tensors (ShortStorage, CharStorage, BoolStorage) and torch 1.13's
// weights_only loader refuses float values (BINFLOAT) and sets.
//
// Storage keys are "0", "1", … in order of first appearance; their records
// are written in sorted key order, as torch does. Tensors are loaded one at
// a time, when their record is written, and must match their Meta. On error
// part of the archive may already have been written.
func WriteZip(w io.Writer, prefix string, root *Dict) error {
	if prefix == "" {
		prefix = defaultPrefix
	}
	if err := checkPrefix(prefix); err != nil {
		return err
	}
	if root == nil {
		return fmt.Errorf("torchpt: root is a nil *Dict")
	}
	p := newPickler()
	pkl, err := p.dump(root)
	if err != nil {
		return err
	}

	zw := &zipWriter{zw: zip.NewWriter(w)}
	if err := zw.record(prefix+"/data.pkl", pkl); err != nil {
		return err
	}
	// torch writes "for key in sorted(serialized_storages.keys())": string
	// order, so data/10 comes before data/2.
	order := slices.Clone(p.storages)
	slices.SortFunc(order, func(a, b pickleStorage) int { return strings.Compare(a.key, b.key) })
	for i := range order {
		s := &order[i]
		name := prefix + "/data/" + s.key
		if st, ok := s.src.(tensor.Streamer); ok {
			// Two passes over the source, CRC then data: a tensor of any
			// size costs a copy buffer, not its size in memory.
			if err := zw.stream(name, int64(s.nbytes), st); err != nil {
				return fmt.Errorf("torchpt: %s: %w", s.path, err)
			}
			continue
		}
		data, err := loadStorage(s)
		if err != nil {
			return err
		}
		if err := zw.record(name, data); err != nil {
			return err
		}
		order[i].src = nil // let the tensor go before the next is loaded
	}
	if err := zw.record(prefix+"/version", []byte("3\n")); err != nil {
		return err
	}
	if err := zw.zw.Close(); err != nil {
		return fmt.Errorf("torchpt: writing zip: %w", err)
	}
	return nil
}

// checkPrefix refuses archive folder names that readers would split or
// misread: A1111 requires the records to match ^([^/]+)/….
func checkPrefix(prefix string) error {
	if !utf8.ValidString(prefix) {
		return fmt.Errorf("torchpt: archive prefix %q is not valid UTF-8", prefix)
	}
	if prefix == "." || prefix == ".." {
		return fmt.Errorf("torchpt: archive prefix %q is not a folder name", prefix)
	}
	for _, r := range prefix {
		if r == '/' || r == '\\' || r < 0x20 || r == 0x7f {
			return fmt.Errorf("torchpt: archive prefix %q contains %q", prefix, r)
		}
	}
	return nil
}

// loadStorage materialises one tensor and checks it is what the pickle
// promised.
func loadStorage(s *pickleStorage) ([]byte, error) {
	t, err := s.src.Load()
	if err != nil {
		return nil, fmt.Errorf("torchpt: %s: loading tensor: %w", s.path, err)
	}
	if t == nil {
		return nil, fmt.Errorf("torchpt: %s: loading tensor gave nil", s.path)
	}
	if t.DType != s.dtype || !slices.Equal(t.Shape, s.shape) {
		return nil, fmt.Errorf("torchpt: %s: tensor loaded as %s%v, its Meta said %s%v",
			s.path, t.DType, t.Shape, s.dtype, s.shape)
	}
	if len(t.Data) != s.nbytes {
		return nil, fmt.Errorf("torchpt: %s: tensor %s%v has %d bytes, want %d",
			s.path, t.DType, t.Shape, len(t.Data), s.nbytes)
	}
	return t.Data, nil
}

// zipWriter writes stored records with their data 64-byte aligned.
type zipWriter struct {
	zw     *zip.Writer
	offset int64 // bytes written so far, counted here: zip.Writer buffers
}

func (z *zipWriter) record(name string, data []byte) error {
	return z.write(name, int64(len(data)), crc32.ChecksumIEEE(data), func(w io.Writer) (int64, error) {
		n, err := w.Write(data)
		return int64(n), err
	})
}

// stream writes a record from a Streamer of size bytes, reading it twice:
// once for the CRC-32 the local header needs, once for the data.
func (z *zipWriter) stream(name string, size int64, src tensor.Streamer) error {
	h := crc32.NewIEEE()
	n, err := src.StreamTo(h)
	if err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("streamed %d bytes, expected %d", n, size)
	}
	sum := h.Sum32()
	return z.write(name, size, sum, func(w io.Writer) (int64, error) {
		// Check the second pass against the first: the source must not
		// change between them.
		h := crc32.NewIEEE()
		n, err := src.StreamTo(io.MultiWriter(w, h))
		if err == nil && (n != size || h.Sum32() != sum) {
			err = fmt.Errorf("source changed while it was written (%d bytes, crc %08x, then %d bytes, crc %08x)", size, sum, n, h.Sum32())
		}
		return n, err
	})
}

// write adds a stored record of size bytes with checksum sum, whose data
// put writes.
func (z *zipWriter) write(name string, size int64, sum uint32, put func(io.Writer) (int64, error)) error {
	if size >= math.MaxUint32 {
		// A record this size needs a ZIP64 extra field in its local
		// header, which this writer does not produce.
		return fmt.Errorf("torchpt: record %s: %d bytes is too large", name, size)
	}
	// PyTorch's getPadding: 'F' 'B' <u16 LE n> then n bytes of 'Z', with n
	// chosen so that the data after the local header is aligned.
	start := z.offset + zipLocalHeaderLen + int64(len(name)) + 4
	pad := (zipAlign - start%zipAlign) % zipAlign
	extra := make([]byte, 4+pad)
	extra[0], extra[1] = 'F', 'B'
	extra[2], extra[3] = byte(pad), byte(pad>>8)
	for i := 4; i < len(extra); i++ {
		extra[i] = 'Z'
	}
	var flags uint16
	for i := 0; i < len(name); i++ {
		if name[i] >= 0x80 {
			flags |= 0x800 // name is UTF-8
			break
		}
	}
	fh := &zip.FileHeader{
		Name:               name,
		CreatorVersion:     20,
		ReaderVersion:      20,
		Flags:              flags,
		Method:             zip.Store,
		ModifiedTime:       zipDOSTime,
		ModifiedDate:       zipDOSDate,
		CRC32:              sum,
		CompressedSize64:   uint64(size),
		UncompressedSize64: uint64(size),
		Extra:              extra,
	}
	fw, err := z.zw.CreateRaw(fh)
	if err != nil {
		return fmt.Errorf("torchpt: record %s: %w", name, err)
	}
	if _, err := put(fw); err != nil {
		return fmt.Errorf("torchpt: record %s: %w", name, err)
	}
	z.offset = start + pad + size
	return nil
}
