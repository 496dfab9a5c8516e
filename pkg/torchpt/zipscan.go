package torchpt

import (
	"errors"
	"fmt"
	"io"
)

// ZipRecord is one entry of a torch zip as embtool reads it: what scan
// --json reports so that other readers' views can be compared with it.
type ZipRecord struct {
	Name           string `json:"name"`
	HeaderOffset   int64  `json:"header_offset"`
	DataOffset     int64  `json:"data_offset"`
	Method         uint16 `json:"method"`
	Size           uint64 `json:"size"`
	CompressedSize uint64 `json:"compressed_size"`
	CRC32          uint32 `json:"crc32"`
}

// zipFindingRecord names the pseudo-pickle that carries the findings about
// a zip archive's structure rather than about one of its pickles.
const zipFindingRecord = "(zip structure)"

func (s *FileScan) zipFinding(fd Finding) {
	s.Pickles = append(s.Pickles, &ScanResult{Record: zipFindingRecord, Findings: []Finding{fd}})
}

// scanZip reads the archive with the same directory walker as the reader
// (parseZipDir), reports an ambiguous archive or a TorchScript one as
// unsafe, and scans every pickle record. data.pkl's scan runs the
// reader's VM too, resolving its storages and checking its views: when
// nothing else is wrong, its refusal is the file's error, as the reader's
// (openZip) would be.
func (s *FileScan) scanZip(r io.ReaderAt, size int64) {
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
	z := &zipReader{r: r, f: &File{Format: FormatZip, Prefix: d.Prefix}, size: size, dir: d, storage: map[string]*Storage{}}
	var main *zipEntry
	if d.Prefix != "" {
		main = d.lookup(d.Prefix + "/data.pkl")
	}
	var mainErr error // why the reader would refuse data.pkl
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
		var res *ScanResult
		if e == main {
			var vmErr error
			res, _, vmErr, err = scanAndBuild(data, e.Name, e.Name, z.resolve, false)
			mainErr = refusal(res, e.Name, vmErr, false)
		} else {
			res, err = Scan(data, e.Name)
		}
		s.Pickles = append(s.Pickles, res)
		if err != nil && s.Err == nil {
			s.Err = err
		}
	}
	if d.Prefix != "" && main == nil && s.Err == nil {
		s.Err = &FormatError{Pkg: errPkg, Offset: -1, Msg: fmt.Sprintf("zip archive has no %s/data.pkl record, torch needs one", d.Prefix)}
	}
	// A safe archive must still hold together: what the reader checks
	// after the records, in its order (byteorder, then data.pkl's
	// storages and views).
	if s.Err == nil && len(s.Findings()) == 0 {
		if err := z.readByteOrder(); err != nil {
			s.Err = err
		} else {
			s.Err = mainErr
		}
	}
}
