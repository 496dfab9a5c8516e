package torchpt

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/embtool/embtool/internal/testcorpus"
	"github.com/embtool/embtool/pkg/tensor"
)

// Test data beside the module: fixtures made by real torch, and crafted
// malicious and corrupt files, each folder with an expected.jsonl.
const (
	tpFixtures  = "../../testdata/fixtures"
	tpMalicious = "../../testdata/malicious"
	tpCorrupt   = "../../testdata/corrupt"
	// tpCorpus is the real-embedding corpus in ../shared beside the checkout.
	tpCorpus = "../../../shared/corpus/real"
)

// ---------------------------------------------------------------------------
// A pickle assembler for hand-made inputs. Every method appends opcodes and
// returns the builder, so a pickle reads as one chain.

type tpP struct{ b []byte }

// tpPickle starts a protocol 2 pickle.
func tpPickle() *tpP { return &tpP{b: []byte{0x80, 2}} }

// tpBare starts a pickle without PROTO.
func tpBare() *tpP { return &tpP{} }

func (p *tpP) raw(b ...byte) *tpP { p.b = append(p.b, b...); return p }

func (p *tpP) bytes() []byte { return slices.Clone(p.b) }

// stop appends STOP and returns the bytes.
func (p *tpP) stop() []byte { return p.raw('.').bytes() }

func (p *tpP) mark() *tpP  { return p.raw('(') }
func (p *tpP) tuple() *tpP { return p.raw('t') }

// str pushes a BINUNICODE string.
func (p *tpP) str(s string) *tpP {
	p.b = append(p.b, 'X')
	p.b = binary.LittleEndian.AppendUint32(p.b, uint32(len(s)))
	p.b = append(p.b, s...)
	return p
}

// int pushes n with the opcode CPython's pickler picks.
func (p *tpP) int(n int64) *tpP {
	switch {
	case n >= 0 && n < 1<<8:
		return p.raw('K', byte(n))
	case n >= 0 && n < 1<<16:
		return p.raw('M', byte(n), byte(n>>8))
	case n >= math.MinInt32 && n <= math.MaxInt32:
		p.b = append(p.b, 'J')
		p.b = binary.LittleEndian.AppendUint32(p.b, uint32(int32(n)))
		return p
	}
	p.b = append(p.b, 0x8a, 8)
	p.b = binary.LittleEndian.AppendUint64(p.b, uint64(n))
	return p
}

func (p *tpP) global(module, name string) *tpP {
	p.b = append(p.b, 'c')
	p.b = append(p.b, module+"\n"+name+"\n"...)
	return p
}

// put and get use the 4-byte memo forms.
func (p *tpP) put(i uint32) *tpP {
	p.b = append(p.b, 'r')
	p.b = binary.LittleEndian.AppendUint32(p.b, i)
	return p
}

func (p *tpP) get(i uint32) *tpP {
	p.b = append(p.b, 'j')
	p.b = binary.LittleEndian.AppendUint32(p.b, i)
	return p
}

// ints pushes a tuple of ints.
func (p *tpP) ints(xs ...int64) *tpP {
	p.mark()
	for _, x := range xs {
		p.int(x)
	}
	return p.tuple()
}

// pid pushes the storage reference torch.save writes: ('storage', torch.<cls>,
// key, 'cpu', numel), with a sixth None (view metadata) for legacy files.
func (p *tpP) pid(cls, key string, numel int64, legacy bool) *tpP {
	p.mark().str("storage").global("torch", cls).str(key).str("cpu").int(numel)
	if legacy {
		p.raw('N')
	}
	return p.tuple().raw('Q')
}

// tensorFrom pushes _rebuild_tensor_v2 over the storage reference that
// storage pushes.
func (p *tpP) tensorFrom(storage func(*tpP), offset int64, size, stride []int64) *tpP {
	p.global("torch._utils", "_rebuild_tensor_v2").mark()
	storage(p)
	p.int(offset).ints(size...).ints(stride...).raw(0x89)
	p.global("collections", "OrderedDict").raw(')', 'R')
	return p.tuple().raw('R')
}

// tensor pushes a zip-format tensor view of storage data/<key>.
func (p *tpP) tensor(cls, key string, numel, offset int64, size, stride []int64) *tpP {
	return p.tensorFrom(func(p *tpP) { p.pid(cls, key, numel, false) }, offset, size, stride)
}

// legacyTensor pushes a legacy-format tensor view of root storage key.
func (p *tpP) legacyTensor(cls, key string, numel, offset int64, size, stride []int64) *tpP {
	return p.tensorFrom(func(p *tpP) { p.pid(cls, key, numel, true) }, offset, size, stride)
}

// tpDictPickle is a protocol 2 pickle of a plain dict whose values the
// given functions push, in key order.
func tpDictPickle(kv ...any) []byte {
	p := tpPickle().raw('}').mark()
	for i := 0; i < len(kv); i += 2 {
		p.str(kv[i].(string))
		kv[i+1].(func(*tpP))(p)
	}
	return p.raw('u').stop()
}

// ---------------------------------------------------------------------------
// Archives built in code: stored records through the package's own zip
// writer (aligned, CRC-32 set), deflated ones through archive/zip.

type tpEntry struct {
	name    string
	data    []byte
	deflate bool
	method  uint16 // a raw method number other than store/deflate
}

