package pngembed

import (
	"errors"

	"github.com/embtool/embtool/internal/readerr"
)

// The errors of this package follow internal/readerr, the scheme all of
// embtool's readers share: input that is not a valid PNG, or embedded data
// (text chunk, base64, zlib stream, JSON or tensor) that is malformed,
// gives a *FormatError wrapping ErrFormat; its Record names the chunk
// ("zTXt chunk", `tEXt chunk "sd-ti-embedding"`, "pixel data") and Offset
// the chunk's byte offset in the file, or -1 when the problem is not tied
// to one place.
var (
	// ErrFormat is wrapped by every *FormatError.
	ErrFormat = readerr.ErrFormat
	// ErrNotEmbedding is wrapped by the *NotEmbeddingError returned for a
	// valid PNG that has neither an sd-ti-embedding text chunk nor an
	// embedded pixel border.
	ErrNotEmbedding = errors.New("not an embedding image")
)

// FormatError is a defect of a PNG or of the embedding data it holds.
type FormatError = readerr.FormatError

// errPkg starts every message of this package.
const errPkg = "pngembed"

// NotEmbeddingError is a valid PNG without an embedding, and why.
type NotEmbeddingError struct {
	Reason string // "no sd-ti-embedding text chunk, and the pixels hold no data border …"
}

func (e *NotEmbeddingError) Error() string {
	return errPkg + ": " + ErrNotEmbedding.Error() + ": " + e.Reason
}

// Unwrap gives ErrNotEmbedding.
func (e *NotEmbeddingError) Unwrap() error { return ErrNotEmbedding }
