package memread

import (
	"bytes"
	"io"
	"testing"
)

func TestSlice(t *testing.T) {
	b := []byte("0123456789")
	r := New(b)
	for _, c := range []struct {
		off, n int64
		want   string
		ok     bool
	}{
		{0, 10, "0123456789", true}, {3, 4, "3456", true}, {10, 0, "", true},
		{-1, 2, "", false}, {9, 2, "", false}, {11, 0, "", false}, {0, -1, "", false},
		{1 << 62, 1 << 62, "", false},
	} {
		got, ok := Slice(r, c.off, c.n)
		if ok != c.ok || string(got) != c.want {
			t.Errorf("Slice(%d, %d) = %q, %v; want %q, %v", c.off, c.n, got, ok, c.want, c.ok)
		}
		if ok && cap(got) != len(got) {
			t.Errorf("Slice(%d, %d): capacity %d runs past the range", c.off, c.n, cap(got))
		}
	}
	if _, ok := Slice(bytes.NewReader(b), 0, 1); ok {
		t.Error("Slice of a bytes.Reader: want ok false")
	}
	// An append to a slice never writes into the bytes after it.
	s, _ := Slice(r, 0, 2)
	_ = append(s, 'x')
	if string(b) != "0123456789" {
		t.Errorf("append wrote through: %q", b)
	}
}

// ReadAt behaves as bytes.Reader's.
func TestReadAt(t *testing.T) {
	b := []byte("0123456789")
	for _, off := range []int64{-1, 0, 5, 9, 10, 11} {
		for _, n := range []int{0, 1, 5, 20} {
			p1, p2 := make([]byte, n), make([]byte, n)
			n1, err1 := New(b).ReadAt(p1, off)
			n2, err2 := bytes.NewReader(b).ReadAt(p2, off)
			if n1 != n2 || (err1 == nil) != (err2 == nil) || !bytes.Equal(p1, p2) {
				t.Errorf("ReadAt(%d bytes at %d) = %d, %v; bytes.Reader: %d, %v", n, off, n1, err1, n2, err2)
			}
			if err2 == io.EOF && err1 != io.EOF {
				t.Errorf("ReadAt(%d bytes at %d): err %v, want io.EOF", n, off, err1)
			}
		}
	}
}
