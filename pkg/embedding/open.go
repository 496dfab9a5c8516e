package embedding

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"

	"github.com/embtool/embtool/internal/inputfile"
	"github.com/embtool/embtool/pkg/identify"
	"github.com/embtool/embtool/pkg/torchpt"
)

// Input is one input file, opened once and identified from its headers:
// what it is (ID), then its embedding or its tensors on demand, read
// through the same handle.
type Input struct {
	Path string
	Size int64
	// ID is what the headers show (identify.File).
	ID *identify.Result
	f  *os.File
}

// Open opens and identifies the file at path. Only a failure to open or
// stat it is an error: a damaged file is identified with ID.Err set.
func Open(path string) (*Input, error) {
	f, size, err := inputfile.Open(path)
	if err != nil {
		return nil, err
	}
	return &Input{Path: path, Size: size, ID: identify.File(f, size, filepath.Base(path)), f: f}, nil
}

// Close releases the file.
func (in *Input) Close() error { return in.f.Close() }

// HoldsTensors reports whether the file is a torch or safetensors file
// whose tensors TensorDict can list (a LoRA, a checkpoint, an embedding),
// as opposed to an image, a text or a damaged file.
func (in *Input) HoldsTensors() bool {
	return in.ID.Torch != nil || in.ID.Safetensors != nil
}

// Embedding reads the file as an embedding, with the hex sha256 of its
// bytes, as ReadFile does.
func (in *Input) Embedding(opts Options) (*Embedding, string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(in.f, 0, in.Size)); err != nil {
		return nil, "", err
	}
	e, err := decodeAs(in.f, in.Size, in.ID, opts)
	return e, hex.EncodeToString(h.Sum(nil)), err
}

// TensorDict lists every tensor of the file without loading them; see
// OpenTensorDict. The dict reads through the Input: close the Input when
// done.
func (in *Input) TensorDict(opts Options) (*TensorDict, error) {
	if err := in.ID.Err; err != nil && !(opts.AllowUnsafe && errors.Is(err, torchpt.ErrUnsafe) && in.ID.Torch != nil) {
		return nil, err
	}
	return tensorDictOf(in.ID.Torch, in.ID.Safetensors)
}