func tpZip(t testing.TB, entries ...tpEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	z := &zipWriter{zw: zip.NewWriter(&buf)}
	for _, e := range entries {
		switch {
		case e.deflate:
			w, err := z.zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: zip.Deflate})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(e.data); err != nil {
				t.Fatal(err)
			}
		case e.method != 0:
			w, err := z.zw.CreateRaw(&zip.FileHeader{Name: e.name, Method: e.method,
				CompressedSize64: uint64(len(e.data)), UncompressedSize64: uint64(len(e.data))})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(e.data); err != nil {
				t.Fatal(err)
			}
		default:
			if err := z.record(e.name, e.data); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := z.zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// tpArchive is a torch zip under "archive/": data.pkl, the storages in key
// order, version.
func tpArchive(t testing.TB, pkl []byte, storages map[string][]byte) []byte {
	t.Helper()
	entries := []tpEntry{{name: "archive/data.pkl", data: pkl}}
	keys := make([]string, 0, len(storages))
	for k := range storages {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		entries = append(entries, tpEntry{name: "archive/data/" + k, data: storages[k]})
	}
	entries = append(entries, tpEntry{name: "archive/version", data: []byte("3\n")})
	return tpZip(t, entries...)
}

// The first three pickles of every legacy file.
var (
	tpLegacyMagic    = []byte("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19\x2e")
	tpLegacyProtocol = []byte("\x80\x02\x4d\xe9\x03\x2e")
)

func tpSysInfo() []byte {
	p := tpPickle().raw('}').mark()
	p.str("protocol_version").int(1001)
	p.str("little_endian").raw(0x88)
	p.str("type_sizes").raw('}').mark().str("short").int(2).str("int").int(4).str("long").int(4).raw('u')
	return p.raw('u').stop()
}

// tpKeyList pickles the sorted storage key list.
func tpKeyList(keys ...string) []byte {
	p := tpPickle().raw(']')
	if len(keys) > 0 {
		p.mark()
		for _, k := range keys {
			p.str(k)
		}
		p.raw('e')
	}
	return p.stop()
}

type tpLegacyStorage struct {
	key   string
	count int64 // the int64 element count before the data
	data  []byte
}

// tpLegacy assembles a legacy torch file: magic, protocol, sys_info, obj,
// the key list, then each storage's count and little-endian bytes.
func tpLegacy(obj, keyList []byte, storages ...tpLegacyStorage) []byte {
	var b []byte
	b = append(b, tpLegacyMagic...)
	b = append(b, tpLegacyProtocol...)
	b = append(b, tpSysInfo()...)
	b = append(b, obj...)
	b = append(b, keyList...)
	for _, s := range storages {
		b = binary.LittleEndian.AppendUint64(b, uint64(s.count))
		b = append(b, s.data...)
	}
	return b
}

func tpF32(vals ...float32) []byte {
	b := make([]byte, 0, 4*len(vals))
	for _, v := range vals {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

// tpRange is the float32 values 0, 1, ..., n-1.
func tpRange(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(i)
	}
	return v
}

func tpOpen(b []byte) (*File, error) {
	return Open(bytes.NewReader(b), int64(len(b)))
}

// tpOpenFile reads the file at path whole and opens it with opts.
func tpOpenFile(path string, opts Options) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return OpenWith(bytes.NewReader(b), int64(len(b)), opts)
}

// ---------------------------------------------------------------------------
// Walking a decoded file.

// tpFound is one tensor of a decoded file and the path of keys to it.
type tpFound struct {
	path []string
	t    *Tensor
}

func (f tpFound) key() string {
	if len(f.path) == 0 {
		return ""
	}
	return f.path[len(f.path)-1]
}

// tpWalk lists every tensor under v: dict and OrderedDict values, a
// ParameterDict's _parameters, tuple, list and set items. budget bounds
// the number of values visited (the decoded value is a tree whose size
// the reader bounds; the walk must not trust it).
func tpWalk(v any) []tpFound {
	var out []tpFound
	budget := 1 << 20
	var walk func(v any, path []string, depth int)
	walk = func(v any, path []string, depth int) {
		budget--
		if budget < 0 || depth > 200 {
			return
		}
		switch x := v.(type) {
		case *Tensor:
			out = append(out, tpFound{path: slices.Clone(path), t: x})
		case *Dict:
			for i, k := range x.Keys {
				walk(x.Values[i], append(path, tpKeyString(k)), depth+1)
			}
		case *Object:
			if x.State == nil {
				return
			}
			if p, ok := x.State.Get("_parameters"); ok {
				walk(p, path, depth+1)
			}
		case Tuple:
			for i, e := range x {
				walk(e, append(path, fmt.Sprint(i)), depth+1)
			}
		case List:
			for i, e := range x {
				walk(e, append(path, fmt.Sprint(i)), depth+1)
			}
		case Set:
			for i, e := range x {
				walk(e, append(path, fmt.Sprint(i)), depth+1)
			}
		}
	}
	walk(v, nil, 0)
	return out
}

func tpKeyString(k any) string {
	if s, ok := k.(string); ok {
		return s
	}
	return fmt.Sprint(k)
}

// tpLoadChecked loads t and checks the result is dense: dtype and shape of
// the view, numel × element size bytes.
func tpLoadChecked(t *Tensor) (*tensor.Tensor, error) {
	out, err := t.Load()
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, errors.New("Load returned nil and no error")
	}
	n, err := tensor.NumElements(t.Shape)
	if err != nil {
		return nil, fmt.Errorf("view shape %v: %v", t.Shape, err)
	}
	if want := n * t.Storage.DType.Size(); len(out.Data) != want {
		return nil, fmt.Errorf("Load gave %d bytes for %s%v, want %d", len(out.Data), t.Storage.DType, t.Shape, want)
	}
	if out.DType != t.Storage.DType || !slices.Equal(out.Shape, t.Shape) {
		return nil, fmt.Errorf("Load gave %s%v for a view %s%v", out.DType, out.Shape, t.Storage.DType, t.Shape)
	}
	return out, nil
}

func tpSHA(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// tpCorpusDir returns the real corpus folder or skips the test, saying why.
func tpCorpusDir(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(tpCorpus, "expected.json")); err != nil {
		if os.Getenv("EMBTOOL_REQUIRE_CORPUS") != "" {
			t.Fatalf("the real corpus ../shared/corpus/real is not beside this checkout: %v", err)
		}
		t.Skipf("skipping: the real corpus ../shared/corpus/real is not beside this checkout (%v)", err)
	}
	return tpCorpus
}

