package torchpt

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// Verdicts of a file scan.
const (
	VerdictSafe   = "safe"
	VerdictUnsafe = "unsafe"
	VerdictError  = "error"
)

// FileScan is the static report of every pickle in a file.
type FileScan struct {
	// Format is "torch-zip", "torch-legacy", "pickle" (a bare pickle that
	// is not a torch file), or "" when the file holds no pickle at all.
	Format  string
	Pickles []*ScanResult
	// Err is the first structural defect met, if any.
	Err error
	// Records is a torch zip's directory as embtool reads it (nil when the
	// archive could not be read or is ambiguous).
	Records []ZipRecord
}

// Verdict is unsafe when any pickle names something outside the
// allow-list, error when the file is malformed, else safe.
func (s *FileScan) Verdict() string {
	if len(s.Findings()) > 0 {
		return VerdictUnsafe
	}
	if s.Err != nil {
		return VerdictError
	}
	return VerdictSafe
}

// Findings gathers the findings of every pickle.
func (s *FileScan) Findings() []Finding {
	var out []Finding
	for _, p := range s.Pickles {
		out = append(out, p.Findings...)
	}
	return out
}

// ScanFile reports, without running anything, what every pickle in a torch
// zip (every .pkl entry, not only data.pkl), a legacy torch file or a bare
// pickle would import and call. Files that are not pickles or zips get
// Format "" and no error.
func ScanFile(r io.ReaderAt, size int64) *FileScan {
	head := make([]byte, 64)
	n, _ := r.ReadAt(head, 0)
	head = head[:n]
	s := &FileScan{}
	switch {
	case size == 0:
		s.Err = &FormatError{Msg: "empty file"}
	case notPickle(head, size):
		// safetensors, PNG, JPEG: formats that cannot carry code.
	case bytes.HasPrefix(head, zipMagic):
		s.Format = FormatZip
		s.scanZip(r, size)
	case bytes.HasPrefix(head, previewMagic):
		s.Err = unsupportedf("PYTORCH1 archive from the 2018 preview release")
	case isTar(r, size):
		s.Err = unsupportedf("tar archive from pre-1.0 PyTorch")
	case len(head) > 0 && opcodes[head[0]] != nil:
		s.scanPickles(r, size)
	}
	// A torch file whose pickles are safe must still hold together:
	// storages of the declared size, views inside them.
	if (s.Format == FormatZip || s.Format == FormatLegacy) && s.Err == nil && len(s.Findings()) == 0 {
		if _, err := OpenWith(r, size, Options{}); err != nil {
			s.Err = err
		}
	}
	return s
}

// scanPickles scans up to five consecutive pickles: a legacy torch file
// has five, a bare pickle one.
func (s *FileScan) scanPickles(r io.ReaderAt, size int64) {
	n := size
	if n > MaxPickleSize {
		n = MaxPickleSize
	}
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, 0); err != nil && err != io.EOF {
		s.Err = err
		return
	}
	s.Format = "pickle"
	pos := int64(0)
	for i := 0; i < 5 && pos < int64(len(buf)); i++ {
		if i > 0 && buf[pos] != 0x80 {
			break // storage data follows the last pickle
		}
		res, err := Scan(buf[pos:], fmt.Sprintf("pickle %d", i+1))
		for j := range res.Findings {
			res.Findings[j].Offset += pos
		}
		for j := range res.Globals {
			res.Globals[j].Offset += pos
		}
		s.Pickles = append(s.Pickles, res)
		if err != nil {
			if fe, ok := err.(*FormatError); ok {
				fe.Offset += pos
			}
			s.Err = err
			return
		}
		if i == 0 && isLegacyMagic(buf[pos:pos+res.End]) {
			s.Format = FormatLegacy
		}
		pos += res.End
	}
}

// notPickle recognises the data-only formats an embeddings folder holds:
// safetensors (u64 header length that fits, then a JSON object), PNG, JPEG.
func notPickle(head []byte, size int64) bool {
	if bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")) || bytes.HasPrefix(head, []byte("\xff\xd8\xff")) {
		return true
	}
	if len(head) < 9 {
		return false
	}
	n := binary.LittleEndian.Uint64(head)
	return n < uint64(size) && n+8 <= uint64(size) &&
		bytes.HasPrefix(bytes.TrimLeft(head[8:], " \t\r\n"), []byte("{"))
}

func isLegacyMagic(p []byte) bool {
	return bytes.Equal(p, []byte("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19\x2e"))
}
