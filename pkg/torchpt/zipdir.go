package torchpt

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/embtool/embtool/internal/memread"
)

// The zip directory walker. torch.load reads a zip with miniz
// (third_party/miniz-2.1.0, through caffe2/serialize/inline_container.cc),
// other tools with CPython's zipfile or Go's archive/zip, and the three
// disagree on malformed archives: miniz follows a zip64 end record wherever
// its locator points and reads as many directory entries as the end record
// counts, zipfile takes the zip64 record just before the locator, reads
// entries until the directory size is used up and shifts every offset when
// the directory does not end where the end record starts, archive/zip
// ignores an unsaturated zip64 record. parseZipDir accepts only archives
// that every one of them reads the same way: one end record, at most one
// zip64 record right before it that agrees with it, one central directory
// that ends where they start, and entries that tile the file from offset 0
// to the directory with nothing unaccounted for. Everything torch.save
// writes (zip64 records, flag 0x0808 with zeroed local sizes and a data
// descriptor, 'FB' padding extra fields) passes.

const (
	sigLocal      = 0x04034b50
	sigCentral    = 0x02014b50
	sigEnd        = 0x06054b50
	sigEnd64      = 0x06064b50
	sigLocator64  = 0x07064b50
	sigDescriptor = 0x08074b50

	localHeaderLen = 30
	centralLen     = 46
	endLen         = 22
	end64Len       = 56
	locator64Len   = 20

	// maxCentralDir caps the central directory read into memory.
	maxCentralDir = 64 << 20
	// maxNameLen: torch's getAllRecords copies names into a buffer of
	// MZ_ZIP_MAX_ARCHIVE_FILENAME_SIZE (512) bytes, NUL included; a longer
	// name would be cut short for torch and not for others.
	maxNameLen = 511
	// maxExtractVersion is the highest "version needed to extract"
	// Python's zipfile accepts (6.3); miniz ignores the field.
	maxExtractVersion = 63
	// tailWindow is how far from the end miniz and zipfile look for the
	// end record: a 64 KiB comment plus the record.
	tailWindow = 0xffff + endLen

	flagEncrypted  = 0x0001
	flagDescriptor = 0x0008
	flagPatched    = 0x0020
	flagStrongEnc  = 0x0040
	flagUTF8       = 0x0800
	flagMasked     = 0x2000
)

// zipEntry is one central directory entry, checked against its local
// header and data descriptor.
type zipEntry struct {
	Name             string
	Method           uint16
	Flags            uint16
	CRC32            uint32
	CompressedSize   uint64
	UncompressedSize uint64
	HeaderOffset     int64 // local header
	DataOffset       int64 // first byte of the (compressed) data
	End              int64 // past the data and its descriptor
	central          int64 // offset of the central directory header
}

// zipDir is a zip archive's directory as every reader sees it.
type zipDir struct {
	Entries   []*zipEntry // in central directory order
	Prefix    string      // the folder of the first entry, as torch takes it
	Zip64     bool
	CDOffset  int64
	CDSize    int64
	EndOffset int64 // the end of central directory record
	byFold    map[string]*zipEntry
}

// AmbiguousZipError is a zip archive that some reader (miniz inside torch,
// Python's zipfile) would read differently from embtool: a file that may
// hide one view behind another. It is reported as unsafe.
type AmbiguousZipError struct {
	Record string // the entry concerned, "" for the archive
	Offset int64  // byte offset in the file
	Msg    string
}

func (e *AmbiguousZipError) Error() string {
	return "torchpt: " + e.Finding().String()
}

// Finding is the unsafe finding the ambiguity is reported as.
func (e *AmbiguousZipError) Finding() Finding {
	return Finding{Record: e.Record, Offset: e.Offset, Op: "zip", Why: "ambiguous: " + e.Msg}
}

func (e *AmbiguousZipError) Unwrap() error { return ErrUnsafe }

