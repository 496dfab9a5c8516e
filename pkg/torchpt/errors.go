package torchpt

import (
	"errors"
	"fmt"
	"strings"

	"github.com/embtool/embtool/internal/readerr"
)

// The errors of this package follow internal/readerr, the scheme all of
// embtool's readers share: a *FormatError (record and byte offset of the
// defect) wraps ErrFormat, an *UnsupportedError wraps ErrUnsupported, and
// an *UnsafeError wraps ErrUnsafe, so callers can tell a broken file from
// a dangerous one from a valid one embtool does not handle.
var (
	// ErrFormat: the bytes are not a valid torch file.
	ErrFormat = readerr.ErrFormat
	// ErrUnsafe: the pickle names or calls something outside the allow-list.
	ErrUnsafe = errors.New("unsafe pickle")
	// ErrUnsupported: a valid file using a feature embtool does not handle.
	ErrUnsupported = readerr.ErrUnsupported
)

// FormatError is a defect at a byte offset of a record ("" for the file
// itself, else e.g. "archive/data.pkl"); Offset is -1 when unknown (the
// VM does not track offsets).
type FormatError = readerr.FormatError

// errPkg starts every message of this package.
const errPkg = "torchpt"

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
type UnsupportedError = readerr.UnsupportedError

func unsupportedf(format string, args ...any) error {
	return &UnsupportedError{Pkg: errPkg, Msg: fmt.Sprintf(format, args...)}
}
