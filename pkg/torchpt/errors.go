package torchpt

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors, wrapped by every error this package returns so callers
// can tell a broken file from a dangerous one from a valid one we do not
// handle.
var (
	// ErrFormat: the bytes are not a valid torch file.
	ErrFormat = errors.New("not a valid torch file")
	// ErrUnsafe: the pickle names or calls something outside the allow-list.
	ErrUnsafe = errors.New("unsafe pickle")
	// ErrUnsupported: a valid file using a feature embtool does not handle.
	ErrUnsupported = errors.New("unsupported")
)

// FormatError is a defect at a byte offset of a record ("" for the file
// itself, else e.g. "archive/data.pkl"); Offset is -1 when unknown.
type FormatError struct {
	Record string
	Offset int64
	Msg    string
}

func (e *FormatError) Error() string {
	if e.Offset < 0 { // found by the VM, which does not track offsets
		if e.Record == "" {
			return "torchpt: " + e.Msg
		}
		return fmt.Sprintf("torchpt: %s: %s", e.Record, e.Msg)
	}
	if e.Record == "" {
		return fmt.Sprintf("torchpt: offset %d: %s", e.Offset, e.Msg)
	}
	return fmt.Sprintf("torchpt: %s offset %d: %s", e.Record, e.Offset, e.Msg)
}

func (e *FormatError) Unwrap() error { return ErrFormat }

// Finding is one thing a pickle would import or call that the allow-list
// does not admit.
type Finding struct {
	Record string // the pickle's record name in a zip, "" for a bare pickle
	Offset int64  // byte offset of the opcode within that pickle
	Op     string // GLOBAL, STACK_GLOBAL, INST, OBJ, REDUCE, NEWOBJ, BUILD, EXT, ...
	Name   string // module.name where known
	Why    string
}

func (f Finding) String() string {
	where := fmt.Sprintf("offset %d", f.Offset)
	if f.Record != "" {
		where = f.Record + " " + where
	}
	if f.Name != "" {
		return fmt.Sprintf("%s: %s %s: %s", where, f.Op, f.Name, f.Why)
	}
	return fmt.Sprintf("%s: %s: %s", where, f.Op, f.Why)
}

// UnsafeError lists every finding of a pickle that is not pure data.
type UnsafeError struct {
	Findings []Finding
}

func (e *UnsafeError) Error() string {
	parts := make([]string, len(e.Findings))
	for i, f := range e.Findings {
		parts[i] = f.String()
	}
	return "torchpt: unsafe pickle: " + strings.Join(parts, "; ")
}

func (e *UnsafeError) Unwrap() error { return ErrUnsafe }

// UnsupportedError is a valid file using a feature embtool does not read.
type UnsupportedError struct{ Msg string }

func (e *UnsupportedError) Error() string { return "torchpt: unsupported: " + e.Msg }
func (e *UnsupportedError) Unwrap() error { return ErrUnsupported }

func unsupportedf(format string, args ...any) error {
	return &UnsupportedError{Msg: fmt.Sprintf(format, args...)}
}