func ambiguous(record string, off int64, format string, args ...any) error {
	return &AmbiguousZipError{Record: record, Offset: off, Msg: fmt.Sprintf(format, args...)}
}

func zipErr(record string, off int64, format string, args ...any) error {
	return &FormatError{Pkg: errPkg, Record: record, Offset: off, Msg: fmt.Sprintf(format, args...)}
}

// foldName is the name as miniz's mz_zip_reader_locate_file compares it:
// ASCII letters folded to lower case, nothing else.
func foldName(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}

// lookup finds an entry as torch's getRecord does: case-insensitively.
func (d *zipDir) lookup(name string) *zipEntry {
	return d.byFold[foldName(name)]
}

func readAt(r io.ReaderAt, off int64, n int, what string) ([]byte, error) {
	if b, ok := memread.Slice(r, off, int64(n)); ok {
		return b, nil
	}
	buf := make([]byte, n)
	if k, err := r.ReadAt(buf, off); k != n {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, zipErr("", off, "reading %s: %v", what, err)
	}
	return buf, nil
}

// parseZipDir reads and cross-checks the directory of the zip in r. A
// malformed archive gives a *FormatError (or *UnsupportedError), one that
// readers could see differently an *AmbiguousZipError.
func parseZipDir(r io.ReaderAt, size int64) (*zipDir, error) {
	if size < endLen {
		return nil, zipErr("", 0, "zip archive of %d bytes is too small for an end of central directory record", size)
	}
	d := &zipDir{}
	if err := d.readEnd(r, size); err != nil {
		return nil, err
	}
	if err := d.readCentral(r, size); err != nil {
		return nil, err
	}
	if err := d.checkNames(); err != nil {
		return nil, err
	}
	if err := d.checkLocal(r, size); err != nil {
		return nil, err
	}
	if err := d.checkSecondEnd(r, size); err != nil {
		return nil, err
	}
	return d, nil
}

// checkSecondEnd refuses an end record signature in the directory or the
// zip64 records within the window where readers look for the end record:
// a reader that tries more than the last candidate could pick it.
func (d *zipDir) checkSecondEnd(r io.ReaderAt, size int64) error {
	from := max(d.CDOffset, size-tailWindow)
	if from >= d.EndOffset {
		return nil
	}
	b, err := readAt(r, from, int(d.EndOffset-from), "central directory")
	if err != nil {
		return err
	}
	if i := bytes.Index(b, []byte("PK\x05\x06")); i >= 0 {
		return ambiguous("", from+int64(i), "a second end of central directory signature before the end record at %d", d.EndOffset)
	}
	return nil
}

