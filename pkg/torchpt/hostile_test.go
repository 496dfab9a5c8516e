package torchpt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embtool/embtool/internal/testcorpus"
	"github.com/embtool/embtool/pkg/tensor"
)

// tpReadAll opens b, loads every tensor and scans it, as inspect and
// convert would; it returns the first error.
func tpReadAll(b []byte) error {
	f, err := tpOpen(b)
	if err != nil {
		return err
	}
	for _, fd := range tpWalk(f.Root) {
		if _, err := tpLoadChecked(fd.t); err != nil {
			return err
		}
	}
	return nil
}

type tpHostile struct {
	dir, name string
	exp       map[string]any
	data      []byte
}

func tpHostileFiles(t *testing.T) []tpHostile {
	var out []tpHostile
	for _, dir := range []string{tpMalicious, tpCorrupt} {
		for _, exp := range testcorpus.JSONL(t, filepath.Join(dir, "expected.jsonl")) {
			name := exp["file"].(string)
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, tpHostile{dir: filepath.Base(dir), name: name, exp: exp, data: b})
		}
	}
	if len(out) < 50 {
		t.Fatalf("only %d hostile files", len(out))
	}
	return out
}

// TestHostileFiles reads every malicious and corrupt file with OpenFile,
// Load and ScanFile: nothing panics, every malicious file is refused, and
// every torch-looking corrupt file is refused or holds no tensor (a valid
// torch file of {} is an error only one level up, in embedding).
func TestHostileFiles(t *testing.T) {
	for _, h := range tpHostileFiles(t) {
		t.Run(h.dir+"/"+h.name, func(t *testing.T) {
			s := ScanFile(bytes.NewReader(h.data), int64(len(h.data)))
			f, err := tpOpenFile(filepath.Join("../../testdata", h.dir, h.name), Options{})
			if err == nil {
				for _, fd := range tpWalk(f.Root) {
					if _, err = tpLoadChecked(fd.t); err != nil {
						break
					}
				}
			}
			torchish := !strings.HasSuffix(h.name, ".safetensors")
			switch {
			case err != nil:
				if torchish && !testcorpus.ReasonMatches(err.Error(), h.exp) && h.name != "random_bytes.pt" {
					t.Errorf("error %q names none of %v", err, h.exp["reason_any"])
				}
				if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrUnsafe) && !errors.Is(err, ErrUnsupported) {
					t.Errorf("error %q wraps no sentinel", err)
				}
				if !strings.HasPrefix(err.Error(), "torchpt: ") {
					t.Errorf("error %q does not begin with the package name", err)
				}
			case h.dir == "malicious":
				t.Errorf("opened a malicious file (scan verdict %s)", s.Verdict())
			default:
				if n := len(tpWalk(f.Root)); n != 0 {
					t.Errorf("opened a corrupt file with %d tensors", n)
				}
			}
			if h.dir == "malicious" && s.Verdict() == VerdictSafe {
				t.Errorf("ScanFile calls it safe")
			}
			if err == nil && s.Verdict() != VerdictSafe {
				t.Errorf("Open accepts what ScanFile calls %s: %s", s.Verdict(), tpScanReport(s))
			}
		})
	}
}

// TestHostileMemory: reading (Open and Load every tensor) and scanning a
// hostile file each allocate at most 4 × its size + 1 MiB.
func TestHostileMemory(t *testing.T) {
	for _, h := range tpHostileFiles(t) {
		bound := testcorpus.MemBound(len(h.data))
		got := testcorpus.Allocated(func() { tpReadAll(h.data) })
		if got > bound {
			t.Errorf("%s/%s (%d bytes): Open+Load allocated %d bytes, more than %d", h.dir, h.name, len(h.data), got, bound)
		}
		got = testcorpus.Allocated(func() { ScanFile(bytes.NewReader(h.data), int64(len(h.data))) })
		if got > bound {
			t.Errorf("%s/%s (%d bytes): ScanFile allocated %d bytes, more than %d", h.dir, h.name, len(h.data), got, bound)
		}
	}
}

