package embedding

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/embtool/embtool/internal/inputfile"
	"github.com/embtool/embtool/internal/memread"
	"github.com/embtool/embtool/internal/sniff"
	"github.com/embtool/embtool/pkg/identify"
	"github.com/embtool/embtool/pkg/pngembed"
	"github.com/embtool/embtool/pkg/torchpt"
)

// Options adjust reading.
type Options struct {
	// AllowUnsafe extracts tensors from a pickle that names disallowed
	// globals; nothing is executed either way.
	AllowUnsafe bool
}

// ErrNotEmbedding: the file is readable but is not an embedding (a preview
// image, a file without tensors).
var ErrNotEmbedding = errors.New("not an embedding")

// smallFile: files up to this size (every embedding in the wild) are
// read into memory in one read, which also feeds the hash. Larger ones
// are identified from their headers first: one that is not an embedding
// is neither read nor hashed; an embedding is hashed in a separate pass.
const smallFile = 1 << 20

// inMemory: a larger file that its headers show to be an embedding is
// read whole too (its tensors are nearly all of it), up to this size;
// beyond it the hash is a separate pass and the tensors are read one by
// one.
const inMemory = 64 << 20

// NotEmbeddingError is a readable file that is not an embedding: what it
// is, from its headers (a LoRA, a checkpoint, a preview image, …), and
// where it belongs. It wraps ErrNotEmbedding.
type NotEmbeddingError struct {
	ID *identify.Result
}

func (e *NotEmbeddingError) Error() string { return e.ID.Misplaced() }

func (e *NotEmbeddingError) Unwrap() error { return ErrNotEmbedding }

// identifiedError is a reader's error about a file identify could place
// (a damaged or unsafe file, with the kind its headers showed).
type identifiedError struct {
	id  *identify.Result
	err error
}

func (e *identifiedError) Error() string { return e.err.Error() }
func (e *identifiedError) Unwrap() error { return e.err }

// Identified returns what the headers of the file behind an error of
// ReadFile or Decode showed, or nil when it could not be opened at all.
func Identified(err error) *identify.Result {
	var ne *NotEmbeddingError
	if errors.As(err, &ne) {
		return ne.ID
	}
	var ie *identifiedError
	if errors.As(err, &ie) {
		return ie.id
	}
	return nil
}

// ReadFile reads the embedding at path and the hex sha256 of its bytes.
// The sha256 is "" for a file larger than 1 MiB that is not an embedding:
// its tensors are never read. (A large PNG without an embedding text
// chunk is read and hashed: its pixels may hold one.)
func ReadFile(path string, opts Options) (*Embedding, string, error) {
	return readFile(path, opts, nil)
}

// A Reader reads embedding files one after another into one buffer that
// it keeps (up to 64 MiB), so a folder is read without a new buffer and
// the garbage collection, page faults and zeroing each one costs. The
// tensors of an Embedding that Read returns share that buffer: they are
// valid only until the next Read. A Reader is not safe for concurrent
// use; give each goroutine its own.
type Reader struct {
	Options Options
	buf     []byte
}

// Read is ReadFile through r's buffer.
func (r *Reader) Read(path string) (*Embedding, string, error) {
	return readFile(path, r.Options, &r.buf)
}

// buffer returns size bytes: from *keep when it is not nil (growing it),
// else new ones.
func buffer(keep *[]byte, size int64) []byte {
	if keep == nil || size > inMemory {
		return make([]byte, size)
	}
	if int64(cap(*keep)) < size {
		*keep = make([]byte, size)
	}
	return (*keep)[:size]
}

