package embedding

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/embtool/embtool/pkg/pngembed"
	"github.com/embtool/embtool/pkg/safetensors"
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

// wholeFileLimit: files up to this size are read into memory in one read,
// which also feeds the hash; larger ones are hashed in a separate pass.
const wholeFileLimit = 64 << 20

// ReadFile reads the embedding at path and the hex sha256 of its bytes.
func ReadFile(path string, opts Options) (*Embedding, string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, "", err
	}
	if st.IsDir() {
		return nil, "", fmt.Errorf("is a directory")
	}
	var r io.ReaderAt = fh
	h := sha256.New()
	if st.Size() <= wholeFileLimit {
		data := make([]byte, st.Size())
		if _, err := io.ReadFull(fh, data); err != nil {
			return nil, "", err
		}
		h.Write(data)
		r = bytes.NewReader(data)
	} else if _, err := io.Copy(h, fh); err != nil {
		return nil, "", err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	e, err := Decode(r, st.Size(), opts)
	return e, sum, err
}

// Container names the container format of a file from its first bytes,
// or "" when it is none embtool reads.
func Container(head []byte, size int64) string {
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("PYTORCH1")):
		return ContainerTorchZip
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return ContainerPNG
	case isSafetensors(head):
		// Checked before the pickle test: a header length of 128–255
		// bytes makes the first byte 0x80, the pickle PROTO opcode.
		return ContainerSafetensors
	case len(head) > 0 && head[0] == 0x80:
		return ContainerTorchLegacy
	}
	return ""
}

// isSafetensors: eight bytes of header length, then a JSON object
// (leading whitespace tolerated, formats.md §4). The length is not judged
// here: a lying one is the safetensors reader's to report precisely.
func isSafetensors(head []byte) bool {
	return len(head) >= 9 && bytes.HasPrefix(bytes.TrimLeft(head[8:], " \t\n\r"), []byte("{"))
}

// Decode reads an embedding of any container from r.
func Decode(r io.ReaderAt, size int64, opts Options) (*Embedding, error) {
	head := make([]byte, 64)
	n, err := r.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return nil, err
	}
	if size == 0 {
		return nil, fmt.Errorf("empty file (A1111 skips it)")
	}
	head = head[:n]
	switch c := Container(head, size); c {
	case ContainerTorchZip, ContainerTorchLegacy:
		f, err := torchpt.OpenWith(r, size, torchpt.Options{AllowUnsafe: opts.AllowUnsafe})
		if err != nil {
			return nil, err
		}
		return fromTorch(f, size)
	case ContainerSafetensors:
		f, err := safetensors.Open(r, size)
		if err != nil {
			return nil, err
		}
		return fromSafetensors(f)
	case ContainerPNG:
		res, err := pngembed.Decode(r, size)
		if err != nil {
			if errors.Is(err, pngembed.ErrNotEmbedding) {
				return nil, fmt.Errorf("%w: %v", ErrNotEmbedding, err)
			}
			return nil, err
		}
		return fromPNG(res)
	}
	if bytes.HasPrefix(head, []byte("\xff\xd8\xff")) {
		return nil, fmt.Errorf("%w: the file is a JPEG image", ErrNotEmbedding)
	}
	return nil, fmt.Errorf("unknown format: not torch, safetensors or PNG (starts with % x)", head[:min(len(head), 16)])
}