// TestHostileHugeNumel is the case: a torch zip of about 1 KiB
// whose pickle claims a tensor of 2^40 elements. It fails with an error
// naming the storage before anything of that size is allocated.
func TestHostileHugeNumel(t *testing.T) {
	cases := map[string][]byte{}
	cases["built: storage of 2^40 elements"] = tpArchive(t, tpDictPickle("emb_params", func(p *tpP) {
		p.tensor("FloatStorage", "0", 1<<40, 0, []int64{1 << 20, 1 << 20}, []int64{1 << 20, 1})
	}), map[string][]byte{"0": make([]byte, 16)})
	cases["built: view of 2^40 elements over 4"] = tpArchive(t, tpDictPickle("emb_params", func(p *tpP) {
		p.tensor("FloatStorage", "0", 4, 0, []int64{1 << 20, 1 << 20}, []int64{1 << 20, 1})
	}), map[string][]byte{"0": make([]byte, 16)})
	cases["built: expanded view of 2^40 elements"] = tpArchive(t, tpDictPickle("emb_params", func(p *tpP) {
		p.tensor("FloatStorage", "0", 4, 0, []int64{1 << 20, 1 << 20}, []int64{0, 0})
	}), map[string][]byte{"0": make([]byte, 16)})
	// WriteZip's own archive, the directory's size of data/0 patched to 2^40.
	var buf bytes.Buffer
	root := NewDict()
	small, _ := tpTensorOf(4)
	root.Set("emb_params", small)
	if err := WriteZip(&buf, "", root); err != nil {
		t.Fatal(err)
	}
	cases["WriteZip, directory size patched"] = tpPatchCentralSize(t, buf.Bytes(), "archive/data/0", 1<<40)
	b, err := os.ReadFile(filepath.Join(tpCorrupt, "huge_numel.pt"))
	if err != nil {
		t.Fatal(err)
	}
	cases["testdata/corrupt/huge_numel.pt"] = b

	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			if len(b) > 2048 {
				t.Errorf("the file has %d bytes, not about 1 KiB", len(b))
			}
			var err error
			got := testcorpus.Allocated(func() { err = tpReadAll(b) })
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), "storage") && !strings.Contains(err.Error(), "archive/data/0") {
				t.Errorf("error %q names neither the storage nor its record", err)
			}
			if got > 1<<20 {
				t.Errorf("allocated %d bytes", got)
			}
			t.Log(err)
		})
	}
}

func tpTensorOf(n int) (*tensor.Tensor, error) {
	return tensor.New(tensor.F32, []int{n}, tpF32(tpRange(n)...))
}

// tpPatchCentralSize sets the compressed and uncompressed sizes of name in
// the zip's central directory (ZIP64 extra if present, else the 32-bit
// fields).
func tpPatchCentralSize(t *testing.T, b []byte, name string, size uint64) []byte {
	t.Helper()
	b = bytes.Clone(b)
	sig := []byte("PK\x01\x02")
	for i := bytes.Index(b, sig); i >= 0; {
		nameLen := int(binary.LittleEndian.Uint16(b[i+28:]))
		extraLen := int(binary.LittleEndian.Uint16(b[i+30:]))
		commentLen := int(binary.LittleEndian.Uint16(b[i+32:]))
		if string(b[i+46:i+46+nameLen]) == name {
			if size >= 0xffffffff {
				binary.LittleEndian.PutUint32(b[i+20:], 0xffffffff)
				binary.LittleEndian.PutUint32(b[i+24:], 0xffffffff)
				// Replace the extra field with a ZIP64 one holding both sizes.
				extra := binary.LittleEndian.AppendUint16(nil, 1)
				extra = binary.LittleEndian.AppendUint16(extra, 16)
				extra = binary.LittleEndian.AppendUint64(extra, size)
				extra = binary.LittleEndian.AppendUint64(extra, size)
				start := i + 46 + nameLen
				out := append([]byte(nil), b[:start]...)
				out = append(out, extra...)
				out = append(out, b[start+extraLen:]...)
				binary.LittleEndian.PutUint16(out[i+30:], uint16(len(extra)))
				// The end-of-directory records' directory size grows too.
				delta := len(extra) - extraLen
				tpFixEOCD(out, delta)
				return out
			}
			binary.LittleEndian.PutUint32(b[i+20:], uint32(size))
			binary.LittleEndian.PutUint32(b[i+24:], uint32(size))
			return b
		}
		next := bytes.Index(b[i+46+nameLen+extraLen+commentLen:], sig)
		if next < 0 {
			break
		}
		i += 46 + nameLen + extraLen + commentLen + next
	}
	t.Fatalf("no central directory entry %s", name)
	return nil
}