func readFile(path string, opts Options, keep *[]byte) (*Embedding, string, error) {
	data, fh, size, ok, err := readSmall(path, smallFile, keep)
	switch {
	case err != nil:
		return nil, "", err
	case ok && fh == nil:
		return decodeSmall(data, opts)
	case !ok:
		if fh, size, err = inputfile.Open(path); err != nil {
			return nil, "", err
		}
	}
	defer fh.Close()
	if size <= smallFile {
		data := buffer(keep, size)
		if _, err := io.ReadFull(fh, data); err != nil {
			return nil, "", err
		}
		return decodeSmall(data, opts)
	}
	id := identify.File(fh, size, filepath.Base(path))
	if id.Kind != identify.KindEmbedding && !id.PixelsUnread {
		_, err := decodeAs(fh, size, id, opts) // says what the file is
		return nil, "", err
	}
	if size <= inMemory {
		// An embedding (or a PNG whose pixels may hold one): read it
		// once, hash those bytes and take the tensors out of them. It is
		// identified again from the bytes read, so what is decoded is
		// what was hashed even if the file changed in between.
		data := buffer(keep, size)
		if _, err := io.ReadFull(io.NewSectionReader(fh, 0, size), data); err != nil {
			return nil, "", err
		}
		sum := sha256.Sum256(data)
		mr := memread.New(data)
		e, err := decodeAs(mr, size, identify.File(mr, size, filepath.Base(path)), opts)
		return e, hex.EncodeToString(sum[:]), err
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(fh, 0, size)); err != nil {
		return nil, "", err
	}
	e, err := decodeAs(fh, size, id, opts)
	return e, hex.EncodeToString(h.Sum(nil)), err
}

// decodeSmall hashes a file read whole and decodes it from those bytes.
func decodeSmall(data []byte, opts Options) (*Embedding, string, error) {
	sum := sha256.Sum256(data)
	e, err := Decode(memread.New(data), int64(len(data)), opts)
	return e, hex.EncodeToString(sum[:]), err
}

// Container names the container format of a file from its first bytes,
// or "" when it is none embtool reads.
func Container(head []byte, size int64) string {
	switch sniff.Detect(head, size) {
	case sniff.TorchZip, sniff.TorchPreview:
		return ContainerTorchZip
	case sniff.PNG:
		return ContainerPNG
	case sniff.Safetensors:
		return ContainerSafetensors
	case sniff.Pickle:
		return ContainerTorchLegacy
	}
	return ""
}

// Decode reads an embedding of any container from r. It identifies the
// file from its headers first: a file that is not an embedding (a LoRA,
// a checkpoint, …) gives a *NotEmbeddingError without a tensor read.
func Decode(r io.ReaderAt, size int64, opts Options) (*Embedding, error) {
	return decodeAs(r, size, identify.File(r, size, ""), opts)
}

// decodeAs reads the embedding that id describes, through the containers
// identify opened.
func decodeAs(r io.ReaderAt, size int64, id *identify.Result, opts Options) (*Embedding, error) {
	e, err := decodeID(r, size, id, opts)
	if err != nil && Identified(err) == nil {
		err = &identifiedError{id, err}
	}
	return e, err
}

func decodeID(r io.ReaderAt, size int64, id *identify.Result, opts Options) (*Embedding, error) {
	if id.Kind == identify.KindEmpty {
		return nil, fmt.Errorf("empty file (A1111 skips it)")
	}
	// An unsafe pickle was decoded into inert values (nothing executed);
	// with AllowUnsafe it is read on, and its findings kept.
	if id.Err != nil && !(opts.AllowUnsafe && errors.Is(id.Err, torchpt.ErrUnsafe) && id.Torch != nil) {
		return nil, id.Err
	}
	switch {
	case id.Kind == identify.KindEmbedding && id.Torch != nil:
		return fromTorch(id.Torch, size)
	case id.Kind == identify.KindEmbedding && id.Safetensors != nil:
		return fromSafetensors(id.Safetensors)
	case id.Kind == identify.KindEmbedding && id.PNG != nil:
		return fromPNG(id.PNG)
	case id.Kind == identify.KindImage && id.PixelsUnread:
		// No text chunk: A1111 looks for a border drawn in the pixels.
		res, err := pngembed.Decode(r, size)
		if ne := (*pngembed.NotEmbeddingError)(nil); errors.As(err, &ne) {
			id.PixelsUnread = false
			id.Notes = []string{ne.Reason}
			return nil, &NotEmbeddingError{ID: id}
		}
		if err != nil {
			return nil, err
		}
		return fromPNG(res)
	case id.Kind == identify.KindUnknown && id.Container == "":
		return nil, fmt.Errorf("unknown format: not torch, safetensors or PNG (starts with % x)", id.Start)
	}
	return nil, &NotEmbeddingError{ID: id}
}