// readEnd finds the end record as miniz does (the last signature with
// room for a record after it) and the zip64 record as zipfile does (right
// before its locator, right before the end record), and refuses every
// layout where the two readers, or the two records, disagree.
func (d *zipDir) readEnd(r io.ReaderAt, size int64) error {
	// torch.save writes no comment, so its end record is the file's last
	// bytes; every reader, scanning back from the end or trying that spot
	// first, stops there, and the window (often tensor data) is not read.
	start := size - endLen
	tail, err := readAt(r, start, endLen, "end of central directory")
	if err != nil {
		return err
	}
	if le32(tail) != sigEnd || le16(tail[20:]) != 0 {
		start = max(0, size-tailWindow)
		if tail, err = readAt(r, start, int(size-start), "end of central directory"); err != nil {
			return err
		}
	}
	at := -1
	for i := len(tail) - endLen; i >= 0; i-- {
		if binary.LittleEndian.Uint32(tail[i:]) == sigEnd {
			at = i
			break
		}
	}
	if at < 0 {
		return zipErr("", -1, "bad zip archive: no end of central directory record in the last %d bytes", len(tail))
	}
	end := start + int64(at)
	d.EndOffset = end
	if i := bytes.Index(tail[at+4:], []byte("PK\x05\x06")); i >= 0 {
		return ambiguous("", end+4+int64(i), "a second end of central directory signature after the one at %d: Python's zipfile picks it, miniz does not", end)
	}
	e := tail[at : at+endLen]
	disk, cdDisk := le16(e[4:]), le16(e[6:])
	nDisk, nTotal := le16(e[8:]), le16(e[10:])
	cdSize, cdOff := le32(e[12:]), le32(e[16:])
	comment := int64(le16(e[20:]))
	if end+endLen+comment != size {
		if prev := bytes.LastIndex(tail[:at], []byte("PK\x05\x06")); prev >= 0 && prev+endLen <= len(tail) {
			if c := int64(le16(tail[prev+20:])); start+int64(prev)+endLen+c >= end+endLen {
				return ambiguous("", end, "a second end of central directory record inside the comment of the one at %d: miniz and Python's zipfile read the last, archive/zip the first", start+int64(prev))
			}
		}
		return ambiguous("", end, "end record's %d-byte comment ends at %d, not at the end of the file (%d): readers disagree on where the archive ends", comment, end+endLen+comment, size)
	}
	if nDisk != nTotal {
		return zipErr("", end, "end record describes a multi-disk archive (%d of %d entries on this disk)", nDisk, nTotal)
	}
	if err := checkDisks("end record", end, uint32(disk), uint32(cdDisk)); err != nil {
		return err
	}
	n, cdStart, cdLen := uint64(nTotal), uint64(cdOff), uint64(cdSize)
	cdEnd := end // where the directory must end

	if end >= locator64Len {
		loc, err := readAt(r, end-locator64Len, locator64Len, "zip64 locator")
		if err != nil {
			return err
		}
		if le32(loc) == sigLocator64 {
			locAt := end - locator64Len
			want := locAt - end64Len
			got := le64(loc[8:])
			if le32(loc[4:]) != 0 || le32(loc[16:]) != 1 {
				return zipErr("", locAt, "zip64 locator describes a multi-disk archive (disk %d of %d)", le32(loc[4:]), le32(loc[16:]))
			}
			if want < 0 || got != uint64(want) {
				return ambiguous("", locAt, "zip64 locator points to a zip64 end record at %d; Python's zipfile reads it at %d, immediately before the locator", got, want)
			}
			z, err := readAt(r, want, end64Len, "zip64 end record")
			if err != nil {
				return err
			}
			if le32(z) != sigEnd64 {
				return ambiguous("", want, "zip64 locator at %d but no zip64 end record at %d: readers that trust the locator fail, others fall back to the end record", locAt, want)
			}
			if rl := le64(z[4:]); rl != end64Len-12 {
				return ambiguous("", want, "zip64 end record says it is %d bytes long, not %d: Python's zipfile and miniz read its extensible data differently", rl+12, end64Len)
			}
			if le64(z[24:]) != le64(z[32:]) {
				return zipErr("", want, "zip64 end record describes a multi-disk archive (%d of %d entries on this disk)", le64(z[24:]), le64(z[32:]))
			}
			if err := checkDisks("zip64 end record", want, le32(z[16:]), le32(z[20:])); err != nil {
				return err
			}
			z64 := [...]struct {
				what       string
				small, big uint64
				sat        uint64
			}{
				{"entries", uint64(nTotal), le64(z[32:]), 0xffff},
				{"directory size", uint64(cdSize), le64(z[40:]), 0xffffffff},
				{"directory offset", uint64(cdOff), le64(z[48:]), 0xffffffff},
			}
			for _, f := range z64 {
				if f.small != f.sat && f.small != f.big {
					return ambiguous("", want, "zip64 end record says %s %d, the end record at %d says %d: miniz and Python read the zip64 value, other readers the end record's", f.what, f.big, end, f.small)
				}
			}
			n, cdLen, cdStart = le64(z[32:]), le64(z[40:]), le64(z[48:])
			cdEnd = want
			d.Zip64 = true
		}
	}
	if cdLen > uint64(cdEnd) || cdStart != uint64(cdEnd)-cdLen {
		return ambiguous("", int64(min(cdStart, uint64(size))), "central directory of %d bytes at %d does not end where the end records start (%d): Python's zipfile shifts every offset by the difference, miniz does not", cdLen, cdStart, cdEnd)
	}
	if n == 0 {
		return zipErr("", end, "zip archive has no entries")
	}
	if n > maxEntries {
		return zipErr("", end, "zip archive has %d entries, more than %d", n, maxEntries)
	}
	if cdLen > maxCentralDir {
		return zipErr("", int64(cdStart), "central directory of %d bytes is larger than the %d-byte limit", cdLen, maxCentralDir)
	}
	if cdLen < n*centralLen {
		return zipErr("", int64(cdStart), "central directory of %d bytes cannot hold %d entries", cdLen, n)
	}
	d.CDOffset, d.CDSize = int64(cdStart), int64(cdLen)
	d.Entries = make([]*zipEntry, 0, n)
	return nil
}

