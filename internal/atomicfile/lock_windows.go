//go:build windows

package atomicfile

import (
	"golang.org/x/sys/windows"
)

// lockOffsetHigh places the one locked byte at 0x7FFF0000_00000000, far
// past any data: Windows byte-range locks are mandatory, so a lock over
// the data would make the writer's own read-back check fail.
const lockOffsetHigh = 0x7FFF0000

// openShared opens path with every sharing mode, FILE_SHARE_DELETE
// included, so holding it open does not stop the writer's rename.
func openShared(path string) (windows.Handle, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return 0, err
	}
	return windows.CreateFile(p, windows.GENERIC_READ,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL, 0)
}

func lockByte(h windows.Handle) error {
	ol := windows.Overlapped{OffsetHigh: lockOffsetHigh}
	return windows.LockFileEx(h, windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ol)
}

// lockTemp takes an exclusive LockFileEx lock on one byte of the file at
// path through a handle of its own, held until unlock. Windows releases
// the locks of a process that ends, however it ends.
func lockTemp(path string) (unlock func(), err error) {
	h, err := openShared(path)
	if err != nil {
		return nil, err
	}
	if err := lockByte(h); err != nil {
		windows.CloseHandle(h)
		return func() {}, nil
	}
	return func() { windows.CloseHandle(h) }, nil
}

// lockIfDead takes the lock of the temporary file at path; it succeeds
// only when no live process holds it.
func lockIfDead(path string) (release func(), ok bool) {
	h, err := openShared(path)
	if err != nil {
		return nil, false
	}
	if err := lockByte(h); err != nil {
		windows.CloseHandle(h)
		return nil, false
	}
	return func() { windows.CloseHandle(h) }, true
}
