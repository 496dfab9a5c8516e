// Package readerr is the one error scheme of embtool's file readers
// (pkg/torchpt, pkg/safetensors, pkg/pngembed), in the manner of debug/elf
// and image/png: a *FormatError for bytes that break the format, carrying
// the record and byte offset of the defect; an *UnsupportedError for a
// valid file using a feature the reader does not handle; and the
// sentinels ErrFormat and ErrUnsupported that every such error wraps, so
// a caller tests errors.Is(err, torchpt.ErrFormat) or errors.As(err,
// &fe) whatever reader it called. Each reader re-exports these names.
//
// Messages start with the reader's name once ("torchpt: ", not
// "embedding: torchpt: …") and name no command-line flag: advice about
// flags belongs to the command that has them.
//
// # Security
//
// The types only hold and format what the readers give them; the readers
// bound the length of what goes into a message (names are quoted and
// truncated where they come from a file).
package readerr

import (
	"errors"
	"fmt"
)

var (
	// ErrFormat is wrapped by every *FormatError: the bytes are not a
	// valid file of the format.
	ErrFormat = errors.New("invalid format")
	// ErrUnsupported is wrapped by every *UnsupportedError: a valid file
	// using a feature the reader does not handle.
	ErrUnsupported = errors.New("unsupported feature")
)

// FormatError is a defect at a byte offset of a record of a file.
type FormatError struct {
	// Pkg is the reader that found it ("torchpt", "safetensors",
	// "pngembed"); it starts the message.
	Pkg string
	// Record is where in the file: a zip entry ("archive/data.pkl"), a
	// chunk ("zTXt chunk"), a tensor; "" for the file itself.
	Record string
	// Offset is the byte offset of the defect (in the file, or in the
	// record when Record is a zip entry), or -1 when it is not known.
	Offset int64
	// Msg says what is wrong.
	Msg string
	// Err is the underlying error (io, zlib, base64), or nil.
	Err error
}

// Error is "pkg: record offset N: msg", leaving out the parts not known.
func (e *FormatError) Error() string {
	switch {
	case e.Offset < 0 && e.Record == "":
		return e.Pkg + ": " + e.Msg
	case e.Offset < 0:
		return fmt.Sprintf("%s: %s: %s", e.Pkg, e.Record, e.Msg)
	case e.Record == "":
		return fmt.Sprintf("%s: offset %d: %s", e.Pkg, e.Offset, e.Msg)
	}
	return fmt.Sprintf("%s: %s offset %d: %s", e.Pkg, e.Record, e.Offset, e.Msg)
}

// Unwrap gives ErrFormat and the underlying error, if any.
func (e *FormatError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrFormat}
	}
	return []error{ErrFormat, e.Err}
}

// UnsupportedError is a valid file using a feature the reader does not
// handle.
type UnsupportedError struct {
	Pkg string // the reader, as in FormatError
	Msg string
}

func (e *UnsupportedError) Error() string { return e.Pkg + ": unsupported: " + e.Msg }

// Unwrap gives ErrUnsupported.
func (e *UnsupportedError) Unwrap() error { return ErrUnsupported }