// checkDisks: disk numbers 0 and 0 are a one-disk archive; miniz also
// reads 1 and 1 as one, other readers refuse them.
func checkDisks(what string, off int64, disk, cdDisk uint32) error {
	switch {
	case disk == 0 && cdDisk == 0:
		return nil
	case disk == 1 && cdDisk == 1:
		return ambiguous("", off, "%s says disk 1 of 1: miniz reads it, other readers refuse it", what)
	}
	return zipErr("", off, "%s describes a multi-disk archive (disk %d, directory on disk %d)", what, disk, cdDisk)
}

// readCentral reads cap(d.Entries) central headers, which must fill the
// directory exactly (miniz counts entries, zipfile counts bytes).
func (d *zipDir) readCentral(r io.ReaderAt, size int64) error {
	cd, err := readAt(r, d.CDOffset, int(d.CDSize), "central directory")
	if err != nil {
		return err
	}
	n := cap(d.Entries)
	p := 0
	for i := 0; i < n; i++ {
		off := d.CDOffset + int64(p)
		if len(cd)-p < centralLen || le32(cd[p:]) != sigCentral {
			return zipErr("", off, "central directory entry %d of %d: no central header signature", i+1, n)
		}
		h := cd[p : p+centralLen]
		nameLen, extraLen, commentLen := int(le16(h[28:])), int(le16(h[30:])), int(le16(h[32:]))
		total := centralLen + nameLen + extraLen + commentLen
		if total > len(cd)-p {
			return zipErr("", off, "central directory entry %d runs past the directory's end", i+1)
		}
		name := string(cd[p+centralLen : p+centralLen+nameLen])
		extra := cd[p+centralLen+nameLen : p+centralLen+nameLen+extraLen]
		e := &zipEntry{
			Name:             name,
			Flags:            le16(h[8:]),
			Method:           le16(h[10:]),
			CRC32:            le32(h[16:]),
			CompressedSize:   uint64(le32(h[20:])),
			UncompressedSize: uint64(le32(h[24:])),
			central:          off,
		}
		if v := h[6]; v > maxExtractVersion {
			return ambiguous(sanitize(name), off, "directory entry needs zip version %d.%d: Python's zipfile refuses the archive, miniz reads it", v/10, v%10)
		}
		lho := uint64(le32(h[42:]))
		if err := e.applyZip64(extra, &lho, off); err != nil {
			return err
		}
		if lho > uint64(size) {
			return zipErr(name, off, "local header offset %d is past the end of the file", lho)
		}
		e.HeaderOffset = int64(lho)
		if err := e.checkCentral(h, off, size); err != nil {
			return err
		}
		d.Entries = append(d.Entries, e)
		p += total
	}
	if p != len(cd) {
		return ambiguous("", d.CDOffset+int64(p), "central directory holds %d entries in %d bytes but is %d bytes long: miniz reads %d entries, Python's zipfile reads on to the end", n, p, len(cd), n)
	}
	return nil
}

