//go:build !unix && !windows

package atomicfile

// lockTemp does nothing where embtool knows no file locks.
func lockTemp(path string) (unlock func(), err error) { return func() {}, nil }

// lockIfDead never succeeds where embtool knows no file locks: without a
// lock a live writer cannot be told from a dead one.
func lockIfDead(path string) (release func(), ok bool) { return nil, false }