func tpIsTorchName(name string) bool {
	switch filepath.Ext(name) {
	case ".pt", ".bin", ".ckpt", ".pth":
		return true
	}
	return false
}

// torch's dtype names (expected.jsonl) to ours.
var tpTorchDTypes = map[string]tensor.DType{
	"float32": tensor.F32, "float16": tensor.F16, "bfloat16": tensor.BF16, "float64": tensor.F64,
	"int64": tensor.I64, "int32": tensor.I32, "int16": tensor.I16, "int8": tensor.I8,
	"uint8": tensor.U8, "bool": tensor.BOOL,
}

func tpInts(v any) []int {
	arr, _ := v.([]any)
	out := make([]int, len(arr))
	for i, x := range arr {
		out[i] = int(x.(float64))
	}
	return out
}

// ---------------------------------------------------------------------------
// Fixtures made by real torch.

// TestReadFixtures opens every torch fixture and checks every tensor
// against torch's own reading: dtype, shape, stride, storage offset and
// size, and the sha256 of the contiguous little-endian bytes torch sees.
// The fixtures cover views with a storage offset, transposed strides, two
// tensors in one storage, a 0-dim tensor, the legacy format, a
// ParameterDict and every dtype.
func TestReadFixtures(t *testing.T) {
	n := 0
	for _, exp := range testcorpus.JSONL(t, filepath.Join(tpFixtures, "expected.jsonl")) {
		name := exp["file"].(string)
		if !tpIsTorchName(name) {
			continue
		}
		n++
		t.Run(name, func(t *testing.T) {
			f, err := tpOpenFile(filepath.Join(tpFixtures, name), Options{})
			if err != nil {
				t.Fatalf("OpenFile: %v", err)
			}
			wantFormat := FormatZip
			if exp["container"] == "legacy" {
				wantFormat = FormatLegacy
			}
			if f.Format != wantFormat {
				t.Errorf("Format = %q, want %q", f.Format, wantFormat)
			}
			if len(f.Findings) != 0 {
				t.Errorf("findings in a torch fixture: %v", f.Findings)
			}
			if entries, ok := exp["zip_entries"].([]any); ok {
				var want []string
				for _, e := range entries {
					want = append(want, e.(string))
				}
				if !slices.Equal(f.Records, want) {
					t.Errorf("Records = %q, want %q", f.Records, want)
				}
			}
			wantSHA, _ := exp["values_sha256"].(map[string]any)
			wantMeta, _ := exp["tensors"].(map[string]any)
			matched := map[string]bool{}
			for _, fd := range tpWalk(f.Root) {
				data, err := tpLoadChecked(fd.t)
				if err != nil {
					t.Errorf("%s: %v", strings.Join(fd.path, "/"), err)
					continue
				}
				if len(fd.path) > 0 && fd.path[0] == "string_to_token" {
					// V2 token ids are 0-dim int64 views into the
					// tokenizer's batch (offset 1 of [1, 77]).
					tok, ok := exp["string_to_token"].(map[string]any)[fd.key()]
					if !ok || fd.t.Storage.DType != tensor.I64 || len(data.Data) != 8 {
						t.Errorf("string_to_token/%s: unexpected %s%v", fd.key(), fd.t.Storage.DType, fd.t.Shape)
						continue
					}
					if got := int64(binary.LittleEndian.Uint64(data.Data)); got != int64(tok.(float64)) {
						t.Errorf("string_to_token/%s = %d, want %v", fd.key(), got, tok)
					}
					continue
				}
				key := fd.key()
				want, ok := wantSHA[key].(string)
				if !ok {
					t.Errorf("tensor at %q is not in expected.jsonl", strings.Join(fd.path, "/"))
					continue
				}
				matched[key] = true
				if got := tpSHA(data.Data); got != want {
					t.Errorf("%s: values sha256 %s, torch's %s", key, got, want)
				}
				if m, ok := wantMeta[key].(map[string]any); ok {
					if dt := tpTorchDTypes[m["dtype"].(string)]; fd.t.Storage.DType != dt {
						t.Errorf("%s: dtype %s, torch's %s", key, fd.t.Storage.DType, m["dtype"])
					}
					if got, want := fd.t.Shape, tpInts(m["shape"]); !slices.Equal(got, want) {
						t.Errorf("%s: shape %v, torch's %v", key, got, want)
					}
					if got, want := fd.t.Stride, tpInts(m["stride"]); !slices.Equal(got, want) {
						t.Errorf("%s: stride %v, torch's %v", key, got, want)
					}
					if got, want := fd.t.Offset, int(m["storage_offset"].(float64)); got != want {
						t.Errorf("%s: storage offset %d, torch's %d", key, got, want)
					}
					if got, want := fd.t.Storage.NumElem, int(m["storage_numel"].(float64)); got != want {
						t.Errorf("%s: storage numel %d, torch's %d", key, got, want)
					}
				}
			}
			for key := range wantSHA {
				if !matched[key] {
					t.Errorf("tensor %q of expected.jsonl not found", key)
				}
			}
		})
	}
	if n < 20 {
		t.Errorf("only %d torch fixtures found", n)
	}
}