// applyZip64 takes the sizes and offset a saturated field defers to the
// zip64 extended information extra field, as miniz and zipfile do.
func (e *zipEntry) applyZip64(extra []byte, lho *uint64, off int64) error {
	var z64 []byte
	found := false
	for rest := extra; len(rest) > 0; {
		if len(rest) < 4 || int(le16(rest[2:]))+4 > len(rest) {
			return ambiguous(e.Name, off, "central directory extra field is malformed: Python's zipfile refuses it, miniz does not read it")
		}
		id, l := le16(rest), int(le16(rest[2:]))
		if id == 0x0001 {
			if found {
				return ambiguous(e.Name, off, "two zip64 extra fields")
			}
			z64, found = rest[4:4+l], true
		}
		rest = rest[4+l:]
	}
	for _, f := range []*uint64{&e.UncompressedSize, &e.CompressedSize, lho} {
		if *f != 0xffffffff {
			continue
		}
		if len(z64) < 8 {
			return zipErr(e.Name, off, "saturated size or offset without a zip64 extra field to give it")
		}
		*f, z64 = le64(z64), z64[8:]
	}
	return nil
}

// checkCentral refuses entries miniz refuses when it opens the archive
// (masked local headers, stored sizes that differ, data past the end) and
// treats a start disk miniz accepts (1) but others do not as ambiguous.
// What only stops reading one entry is left to readable.
func (e *zipEntry) checkCentral(h []byte, off, size int64) error {
	if e.Flags&flagMasked != 0 {
		return unsupportedf("%s: zip entry with masked local header (flags 0x%04x)", e.Name, e.Flags)
	}
	switch disk := le16(h[34:]); disk {
	case 0:
	case 1:
		return ambiguous(sanitize(e.Name), off, "entry starts on disk 1: miniz reads it as this disk, other readers refuse it")
	default:
		return zipErr(e.Name, off, "entry on disk %d of a multi-disk archive", disk)
	}
	if e.Method == methodStore && e.CompressedSize != e.UncompressedSize {
		return zipErr(e.Name, off, "stored entry has compressed size %d but size %d", e.CompressedSize, e.UncompressedSize)
	}
	if e.CompressedSize > uint64(size) {
		return zipErr(e.Name, off, "entry data of %d bytes is larger than the file", e.CompressedSize)
	}
	return nil
}

// readable refuses an entry embtool will not read: encrypted or patched
// data (torch cannot read it either), methods other than store and
// deflate, and deflated data that would expand more than
// maxDeflateRatio. The rest of the archive can still be read: torch
// itself only fails on such an entry when it reads it.
func (e *zipEntry) readable() error {
	if e.Flags&(flagEncrypted|flagStrongEnc) != 0 {
		return unsupportedf("%s: encrypted zip entry (flags 0x%04x)", e.Name, e.Flags)
	}
	if e.Flags&flagPatched != 0 {
		return unsupportedf("%s: zip entry of compressed patched data (flags 0x%04x)", e.Name, e.Flags)
	}
	switch e.Method {
	case methodStore:
	case methodDeflate:
		if e.UncompressedSize > maxDeflateRatio*e.CompressedSize+(1<<20) {
			return zipErr(e.Name, e.central, "deflated entry expands %d bytes to %d", e.CompressedSize, e.UncompressedSize)
		}
	default:
		return unsupportedf("%s: zip compression method %d", e.Name, e.Method)
	}
	return nil
}

