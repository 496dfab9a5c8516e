//go:build linux && (amd64 || arm64)

package embedding

import (
	"syscall"
	"unsafe"
)

// On Linux (amd64, arm64: fstat fills syscall.Stat_t there) readSmall's four system calls are made raw, without telling
// Go's scheduler: they are short (a regular file of at most a megabyte,
// nearly always in the page cache), and a scheduler told of each one
// hands the processor to another thread whenever one spans its 20 µs
// check, which over a folder of small files kept its monitor thread
// waking 2,700 times a run and cost 8% of inspect's wall time with two
// workers (bench/README.md). The cost of a read that does wait (a cold
// disk, a network share): the worker keeps its processor meanwhile, and
// a garbage collection waits for the read to end.

func sysOpen(path string, flags int) (int, error) {
	p, err := syscall.BytePtrFromString(path)
	if err != nil {
		return -1, err
	}
	fd, _, e := syscall.RawSyscall6(syscall.SYS_OPENAT, atFDCWD, uintptr(unsafe.Pointer(p)), uintptr(flags), 0, 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(fd), nil
}

// atFDCWD is AT_FDCWD (-100) as the kernel reads the register.
const atFDCWD = ^uintptr(99)

func sysFstat(fd int, st *syscall.Stat_t) error {
	if _, _, e := syscall.RawSyscall(syscall.SYS_FSTAT, uintptr(fd), uintptr(unsafe.Pointer(st)), 0); e != 0 {
		return e
	}
	return nil
}

func sysRead(fd int, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func sysClose(fd int) { syscall.RawSyscall(syscall.SYS_CLOSE, uintptr(fd), 0, 0) }
