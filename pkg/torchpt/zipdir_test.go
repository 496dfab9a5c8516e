package torchpt

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// zb builds a torch-style zip (what torch.save writes) whose parts a test
// can bend: flags 0x0808, zeroed local CRC and sizes, a 16-byte data
// descriptor, 'FB' padding to 64 bytes, zip64 end record and locator.
type zb struct {
	b    []byte
	ents []zbEnt
}

type zbEnt struct {
	name             string
	off, crc, size   uint32
	flags, method    uint16
	extra            []byte // central extra field
	csize, usize, lh uint32 // as written in the central header
}

func (z *zb) u16(v uint16) { z.b = binary.LittleEndian.AppendUint16(z.b, v) }
func (z *zb) u32(v uint32) { z.b = binary.LittleEndian.AppendUint32(z.b, v) }
func (z *zb) u64(v uint64) { z.b = binary.LittleEndian.AppendUint64(z.b, v) }

// add writes one stored entry; descriptor: 0 none (sizes in the local
// header), 12 or 16 bytes.
func (z *zb) add(name string, data []byte, descriptor int) *zbEnt {
	off := uint32(len(z.b))
	crc := crc32.ChecksumIEEE(data)
	flags := uint16(0x0800)
	if descriptor > 0 {
		flags |= 0x0008
	}
	pad := (64 - (len(z.b)+30+len(name)+4)%64) % 64
	z.u32(sigLocal)
	z.u16(0)
	z.u16(flags)
	z.u16(0)
	z.u32(0)
	if descriptor > 0 {
		z.u32(0)
		z.u32(0)
		z.u32(0)
	} else {
		z.u32(crc)
		z.u32(uint32(len(data)))
		z.u32(uint32(len(data)))
	}
	z.u16(uint16(len(name)))
	z.u16(uint16(4 + pad))
	z.b = append(z.b, name...)
	z.b = append(z.b, 'F', 'B', byte(pad), byte(pad>>8))
	z.b = append(z.b, bytes.Repeat([]byte("Z"), pad)...)
	z.b = append(z.b, data...)
	if descriptor == 16 {
		z.u32(sigDescriptor)
	}
	if descriptor > 0 {
		z.u32(crc)
		z.u32(uint32(len(data)))
		z.u32(uint32(len(data)))
	}
	n := uint32(len(data))
	z.ents = append(z.ents, zbEnt{name: name, off: off, crc: crc, size: n, flags: flags, csize: n, usize: n, lh: off})
	return &z.ents[len(z.ents)-1]
}

func (z *zb) central() (off, size uint32) {
	off = uint32(len(z.b))
	for _, e := range z.ents {
		z.u32(sigCentral)
		z.u16(0)
		z.u16(0)
		z.u16(e.flags)
		z.u16(e.method)
		z.u32(0)
		z.u32(e.crc)
		z.u32(e.csize)
		z.u32(e.usize)
		z.u16(uint16(len(e.name)))
		z.u16(uint16(len(e.extra)))
		z.u16(0)
		z.u16(0)
		z.u16(0)
		z.u32(0)
		z.u32(e.lh)
		z.b = append(z.b, e.name...)
		z.b = append(z.b, e.extra...)
	}
	return off, uint32(len(z.b)) - off
}

func (z *zb) end64(n uint64, size, off uint32) {
	at := uint64(len(z.b))
	z.u32(sigEnd64)
	z.u64(44)
	z.u16(0x031e)
	z.u16(0x2d)
	z.u32(0)
	z.u32(0)
	z.u64(n)
	z.u64(n)
	z.u64(uint64(size))
	z.u64(uint64(off))
	z.u32(sigLocator64)
	z.u32(0)
	z.u64(at)
	z.u32(1)
}

func (z *zb) end(n uint16, size, off uint32) []byte {
	z.u32(sigEnd)
	z.u16(0)
	z.u16(0)
	z.u16(n)
	z.u16(n)
	z.u32(size)
	z.u32(off)
	z.u16(0)
	return z.b
}

// finish writes directory, zip64 records and end record as torch does.
func (z *zb) finish() []byte {
	off, size := z.central()
	z.end64(uint64(len(z.ents)), size, off)
	return z.end(uint16(len(z.ents)), size, off)
}

func zbTorch(descriptor int) *zb {
	z := &zb{}
	z.add("archive/data.pkl", []byte("\x80\x02}q\x00."), descriptor)
	z.add("archive/data/0", make([]byte, 12), descriptor)
	z.add("archive/version", []byte("3\n"), descriptor)
	return z
}