// checkNames refuses names that readers see differently: NUL (torch
// reads C strings), control bytes, invalid UTF-8, names longer than
// torch's buffer, non-ASCII without the UTF-8 flag (zipfile decodes
// cp437), and names equal under miniz's case-insensitive lookup.
func (d *zipDir) checkNames() error {
	d.byFold = make(map[string]*zipEntry, len(d.Entries))
	first := d.Entries[0].Name
	if i := strings.IndexByte(first, '/'); i > 0 {
		d.Prefix = first[:i]
	}
	foldPrefix := foldName(d.Prefix) + "/"
	for _, e := range d.Entries {
		name := e.Name
		if i := strings.IndexByte(name, 0); i >= 0 {
			return ambiguous(sanitize(name), e.central, "entry name has a NUL byte: torch reads it as %q", sanitize(name[:i]))
		}
		for i := 0; i < len(name); i++ {
			if c := name[i]; c < 0x20 || c == 0x7f {
				return ambiguous(sanitize(name), e.central, "entry name has control byte 0x%02x", c)
			}
		}
		if !utf8.ValidString(name) {
			return ambiguous(sanitize(name), e.central, "entry name is not valid UTF-8")
		}
		if e.Flags&flagUTF8 == 0 && !isASCII(name) {
			return ambiguous(name, e.central, "non-ASCII entry name without the UTF-8 flag: Python's zipfile decodes it as cp437")
		}
		if len(name) > maxNameLen {
			return ambiguous(name[:40]+"…", e.central, "entry name of %d bytes: torch cuts names at %d", len(name), maxNameLen)
		}
		f := foldName(name)
		if prev, dup := d.byFold[f]; dup {
			if prev.Name == name {
				return ambiguous(name, e.central, "duplicate zip entry: readers pick different ones")
			}
			return ambiguous(name, e.central, "entries %q and %q differ only in case: torch looks names up case-insensitively and may read either", prev.Name, name)
		}
		d.byFold[f] = e
		if d.Prefix != "" && strings.HasPrefix(f, foldPrefix) && !strings.HasPrefix(name, d.Prefix+"/") {
			return ambiguous(name, e.central, "entry is in folder %q only case-insensitively: torch reads it as part of the archive", d.Prefix)
		}
	}
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// sanitize makes a hostile name printable for a message.
func sanitize(s string) string {
	q := fmt.Sprintf("%q", s)
	return q[1 : len(q)-1]
}

// checkLocal checks each local header against its directory entry and
// that the entries, in file order, tile the bytes from 0 to the central
// directory: no gap, no overlap, no unreferenced local header.
func (d *zipDir) checkLocal(r io.ReaderAt, size int64) error {
	order := make([]*zipEntry, len(d.Entries))
	copy(order, d.Entries)
	sort.SliceStable(order, func(i, j int) bool { return order[i].HeaderOffset < order[j].HeaderOffset })
	pos := int64(0)
	for i, e := range order {
		if e.HeaderOffset < pos {
			return ambiguous(e.Name, e.HeaderOffset, "entry overlaps entry %q, which runs to %d", order[i-1].Name, pos)
		}
		if e.HeaderOffset > pos {
			return ambiguous(e.Name, pos, "%d bytes at %d before this entry that no header or descriptor accounts for (a hidden entry?)", e.HeaderOffset-pos, pos)
		}
		next := d.CDOffset
		if i+1 < len(order) {
			next = order[i+1].HeaderOffset
		}
		if err := e.readLocal(r, size, next); err != nil {
			return err
		}
		pos = e.End
	}
	if pos > d.CDOffset {
		return ambiguous(order[len(order)-1].Name, d.CDOffset, "entry data runs into the central directory at %d", d.CDOffset)
	}
	if pos < d.CDOffset {
		return ambiguous("", pos, "%d bytes at %d between the last entry and the central directory that no header accounts for", d.CDOffset-pos, pos)
	}
	return nil
}

// readLocal checks the local header and data descriptor of e and sets its
// data offset and end. next is where the following structure starts.
func (e *zipEntry) readLocal(r io.ReaderAt, size, next int64) error {
	off := e.HeaderOffset
	if off > size-localHeaderLen {
		return zipErr(e.Name, off, "local header runs past the end of the file")
	}
	h, err := readAt(r, off, localHeaderLen, "local header")
	if err != nil {
		return err
	}
	if le32(h) != sigLocal {
		return ambiguous(e.Name, off, "directory entry points to %d, where there is no local header", off)
	}
	nameLen, extraLen := int64(le16(h[26:])), int64(le16(h[28:]))
	if off+localHeaderLen+nameLen+extraLen > size {
		return zipErr(e.Name, off, "local header name and extra field run past the end of the file")
	}
	ne, err := readAt(r, off+localHeaderLen, int(nameLen+extraLen), "local header")
	if err != nil {
		return err
	}
	if name := string(ne[:nameLen]); name != e.Name {
		return ambiguous(e.Name, off, "local header names %q, the directory %q: Python's zipfile refuses it, miniz reads the data", sanitize(name), sanitize(e.Name))
	}
	if f := le16(h[6:]); f != e.Flags {
		return ambiguous(e.Name, off, "local header flags 0x%04x, the directory 0x%04x", f, e.Flags)
	}
	if m := le16(h[8:]); m != e.Method {
		return ambiguous(e.Name, off, "local header method %d, the directory %d", m, e.Method)
	}
	crc, csize, usize := le32(h[14:]), uint64(le32(h[18:])), uint64(le32(h[22:]))
	extra := ne[nameLen:]
	var z64 []byte
	for rest := extra; len(rest) > 0; {
		if len(rest) < 4 || int(le16(rest[2:]))+4 > len(rest) {
			return ambiguous(e.Name, off, "local header extra field is malformed")
		}
		l := int(le16(rest[2:]))
		if le16(rest) == 0x0001 {
			z64 = rest[4 : 4+l]
		}
		rest = rest[4+l:]
	}
	for _, f := range []*uint64{&usize, &csize} {
		if *f == 0xffffffff && len(z64) >= 8 {
			*f, z64 = le64(z64), z64[8:]
		}
	}
	zeroed := crc == 0 && csize == 0 && usize == 0
	if (e.Flags&flagDescriptor == 0 || !zeroed) && (crc != e.CRC32 || csize != e.CompressedSize || usize != e.UncompressedSize) {
		return ambiguous(e.Name, off, "local header says CRC %08x and sizes %d/%d, the directory CRC %08x and sizes %d/%d", crc, csize, usize, e.CRC32, e.CompressedSize, e.UncompressedSize)
	}
	e.DataOffset = off + localHeaderLen + nameLen + extraLen
	if e.CompressedSize > uint64(size-e.DataOffset) {
		return zipErr(e.Name, e.DataOffset, "entry data of %d bytes runs past the end of the file", e.CompressedSize)
	}
	e.End = e.DataOffset + int64(e.CompressedSize)
	if e.Flags&flagDescriptor == 0 || next < e.End {
		return nil // a gap or an overlap, reported by checkLocal
	}
	return e.readDescriptor(r, next)
}

// readDescriptor checks the data descriptor between e's data and next:
// signature optional, sizes of 4 or 8 bytes; its length must be exactly
// the room left and its values the directory's.
func (e *zipEntry) readDescriptor(r io.ReaderAt, next int64) error {
	at := e.End
	n := next - at
	if n != 12 && n != 16 && n != 20 && n != 24 {
		return ambiguous(e.Name, at, "%d bytes after the entry data before the next header, not a data descriptor", n)
	}
	b, err := readAt(r, at, int(n), "data descriptor")
	if err != nil {
		return err
	}
	hasSig := le32(b) == sigDescriptor
	if hasSig != (n == 16 || n == 24) {
		return ambiguous(e.Name, at, "%d bytes after the entry data before the next header, not a data descriptor", n)
	}
	if hasSig {
		b = b[4:]
	}
	crc := le32(b)
	var csize, usize uint64
	if len(b) == 12 {
		csize, usize = uint64(le32(b[4:])), uint64(le32(b[8:]))
	} else {
		csize, usize = le64(b[4:]), le64(b[12:])
	}
	if crc != e.CRC32 || csize != e.CompressedSize || usize != e.UncompressedSize {
		return ambiguous(e.Name, at, "data descriptor says CRC %08x and sizes %d/%d, the directory CRC %08x and sizes %d/%d", crc, csize, usize, e.CRC32, e.CompressedSize, e.UncompressedSize)
	}
	e.End = next
	return nil
}

func le16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }
func le32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }
func le64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