// TestReadFixturesSharedStorage: two views of one record share one Storage,
// whose bytes are read once.
func TestReadFixturesSharedStorage(t *testing.T) {
	f, err := tpOpenFile(filepath.Join(tpFixtures, "shared_storage.pt"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := f.Root.(*Dict)
	a, _ := d.Get("a")
	b, _ := d.Get("b")
	if a.(*Tensor).Storage != b.(*Tensor).Storage {
		t.Fatal("a and b do not share their storage")
	}
	if a.(*Tensor).Offset != 0 || b.(*Tensor).Offset != 1536 {
		t.Errorf("offsets %d, %d; want 0, 1536", a.(*Tensor).Offset, b.(*Tensor).Offset)
	}
}

// TestReadCorpus opens every torch file of the real corpus and loads every
// tensor; shapes and dtypes match torch's reading where expected.json
// records them.
func TestReadCorpus(t *testing.T) {
	dir := tpCorpusDir(t)
	exp := map[string]map[string]any{}
	for _, e := range testcorpus.JSONL(t, filepath.Join(dir, "expected.json")) {
		exp[e["file"].(string)] = e
	}
	names, _ := filepath.Glob(filepath.Join(dir, "*"))
	n := 0
	for _, path := range names {
		name := filepath.Base(path)
		if !tpIsTorchName(name) {
			continue
		}
		n++
		t.Run(name, func(t *testing.T) {
			f, err := tpOpenFile(path, Options{})
			if err != nil {
				t.Fatalf("OpenFile: %v", err)
			}
			found := tpWalk(f.Root)
			if len(found) == 0 {
				t.Fatal("no tensors")
			}
			meta, _ := exp[name]["tensors"].(map[string]any)
			for _, fd := range found {
				if _, err := tpLoadChecked(fd.t); err != nil {
					t.Errorf("%s: %v", strings.Join(fd.path, "/"), err)
				}
				if m, ok := meta[fd.key()].(map[string]any); ok && fd.path[0] != "string_to_token" {
					if dt := tpTorchDTypes[m["dtype"].(string)]; fd.t.Storage.DType != dt {
						t.Errorf("%s: dtype %s, torch's %s", fd.key(), fd.t.Storage.DType, m["dtype"])
					}
					if got, want := fd.t.Shape, tpInts(m["shape"]); !slices.Equal(got, want) {
						t.Errorf("%s: shape %v, torch's %v", fd.key(), got, want)
					}
				}
			}
		})
	}
	if n == 0 {
		t.Error("no torch files in the corpus")
	}
}

// ---------------------------------------------------------------------------
// Inputs built in code.

type readCase struct {
	name string
	file []byte
	// For files that open: the tensor at key (of a top-level dict) and the
	// float32 values it must load to, or the raw bytes.
	want map[string][]byte
	// For files that fail, at Open or at Load: the sentinel and substrings
	// of the message (the record, key or offset it names).
	errIs  error
	errHas []string
	// errNot are substrings the message must not have.
	errNot []string
}

func TestReadBuilt(t *testing.T) {
	var cases []readCase
	add := func(c readCase) { cases = append(cases, c) }

	// A storage of 10 floats 0..9.
	ten := tpF32(tpRange(10)...)

	add(readCase{
		name: "storage offset view",
		file: tpArchive(t, tpDictPickle("x", func(p *tpP) {
			p.tensor("FloatStorage", "0", 10, 3, []int64{2, 2}, []int64{2, 1})
		}), map[string][]byte{"0": ten}),
		want: map[string][]byte{"x": tpF32(3, 4, 5, 6)},
	})
	add(readCase{
		name: "transposed strides",
		file: tpArchive(t, tpDictPickle("x", func(p *tpP) {
			p.tensor("FloatStorage", "0", 6, 0, []int64{3, 2}, []int64{1, 3})
		}), map[string][]byte{"0": ten[:24]}),
		want: map[string][]byte{"x": tpF32(0, 3, 1, 4, 2, 5)},
	})
	add(readCase{
		name: "non-contiguous stride with offset",
		file: tpArchive(t, tpDictPickle("x", func(p *tpP) {
			p.tensor("FloatStorage", "0", 10, 1, []int64{2, 2}, []int64{4, 2})
		}), map[string][]byte{"0": ten}),
		want: map[string][]byte{"x": tpF32(1, 3, 5, 7)},
	})
	add(readCase{
		name: "shared storage between two tensors",
		file: tpArchive(t, tpDictPickle(
			"a", func(p *tpP) { p.tensor("FloatStorage", "0", 10, 0, []int64{5}, []int64{1}) },
			"b", func(p *tpP) { p.tensor("FloatStorage", "0", 10, 5, []int64{5}, []int64{1}) },
		), map[string][]byte{"0": ten}),
		want: map[string][]byte{"a": tpF32(0, 1, 2, 3, 4), "b": tpF32(5, 6, 7, 8, 9)},
	})
	add(readCase{
		name: "0-dim view at an offset",
		file: tpArchive(t, tpDictPickle("x", func(p *tpP) {
			p.tensor("LongStorage", "0", 3, 1, nil, nil)
		}), map[string][]byte{"0": binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, 7), 265), 9)}),
		want: map[string][]byte{"x": binary.LittleEndian.AppendUint64(nil, 265)},
	})
	add(readCase{
		name: "empty tensor",
		file: tpArchive(t, tpDictPickle("x", func(p *tpP) {
			p.tensor("FloatStorage", "0", 0, 0, []int64{0, 768}, []int64{768, 1})
		}), map[string][]byte{"0": nil}),
		want: map[string][]byte{"x": {}},
	})

	// Big-endian storages (byteorder "big") come back little-endian.
	be := func(es int, le []byte) []byte {
		out := slices.Clone(le)
		for i := 0; i+es <= len(out); i += es {
			slices.Reverse(out[i : i+es])
		}
		return out
	}
	f16 := []byte{0x00, 0x3c, 0x00, 0xc0, 0x55, 0x35} // 1, -2, 0.333
	i64 := binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, 0x0102030405060708), 1<<63)
	u8 := []byte{1, 2, 3}
	bigPkl := tpDictPickle(
		"f32", func(p *tpP) { p.tensor("FloatStorage", "0", 10, 2, []int64{3}, []int64{2}) },
		"f16", func(p *tpP) { p.tensor("HalfStorage", "1", 3, 0, []int64{3}, []int64{1}) },
		"i64", func(p *tpP) { p.tensor("LongStorage", "2", 2, 0, []int64{2}, []int64{1}) },
		"u8", func(p *tpP) { p.tensor("ByteStorage", "3", 3, 0, []int64{3}, []int64{1}) },
	)
	add(readCase{
		name: "big-endian byteorder record",
		file: tpZip(t,
			tpEntry{name: "archive/data.pkl", data: bigPkl},
			tpEntry{name: "archive/byteorder", data: []byte("big")},
			tpEntry{name: "archive/data/0", data: be(4, ten)},
			tpEntry{name: "archive/data/1", data: be(2, f16)},
			tpEntry{name: "archive/data/2", data: be(8, i64)},
			tpEntry{name: "archive/data/3", data: u8},
			tpEntry{name: "archive/version", data: []byte("3\n")},
		),
		want: map[string][]byte{"f32": tpF32(2, 4, 6), "f16": f16, "i64": i64, "u8": u8},
	})
	add(readCase{
		name: "little-endian byteorder record",
		file: tpZip(t,
			tpEntry{name: "archive/data.pkl", data: bigPkl},
			tpEntry{name: "archive/byteorder", data: []byte("little")},
			tpEntry{name: "archive/data/0", data: ten},
			tpEntry{name: "archive/data/1", data: f16},
			tpEntry{name: "archive/data/2", data: i64},
			tpEntry{name: "archive/data/3", data: u8},
		),
		want: map[string][]byte{"f32": tpF32(2, 4, 6), "f16": f16, "i64": i64, "u8": u8},
	})
	add(readCase{
		name: "byteorder neither little nor big",
		file: tpZip(t,
			tpEntry{name: "archive/data.pkl", data: bigPkl},
			tpEntry{name: "archive/byteorder", data: []byte("middle")},
		),
		errIs: ErrFormat, errHas: []string{"archive/byteorder", `"middle"`},
	})

	onePkl := tpDictPickle("x", func(p *tpP) { p.tensor("FloatStorage", "0", 10, 0, []int64{10}, []int64{1}) })
	add(readCase{
		name: "deflated records",
		file: tpZip(t,
			tpEntry{name: "archive/data.pkl", data: onePkl, deflate: true},
			tpEntry{name: "archive/data/0", data: ten, deflate: true},
			tpEntry{name: "archive/version", data: []byte("3\n"), deflate: true},
		),
		want: map[string][]byte{"x": ten},
	})
	add(readCase{
		name: "arbitrary archive prefix",
		file: tpZip(t,
			tpEntry{name: "mm_sdxl nightly,ckpt/data.pkl", data: onePkl},
			tpEntry{name: "mm_sdxl nightly,ckpt/data/0", data: ten},
		),
		want: map[string][]byte{"x": ten},
	})
	add(readCase{
		name: "missing storage record",
		file: tpArchive(t, tpDictPickle("x", func(p *tpP) {
			p.tensor("FloatStorage", "7", 10, 0, []int64{10}, []int64{1})
		}), map[string][]byte{"0": ten}),
		errIs: ErrFormat, errHas: []string{"archive/data.pkl", "archive/data/7", "missing"},
	})
	add(readCase{
		name: "record size is not numel times element size",
		file: tpArchive(t, tpDictPickle("x", func(p *tpP) {
			p.tensor("FloatStorage", "0", 4, 0, []int64{3}, []int64{1})
		}), map[string][]byte{"0": ten[:12]}),
		errIs: ErrFormat, errHas: []string{"archive/data/0", "12 bytes", "16"},
	})
	add(readCase{
		name: "view past the end of the storage",
		file: tpArchive(t, tpDictPickle("x", func(p *tpP) {
			p.tensor("FloatStorage", "0", 4, 2, []int64{3}, []int64{1})
		}), map[string][]byte{"0": ten[:16]}),
		errIs: ErrFormat, errHas: []string{`storage "0"`, "offset 2", "element 4", "holds 4"},
	})
	add(readCase{
		name: "strided view past the end of the storage",
		file: tpArchive(t, tpDictPickle("x", func(p *tpP) {
			p.tensor("FloatStorage", "0", 10, 0, []int64{2, 3}, []int64{5, 3})
		}), map[string][]byte{"0": ten}),
		errIs: ErrFormat, errHas: []string{`storage "0"`, "element 11", "holds 10"},
	})
	add(readCase{
		name: "view with an overflowing stride",
		file: tpArchive(t, tpDictPickle("x", func(p *tpP) {
			p.tensor("FloatStorage", "0", 10, 0, []int64{5}, []int64{1 << 62})
		}), map[string][]byte{"0": ten}),
		errIs: ErrFormat, errHas: []string{"archive/data.pkl", "overflows"},
	})
	add(readCase{
		name: "negative storage offset",
		file: tpArchive(t, tpDictPickle("x", func(p *tpP) {
			p.tensor("FloatStorage", "0", 10, -1, []int64{3}, []int64{1})
		}), map[string][]byte{"0": ten}),
		errIs: ErrFormat, errHas: []string{"archive/data.pkl", "storage offset -1"},
	})
	add(readCase{
		name: "expanded view (stride 0)",
		file: tpArchive(t, tpDictPickle("x", func(p *tpP) {
			p.tensor("FloatStorage", "0", 1, 0, []int64{8}, []int64{0})
		}), map[string][]byte{"0": ten[:4]}),
		errIs: ErrUnsupported, errHas: []string{"archive/data.pkl", `storage "0"`, "expanded"},
	})
	add(readCase{
		name: "unknown storage class",
		file: tpArchive(t, tpDictPickle("x", func(p *tpP) {
			p.tensor("ComplexFloatStorage", "0", 2, 0, []int64{2}, []int64{1})
		}), map[string][]byte{"0": ten[:16]}),
		errIs: ErrUnsupported, errHas: []string{"archive/data.pkl", "ComplexFloatStorage"},
	})
	add(readCase{
		name: "persistent id that is not a storage",
		file: tpArchive(t, tpDictPickle("x", func(p *tpP) {
			p.tensorFrom(func(p *tpP) {
				p.mark().str("weights").global("torch", "FloatStorage").str("0").str("cpu").int(10).tuple().raw('Q')
			}, 0, []int64{10}, []int64{1})
		}), map[string][]byte{"0": ten}),
		errIs: ErrFormat, errHas: []string{"archive/data.pkl", `"weights"`, `not "storage"`},
	})
	add(readCase{
		name: "persistent id with a legacy view field count",
		file: tpArchive(t, tpDictPickle("x", func(p *tpP) {
			p.tensorFrom(func(p *tpP) { p.mark().str("storage").raw('N', 't', 'Q') }, 0, []int64{10}, []int64{1})
		}), map[string][]byte{"0": ten}),
		errIs: ErrFormat, errHas: []string{"archive/data.pkl", "2 fields"},
	})
	add(readCase{
		name: "storage numel beyond the file (2^40 elements)",
		file: tpArchive(t, tpDictPickle("x", func(p *tpP) {
			p.tensor("FloatStorage", "0", 1<<40, 0, []int64{1 << 30, 1024}, []int64{1024, 1})
		}), map[string][]byte{"0": ten[:16]}),
		errIs: ErrFormat, errHas: []string{"archive/data.pkl", `storage "0"`, "1099511627776"},
	})
	add(readCase{
		name: "one storage referenced with two dtypes",
		file: tpArchive(t, tpDictPickle(
			"a", func(p *tpP) { p.tensor("FloatStorage", "0", 10, 0, []int64{10}, []int64{1}) },
			"b", func(p *tpP) { p.tensor("IntStorage", "0", 10, 0, []int64{10}, []int64{1}) },
		), map[string][]byte{"0": ten}),
		errIs: ErrFormat, errHas: []string{`storage "0"`, "F32", "I32"},
	})
	add(readCase{
		name: "conjugate-bit metadata",
		file: tpArchive(t, tpPickle().raw('}').str("x").
			global("torch._utils", "_rebuild_tensor_v2").mark().pid("FloatStorage", "0", 10, false).
			int(0).ints(10).ints(1).raw(0x89).global("collections", "OrderedDict").raw(')', 'R').
			raw('}').str("conj").raw(0x88, 's').tuple().raw('R', 's').stop(),
			map[string][]byte{"0": ten}),
		errIs: ErrUnsupported, errHas: []string{"archive/data.pkl", "metadata"},
	})
	add(readCase{
		name: "zip entry outside the archive folder",
		file: tpZip(t,
			tpEntry{name: "archive/data.pkl", data: onePkl},
			tpEntry{name: "archive/data/0", data: ten},
			tpEntry{name: "other/data/0", data: ten},
		),
		errIs: ErrFormat, errHas: []string{"other/data/0", "outside", `"archive"`},
	})
	add(readCase{
		name: "zip entry escaping the folder",
		file: tpZip(t,
			tpEntry{name: "archive/data.pkl", data: onePkl},
			tpEntry{name: "archive/data/../../x", data: ten},
		),
		errIs: ErrFormat, errHas: []string{"archive/data/../../x", "clean"},
	})
	add(readCase{
		name: "duplicate storage entries",
		file: tpZip(t,
			tpEntry{name: "archive/data.pkl", data: onePkl},
			tpEntry{name: "archive/data/0", data: ten},
			tpEntry{name: "archive/data/0", data: tpF32(tpRange(10)...)},
		),
		errIs: ErrUnsafe, errHas: []string{"archive/data/0", "duplicate"},
	})
	add(readCase{
		name: "duplicate data.pkl",
		file: tpZip(t,
			tpEntry{name: "archive/data.pkl", data: onePkl},
			tpEntry{name: "archive/data/0", data: ten},
			tpEntry{name: "archive/data.pkl", data: tpDictPickle()},
		),
		errIs: ErrUnsafe, errHas: []string{"archive/data.pkl", "duplicate"},
	})
	add(readCase{
		name: "missing data.pkl",
		file: tpZip(t,
			tpEntry{name: "archive/data/0", data: ten},
			tpEntry{name: "archive/version", data: []byte("3\n")},
		),
		errIs: ErrFormat, errHas: []string{"archive/data.pkl"},
	})
	add(readCase{
		name:  "first entry not in a folder",
		file:  tpZip(t, tpEntry{name: "data.pkl", data: onePkl}),
		errIs: ErrFormat, errHas: []string{`"data.pkl"`, "folder"},
	})
	add(readCase{
		name: "compression method torch never uses",
		file: tpZip(t,
			tpEntry{name: "archive/data.pkl", data: onePkl},
			tpEntry{name: "archive/data/0", data: ten, method: 12},
		),
		errIs: ErrUnsupported, errHas: []string{"archive/data/0", "method 12"},
	})
	add(readCase{
		name:  "zip without entries",
		file:  tpZip(t),
		errIs: ErrFormat, errHas: []string{"not a torch file", "50 4b 05 06"},
	})
	add(readCase{
		name:  "data.pkl is not a pickle",
		file:  tpZip(t, tpEntry{name: "archive/data.pkl", data: []byte("hello")}),
		errIs: ErrFormat, errHas: []string{"archive/data.pkl", "offset"},
	})
	add(readCase{
		name:  "data.pkl names os.system",
		file:  tpArchive(t, []byte("\x80\x02cposix\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03."), nil),
		errIs: ErrUnsafe, errHas: []string{"archive/data.pkl", "offset 2", "posix.system"},
	})

	// Legacy files.
	legObj := tpDictPickle("x", func(p *tpP) { p.legacyTensor("FloatStorage", "94557139474528", 10, 1, []int64{3}, []int64{3}) })
	add(readCase{
		name: "legacy",
		file: tpLegacy(legObj, tpKeyList("94557139474528"), tpLegacyStorage{"94557139474528", 10, ten}),
		want: map[string][]byte{"x": tpF32(1, 4, 7)},
	})
	viewObj := tpDictPickle("x", func(p *tpP) {
		p.tensorFrom(func(p *tpP) {
			p.mark().str("storage").global("torch", "FloatStorage").str("1").str("cpu").int(10).
				str("2").int(4).int(5).raw(0x87, 't', 'Q')
		}, 1, []int64{2}, []int64{2})
	})
	add(readCase{
		name: "legacy storage view metadata",
		file: tpLegacy(viewObj, tpKeyList("1"), tpLegacyStorage{"1", 10, ten}),
		want: map[string][]byte{"x": tpF32(5, 7)},
	})
	add(readCase{
		name: "legacy storage view outside its root",
		file: tpLegacy(tpDictPickle("x", func(p *tpP) {
			p.tensorFrom(func(p *tpP) {
				p.mark().str("storage").global("torch", "FloatStorage").str("1").str("cpu").int(10).
					str("2").int(8).int(5).raw(0x87, 't', 'Q')
			}, 0, []int64{2}, []int64{1})
		}), tpKeyList("1"), tpLegacyStorage{"1", 10, ten}),
		// Found by the VM at the BINPERSID, byte 226 of the file.
		errIs: ErrFormat, errHas: []string{"pickle 4", "offset 226:", `storage "1"`, "outside"},
	})
	add(readCase{
		name: "legacy file with extra bytes after the storages",
		file: append(tpLegacy(legObj, tpKeyList("94557139474528"), tpLegacyStorage{"94557139474528", 10, ten}), 0, 0),
		want: map[string][]byte{"x": tpF32(1, 4, 7)},
	})
	add(readCase{
		name:  "legacy magic number wrong",
		file:  append(append([]byte("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x18\x2e"), tpLegacyProtocol...), tpSysInfo()...),
		errIs: ErrFormat, errHas: []string{"offset 0", "magic"},
	})
	add(readCase{
		name:  "legacy protocol version",
		file:  append(append(slices.Clone(tpLegacyMagic), "\x80\x02\x4d\xe8\x03\x2e"...), tpSysInfo()...),
		errIs: ErrUnsupported, errHas: []string{"legacy protocol version 1000"},
	})
	add(readCase{
		name:  "legacy element count disagrees with the pickle",
		file:  tpLegacy(legObj, tpKeyList("94557139474528"), tpLegacyStorage{"94557139474528", 9, ten}),
		errIs: ErrFormat, errHas: []string{`"94557139474528"`, "9 elements", "says 10", fmt.Sprintf("offset %d", len(tpLegacy(legObj, tpKeyList("94557139474528"))))},
	})
	add(readCase{
		name:  "legacy key list names an unreferenced key",
		file:  tpLegacy(legObj, tpKeyList("94557139474528", "5"), tpLegacyStorage{"94557139474528", 10, ten}),
		errIs: ErrFormat, errHas: []string{`"5"`, "no tensor references", "offset"},
	})
	add(readCase{
		name:  "legacy key list misses a referenced key",
		file:  tpLegacy(legObj, tpKeyList()),
		errIs: ErrFormat, errHas: []string{`"94557139474528"`, "not in the key list"},
	})
	add(readCase{
		name:  "legacy key listed twice",
		file:  tpLegacy(legObj, tpKeyList("94557139474528", "94557139474528"), tpLegacyStorage{"94557139474528", 10, ten}, tpLegacyStorage{"94557139474528", 10, ten}),
		errIs: ErrFormat, errHas: []string{`"94557139474528"`, "twice"},
	})
	add(readCase{
		name:  "legacy storage data past the end of the file",
		file:  tpLegacy(legObj, tpKeyList("94557139474528"), tpLegacyStorage{"94557139474528", 10, ten[:39]}),
		errIs: ErrFormat, errHas: []string{`"94557139474528"`, "40 bytes", "past the end", fmt.Sprintf("offset %d", len(tpLegacy(legObj, tpKeyList("94557139474528")))+8)},
	})
	add(readCase{
		name:  "legacy file ends before the element count",
		file:  append(tpLegacy(legObj, tpKeyList("94557139474528")), 1, 2, 3),
		errIs: ErrFormat, errHas: []string{`"94557139474528"`, "element count"},
	})
	add(readCase{
		name:  "legacy file ends before the key list",
		file:  tpLegacy(legObj, nil),
		errIs: ErrFormat, errHas: []string{"storage keys"},
	})
	add(readCase{
		name:  "legacy key list is not a list",
		file:  tpLegacy(legObj, tpPickle().str("94557139474528").stop()),
		errIs: ErrFormat, errHas: []string{"storage key list", "string"},
	})
	add(readCase{
		name: "legacy module id for a class other than ParameterDict",
		file: tpLegacy(tpPickle().mark().str("module").global("torch.nn.modules.container", "ParameterDict").
			str("f.py").str("src").tuple().raw('Q', '0').
			mark().str("module").global("torch.nn.modules.linear", "Linear").str("f.py").str("src").tuple().raw('Q').stop(),
			tpKeyList()),
		errIs: ErrUnsafe, errHas: []string{"pickle 4", "torch.nn.modules.linear.Linear"},
	})
	add(readCase{
		name:  "legacy pickle with an unknown opcode",
		file:  tpLegacy(tpPickle().raw(0xff).stop(), tpKeyList()),
		errIs: ErrFormat, errHas: []string{"pickle 4", "0xff", fmt.Sprintf("offset %d", len(tpLegacyMagic)+len(tpLegacyProtocol)+len(tpSysInfo())+2)},
	})

	// Neither zip nor legacy.
	add(readCase{name: "empty file", file: nil, errIs: ErrFormat, errHas: []string{"empty"}})
	add(readCase{
		name:  "PYTORCH1 preview archive",
		file:  append([]byte("PYTORCH1"), make([]byte, 56)...),
		errIs: ErrUnsupported, errHas: []string{"PYTORCH1"},
	})
	tarFile := make([]byte, 1024)
	copy(tarFile, "sys_info")
	copy(tarFile[257:], "ustar")
	add(readCase{name: "pre-1.0 tar archive", file: tarFile, errIs: ErrUnsupported, errHas: []string{"tar"}})
	add(readCase{name: "text file", file: []byte("hello, world\n"), errIs: ErrFormat, errHas: []string{"not a torch file", "68 65 6c"}})
	add(readCase{
		name:  "zip magic without a zip",
		file:  append([]byte("PK\x03\x04"), make([]byte, 100)...),
		errIs: ErrFormat, errHas: []string{"zip"},
	})

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := tpOpen(tc.file)
			var loaded map[string]*tensor.Tensor
			if err == nil {
				loaded = map[string]*tensor.Tensor{}
				for _, fd := range tpWalk(f.Root) {
					var tt *tensor.Tensor
					tt, err = tpLoadChecked(fd.t)
					if err != nil {
						break
					}
					loaded[fd.key()] = tt
				}
			}
			if tc.errIs != nil {
				if err == nil {
					t.Fatalf("no error; want %v naming %q", tc.errIs, tc.errHas)
				}
				if !errors.Is(err, tc.errIs) {
					t.Errorf("error %q is not %v", err, tc.errIs)
				}
				for _, s := range tc.errHas {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not name %q", err, s)
					}
				}
				for _, s := range tc.errNot {
					if strings.Contains(err.Error(), s) {
						t.Errorf("error %q names %q", err, s)
					}
				}
				if !strings.HasPrefix(err.Error(), "torchpt: ") {
					t.Errorf("error %q does not begin with the package name", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if len(loaded) != len(tc.want) {
				t.Errorf("found tensors %v, want %d", slices.Sorted(maps.Keys(loaded)), len(tc.want))
			}
			for k, want := range tc.want {
				got, ok := loaded[k]
				if !ok {
					t.Errorf("no tensor %q", k)
					continue
				}
				if !bytes.Equal(got.Data, want) {
					t.Errorf("%s = % x, want % x", k, got.Data, want)
				}
			}
		})
	}
}