func parseBytes(b []byte) (*zipDir, error) {
	return parseZipDir(bytes.NewReader(b), int64(len(b)))
}

func TestZipDirAccepts(t *testing.T) {
	goZip := func() []byte {
		var buf bytes.Buffer
		w := zip.NewWriter(&buf)
		for _, n := range []string{"archive/data.pkl", "archive/version"} {
			f, _ := w.Create(n)
			f.Write([]byte("x"))
		}
		f, _ := w.CreateHeader(&zip.FileHeader{Name: "archive/data/0", Method: zip.Store})
		f.Write(make([]byte, 10))
		w.Close()
		return buf.Bytes()
	}
	saturated := func() []byte {
		z := zbTorch(16)
		e := &z.ents[1]
		e.extra = binary.LittleEndian.AppendUint16(nil, 1)
		e.extra = binary.LittleEndian.AppendUint16(e.extra, 16)
		e.extra = binary.LittleEndian.AppendUint64(e.extra, uint64(e.size))
		e.extra = binary.LittleEndian.AppendUint64(e.extra, uint64(e.size))
		e.csize, e.usize = 0xffffffff, 0xffffffff
		return z.finish()
	}
	for name, b := range map[string][]byte{
		"torch.save layout":                zbTorch(16).finish(),
		"descriptor without signature":     zbTorch(12).finish(),
		"sizes in local header":            zbTorch(0).finish(),
		"no zip64 records":                 func() []byte { z := zbTorch(16); off, size := z.central(); return z.end(3, size, off) }(),
		"archive/zip writer":               goZip(),
		"sizes from the zip64 extra field": saturated(),
	} {
		d, err := parseBytes(b)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if d.Prefix != "archive" || len(d.Entries) != 3 || d.lookup("ARCHIVE/Data.PKL") == nil {
			t.Errorf("%s: prefix %q, %d entries", name, d.Prefix, len(d.Entries))
		}
		for _, e := range d.Entries {
			if _, err := e.read(bytes.NewReader(b), 100); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
}

// TestZipDirRefuses: each bent structure is refused, as ambiguous (unsafe)
// or as malformed, with a message naming what and where.
func TestZipDirRefuses(t *testing.T) {
	type bend struct {
		name      string
		build     func() []byte
		ambiguous bool
		says      string
	}
	torch := func(f func(z *zb)) func() []byte {
		return func() []byte { z := zbTorch(16); f(z); return z.finish() }
	}
	cases := []bend{
		{"bytes before the first entry", func() []byte {
			z := &zb{b: []byte("junk")}
			z.add("archive/data.pkl", []byte("x"), 16)
			return z.finish()
		}, true, "4 bytes at 0"},
		{"zip64 record longer than 56 bytes", func() []byte {
			b := zbTorch(16).finish()
			binary.LittleEndian.PutUint64(b[len(b)-22-20-56+4:], 60)
			return b
		}, true, "zip64 end record says it is 72 bytes"},
		{"locator without record", func() []byte {
			b := zbTorch(16).finish()
			copy(b[len(b)-22-20-56:], "XXXX")
			return b
		}, true, "no zip64 end record"},
		{"zip64 count disagrees", func() []byte {
			b := zbTorch(16).finish()
			binary.LittleEndian.PutUint16(b[len(b)-22+8:], 2)
			binary.LittleEndian.PutUint16(b[len(b)-22+10:], 2)
			return b
		}, true, "entries 3"},
		{"central signature broken", func() []byte {
			b := zbTorch(16).finish()
			i := bytes.LastIndex(b, []byte("PK\x01\x02"))
			b[i+3] = 9
			return b
		}, false, "central header signature"},
		{"name with control byte", torch(func(z *zb) { z.add("archive/a\tb", []byte("x"), 16) }), true, "control byte"},
		{"name too long", torch(func(z *zb) { z.add("archive/"+strings.Repeat("a", 600), []byte("x"), 16) }), true, "torch cuts names"},
		{"invalid UTF-8", torch(func(z *zb) { z.add("archive/\xff", []byte("x"), 16) }), true, "UTF-8"},
		{"non-ASCII without UTF-8 flag", torch(func(z *zb) { e := z.add("archive/é", []byte("x"), 16); e.flags &^= 0x0800 }), true, "cp437"},
		{"folder only case-insensitively", torch(func(z *zb) { z.add("ARCHIVE/x", []byte("x"), 16) }), true, "case-insensitively"},
		{"malformed central extra", torch(func(z *zb) { z.ents[0].extra = []byte{1, 2, 3} }), true, "extra field"},
		{"descriptor CRC differs", torch(func(z *zb) { z.b[len(z.b)-12] ^= 1 }), true, "data descriptor says CRC"},
		{"local sizes differ", func() []byte {
			z := zbTorch(0)
			z.ents[0].csize, z.ents[0].usize, z.ents[0].size = 3, 3, 3
			return z.finish()
		}, true, "local header says"},
		{"directory points at no local header", torch(func(z *zb) { z.ents[2].lh += 1 }), true, ""},
		{"duplicate name", torch(func(z *zb) { z.add("archive/version", []byte("3\n"), 16) }), true, "duplicate"},
		{"masked local headers", torch(func(z *zb) { z.ents[0].flags |= 0x2000 }), false, "masked"},
		{"disk 1 of 1", func() []byte {
			b := zbTorch(16).finish()
			binary.LittleEndian.PutUint16(b[len(b)-22+4:], 1)
			binary.LittleEndian.PutUint16(b[len(b)-22+6:], 1)
			return b
		}, true, "disk 1 of 1"},
		{"too small", func() []byte { return []byte("PK\x03\x04") }, false, "too small"},
		{"no end record", func() []byte { return append([]byte("PK\x03\x04"), make([]byte, 100)...) }, false, "no end of central directory"},
	}
	for _, c := range cases {
		_, err := parseBytes(c.build())
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		var amb *AmbiguousZipError
		if got := errors.As(err, &amb); got != c.ambiguous {
			t.Errorf("%s: ambiguous=%v, want %v: %v", c.name, got, c.ambiguous, err)
		}
		if c.ambiguous && !errors.Is(err, ErrUnsafe) {
			t.Errorf("%s: %v is not ErrUnsafe", c.name, err)
		}
		if !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %q does not say %q", c.name, err, c.says)
		}
	}
}

// TestZipUnreadableEntry: an entry embtool does not read (method 12,
// encrypted) fails alone; the pickles beside it are still scanned, so a
// payload in data.pkl is reported as unsafe, not hidden behind an error.
func TestZipUnreadableEntry(t *testing.T) {
	for name, bend := range map[string]func(z *zb, e *zbEnt){
		"method 12": func(z *zb, e *zbEnt) { e.method = 12; z.b[e.off+8] = 12 },
		"encrypted": func(z *zb, e *zbEnt) { e.flags |= 1; z.b[e.off+6] |= 1 },
	} {
		z := &zb{}
		z.add("archive/data.pkl", []byte("\x80\x02cposix\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03."), 16)
		bend(z, z.add("archive/other", []byte("x"), 16))
		z.add("archive/version", []byte("3\n"), 16)
		b := z.finish()
		d, err := parseBytes(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := d.lookup("archive/other").readable(); err == nil || !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: readable: %v", name, err)
		}
		s := ScanFile(bytes.NewReader(b), int64(len(b)))
		if s.Verdict() != VerdictUnsafe || s.Err == nil {
			t.Errorf("%s: scan %s (err %v), want unsafe with the entry's error kept", name, s.Verdict(), s.Err)
		}
		if _, err := tpOpen(b); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: Open: %v", name, err)
		}
	}
}

