package atomicfile

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// lockedTempPrefix starts the name of a temporary file whose writer holds
// an exclusive advisory lock on it for as long as it lives (flock on Unix,
// LockFileEx on Windows: the kernel drops it when the process dies, even
// by SIGKILL). The PID after it is for people; liveness is the lock alone,
// since a PID can be reused. Temporary files of other names (older
// embtool versions, which took no lock) are never removed.
const lockedTempPrefix = TempPrefix + "lk."

// orphanMinAge: a temporary file modified more recently than this is left
// alone even when it is not locked, which covers the instant between a
// writer creating its file and locking it.
const orphanMinAge = time.Minute

// createLockedTemp creates a new temporary file in dir for an output named
// base, and locks it. The returned unlock releases the lock; it must be
// called only after the file has been renamed or removed.
func createLockedTemp(dir, base string) (f *os.File, unlock func(), err error) {
	pattern := lockedTempPrefix + strconv.Itoa(os.Getpid()) + ".*-" + base
	f, err = os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, nil, err
	}
	unlock, err = lockTemp(f.Name())
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, nil, err
	}
	return f, unlock, nil
}

// removeOrphans removes the temporary files in dir whose writer is dead:
// those named with lockedTempPrefix, older than orphanMinAge, whose lock can
// be taken, and calls removed (if not nil) with the path of each. It is
// best effort: a file it cannot judge is left alone.
func removeOrphans(dir string, removed func(path string)) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	defer d.Close()
	for {
		names, err := d.Readdirnames(256)
		for _, name := range names {
			if strings.HasPrefix(name, lockedTempPrefix) {
				removeIfOrphan(filepath.Join(dir, name), removed)
			}
		}
		if err != nil { // io.EOF at the end
			return
		}
	}
}

// removeIfOrphan removes path if no live process holds its lock.
func removeIfOrphan(path string, removed func(path string)) {
	st, err := os.Lstat(path)
	if err != nil || !st.Mode().IsRegular() || time.Since(st.ModTime()) < orphanMinAge {
		return
	}
	release, ok := lockIfDead(path)
	if !ok {
		return
	}
	defer release()
	if err := os.Remove(path); err == nil && removed != nil {
		removed(path)
	}
}