// TestReadCRCMismatch: a stored record whose bytes do not match its CRC-32
// opens (the pickle is fine) but fails to load, naming the record.
func TestReadCRCMismatch(t *testing.T) {
	ten := tpF32(tpRange(10)...)
	b := tpArchive(t, tpDictPickle("x", func(p *tpP) { p.tensor("FloatStorage", "0", 10, 0, []int64{10}, []int64{1}) }),
		map[string][]byte{"0": ten})
	i := bytes.Index(b, ten)
	b[i+5] ^= 0xff
	f, err := tpOpen(b)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	v, _ := f.Root.(*Dict).Get("x")
	_, err = v.(*Tensor).Load()
	if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "archive/data/0") || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("Load error %v; want a checksum ErrFormat naming archive/data/0", err)
	}
}

// TestReadDeflatedBomb: a deflated record that would expand far beyond its
// compressed size is refused from the directory, before inflating.
func TestReadDeflatedBomb(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.CreateHeader(&zip.FileHeader{Name: "archive/data.pkl", Method: zip.Deflate})
	w.Write([]byte{0x80, 2})
	w.Write(make([]byte, 8<<20)) // 8 MiB of zeros deflate to a few KiB
	w.Write([]byte{'.'})
	zw.Close()
	_, err := tpOpen(buf.Bytes())
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "archive/data.pkl") || !strings.Contains(err.Error(), "expands") {
		t.Fatalf("error %v; want ErrFormat naming archive/data.pkl", err)
	}
}

