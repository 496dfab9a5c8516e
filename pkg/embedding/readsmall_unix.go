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
// that was a tenth of inspect's time. ok is false, with no error, for
// anything else (a directory, a FIFO, a device, a larger file): the
// caller opens it the usual way, and its errors are the usual ones. The
// open does not wait on a FIFO (O_NONBLOCK, which reads of a regular file
// ignore).
func readSmall(path string, max int64, keep *[]byte) (data []byte, ok bool, err error) {
	var fd int
	for {
		fd, err = sysOpen(path, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NONBLOCK)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return nil, false, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer sysClose(fd)
	var st syscall.Stat_t
	if err := sysFstat(fd, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFREG || int64(st.Size) > max {
		return nil, false, nil
	}
	data = buffer(keep, int64(st.Size))
	for n := 0; n < len(data); {
		k, err := sysRead(fd, data[n:])
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return nil, false, &os.PathError{Op: "read", Path: path, Err: err}
		case k == 0:
			return nil, false, &os.PathError{Op: "read", Path: path, Err: io.ErrUnexpectedEOF} // the file shrank
		}
		n += k
	}
	return data, true, nil
}
