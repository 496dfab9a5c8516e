package torchpt

import (
	"bytes"
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
	dir     *zipDir
	storage map[string]*Storage
	swap    bool // byteorder record says big
}

// zipOpenError turns an ambiguous archive into the unsafe error the
// reader refuses it with.
func zipOpenError(err error) error {
	var amb *AmbiguousZipError
	if errors.As(err, &amb) {
		return &UnsafeError{Findings: []Finding{amb.Finding()}}
	}
	return err
}

func openZip(r io.ReaderAt, size int64, opts Options) (*File, error) {
	d, err := parseZipDir(r, size)
	if err != nil {
		return nil, zipOpenError(err)
	}
	if fd := torchScriptFinding(d); fd != nil {
		return nil, &UnsafeError{Findings: []Finding{*fd}}
	}
	f := &File{Format: FormatZip}
	z := &zipReader{r: r, f: f, size: size, dir: d, storage: map[string]*Storage{}}
	if d.Prefix == "" {
		return nil, &FormatError{Pkg: errPkg, Offset: -1, Msg: fmt.Sprintf("zip entry %q is not in a folder, as torch.save writes", d.Entries[0].Name)}
	}
	f.Prefix = d.Prefix
	var pickles []string
	for _, e := range d.Entries {
		f.Records = append(f.Records, e.Name)
		if err := checkEntry(e.Name, f.Prefix); err != nil {
			return nil, err
		}
		if err := e.readable(); err != nil {
			return nil, err
		}
		if isPickleName(e.Name) {
			pickles = append(pickles, e.Name)
		}
	}
	if err := checkInflated(d.Entries, size); err != nil {
		return nil, err
	}
	mainEntry := d.lookup(f.Prefix + "/data.pkl")
	if mainEntry == nil {
		return nil, &FormatError{Pkg: errPkg, Offset: -1, Msg: fmt.Sprintf("zip archive has no %s/data.pkl", f.Prefix)}
	}
	main := mainEntry.Name
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

// isPickleName: a record torch or a tool could unpickle, by its
// case-folded name (torch's lookups ignore case).
func isPickleName(name string) bool {
	return strings.HasSuffix(foldName(name), ".pkl")
}

// torchScriptFinding reports a TorchScript archive: torch.load hands a zip
// with a constants.pkl record to torch.jit.load, and TorchScript code
// (the code/ records) runs when loaded.
func torchScriptFinding(d *zipDir) *Finding {
	for _, e := range d.Entries {
		rel := foldName(e.Name)
		if d.Prefix != "" {
			rel = strings.TrimPrefix(rel, foldName(d.Prefix)+"/")
		}
		if rel == "constants.pkl" || strings.HasPrefix(rel, "code/") || strings.HasSuffix(rel, "/constants.pkl") {
			return &Finding{Record: e.Name, Offset: e.HeaderOffset, Op: "zip", Why: "TorchScript runs code when loaded (torch.load hands an archive with constants.pkl to torch.jit.load)"}
		}
	}
	return nil
}

// checkEntry rejects names that escape the archive folder.
func checkEntry(name, prefix string) error {
	if !strings.HasPrefix(name, prefix+"/") {
		return &FormatError{Pkg: errPkg, Record: name, Offset: -1, Msg: fmt.Sprintf("zip entry is outside the archive folder %q", prefix)}
	}
	if strings.Contains(name, "\\") || strings.HasPrefix(name, "/") || path.Clean(name) != name || hasDotDot(name) {
		return &FormatError{Pkg: errPkg, Record: name, Offset: -1, Msg: "zip entry name is not a clean relative path"}
	}
	return nil
}

// checkInflated bounds what all deflated entries together expand to: each
// may expand maxDeflateRatio times plus 1 MiB, but a thousand small ones
// would otherwise make a file of a megabyte hold a gigabyte.
func checkInflated(entries []*zipEntry, size int64) error {
	limit := maxDeflateRatio*uint64(size) + 1<<20
	var total uint64
	for _, e := range entries {
		if e.Method != methodDeflate {
			continue
		}
		if total += min(e.UncompressedSize, 1<<62); total > limit {
			return &FormatError{Pkg: errPkg, Offset: -1, Msg: fmt.Sprintf("deflated zip entries expand to more than %d bytes, too much for a file of %d bytes", limit, size)}
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
	if z.dir.lookup(name) == nil {
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
		return &FormatError{Pkg: errPkg, Record: name, Offset: -1, Msg: fmt.Sprintf("byteorder %q is neither little nor big", b)}
	}
	return nil
}

// read returns a whole record, verifying its CRC-32, refusing records
// larger than limit.
func (z *zipReader) read(name string, limit int64) ([]byte, error) {
	e := z.dir.lookup(name)
	if e == nil {
		return nil, &FormatError{Pkg: errPkg, Record: name, Offset: -1, Msg: "no such record"}
	}
	return e.read(z.r, limit)
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
	e := z.dir.lookup(name)
	if e == nil {
		return nil, fmt.Errorf("storage record %s is missing", name)
	}
	if want := uint64(numel) * uint64(dt.Size()); e.UncompressedSize != want {
		return nil, fmt.Errorf("storage record %s holds %d bytes, but %d elements of %s need %d", name, e.UncompressedSize, numel, dt, want)
	}
	s := &Storage{Key: key, DType: dt, NumElem: numel, Location: loc}
	if e.Method == methodStore && !z.swap {
		s.at, s.base, s.crc, s.hasCRC = z.r, e.DataOffset, e.CRC32, true
	}
	s.load = func() ([]byte, error) {
		d, err := z.read(name, z.size*(maxDeflateRatio+1)+(1<<20))
		if err == nil && z.swap {
			d = bytes.Clone(d) // may be the caller's bytes (memread)
			byteswap(d, dt.Size())
		}
		return d, err
	}
	z.storage[key] = s
	return s, nil
}
