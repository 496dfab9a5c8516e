package torchpt

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

const (
	// maxEntries caps the zip directory: embeddings have 3–5 records, a
	// whole checkpoint a few thousand.
	maxEntries = 1 << 16
	// A deflated record may expand at most this much: torch never
	// compresses, and float data re-packed by other tools barely shrinks.
	maxDeflateRatio = 4
)

type zipReader struct {
	r       io.ReaderAt
	f       *File
	size    int64
	byName  map[string]*zip.File
	storage map[string]*Storage
	swap    bool // byteorder record says big
}

func openZip(r io.ReaderAt, size int64, opts Options) (*File, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, &FormatError{Offset: -1, Msg: "bad zip archive: " + err.Error()}
	}
	if len(zr.File) == 0 {
		return nil, &FormatError{Offset: -1, Msg: "zip archive has no entries"}
	}
	if len(zr.File) > maxEntries {
		return nil, &FormatError{Offset: -1, Msg: fmt.Sprintf("zip archive has %d entries, more than %d", len(zr.File), maxEntries)}
	}
	f := &File{Format: FormatZip}
	z := &zipReader{r: r, f: f, size: size, byName: map[string]*zip.File{}, storage: map[string]*Storage{}}

	first := zr.File[0].Name
	slash := strings.IndexByte(first, '/')
	if slash <= 0 {
		return nil, &FormatError{Offset: -1, Msg: fmt.Sprintf("zip entry %q is not in a folder, as torch.save writes", first)}
	}
	f.Prefix = first[:slash]
	var pickles []string
	for _, e := range zr.File {
		name := e.Name
		f.Records = append(f.Records, name)
		if err := checkEntry(e, f.Prefix, size); err != nil {
			return nil, err
		}
		if _, dup := z.byName[name]; dup {
			return nil, &FormatError{Record: name, Offset: -1, Msg: "duplicate zip entry"}
		}
		z.byName[name] = e
		if strings.HasSuffix(name, ".pkl") {
			pickles = append(pickles, name)
		}
	}
	if err := checkInflated(zr.File, size); err != nil {
		return nil, err
	}
	main := f.Prefix + "/data.pkl"
	if _, ok := z.byName[main]; !ok {
		return nil, &FormatError{Offset: -1, Msg: fmt.Sprintf("zip archive has no %s", main)}
	}
	z.noteRecords()
	if err := z.readByteOrder(); err != nil {
		return nil, err
	}

	// Every pickle in the archive is scanned, not only data.pkl: torch
	// reads only data.pkl, but a hidden one is worth reporting.
	for _, name := range pickles {
		if name == main {
			continue
		}
		data, err := z.read(name, MaxPickleSize)
		if err != nil {
			return nil, err
		}
		res, err := Scan(data, name)
		f.Scans = append(f.Scans, res)
		if err != nil {
			f.Warnings = append(f.Warnings, fmt.Sprintf("extra pickle %s does not parse: %v", name, err))
		}
		if len(res.Findings) > 0 && !opts.AllowUnsafe {
			return nil, &UnsafeError{Findings: res.Findings}
		}
	}
	data, err := z.read(main, MaxPickleSize)
	if err != nil {
		return nil, err
	}
	root, _, err := scanAndLoad(f, data, main, z.resolve, opts)
	if err != nil {
		return nil, err
	}
	f.Root = root
	return f, nil
}

// checkEntry rejects names that escape the archive folder, compression
// methods torch never uses, and sizes that do not fit the file.
func checkEntry(e *zip.File, prefix string, size int64) error {
	name := e.Name
	if !strings.HasPrefix(name, prefix+"/") {
		return &FormatError{Record: name, Offset: -1, Msg: fmt.Sprintf("zip entry is outside the archive folder %q", prefix)}
	}
	if strings.Contains(name, "\\") || strings.HasPrefix(name, "/") || path.Clean(name) != name || hasDotDot(name) {
		return &FormatError{Record: name, Offset: -1, Msg: "zip entry name is not a clean relative path"}
	}
	return checkEntryData(e, size)
}

// checkEntryData is the part of checkEntry that makes an entry safe to
// read: a method torch or a re-packing tool uses, sizes that fit the file.
func checkEntryData(e *zip.File, size int64) error {
	name := e.Name
	switch e.Method {
	case zip.Store:
		if e.CompressedSize64 != e.UncompressedSize64 {
			return &FormatError{Record: name, Offset: -1, Msg: fmt.Sprintf("stored entry has compressed size %d but size %d", e.CompressedSize64, e.UncompressedSize64)}
		}
	case zip.Deflate:
		if e.UncompressedSize64 > maxDeflateRatio*e.CompressedSize64+(1<<20) {
			return &FormatError{Record: name, Offset: -1, Msg: fmt.Sprintf("deflated entry expands %d bytes to %d", e.CompressedSize64, e.UncompressedSize64)}
		}
	default:
		return unsupportedf("%s: zip compression method %d", name, e.Method)
	}
	off, err := e.DataOffset()
	if err != nil {
		return &FormatError{Record: name, Offset: -1, Msg: "bad local header: " + err.Error()}
	}
	if off < 0 || e.CompressedSize64 > uint64(size) || off > size-int64(e.CompressedSize64) {
		return &FormatError{Record: name, Offset: off, Msg: fmt.Sprintf("entry data of %d bytes runs past the end of the file", e.CompressedSize64)}
	}
	return nil
}

