//go:build unix

package atomicfile

import (
	"os"

	"golang.org/x/sys/unix"
)

// lockTemp takes an exclusive flock on the file at path through a
// descriptor of its own, held until unlock. flock locks belong to the open
// file description, so they conflict even within one process, and the
// kernel drops them when the process dies. Where the file system has no
// flock (some network mounts), the file is left unlocked: lockIfDead
// cannot lock it there either, so it is never taken for an orphan.
//
// On Linux NFS mounts flock is emulated with POSIX record locks, which a
// process loses when it closes any descriptor of the file; the writer
// does that before its read-back check, so during that check another
// embtool may take the file for an orphan. The rename then fails and the
// destination is left as it was.
func lockTemp(path string) (unlock func(), err error) {
	lf, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(lf.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		lf.Close()
		return func() {}, nil
	}
	return func() { lf.Close() }, nil
}

// lockIfDead takes the lock of the temporary file at path; it succeeds
// only when no live process holds it. release closes the descriptor.
func lockIfDead(path string) (release func(), ok bool) {
	lf, err := os.Open(path)
	if err != nil {
		return nil, false
	}
	if err := unix.Flock(int(lf.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		lf.Close()
		return nil, false
	}
	return func() { lf.Close() }, true
}