// tpFixEOCD adds delta to the central directory size in the end records
// and moves the ZIP64 locator's pointer and the EOCD offsets after it.
func tpFixEOCD(b []byte, delta int) {
	if i := bytes.LastIndex(b, []byte("PK\x05\x06")); i >= 0 {
		if v := binary.LittleEndian.Uint32(b[i+12:]); v != 0xffffffff {
			binary.LittleEndian.PutUint32(b[i+12:], v+uint32(delta))
		}
	}
	if i := bytes.LastIndex(b, []byte("PK\x06\x06")); i >= 0 {
		binary.LittleEndian.PutUint64(b[i+40:], binary.LittleEndian.Uint64(b[i+40:])+uint64(delta))
	}
	if i := bytes.LastIndex(b, []byte("PK\x06\x07")); i >= 0 {
		binary.LittleEndian.PutUint64(b[i+8:], binary.LittleEndian.Uint64(b[i+8:])+uint64(delta))
	}
}

// TestHostileManyDictItems: 2^17 SETITEMS pairs (the limit) decode, in
// time linear in their number; one more is refused. Keys that repeat are
// merged as Python does, also in linear time.
func TestHostileManyDictItems(t *testing.T) {
	build := func(n int, key func(p *tpP, i int)) []byte {
		p := tpPickle().raw('}').mark()
		for i := 0; i < n; i++ {
			key(p, i)
			p.raw('N')
		}
		return tpArchive(t, p.raw('u').stop(), nil)
	}
	distinct := func(p *tpP, i int) { p.int(int64(i)) }
	same := func(p *tpP, i int) { p.str("k") }

	f, err := tpOpen(build(maxDictItems, distinct))
	if err != nil {
		t.Fatal(err)
	}
	if n := f.Root.(*Dict).Len(); n != maxDictItems {
		t.Errorf("%d items, want %d", n, maxDictItems)
	}
	f, err = tpOpen(build(maxDictItems, same))
	if err != nil {
		t.Fatal(err)
	}
	if n := f.Root.(*Dict).Len(); n != 1 {
		t.Errorf("%d items, want 1", n)
	}
	if _, err := tpOpen(build(maxDictItems+1, distinct)); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "dict items") {
		t.Errorf("one item more: %v", err)
	}
	// The same number of items through single SETITEMs.
	p := tpPickle().raw('}')
	for i := 0; i < maxDictItems; i++ {
		p.int(int64(i)).raw('N', 's')
	}
	if f, err := tpOpen(tpArchive(t, p.stop(), nil)); err != nil || f.Root.(*Dict).Len() != maxDictItems {
		t.Errorf("SETITEM × %d: %v", maxDictItems, err)
	}
}

// tpMemoTree is a pickle whose list of level k holds the list of level
// k-1 twice, through the memo: a few bytes per level, 2^levels values
// once expanded.
func tpMemoTree(levels int) []byte {
	p := tpPickle().raw(']').put(0)
	for k := 0; k < levels; k++ {
		p.raw(']').get(uint32(k)).raw('a').get(uint32(k)).raw('a').put(uint32(k + 1)).raw('0')
	}
	return p.get(uint32(levels)).stop()
}

