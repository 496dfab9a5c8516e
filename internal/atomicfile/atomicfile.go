// Package atomicfile writes a file so that its path only ever holds the old
// file or the complete new one: the bytes go to a locked temporary file in
// the same folder, which is synced, checked by the caller's verify (a read
// back) and only then renamed over the path, and the folder synced.
//
// # Security
//
// The writer holds an exclusive lock on its temporary file (flock on Unix,
// LockFileEx on Windows) that the system drops when the process dies,
// however it dies. Before each write, the temporary files of the folder
// whose lock can be taken and that are over a minute old are removed
// (orphans of killed writers) and reported through Options.OnOrphanRemoved.
// A file whose lock is held, a file just created, and the unlocked
// temporary files of older embtool versions are never removed. Temporary
// names start with TempPrefix so that readers can skip them.
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// TempPrefix starts the name of every temporary file, so a file left by a
// crash is recognisable and never read as an embedding.
const TempPrefix = ".embtool-tmp-"

// ErrExists: the path exists and Options.Overwrite is false.
var ErrExists = errors.New("already exists")

// Options says how Write treats an existing file and the orphans it finds.
type Options struct {
	Overwrite bool // replace an existing file (else ErrExists)
	// OnOrphanRemoved, when not nil, is called with the path of every
	// orphaned temporary file removed. Several writes running at once
	// may call it from several goroutines.
	OnOrphanRemoved func(path string)
}

// Write creates path with the bytes write produces. It removes the
// folder's orphaned temporary files, writes into a new locked temporary
// file (starting its writeback to disk as it goes), syncs it, closes it,
// calls verify with its name, and renames it over path only if verify
// returns nil. On any error path is untouched and the temporary file gone.
func Write(path string, opts Options, write func(w io.Writer) error, verify func(tmp string) error) error {
	if _, err := os.Lstat(path); err == nil && !opts.Overwrite {
		return fmt.Errorf("%s: %w", path, ErrExists)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	removeOrphans(dir, opts.OnOrphanRemoved)
	f, unlock, err := createLockedTemp(dir, base)
	if err != nil {
		return err
	}
	// Deferred first, so it runs last: the file stays locked until it has
	// been renamed or removed.
	defer unlock()
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := write(&writebackWriter{f: f}); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := verify(tmp); err != nil {
		return fmt.Errorf("read-back check failed: %w", err)
	}
	if err := replaceFile(tmp, path); err != nil {
		return err
	}
	ok = true
	syncDir(dir)
	return nil
}

// syncDir makes the rename durable; a failure here does not undo it.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// writebackChunk: every this many bytes written, start their writeback.
const writebackChunk = 32 << 20

// writebackWriter writes to f and starts writeback of each finished chunk
// while later ones are still being produced.
type writebackWriter struct {
	f          *os.File
	off, start int64
}

func (w *writebackWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.off += int64(n)
	if w.off-w.start >= writebackChunk {
		startWriteback(w.f, w.start, w.off-w.start)
		w.start = w.off
	}
	return n, err
}
