package torchpt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"

	"github.com/embtool/embtool/internal/memread"
	"github.com/embtool/embtool/internal/sniff"
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
	// reopen: the walk could not check the file as the reader does.
	reopen bool
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
	block, _ := sniff.Head(r, size) // sniff.HeadSize = sniff.TarBlock bytes
	head := block[:min(len(block), 64)]
	s := &FileScan{}
	switch {
	case size == 0:
		s.Err = &FormatError{Pkg: errPkg, Msg: "empty file"}
	case sniff.IsZip(head):
		s.Format = FormatZip
		s.scanZip(r, size)
	case sniff.IsTarHeader(block):
		s.Format = "tar"
		s.Pickles = []*ScanResult{{Record: "", Findings: []Finding{{Offset: 0, Op: "tar",
			Why: "torch.load reads a tar archive (the pre-1.0 PyTorch format) and unpickles its members storages, tensors and pickle; embtool does not scan them"}}}}
	case len(head) > 0 && opcodes[head[0]] != nil:
		s.scanPickles(r, size)
		if len(s.Findings()) == 0 && len(s.Pickles) > 0 && s.Pickles[0].End == 0 &&
			(notPickle(head, size) || sniff.IsTorchPreview(head)) {
			// The pickle breaks before anything ran: a data format whose
			// first byte happens to be an opcode.
			s.Format, s.Pickles, s.Err = "", nil, nil
		}
		if s.Format == "" && sniff.IsTorchPreview(head) {
			s.Err = unsupportedf("PYTORCH1 archive from the 2018 preview release")
		}
	case sniff.IsTorchPreview(head):
		s.Err = unsupportedf("PYTORCH1 archive from the 2018 preview release")
	}
	// A torch file whose pickles are safe must still hold together:
	// storages of the declared size, views inside them. The walks above
	// ran the reader's VM and checks as they scanned; only a legacy file
	// whose pickles run past what the reader reads of them is read again.
	if s.reopen && s.Err == nil && len(s.Findings()) == 0 {
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
//
// The pickles of a legacy file are decoded by the reader's VM as they are
// scanned, and the file is checked as the reader (openLegacy) checks it:
// when nothing else is wrong, the reader's error is the file's.
func (s *FileScan) scanPickles(r io.ReaderAt, size int64) {
	s.Format = "pickle"
	pos := int64(0)
	var (
		lr      *legacyReader
		values  [len(legacyPickles)]any
		openErr error // the first error of the reader's checks
		n       int   // pickles scanned
		head    fileHead
	)
	for i := 0; i < 5 && pos < size; i++ {
		extra := i > 0 && s.Format != FormatLegacy
		var (
			res     *ScanResult
			err     error
			v       any
			refused error
		)
		if lr != nil {
			res, v, refused, err = scanAt(r, size, pos, fmt.Sprintf("pickle %d", i+1), legacyRecord(i), lr.resolve, &head)
		} else {
			res, _, _, err = scanAt(r, size, pos, fmt.Sprintf("pickle %d", i+1), "", nil, nil)
		}
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
		if lr != nil && openErr == nil {
			values[i] = v
			if openErr = refused; openErr == nil {
				openErr = legacyCheck(i, v)
			}
		}
		if i == 0 && isLegacyMagic(r, res.End) {
			s.Format = FormatLegacy
			lr = newLegacyReader(&File{Format: FormatLegacy}, size)
			values[0] = new(big.Int).Set(legacyMagic())
		}
		pos += res.End
		n = i + 1
	}
	if lr == nil || s.Err != nil || len(s.Findings()) > 0 {
		return
	}
	switch {
	case pos > min(size, MaxPickleSize):
		// The reader reads the pickles from the first MaxPickleSize bytes.
		s.reopen = true
	case openErr != nil:
		s.Err = openErr
	case n < len(legacyPickles):
		s.Err = legacyMissing(n, pos)
	default:
		s.Err = lr.finish(r, values[3], values[4], pos)
	}
}

// scanAt scans the pickle at pos, reading a growing prefix of the file
// (a safetensors file whose first byte is an opcode is not read whole).
// Offsets in the result are those of the file. With resolve, the reader's
// VM runs too: v is the value, refused why the reader refuses the pickle
// (named vmRecord, as the reader names it).
//
// cache, when not nil, keeps what was read for the next pickles.
func scanAt(r io.ReaderAt, size, pos int64, record, vmRecord string, resolve storageResolver, cache *fileHead) (res *ScanResult, v any, refused, serr error) {
	limit := min(size-pos, MaxPickleSize)
	window := min(int64(512), limit) // grows ×8: a data file that is no pickle costs one small read
	if resolve != nil {
		window = min(legacyFirstRead, limit) // a legacy file's pickle, read as the reader does
	}
	for {
		buf, n, err := cache.read(r, pos, window)
		if int64(n) < window {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return &ScanResult{Record: record}, nil, nil, &FormatError{Pkg: errPkg, Record: record, Offset: pos + int64(n), Msg: "reading the pickle: " + err.Error()}
		}
		if resolve != nil {
			var vmErr error
			res, v, vmErr, serr = scanAndBuild(buf, record, vmRecord, resolve, false)
			if serr == nil {
				refused = atPickle(refusal(res, vmRecord, vmErr, false), pos)
			}
		} else {
			res, serr = Scan(buf, record)
		}
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
		return res, v, refused, serr
	}
}

// fileHead is the start of a file, read once for the pickles of a legacy
// file and grown as they need.
type fileHead struct{ b []byte }

// read returns the n bytes at pos, or fewer when the file ends first
// (err says why): a slice of the file when it is in memory (memread),
// else a read into a new buffer or, with h, into h's.
func (h *fileHead) read(r io.ReaderAt, pos, n int64) ([]byte, int, error) {
	if b, ok := memread.Slice(r, pos, n); ok {
		return b, len(b), nil
	}
	if h == nil {
		buf := make([]byte, n)
		got, err := r.ReadAt(buf, pos)
		return buf, got, err
	}
	if end := pos + n; int64(len(h.b)) < end {
		grown := make([]byte, max(end, 2*int64(len(h.b))))
		have := copy(grown, h.b)
		got, err := r.ReadAt(grown[have:], int64(have))
		h.b = grown[:have+got]
		if int64(len(h.b)) < end {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return h.b[min(pos, int64(len(h.b))):], int(max(0, int64(len(h.b))-pos)), err
		}
	}
	return h.b[pos : pos+n : pos+n], int(n), nil
}

// notPickle recognises the data-only formats an embeddings folder holds:
// safetensors (u64 header length that fits, then a JSON object), PNG, JPEG.
// (sniff.IsSafetensors also wants the length not printable; a length
// that fits the file is never eight printable bytes, which make at least
// 0x0909090909090909.)
func notPickle(head []byte, size int64) bool {
	if sniff.IsPNG(head) || sniff.IsJPEG(head) {
		return true
	}
	if !sniff.IsSafetensors(head) {
		return false
	}
	n := binary.LittleEndian.Uint64(head)
	return n < uint64(size) && n+8 <= uint64(size)
}

// isLegacyMagic tells whether the file's first pickle, n bytes, is
// sniff.TorchLegacyMagic, the first pickle of torch's legacy format.
func isLegacyMagic(r io.ReaderAt, n int64) bool {
	if n != int64(len(sniff.TorchLegacyMagic)) {
		return false
	}
	b := make([]byte, n)
	_, err := r.ReadAt(b, 0)
	return err == nil && string(b) == sniff.TorchLegacyMagic
}
