//go:build unix

package embedding

import (
	"io"
	"os"
	"syscall"
)

// readSmall reads a regular file of at most max bytes whole, into a
// buffer from keep (see buffer), with four system calls: open, fstat,
// read, close. os.Open adds four fcntl and an epoll_ctl to register the
// file with the poller, which a regular file never uses; over a folder of
// small files on a virtual machine, where every system call is costly,
// that was a tenth of inspect's time. A larger regular file is handed
// back open (large, its size in size) rather than opened a second time.
// ok is false, with no error and no file, for anything else (a
// directory, a FIFO, a device): the caller opens it the usual way, and
// its errors are the usual ones. The open does not wait on a FIFO
// (O_NONBLOCK, which reads of a regular file ignore).
func readSmall(path string, max int64, keep *[]byte) (data []byte, large *os.File, size int64, ok bool, err error) {
	var fd int
	for {
		fd, err = sysOpen(path, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NONBLOCK)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return nil, nil, 0, false, &os.PathError{Op: "open", Path: path, Err: err}
	}
	var st syscall.Stat_t
	if err := sysFstat(fd, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		sysClose(fd)
		return nil, nil, 0, false, nil
	}
	if int64(st.Size) > max {
		return nil, os.NewFile(uintptr(fd), path), int64(st.Size), true, nil
	}
	defer sysClose(fd)
	data = buffer(keep, int64(st.Size))
	for n := 0; n < len(data); {
		k, err := sysRead(fd, data[n:])
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return nil, nil, 0, false, &os.PathError{Op: "read", Path: path, Err: err}
		case k == 0:
			return nil, nil, 0, false, &os.PathError{Op: "read", Path: path, Err: io.ErrUnexpectedEOF} // the file shrank
		}
		n += k
	}
	return data, nil, int64(len(data)), true, nil
}
