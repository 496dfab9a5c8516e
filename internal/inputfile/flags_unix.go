//go:build unix

package inputfile

import "syscall"

// openFlags: O_NONBLOCK makes the open of a FIFO return at once instead
// of waiting for a writer; reads of a regular file ignore it.
const openFlags = syscall.O_NONBLOCK