func TestZipEntryReadCRC(t *testing.T) {
	b := zbTorch(16).finish()
	d, err := parseBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	b[d.lookup("archive/version").DataOffset] ^= 1
	if _, err := d.lookup("archive/version").read(bytes.NewReader(b), 100); err == nil || !strings.Contains(err.Error(), "CRC-32") {
		t.Errorf("read of a corrupted record: %v", err)
	}
	if _, err := d.lookup("archive/version").read(bytes.NewReader(b), 1); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("read over the limit: %v", err)
	}
}

// FuzzZipDir: the walker never panics, and what it accepts is consistent:
// entries inside the file, tiling it up to the directory, readable within
// their declared sizes.
func FuzzZipDir(f *testing.F) {
	f.Add(zbTorch(16).finish())
	f.Add(zbTorch(12).finish())
	f.Add(zbTorch(0).finish())
	tpFuzzSeedFiles(f, func(name string, b []byte) bool { return bytes.HasPrefix(b, []byte("PK")) }, tpZipAttacks)
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := parseBytes(b)
		if err != nil {
			return
		}
		pos := int64(0)
		for _, e := range d.Entries {
			if e.HeaderOffset < 0 || e.DataOffset < e.HeaderOffset || e.End > d.CDOffset || e.End < e.DataOffset+int64(e.CompressedSize) {
				t.Fatalf("entry %q at %d..%d outside the archive", e.Name, e.HeaderOffset, e.End)
			}
			pos += e.End - e.HeaderOffset
			e.read(bytes.NewReader(b), 1<<20)
		}
		if pos != d.CDOffset {
			t.Fatalf("entries cover %d bytes, the directory starts at %d", pos, d.CDOffset)
		}
	})
}