// TestReadDuplicateDictKeys: like Python, a later SETITEM of an existing
// key replaces its value and keeps its place.
func TestReadDuplicateDictKeys(t *testing.T) {
	ten := tpF32(tpRange(10)...)
	pkl := tpDictPickle(
		"name", func(p *tpP) { p.str("first") },
		"emb_params", func(p *tpP) { p.tensor("FloatStorage", "0", 10, 0, []int64{2}, []int64{1}) },
		"name", func(p *tpP) { p.str("second") },
		"emb_params", func(p *tpP) { p.tensor("FloatStorage", "0", 10, 2, []int64{2}, []int64{1}) },
	)
	f, err := tpOpen(tpArchive(t, pkl, map[string][]byte{"0": ten}))
	if err != nil {
		t.Fatal(err)
	}
	d := f.Root.(*Dict)
	if d.Len() != 2 || d.Keys[0] != "name" || d.Keys[1] != "emb_params" {
		t.Fatalf("keys %v, want [name emb_params]", d.Keys)
	}
	if v, _ := d.Get("name"); v != "second" {
		t.Errorf("name = %v, want the last value, second", v)
	}
	v, _ := d.Get("emb_params")
	got, err := v.(*Tensor).Load()
	if err != nil || !bytes.Equal(got.Data, tpF32(2, 3)) {
		t.Errorf("emb_params = %v %v, want the last value [2 3]", got, err)
	}
}

