//go:build unix && !(linux && (amd64 || arm64))

package embedding

import "syscall"

// readSmall's system calls, through package syscall.

func sysOpen(path string, flags int) (int, error) { return syscall.Open(path, flags, 0) }
func sysFstat(fd int, st *syscall.Stat_t) error   { return syscall.Fstat(fd, st) }
func sysRead(fd int, b []byte) (int, error)       { return syscall.Read(fd, b) }
func sysClose(fd int)                             { syscall.Close(fd) }
