package pngembed

import "errors"

// ErrNotEmbedding is wrapped by the error returned for a valid PNG that has
// neither an sd-ti-embedding text chunk nor an embedded pixel border.
var ErrNotEmbedding = errors.New("pngembed: not an embedding image")

// FormatError reports input that is not a valid PNG, or embedded data (text
// chunk, base64, zlib stream, JSON or tensor) that is malformed.
type FormatError struct {
	// Offset is the byte offset in the file the problem was found at, or -1
	// when the problem is not tied to one place in the file.
	Offset int64
	// Msg says what was wrong, and where.
	Msg string
	// Err is the underlying error (zlib, base64), or nil.
	Err error
}

// Error returns the message, prefixed with "pngembed: ".
func (e *FormatError) Error() string { return "pngembed: " + e.Msg }

// Unwrap returns the underlying error.
func (e *FormatError) Unwrap() error { return e.Err }

// notEmbeddingError wraps ErrNotEmbedding with the reason.
type notEmbeddingError struct{ reason string }

func (e *notEmbeddingError) Error() string { return ErrNotEmbedding.Error() + ": " + e.reason }

func (e *notEmbeddingError) Unwrap() error { return ErrNotEmbedding }