// TestHostileNestedMemo: lists nested through the memo, deep or shared,
// are refused quickly with an error, not expanded.
func TestHostileNestedMemo(t *testing.T) {
	// A chain nested 10 000 deep.
	p := tpPickle().raw(']').put(0)
	for k := 0; k < 10000; k++ {
		p.raw(']').get(uint32(k)).raw('a').put(uint32(k + 1)).raw('0')
	}
	chain := p.get(10000).stop()
	// A binary tree of 80 levels: 2^80 values once expanded.
	tree := tpMemoTree(80)
	for name, pkl := range map[string][]byte{"chain": chain, "tree": tree} {
		for _, wrap := range []string{"zip", "legacy"} {
			var b []byte
			if wrap == "zip" {
				b = tpArchive(t, pkl, nil)
			} else {
				b = tpLegacy(pkl, tpKeyList())
			}
			var err error
			got := testcorpus.Allocated(func() { err = tpReadAll(b) })
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "pickle") && !strings.Contains(err.Error(), "data.pkl") {
				t.Errorf("%s in %s: error %v", name, wrap, err)
			}
			if got > 64*uint64(len(b))+1<<20 {
				t.Errorf("%s in %s: %d bytes allocated for a file of %d", name, wrap, got, len(b))
			}
		}
	}
	// A small shared tree (2^7 values) is fine: sharing is legal, only
	// its expansion is bounded.
	f, err := tpOpen(tpArchive(t, tpMemoTree(6), nil))
	if err != nil {
		t.Fatalf("tree of 6 levels: %v", err)
	}
	if l, ok := f.Root.(List); !ok || len(l) != 2 {
		t.Errorf("tree of 6 levels decodes to %v", f.Root)
	}
	// The same through a tensor rebuild's arguments.
	tp := tpPickle().raw(']').put(0)
	for k := 0; k < 80; k++ {
		tp.raw(']').get(uint32(k)).raw('a').get(uint32(k)).raw('a').put(uint32(k + 1)).raw('0')
	}
	tp.raw('}').str("x").global("torch._utils", "_rebuild_tensor_v2").mark().pid("FloatStorage", "0", 4, false).
		int(0).ints(4).ints(1).get(80).global("collections", "OrderedDict").raw(')', 'R').tuple().raw('R', 's')
	if err := tpReadAll(tpArchive(t, tp.stop(), map[string][]byte{"0": make([]byte, 16)})); !errors.Is(err, ErrFormat) {
		t.Errorf("tree as requires_grad: %v", err)
	}
}

// TestHostileBigInteger: integers far larger than any torch file holds
// (LONG4, whose decoding takes time quadratic in its length) are refused
// before the VM decodes them; LONG1 (up to 255 bytes) is read.
func TestHostileBigInteger(t *testing.T) {
	p := tpPickle().raw(0x8b)
	p.b = binary.LittleEndian.AppendUint32(p.b, 1<<18)
	p.b = append(p.b, bytes.Repeat([]byte{0x5a}, 1<<18)...)
	p.raw('0', '}')
	_, err := tpOpen(tpArchive(t, p.stop(), nil))
	if err == nil || !strings.Contains(err.Error(), "LONG4") || !strings.Contains(err.Error(), "offset 2") {
		t.Errorf("LONG4 of 256 KiB: %v", err)
	}
	q := tpPickle().raw('}').str("step").raw(0x8a, 255)
	q.b = append(q.b, bytes.Repeat([]byte{0x5a}, 255)...)
	f, err := tpOpen(tpArchive(t, q.raw('s').stop(), nil))
	if err != nil {
		t.Fatalf("LONG1 of 255 bytes: %v", err)
	}
	if v, _ := f.Root.(*Dict).Get("step"); fmt.Sprintf("%T", v) != "*big.Int" {
		t.Errorf("step is a %T", v)
	}
}

// TestHostileDeflatedStorages: many deflated records, each within the
// per-record ratio, may not together expand far beyond the file.
func TestHostileDeflatedStorages(t *testing.T) {
	const n, each = 200, 256 << 10
	p := tpPickle().raw('}').mark()
	entries := []tpEntry{{name: "archive/data.pkl"}}
	for i := 0; i < n; i++ {
		key := fmt.Sprint(i)
		p.str(key).tensor("FloatStorage", key, each/4, 0, nil, nil)
		entries = append(entries, tpEntry{name: "archive/data/" + key, data: make([]byte, each), deflate: true})
	}
	entries[0].data = p.raw('u').stop()
	// Padding so that each storage fits within the file's size.
	pad := make([]byte, each)
	for i := range pad {
		pad[i] = byte(i*7 + i>>8)
	}
	entries = append(entries, tpEntry{name: "archive/padding", data: pad})
	b := tpZip(t, entries...)
	var err error
	got := testcorpus.Allocated(func() { err = tpReadAll(b) })
	if got > testcorpus.MemBound(len(b)) {
		t.Errorf("allocated %d bytes for a file of %d (err %v)", got, len(b), err)
	}
	if err == nil || !errors.Is(err, ErrFormat) {
		t.Errorf("error %v; want ErrFormat", err)
	}
}