// TestReadWriteZipRoundTrip: what WriteZip writes, Open reads back bit for
// bit, for every dtype the writer supports.
func TestReadWriteZipRoundTrip(t *testing.T) {
	root := NewDict()
	want := map[string][]byte{}
	for i, dt := range []tensor.DType{tensor.F32, tensor.F16, tensor.BF16, tensor.F64, tensor.I64, tensor.I32, tensor.I16, tensor.I8, tensor.U8, tensor.BOOL} {
		shape := []int{2, 3}
		n := 6 * dt.Size()
		data := make([]byte, n)
		for j := range data {
			data[j] = byte(i*31 + j*7)
			if dt == tensor.BOOL {
				data[j] &= 1
			}
		}
		tt, err := tensor.New(dt, shape, data)
		if err != nil {
			t.Fatal(err)
		}
		root.Set(string(dt), tt)
		want[string(dt)] = data
	}
	root.Set("name", "round trip")
	var buf bytes.Buffer
	if err := WriteZip(&buf, "", root); err != nil {
		t.Fatal(err)
	}
	f, err := tpOpen(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	found := tpWalk(f.Root)
	if len(found) != len(want) {
		t.Fatalf("found %d tensors, want %d", len(found), len(want))
	}
	for _, fd := range found {
		got, err := tpLoadChecked(fd.t)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Data, want[fd.key()]) {
			t.Errorf("%s: bytes differ", fd.key())
		}
	}
}