// sparseZip is a file of size bytes: head, zeros, tail.
type sparseZip struct {
	head, tail []byte
	size       int64
}

func (s *sparseZip) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= s.size {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && off+int64(n) < s.size {
		o := off + int64(n)
		switch ts := s.size - int64(len(s.tail)); {
		case o < int64(len(s.head)):
			n += copy(p[n:], s.head[o:])
		case o >= ts:
			n += copy(p[n:], s.tail[o-ts:])
		default:
			k := min(int64(len(p)-n), ts-o)
			clear(p[n : n+int(k)])
			n += int(k)
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// TestZipDirTorchZip64: the layout torch's writer gives an archive over
// 4 GiB (testdata/zip64, made by gen_zip64_layout.py: saturated sizes and
// offsets with zip64 extra fields, 24-byte descriptors) is read as torch
// reads it.
func TestZipDirTorchZip64(t *testing.T) {
	dir := "../../testdata/zip64"
	head, err1 := os.ReadFile(filepath.Join(dir, "layout.head"))
	tail, err2 := os.ReadFile(filepath.Join(dir, "layout.tail"))
	js, err3 := os.ReadFile(filepath.Join(dir, "layout.json"))
	if err := errors.Join(err1, err2, err3); err != nil {
		t.Fatal(err)
	}
	var lay struct {
		Size          int64    `json:"size"`
		DataOffset    int64    `json:"data_offset"`
		DataSize      uint64   `json:"data_size"`
		TorchRecords  []string `json:"torch_records"`
		VersionRecord string   `json:"version_record"`
	}
	if err := json.Unmarshal(js, &lay); err != nil {
		t.Fatal(err)
	}
	r := &sparseZip{head: head, tail: tail, size: lay.Size}
	d, err := parseZipDir(r, lay.Size)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Zip64 || len(d.Entries) != len(lay.TorchRecords) {
		t.Fatalf("zip64 %v, %d entries", d.Zip64, len(d.Entries))
	}
	for i, e := range d.Entries {
		if want := d.Prefix + "/" + lay.TorchRecords[i]; e.Name != want {
			t.Errorf("entry %d is %q, torch reads %q", i, e.Name, want)
		}
	}
	if e := d.Entries[1]; e.DataOffset != lay.DataOffset || e.UncompressedSize != lay.DataSize {
		t.Errorf("data/0 at %d, %d bytes; torch wrote it at %d, %d bytes", e.DataOffset, e.UncompressedSize, lay.DataOffset, lay.DataSize)
	}
	v, err := d.lookup(d.Prefix+"/version").read(r, 16)
	if err != nil || string(v) != lay.VersionRecord {
		t.Errorf("version record %q, %v", v, err)
	}
	s := ScanFile(r, lay.Size)
	if s.Verdict() != VerdictSafe || len(s.Records) != 3 {
		t.Errorf("scan: %s %v %v", s.Verdict(), s.Findings(), s.Err)
	}
}

// TestZipFlaggedPickleScanned: an encrypted or patched flag on a pickle
// record whose bytes are a plain pickle hides nothing — a tool that
// ignores the flag runs it — so its globals are found and counted.
func TestZipFlaggedPickleScanned(t *testing.T) {
	for name, flag := range map[string]uint16{"encrypted": 0x0001, "patched": 0x0020, "strong encryption": 0x0040} {
		z := zbTorch(16)
		e := z.add("archive/extra.pkl", []byte("\x80\x02cposix\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03."), 16)
		e.flags |= flag
		z.b[e.off+6] |= byte(flag)
		b := z.finish()
		s := ScanFile(bytes.NewReader(b), int64(len(b)))
		if s.Verdict() != VerdictUnsafe || !strings.Contains(fmt.Sprint(s.Findings()), "posix.system") {
			t.Errorf("%s: scan %s, findings %v, want unsafe naming posix.system", name, s.Verdict(), s.Findings())
		}
		if !errors.Is(s.Err, ErrUnsupported) {
			t.Errorf("%s: err %v, want the entry's unsupported flag kept", name, s.Err)
		}
	}
}