// checkInflated bounds what all deflated entries together expand to: each
// may expand maxDeflateRatio times plus 1 MiB, but a thousand small ones
// would otherwise make a file of a megabyte hold a gigabyte.
func checkInflated(files []*zip.File, size int64) error {
	limit := maxDeflateRatio*uint64(size) + 1<<20
	var total uint64
	for _, e := range files {
		if e.Method != zip.Deflate {
			continue
		}
		if total += min(e.UncompressedSize64, 1<<62); total > limit {
			return &FormatError{Offset: -1, Msg: fmt.Sprintf("deflated zip entries expand to more than %d bytes, too much for a file of %d bytes", limit, size)}
		}
	}
	return nil
}

func hasDotDot(name string) bool {
	for _, el := range strings.Split(name, "/") {
		if el == ".." || el == "." {
			return true
		}
	}
	return false
}

// noteRecords warns about records a strict consumer rejects.
func (z *zipReader) noteRecords() {
	p := z.f.Prefix + "/"
	for _, name := range z.f.Records {
		rel := strings.TrimPrefix(name, p)
		switch {
		case rel == "data.pkl" || rel == "version" || (strings.HasPrefix(rel, "data/") && isDigits(rel[5:])):
		case rel == "byteorder" || rel == ".data/serialization_id" || rel == ".data/version":
			z.f.Warnings = append(z.f.Warnings, fmt.Sprintf("record %s: A1111's safe loader rejects files with it (embtool convert writes a clean copy)", rel))
		case strings.HasPrefix(rel, "data/"):
			// storages with non-numeric keys (old pointer-number keys are digits too)
		default:
			z.f.Warnings = append(z.f.Warnings, fmt.Sprintf("extra record %s", rel))
		}
	}
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func (z *zipReader) readByteOrder() error {
	name := z.f.Prefix + "/byteorder"
	if _, ok := z.byName[name]; !ok {
		return nil // absent: little-endian (pytorch/pytorch#108523)
	}
	b, err := z.read(name, 16)
	if err != nil {
		return err
	}
	switch string(b) {
	case "little":
	case "big":
		z.swap = true
	default:
		return &FormatError{Record: name, Offset: -1, Msg: fmt.Sprintf("byteorder %q is neither little nor big", b)}
	}
	return nil
}

// read returns a whole record, verifying its CRC-32, refusing records
// larger than limit.
func (z *zipReader) read(name string, limit int64) ([]byte, error) {
	e := z.byName[name]
	if e.UncompressedSize64 > uint64(limit) {
		return nil, &FormatError{Record: name, Offset: -1, Msg: fmt.Sprintf("record of %d bytes exceeds the %d-byte limit", e.UncompressedSize64, limit)}
	}
	rc, err := e.Open()
	if err != nil {
		return nil, &FormatError{Record: name, Offset: -1, Msg: err.Error()}
	}
	defer rc.Close()
	buf := make([]byte, e.UncompressedSize64)
	if _, err := io.ReadFull(rc, buf); err != nil {
		return nil, &FormatError{Record: name, Offset: -1, Msg: "reading record: " + err.Error()}
	}
	// Reading to EOF makes archive/zip verify the CRC-32.
	var one [1]byte
	if n, err := rc.Read(one[:]); n != 0 || err != io.EOF {
		if err == nil || err == io.EOF {
			err = errors.New("record is longer than its directory entry says")
		}
		return nil, &FormatError{Record: name, Offset: -1, Msg: err.Error()}
	}
	return buf, nil
}

func (z *zipReader) resolve(pid Tuple) (any, error) {
	dt, key, loc, numel, err := storageFromID(pid, z.size)
	if err != nil {
		return nil, err
	}
	if s, ok := z.storage[key]; ok {
		if s.DType != dt || s.NumElem != numel {
			return nil, fmt.Errorf("storage %q is referenced as %d×%s and as %d×%s", key, s.NumElem, s.DType, numel, dt)
		}
		return s, nil
	}
	name := z.f.Prefix + "/data/" + key
	e, ok := z.byName[name]
	if !ok {
		return nil, fmt.Errorf("storage record %s is missing", name)
	}
	if want := uint64(numel) * uint64(dt.Size()); e.UncompressedSize64 != want {
		return nil, fmt.Errorf("storage record %s holds %d bytes, but %d elements of %s need %d", name, e.UncompressedSize64, numel, dt, want)
	}
	s := &Storage{Key: key, DType: dt, NumElem: numel, Location: loc}
	if off, err := e.DataOffset(); err == nil && e.Method == zip.Store && !z.swap {
		s.at, s.base, s.crc, s.hasCRC = z.r, off, e.CRC32, true
	}
	s.load = func() ([]byte, error) {
		d, err := z.read(name, z.size*(maxDeflateRatio+1)+(1<<20))
		if err == nil && z.swap {
			byteswap(d, dt.Size())
		}
		return d, err
	}
	z.storage[key] = s
	return s, nil
}
