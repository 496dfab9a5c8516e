//go:build windows

package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/windows"
)

// replaceRetryFor is how long replaceFile keeps trying while the target
// is busy: antivirus scanners and indexers hold a new file for a moment.
var replaceRetryFor = 2 * time.Second

// replaceFile renames tmp over path. os.Rename is MoveFileEx with
// MOVEFILE_REPLACE_EXISTING, atomic on NTFS, but unlike POSIX it fails
// while any handle on path was opened without FILE_SHARE_DELETE (what
// Python's open() and most programs do), or when path is read-only. Such
// failures are retried for replaceRetryFor, then reported as
// ErrTargetOpen with path unchanged.
func replaceFile(tmp, path string) error {
	deadline := time.Now().Add(replaceRetryFor)
	wait := 10 * time.Millisecond
	for {
		err := os.Rename(tmp, path)
		if err == nil || !targetBusy(err) {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cannot replace %s: %w (%v)", path, ErrTargetOpen, errors.Unwrap(err))
		}
		time.Sleep(wait)
		wait = min(2*wait, 200*time.Millisecond)
	}
}

func targetBusy(err error) bool {
	return errors.Is(err, windows.ERROR_ACCESS_DENIED) ||
		errors.Is(err, windows.ERROR_SHARING_VIOLATION) ||
		errors.Is(err, windows.ERROR_LOCK_VIOLATION)
}
