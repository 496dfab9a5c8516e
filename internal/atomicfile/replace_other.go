//go:build !windows

package atomicfile

import "os"

// replaceFile renames tmp over path: atomic on POSIX even when path is
// open elsewhere (readers keep the old inode).
func replaceFile(tmp, path string) error {
	return os.Rename(tmp, path)
}
