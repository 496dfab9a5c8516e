package readerr

import (
	"errors"
	"io"
	"testing"
)

func TestFormatError(t *testing.T) {
	for _, c := range []struct {
		e    *FormatError
		want string
	}{
		{&FormatError{Pkg: "torchpt", Offset: -1, Msg: "m"}, "torchpt: m"},
		{&FormatError{Pkg: "torchpt", Record: "archive/data.pkl", Offset: -1, Msg: "m"}, "torchpt: archive/data.pkl: m"},
		{&FormatError{Pkg: "pngembed", Offset: 33, Msg: "m"}, "pngembed: offset 33: m"},
		{&FormatError{Pkg: "torchpt", Record: "archive/data.pkl", Offset: 7, Msg: "m"}, "torchpt: archive/data.pkl offset 7: m"},
	} {
		if got := c.e.Error(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.e, got, c.want)
		}
		if !errors.Is(c.e, ErrFormat) || errors.Is(c.e, ErrUnsupported) {
			t.Errorf("%q: ErrFormat %v, ErrUnsupported %v", c.want, errors.Is(c.e, ErrFormat), errors.Is(c.e, ErrUnsupported))
		}
	}
	wrapped := error(&FormatError{Pkg: "pngembed", Offset: 40, Msg: "zlib: truncated", Err: io.ErrUnexpectedEOF})
	if !errors.Is(wrapped, io.ErrUnexpectedEOF) || !errors.Is(wrapped, ErrFormat) {
		t.Errorf("%v does not wrap both its cause and ErrFormat", wrapped)
	}
	var fe *FormatError
	if !errors.As(wrapped, &fe) || fe.Offset != 40 {
		t.Errorf("errors.As: %v", fe)
	}
	u := error(&UnsupportedError{Pkg: "torchpt", Msg: "tar archive"})
	if u.Error() != "torchpt: unsupported: tar archive" || !errors.Is(u, ErrUnsupported) || errors.Is(u, ErrFormat) {
		t.Errorf("%v", u)
	}
}