// Compression methods torch or a re-packing tool uses.
const (
	methodStore   = 0
	methodDeflate = 8
)

// read returns the entry's whole data, inflated, after checking its
// CRC-32; an entry larger than limit is refused before anything is read.
func (e *zipEntry) read(r io.ReaderAt, limit int64) ([]byte, error) {
	if err := e.readable(); err != nil {
		return nil, err
	}
	return e.readData(r, limit)
}

// flagsHideData reports an entry whose flags say encrypted or patched:
// torch and zipfile refuse to read it, but a tool that ignores the flags
// reads the bytes as they are.
func (e *zipEntry) flagsHideData() bool {
	return e.Flags&(flagEncrypted|flagStrongEnc|flagPatched) != 0
}

// readData is read without the flag checks of readable; the method and
// size checks stay.
func (e *zipEntry) readData(r io.ReaderAt, limit int64) ([]byte, error) {
	if e.Method == methodDeflate && e.UncompressedSize > maxDeflateRatio*e.CompressedSize+(1<<20) {
		return nil, zipErr(e.Name, e.central, "deflated entry expands %d bytes to %d", e.CompressedSize, e.UncompressedSize)
	}
	if e.UncompressedSize > uint64(limit) {
		return nil, &FormatError{Pkg: errPkg, Record: e.Name, Offset: e.DataOffset, Msg: fmt.Sprintf("record of %d bytes exceeds the %d-byte limit", e.UncompressedSize, limit)}
	}
	var buf []byte
	switch e.Method {
	case methodStore:
		if b, ok := memread.Slice(r, e.DataOffset, int64(e.UncompressedSize)); ok {
			buf = b // in memory already: the record is its bytes
			break
		}
		buf = make([]byte, e.UncompressedSize)
		if n, err := r.ReadAt(buf, e.DataOffset); n != len(buf) {
			return nil, &FormatError{Pkg: errPkg, Record: e.Name, Offset: e.DataOffset, Msg: fmt.Sprintf("reading record: %v", err)}
		}
	case methodDeflate:
		buf = make([]byte, e.UncompressedSize)
		fr := flate.NewReader(io.NewSectionReader(r, e.DataOffset, int64(e.CompressedSize)))
		defer fr.Close()
		if _, err := io.ReadFull(fr, buf); err != nil {
			return nil, &FormatError{Pkg: errPkg, Record: e.Name, Offset: e.DataOffset, Msg: "inflating record: " + err.Error()}
		}
		var one [1]byte
		if n, err := fr.Read(one[:]); n != 0 || err != io.EOF {
			if err == nil || err == io.EOF {
				err = errors.New("record inflates to more than its directory entry says")
			}
			return nil, &FormatError{Pkg: errPkg, Record: e.Name, Offset: e.DataOffset, Msg: err.Error()}
		}
	default:
		return nil, unsupportedf("%s: zip compression method %d", e.Name, e.Method)
	}
	if sum := crc32.ChecksumIEEE(buf); sum != e.CRC32 {
		return nil, &FormatError{Pkg: errPkg, Record: e.Name, Offset: e.DataOffset, Msg: fmt.Sprintf("CRC-32 checksum %08x of the data is not the directory's %08x", sum, e.CRC32)}
	}
	return buf, nil
}
