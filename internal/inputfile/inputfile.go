// Package inputfile opens the files embtool reads: regular files only.
// A named pipe, device or socket given as an input would make a plain
// open or read wait forever (a FIFO's open waits for a writer), so it is
// opened without waiting and refused, before anything reads from it.
//
// # Security
//
// Open never blocks on a special file and never returns one; a file
// that is swapped for a pipe between a directory walk and the open is
// refused as well, since the check is made on the opened handle.
package inputfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// ErrNotRegular is wrapped by the error Open returns (an *fs.PathError,
// as for any other failure to open) for a directory, a named pipe, a
// device or a socket.
var ErrNotRegular = errors.New("not a regular file")

// Open opens path for reading when it is a regular file (or a link to
// one) and returns it with its size.
func Open(path string) (*os.File, int64, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|openFlags, 0)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	if err := Check(st.Mode()); err != nil {
		f.Close()
		return nil, 0, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return f, st.Size(), nil
}

// Check is nil for a regular file's mode, else an error wrapping
// ErrNotRegular that says what the file is.
func Check(m fs.FileMode) error {
	switch {
	case m.IsRegular():
		return nil
	case m.IsDir():
		return fmt.Errorf("is a folder, %w", ErrNotRegular)
	case m&fs.ModeNamedPipe != 0:
		return fmt.Errorf("is a named pipe (FIFO), %w", ErrNotRegular)
	case m&fs.ModeSocket != 0:
		return fmt.Errorf("is a socket, %w", ErrNotRegular)
	case m&fs.ModeDevice != 0:
		return fmt.Errorf("is a device, %w", ErrNotRegular)
	}
	return fmt.Errorf("%w (mode %v)", ErrNotRegular, m)
}
