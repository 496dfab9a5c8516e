package torchpt

// ScanFile before it ran the reader's checks in its own walk (main at
// 26b3b09): a scan of every pickle, then OpenWith over the whole file
// again. Kept as the oracle of TestScanFileOneWalk.

import (
	"errors"
	"fmt"
	"io"

	"github.com/embtool/embtool/internal/sniff"
)

func oldScanFile(r io.ReaderAt, size int64) *FileScan {
	block, _ := sniff.Head(r, size) // sniff.HeadSize = sniff.TarBlock bytes
	head := block[:min(len(block), 64)]
	s := &FileScan{}
	switch {
	case size == 0:
		s.Err = &FormatError{Pkg: errPkg, Msg: "empty file"}
	case sniff.IsZip(head):
		s.Format = FormatZip
		oldScanZip(s, r, size)
	case sniff.IsTarHeader(block):
		s.Format = "tar"
		s.Pickles = []*ScanResult{{Record: "", Findings: []Finding{{Offset: 0, Op: "tar",
			Why: "torch.load reads a tar archive (the pre-1.0 PyTorch format) and unpickles its members storages, tensors and pickle; embtool does not scan them"}}}}
	case len(head) > 0 && opcodes[head[0]] != nil:
		oldScanPickles(s, r, size)
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
	// storages of the declared size, views inside them.
	if (s.Format == FormatZip || s.Format == FormatLegacy) && s.Err == nil && len(s.Findings()) == 0 {
		if _, err := OpenWith(r, size, Options{}); err != nil {
			s.Err = err
		}
	}
	return s
}
func oldScanPickles(s *FileScan, r io.ReaderAt, size int64) {
	s.Format = "pickle"
	pos := int64(0)
	for i := 0; i < 5 && pos < size; i++ {
		extra := i > 0 && s.Format != FormatLegacy
		res, err := oldScanAt(r, size, pos, fmt.Sprintf("pickle %d", i+1))
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
func oldScanAt(r io.ReaderAt, size, pos int64, record string) (*ScanResult, error) {
	limit := min(size-pos, MaxPickleSize)
	window := min(int64(512), limit) // grows ×8: a data file that is no pickle costs one small read
	for {
		buf := make([]byte, window)
		n, err := r.ReadAt(buf, pos)
		if int64(n) < window {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return &ScanResult{Record: record}, &FormatError{Pkg: errPkg, Record: record, Offset: pos + int64(n), Msg: "reading the pickle: " + err.Error()}
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
func oldScanZip(s *FileScan, r io.ReaderAt, size int64) {
	d, err := parseZipDir(r, size)
	if err != nil {
		var amb *AmbiguousZipError
		if errors.As(err, &amb) {
			s.zipFinding(amb.Finding())
			return
		}
		s.Err = err
		return
	}
	for _, e := range d.Entries {
		s.Records = append(s.Records, ZipRecord{Name: e.Name, HeaderOffset: e.HeaderOffset, DataOffset: e.DataOffset,
			Method: e.Method, Size: e.UncompressedSize, CompressedSize: e.CompressedSize, CRC32: e.CRC32})
	}
	if fd := torchScriptFinding(d); fd != nil {
		s.zipFinding(*fd)
	}
	if d.Prefix == "" && s.Err == nil {
		s.Err = &FormatError{Pkg: errPkg, Offset: -1, Msg: fmt.Sprintf("zip entry %q is not in a folder, as torch.save writes", d.Entries[0].Name)}
	}
	inflateErr := checkInflated(d.Entries, size)
	if inflateErr != nil && s.Err == nil {
		s.Err = inflateErr
	}
	for _, e := range d.Entries {
		if err := checkEntry(e.Name, d.Prefix); err != nil && s.Err == nil {
			s.Err = err
		}
		readErr := e.readable()
		if readErr != nil && s.Err == nil {
			s.Err = readErr
		}
		if isPickleName(e.Name) && inflateErr == nil && readErr != nil && e.flagsHideData() {
			// A flag alone hides nothing: the bytes are still scanned as
			// a flag-ignoring tool reads them, and a global found counts.
			if data, err := e.readData(r, MaxPickleSize); err == nil {
				if res, _ := Scan(data, e.Name); len(res.Findings) > 0 {
					s.Pickles = append(s.Pickles, res)
				}
			}
			continue
		}
		if !isPickleName(e.Name) || inflateErr != nil || readErr != nil {
			// Not read when deflated entries claim too much: a deflate
			// bomb would cost far more than the file (reported above).
			continue
		}
		data, err := e.read(r, MaxPickleSize)
		if err != nil {
			if s.Err == nil {
				s.Err = err
			}
			continue
		}
		res, err := Scan(data, e.Name)
		s.Pickles = append(s.Pickles, res)
		if err != nil && s.Err == nil {
			s.Err = err
		}
	}
	if d.Prefix != "" && d.lookup(d.Prefix+"/data.pkl") == nil && s.Err == nil {
		s.Err = &FormatError{Pkg: errPkg, Offset: -1, Msg: fmt.Sprintf("zip archive has no %s/data.pkl record, torch needs one", d.Prefix)}
	}
}
