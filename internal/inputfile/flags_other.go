//go:build !unix

package inputfile

// openFlags: no special files wait on open here.
const openFlags = 0
