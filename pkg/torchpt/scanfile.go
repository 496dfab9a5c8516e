package torchpt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
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
	// is not a torch file), "tar" (torch's pre-1.0 format, not scanned:
	// unsafe), or "" when the file holds no pickle at all.
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
//
// The file is sniffed as torch.load does: "PK\x03\x04" is a zip; any other
// file is tried as a tar archive (a first block with a valid checksum),
// then unpickled from byte 0. So a file whose first byte is a pickle
// opcode is scanned as a pickle even when it also looks like safetensors,
// PNG or the 2018 preview format; it counts as that format only when the
// pickle fails where CPython's unpickler fails too, before anything ran.
func ScanFile(r io.ReaderAt, size int64) *FileScan {
	head := make([]byte, 64)
	n, _ := r.ReadAt(head, 0)
	head = head[:n]
	s := &FileScan{}
	switch {
	case size == 0:
		s.Err = &FormatError{Msg: "empty file"}
	case bytes.HasPrefix(head, zipMagic):
		s.Format = FormatZip
		s.scanZip(r, size)
	case isTarHeader(r, size):
		s.Format = "tar"
		s.Pickles = []*ScanResult{{Record: "", Findings: []Finding{{Offset: 0, Op: "tar",
			Why: "torch.load reads a tar archive (the pre-1.0 PyTorch format) and unpickles its members storages, tensors and pickle; embtool does not scan them"}}}}
	case len(head) > 0 && opcodes[head[0]] != nil:
		s.scanPickles(r, size)
		if len(s.Findings()) == 0 && len(s.Pickles) > 0 && s.Pickles[0].End == 0 &&
			(notPickle(head, size) || bytes.HasPrefix(head, previewMagic)) {
			// The pickle breaks before anything ran: a data format whose
			// first byte happens to be an opcode.
			s.Format, s.Pickles, s.Err = "", nil, nil
		}
		if s.Format == "" && bytes.HasPrefix(head, previewMagic) {
			s.Err = unsupportedf("PYTORCH1 archive from the 2018 preview release")
		}
	case bytes.HasPrefix(head, previewMagic):
		s.Err = unsupportedf("PYTORCH1 archive from the 2018 preview release")
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

// scanPickles scans the pickles of a non-zip file from byte 0. A legacy
// torch file has five (magic number, protocol, sys_info, data, storage
// keys) and torch.load unpickles all five whatever their first byte; a
// bare pickle has one. When the first is not torch's magic number the
// next ones are still scanned, in case CPython reads that pickle as the
// magic number too; their defects do not count, as bytes after a bare
// pickle need not be a pickle, but their globals and findings do.
func (s *FileScan) scanPickles(r io.ReaderAt, size int64) {
	s.Format = "pickle"
	pos := int64(0)
	for i := 0; i < 5 && pos < size; i++ {
		extra := i > 0 && s.Format != FormatLegacy
		res, err := scanAt(r, size, pos, fmt.Sprintf("pickle %d", i+1))
		if extra && res.End == 0 && len(res.Findings) == 0 {
			return // not a pickle: bytes after a bare pickle
		}
		s.Pickles = append(s.Pickles, res)
		if err != nil {
			var ue *UnsafeError
			if !extra && s.Err == nil && !errors.As(err, &ue) {
				s.Err = err
			}
			if res.End == 0 {
				return // CPython stops here too, or embtool cannot follow
			}
		}
		if i == 0 && isLegacyMagic(r, res.End) {
			s.Format = FormatLegacy
		}
		pos += res.End
	}
}

// scanAt scans the pickle at pos, reading a growing prefix of the file
// (a safetensors file whose first byte is an opcode is not read whole).
// Offsets in the result are those of the file.
func scanAt(r io.ReaderAt, size, pos int64, record string) (*ScanResult, error) {
	limit := min(size-pos, MaxPickleSize)
	window := min(int64(512), limit) // grows ×8: a data file that is no pickle costs one small read
	for {
		buf := make([]byte, window)
		n, err := r.ReadAt(buf, pos)
		if int64(n) < window {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return &ScanResult{Record: record}, &FormatError{Record: record, Offset: pos + int64(n), Msg: "reading the pickle: " + err.Error()}
		}
		res, serr := Scan(buf, record)
		if serr != nil && res.short && window < limit {
			window = min(window*8, limit)
			continue
		}
		for j := range res.Findings {
			res.Findings[j].Offset += pos
		}
		for j := range res.Globals {
			res.Globals[j].Offset += pos
		}
		if res.disallowed != 0 {
			res.disallowedAt += pos
		}
		var fe *FormatError
		if errors.As(serr, &fe) && fe.Offset >= 0 {
			fe.Offset += pos
		}
		var ue *UnsafeError
		if errors.As(serr, &ue) {
			ue.Findings = res.Findings[len(res.Findings)-len(ue.Findings):]
		}
		if serr != nil && res.short && limit < size-pos {
			// The file goes on past what embtool reads of one pickle,
			// and CPython would read on.
			f := Finding{Record: record, Offset: pos + limit, Op: "limit",
				Why: fmt.Sprintf("ambiguous: the pickle runs past embtool's %d-byte limit, where CPython would read on", MaxPickleSize)}
			res.Findings = append(res.Findings, f)
			serr = &UnsafeError{Findings: []Finding{f}}
		}
		return res, serr
	}
}

// isTarHeader is tarfile's test of the first block, which torch.load
// tries before unpickling a non-zip file: 512 bytes, not all NUL, whose
// checksum field (octal, read as Python's int(s, 8) reads it, or base-256)
// equals the unsigned or signed sum of the block with that field as
// spaces.
func isTarHeader(r io.ReaderAt, size int64) bool {
	if size < 512 {
		return false
	}
	b := make([]byte, 512)
	if _, err := r.ReadAt(b, 0); err != nil && err != io.EOF {
		return false
	}
	if bytes.Count(b, []byte{0}) == 512 {
		return false
	}
	want, ok := tarNumber(b[148:156])
	if !ok {
		return false
	}
	var unsigned, signed int64 = 256, 256
	for i, c := range b {
		if i >= 148 && i < 156 {
			continue
		}
		unsigned += int64(c)
		signed += int64(int8(c))
	}
	return want == unsigned || want == signed
}

// tarNumber is tarfile.nti: base-256 when the first byte is 0x80 or 0xff,
// else the text up to the first NUL, stripped, as int(s, 8) ("" is 0).
func tarNumber(f []byte) (int64, bool) {
	if f[0] == 0x80 || f[0] == 0xff {
		var n int64
		for _, c := range f[1:] {
			n = n<<8 | int64(c)
		}
		if f[0] == 0xff {
			n -= 1 << 56
		}
		return n, true
	}
	if i := bytes.IndexByte(f, 0); i >= 0 {
		f = f[:i]
	}
	for _, c := range f {
		if c >= 0x80 {
			return 0, false
		}
	}
	t := strings.TrimSpace(string(f))
	if t == "" {
		return 0, true
	}
	neg := false
	if t[0] == '+' || t[0] == '-' {
		neg = t[0] == '-'
		t = t[1:]
	}
	if len(t) > 2 && t[0] == '0' && (t[1] == 'o' || t[1] == 'O') {
		// int(s, 8) takes the 0o prefix, and one underscore after it.
		t = strings.TrimPrefix(t[2:], "_")
	}
	var n int64
	digits := 0
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case c >= '0' && c <= '7':
			n = n*8 + int64(c-'0')
			digits++
		case c == '_' && i > 0 && i+1 < len(t) && t[i-1] != '_':
		default:
			return 0, false
		}
	}
	if digits == 0 {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
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

// legacyMagicPickle is the first pickle torch.save writes in the legacy
// format: the int 0x1950a86a20f9469cfc6c at protocol 2.
var legacyMagicPickle = []byte("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19\x2e")

// isLegacyMagic tells whether the file starts with that pickle, n bytes.
func isLegacyMagic(r io.ReaderAt, n int64) bool {
	if n != int64(len(legacyMagicPickle)) {
		return false
	}
	b := make([]byte, n)
	_, err := r.ReadAt(b, 0)
	return err == nil && bytes.Equal(b, legacyMagicPickle)
}
