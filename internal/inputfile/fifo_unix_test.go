//go:build unix

package inputfile

import (
	"errors"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestOpenFIFO: a named pipe with no writer is refused at once (a plain
// open would wait for a writer forever).
func TestOpenFIFO(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pipe.pt")
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() { _, _, err := Open(p); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNotRegular) {
			t.Errorf("FIFO: %v, want ErrNotRegular", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Open of a FIFO did not return")
	}
}
