package torchpt

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/embtool/embtool/internal/ordered"
	"github.com/embtool/embtool/pkg/tensor"
)

// The golden files are made by testdata/gen/gen_writer_golden.py with
// torch 1.13: for each case, torch.save's archive and a description of the
// object it saved.
const goldenDir = "testdata/golden"

type goldenCase struct {
	Name    string          `json:"name"`
	File    string          `json:"file"`
	Prefix  string          `json:"prefix"`
	Records []string        `json:"records"`
	Value   json.RawMessage `json:"value"`
}

func loadGolden(t testing.TB) []goldenCase {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(goldenDir, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Cases []goldenCase `json:"cases"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Cases) == 0 {
		t.Fatal("golden.json has no cases")
	}
	return doc.Cases
}

// goldenValue rebuilds the object a golden case describes (see the
// generator's doc string for the encoding).
func goldenValue(raw json.RawMessage) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return buildGolden(v, map[int]*Dict{})
}

func buildGolden(v any, dicts map[int]*Dict) (any, error) {
	switch x := v.(type) {
	case nil, bool, string:
		return x, nil
	case json.Number:
		return x.Int64()
	case []any:
		return nil, fmt.Errorf("bare array in the value tree")
	case map[string]any:
		items := func(tag string) ([]any, error) {
			l, ok := x[tag].([]any)
			if !ok {
				return nil, fmt.Errorf("%s: not an array", tag)
			}
			out := make([]any, len(l))
			for i, e := range l {
				b, err := buildGolden(e, dicts)
				if err != nil {
					return nil, err
				}
				out[i] = b
			}
			return out, nil
		}
		switch {
		case x["int"] != nil:
			n, ok := new(big.Int).SetString(x["int"].(string), 10)
			if !ok {
				return nil, fmt.Errorf("bad int %v", x["int"])
			}
			if n.IsInt64() {
				return n.Int64(), nil
			}
			return n, nil
		case x["float"] != nil:
			bits, err := strconv.ParseUint(x["float"].(string), 16, 64)
			return math.Float64frombits(bits), err
		case x["tuple"] != nil:
			l, err := items("tuple")
			return Tuple(l), err
		case x["list"] != nil:
			l, err := items("list")
			return List(l), err
		case x["set"] != nil:
			l, err := items("set")
			return Set(l), err
		case x["ref"] != nil:
			id, _ := x["ref"].(json.Number).Int64()
			d, ok := dicts[int(id)]
			if !ok {
				return nil, fmt.Errorf("ref to unknown dict %d", id)
			}
			return d, nil
		case x["dict"] != nil || x["odict"] != nil:
			tag, class := "dict", classDict
			if x["odict"] != nil {
				tag, class = "odict", classOrderedDict
			}
			id, _ := x["id"].(json.Number).Int64()
			d := &Dict{Class: class}
			dicts[int(id)] = d
			pairs, ok := x[tag].([]any)
			if !ok {
				return nil, fmt.Errorf("%s: not an array", tag)
			}
			for _, p := range pairs {
				kv := p.([]any)
				k, err := buildGolden(kv[0], dicts)
				if err != nil {
					return nil, err
				}
				v, err := buildGolden(kv[1], dicts)
				if err != nil {
					return nil, err
				}
				d.Keys = append(d.Keys, k)
				d.Values = append(d.Values, v)
			}
			return d, nil
		case x["tensor"] != nil:
			spec := x["tensor"].(map[string]any)
			var shape []int
			for _, d := range spec["shape"].([]any) {
				n, _ := d.(json.Number).Int64()
				shape = append(shape, int(n))
			}
			seed, _ := spec["seed"].(json.Number).Int64()
			return goldenTensor(tensor.DType(spec["dtype"].(string)), shape, int(seed))
		}
		return nil, fmt.Errorf("unknown node %v", x)
	}
	return nil, fmt.Errorf("unexpected %T", v)
}

// goldenTensor makes the generator's deterministic tensor: element i has
// k = (7i + seed) % 101 - 50 and holds k/16 (floats), k (signed ints),
// (7i + seed) % 256 (U8) or k > 0 (BOOL).
func goldenTensor(dt tensor.DType, shape []int, seed int) (*tensor.Tensor, error) {
	n, err := tensor.NumElements(shape)
	if err != nil {
		return nil, err
	}
	k := func(i int) int { return (7*i+seed)%101 - 50 }
	if dt.IsFloat() {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(k(i)) / 16
		}
		return tensor.FromFloat32s(dt, shape, v)
	}
	data := make([]byte, n*dt.Size())
	for i := 0; i < n; i++ {
		switch dt {
		case tensor.I64:
			binary.LittleEndian.PutUint64(data[8*i:], uint64(int64(k(i))))
		case tensor.I32:
			binary.LittleEndian.PutUint32(data[4*i:], uint32(int32(k(i))))
		case tensor.I16:
			binary.LittleEndian.PutUint16(data[2*i:], uint16(int16(k(i))))
		case tensor.I8:
			data[i] = byte(int8(k(i)))
		case tensor.U8:
			data[i] = byte((7*i + seed) % 256)
		case tensor.BOOL:
			if k(i) > 0 {
				data[i] = 1
			}
		default:
			return nil, fmt.Errorf("no golden rule for %s", dt)
		}
	}
	return tensor.New(dt, shape, data)
}

// readRecords returns every entry of a zip, by name, and the names in order.
func readRecords(t testing.TB, b []byte) (map[string][]byte, []string) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	recs := map[string][]byte{}
	var names []string
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc) // verifies the CRC-32 at EOF
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		recs[f.Name] = data
		names = append(names, f.Name)
	}
	return recs, names
}

// firstDiff describes where two byte strings first differ.
func firstDiff(got, want []byte) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	lo := max(i-16, 0)
	return fmt.Sprintf("lengths %d and %d, first difference at offset %d\n got: %s\nwant: %s",
		len(got), len(want), i, hex.EncodeToString(got[lo:min(i+16, len(got))]),
		hex.EncodeToString(want[lo:min(i+16, len(want))]))
}

// TestWriteZipGolden rebuilds every object the generator saved with torch
// 1.13 and checks that WriteZip gives the same records, byte for byte: the
// same entry names in the same order, the same data.pkl, the same
// data/N and version contents.
func TestWriteZipGolden(t *testing.T) {
	for _, c := range loadGolden(t) {
		t.Run(c.Name, func(t *testing.T) {
			v, err := goldenValue(c.Value)
			if err != nil {
				t.Fatal(err)
			}
			root, ok := v.(*Dict)
			if !ok {
				t.Fatalf("golden value is %T", v)
			}
			var buf bytes.Buffer
			if err := WriteZip(&buf, c.Prefix, root); err != nil {
				t.Fatal(err)
			}
			torchFile, err := os.ReadFile(filepath.Join(goldenDir, c.File))
			if err != nil {
				t.Fatal(err)
			}
			want, wantNames := readRecords(t, torchFile)
			got, gotNames := readRecords(t, buf.Bytes())
			if !slices.Equal(wantNames, c.Records) {
				t.Fatalf("torch's records %q, golden.json says %q", wantNames, c.Records)
			}
			if !slices.Equal(gotNames, wantNames) {
				t.Fatalf("records %q, torch wrote %q", gotNames, wantNames)
			}
			for _, name := range wantNames {
				if !bytes.Equal(got[name], want[name]) {
					t.Errorf("%s differs from torch's: %s", name, firstDiff(got[name], want[name]))
				}
			}
			checkArchive(t, buf.Bytes(), c.Prefix, len(wantNames)-2)
		})
	}
}

// TestWriteZipA1111 builds the A1111 layout by hand, as callers do, and
// checks it against torch's bytes.
func TestWriteZipA1111(t *testing.T) {
	vec, err := goldenTensor(tensor.F32, []int{2, 768}, 1)
	if err != nil {
		t.Fatal(err)
	}
	tok := NewDict()
	tok.Set("*", 265)
	param := NewDict()
	param.Set("*", vec)
	root := NewDict()
	root.Set("string_to_token", tok)
	root.Set("string_to_param", param)
	root.Set("name", "x")
	root.Set("step", int64(5))
	root.Set("sd_checkpoint", nil)
	root.Set("sd_checkpoint_name", nil)
	var buf bytes.Buffer
	if err := WriteZip(&buf, "a1111", root); err != nil {
		t.Fatal(err)
	}
	torchFile, err := os.ReadFile(filepath.Join(goldenDir, "a1111.pt"))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := readRecords(t, torchFile)
	got, _ := readRecords(t, buf.Bytes())
	for name, w := range want {
		if !bytes.Equal(got[name], w) {
			t.Errorf("%s differs from torch's: %s", name, firstDiff(got[name], w))
		}
	}
}

// a1111Safe is the record rule of A1111's modules/safe.py.
var a1111Safe = regexp.MustCompile(`^([^/]+)/((data/\d+)|version|(data\.pkl))$`)

// checkArchive checks the container rules of formats.md §1.5: exactly
// data.pkl, data/0…data/n-1, version, in that order (data sorted as
// strings); stored; 64-byte aligned data behind an FB extra field; CRCs
// that verify; A1111's name rule with one data.pkl.
func checkArchive(t *testing.T, b []byte, prefix string, nStorages int) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	keys := make([]string, nStorages)
	for i := range keys {
		keys[i] = strconv.Itoa(i)
	}
	slices.Sort(keys)
	want := []string{prefix + "/data.pkl"}
	for _, k := range keys {
		want = append(want, prefix+"/data/"+k)
	}
	want = append(want, prefix+"/version")
	var names []string
	pkls := 0
	for _, f := range zr.File {
		names = append(names, f.Name)
		if f.Method != zip.Store {
			t.Errorf("%s: method %d, want stored", f.Name, f.Method)
		}
		off, err := f.DataOffset()
		if err != nil {
			t.Fatal(err)
		}
		if off%64 != 0 {
			t.Errorf("%s: data at offset %d, not 64-byte aligned", f.Name, off)
		}
		if len(f.Extra) < 4 || string(f.Extra[:2]) != "FB" ||
			int(binary.LittleEndian.Uint16(f.Extra[2:])) != len(f.Extra)-4 ||
			strings.Trim(string(f.Extra[4:]), "Z") != "" {
			t.Errorf("%s: extra field %q is not one FB padding field", f.Name, f.Extra)
		}
		if f.Flags&0x8 != 0 {
			t.Errorf("%s: unexpected data descriptor", f.Name)
		}
		if !a1111Safe.MatchString(f.Name) {
			t.Errorf("%s: A1111 would reject this record", f.Name)
		}
		if strings.HasSuffix(f.Name, "/data.pkl") {
			pkls++
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Errorf("%s: %v", f.Name, err) // zip.ErrChecksum on a bad CRC
		}
		if f.CRC32 == 0 && len(data) > 0 {
			t.Errorf("%s: CRC not set", f.Name)
		}
	}
	if !slices.Equal(names, want) {
		t.Errorf("records %q, want %q", names, want)
	}
	if pkls != 1 {
		t.Errorf("%d data.pkl records, A1111 wants exactly one", pkls)
	}
	checkLocalHeaders(t, b, zr)
	if !bytes.HasPrefix(b, []byte("PK\x03\x04")) {
		t.Errorf("archive does not start with PK\\3\\4")
	}
}

// checkLocalHeaders compares each local header with its central directory
// entry (archive/zip reads sizes and CRC from the latter only).
func checkLocalHeaders(t *testing.T, b []byte, zr *zip.Reader) {
	t.Helper()
	for _, f := range zr.File {
		off, _ := f.DataOffset()
		hdr := off - 30 - int64(len(f.Name)) - int64(len(f.Extra))
		if hdr < 0 {
			t.Fatalf("%s: bad header offset", f.Name)
		}
		h := b[hdr:]
		if string(h[:4]) != "PK\x03\x04" {
			t.Fatalf("%s: no local header at %d", f.Name, hdr)
		}
		crc := binary.LittleEndian.Uint32(h[14:])
		csize := binary.LittleEndian.Uint32(h[18:])
		usize := binary.LittleEndian.Uint32(h[22:])
		nlen := binary.LittleEndian.Uint16(h[26:])
		elen := binary.LittleEndian.Uint16(h[28:])
		if crc != f.CRC32 || uint64(csize) != f.CompressedSize64 || uint64(usize) != f.UncompressedSize64 {
			t.Errorf("%s: local header crc/sizes %08x/%d/%d, central %08x/%d/%d",
				f.Name, crc, csize, usize, f.CRC32, f.CompressedSize64, f.UncompressedSize64)
		}
		if string(h[30:30+int(nlen)]) != f.Name || !bytes.Equal(h[30+int(nlen):30+int(nlen)+int(elen)], f.Extra) {
			t.Errorf("%s: local name/extra differ from the central directory", f.Name)
		}
	}
}

func TestWriteZipDefaultPrefixAndDeterminism(t *testing.T) {
	root := NewDict()
	v, _ := goldenTensor(tensor.F32, []int{3, 768}, 1)
	root.Set("emb_params", v)
	var a, b bytes.Buffer
	if err := WriteZip(&a, "", root); err != nil {
		t.Fatal(err)
	}
	if err := WriteZip(&b, "archive", root); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two writes of the same value differ")
	}
	checkArchive(t, a.Bytes(), "archive", 1)
	recs, _ := readRecords(t, a.Bytes())
	if string(recs["archive/version"]) != "3\n" {
		t.Errorf("version record %q", recs["archive/version"])
	}
	if !bytes.Equal(recs["archive/data/0"], v.Data) {
		t.Error("data/0 is not the tensor's bytes")
	}
}

// TestWriteZipAlignment checks the FB padding for prefixes of every length
// mod 64, so that each padding length 0…63 is produced.
func TestWriteZipAlignment(t *testing.T) {
	pads := map[int]bool{}
	for n := 1; n <= 64; n++ {
		prefix := strings.Repeat("p", n)
		root := NewDict()
		x, _ := goldenTensor(tensor.F16, []int{n}, n)
		y, _ := goldenTensor(tensor.I8, []int{n + 1}, n)
		root.Set("a", x)
		root.Set("b", y)
		var buf bytes.Buffer
		if err := WriteZip(&buf, prefix, root); err != nil {
			t.Fatal(err)
		}
		checkArchive(t, buf.Bytes(), prefix, 2)
		zr, _ := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		for _, f := range zr.File {
			pads[len(f.Extra)-4] = true
		}
	}
	for p := 0; p < 64; p++ {
		if !pads[p] {
			t.Errorf("padding length %d never produced", p)
		}
	}
}

func TestWriteZipUnicodePrefix(t *testing.T) {
	root := NewDict()
	root.Set("x", 1)
	var buf bytes.Buffer
	if err := WriteZip(&buf, "négatif, v2", root); err != nil {
		t.Fatal(err)
	}
	checkArchive(t, buf.Bytes(), "négatif, v2", 0)
	zr, _ := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	for _, f := range zr.File {
		if f.Flags&0x800 == 0 {
			t.Errorf("%s: UTF-8 flag not set", f.Name)
		}
	}
}

// lazySource is a tensor.Source that records when it is loaded and can
// misbehave.
type lazySource struct {
	dt    tensor.DType
	shape []int
	load  func() (*tensor.Tensor, error)
	log   *[]string
	name  string
}

func (s *lazySource) Meta() (tensor.DType, []int) { return s.dt, s.shape }
func (s *lazySource) Load() (*tensor.Tensor, error) {
	if s.log != nil {
		*s.log = append(*s.log, s.name)
	}
	return s.load()
}

// TestWriteZipLoadsInKeyOrder checks that every Source is loaded exactly
// once, in record order, after the pickle has been built from Meta alone.
func TestWriteZipLoadsInKeyOrder(t *testing.T) {
	var log []string
	root := NewDict()
	for i := 0; i < 12; i++ {
		name := fmt.Sprintf("t%d", i)
		root.Set(name, &lazySource{dt: tensor.F32, shape: []int{2}, log: &log, name: name,
			load: func() (*tensor.Tensor, error) { return goldenTensor(tensor.F32, []int{2}, i) }})
	}
	var buf bytes.Buffer
	if err := WriteZip(&buf, "", root); err != nil {
		t.Fatal(err)
	}
	want := []string{"t0", "t1", "t10", "t11", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9"}
	if !slices.Equal(log, want) {
		t.Errorf("load order %q, want %q", log, want)
	}
	checkArchive(t, buf.Bytes(), "archive", 12)
}

func TestWriteZipErrors(t *testing.T) {
	good, _ := goldenTensor(tensor.F32, []int{2, 3}, 0)
	loadErr := errors.New("disk on fire")
	tests := []struct {
		name   string
		prefix string
		root   func() *Dict
		want   string
	}{
		{"nil root", "", func() *Dict { return nil }, "torchpt: root is a nil *Dict"},
		{"slash prefix", "a/b", NewDict, `torchpt: archive prefix "a/b" contains '/'`},
		{"backslash prefix", `a\b`, NewDict, `contains '\\'`},
		{"dotdot prefix", "..", NewDict, "not a folder name"},
		{"newline prefix", "a\nb", NewDict, `contains '\n'`},
		{"bad utf8 prefix", "a\xffb", NewDict, "not valid UTF-8"},
		{"unsupported dtype", "", func() *Dict {
			d, p := NewDict(), NewDict()
			x, _ := tensor.New(tensor.F8E4M3, []int{2}, []byte{1, 2})
			p.Set("*", x)
			d.Set("string_to_param", p)
			return d
		}, `torchpt: ["string_to_param"]["*"]: tensor dtype "F8_E4M3" has no torch storage class`},
		{"unsupported U16", "", func() *Dict {
			d := NewDict()
			x, _ := tensor.New(tensor.U16, []int{1}, []byte{1, 2})
			d.Set("u", x)
			return d
		}, `torchpt: ["u"]: tensor dtype "U16" has no torch storage class`},
		{"unsupported type", "", func() *Dict {
			d := NewDict()
			d.Set("a", List{1, map[string]int{}})
			return d
		}, `torchpt: ["a"][1]: unsupported value type map[string]int`},
		{"bytes", "", func() *Dict {
			d := NewDict()
			d.Set("b", []byte("x"))
			return d
		}, `torchpt: ["b"]: unsupported value type []uint8`},
		{"nil tensor", "", func() *Dict {
			d := NewDict()
			d.Set("t", (*tensor.Tensor)(nil))
			return d
		}, `torchpt: ["t"]: nil *tensor.Tensor`},
		{"nil dict", "", func() *Dict {
			d := NewDict()
			d.Set("d", (*Dict)(nil))
			return d
		}, `torchpt: ["d"]: nil *Dict`},
		{"bad class", "", func() *Dict {
			d := NewDict()
			d.Set("d", &Dict{Class: "ParameterDict"})
			return d
		}, `torchpt: ["d"]: unsupported dict class "ParameterDict"`},
		{"keys values mismatch", "", func() *Dict {
			return &Dict{Class: "dict", Map: ordered.Map[any, any]{Keys: []any{"a"}}}
		}, "torchpt: root: dict has 1 keys and 0 values"},
		{"unhashable key", "", func() *Dict {
			return &Dict{Class: "dict", Map: ordered.Map[any, any]{Keys: []any{"a", List{1}}, Values: []any{1, 2}}}
		}, "torchpt: [1]: key of type torchpt.List is not hashable"},
		{"duplicate key", "", func() *Dict {
			return &Dict{Class: "dict", Map: ordered.Map[any, any]{Keys: []any{"a", "b", "a"}, Values: []any{1, 2, 3}}}
		}, `torchpt: ["a"]: duplicate key`},
		{"duplicate numeric key", "", func() *Dict {
			d := NewDict()
			d.Set("n", &Dict{Class: "dict", Map: ordered.Map[any, any]{Keys: []any{1, 1.0}, Values: []any{1, 2}}})
			return d
		}, `torchpt: ["n"][1]: duplicate key`},
		{"invalid utf8", "", func() *Dict {
			d := NewDict()
			d.Set("name", "a\xffb")
			return d
		}, `torchpt: ["name"]: string "a\xffb" is not valid UTF-8`},
		{"cycle", "", func() *Dict {
			d, e := NewDict(), NewDict()
			e.Set("back", d)
			d.Set("e", e)
			return d
		}, `torchpt: ["e"]["back"]: dict contains itself`},
		{"too deep", "", func() *Dict {
			d := NewDict()
			var v any = 1
			for i := 0; i < 200; i++ {
				v = List{v}
			}
			d.Set("deep", v)
			return d
		}, "values nested deeper than 100"},
		{"negative dim", "", func() *Dict {
			d := NewDict()
			d.Set("t", &lazySource{dt: tensor.F32, shape: []int{-1, 2}})
			return d
		}, `torchpt: ["t"]: tensor shape [-1 2]: tensor: negative dimension -1`},
		{"load error", "", func() *Dict {
			d := NewDict()
			d.Set("t", &lazySource{dt: tensor.F32, shape: []int{2, 3},
				load: func() (*tensor.Tensor, error) { return nil, loadErr }})
			return d
		}, `torchpt: ["t"]: loading tensor: disk on fire`},
		{"load dtype mismatch", "", func() *Dict {
			d := NewDict()
			d.Set("t", &lazySource{dt: tensor.F16, shape: []int{2, 3},
				load: func() (*tensor.Tensor, error) { return good, nil }})
			return d
		}, `torchpt: ["t"]: tensor loaded as F32[2 3], its Meta said F16[2 3]`},
		{"load shape mismatch", "", func() *Dict {
			d := NewDict()
			d.Set("t", &lazySource{dt: tensor.F32, shape: []int{3, 2},
				load: func() (*tensor.Tensor, error) { return good, nil }})
			return d
		}, `tensor loaded as F32[2 3], its Meta said F32[3 2]`},
		{"load size mismatch", "", func() *Dict {
			d := NewDict()
			d.Set("t", &lazySource{dt: tensor.F32, shape: []int{2, 3},
				load: func() (*tensor.Tensor, error) {
					return &tensor.Tensor{DType: tensor.F32, Shape: []int{2, 3}, Data: make([]byte, 5)}, nil
				}})
			return d
		}, `torchpt: ["t"]: tensor F32[2 3] has 5 bytes, want 24`},
		{"huge int", "", func() *Dict {
			d := NewDict()
			d.Set("n", new(big.Int).Lsh(big.NewInt(1), 3000))
			return d
		}, `torchpt: ["n"]: integer of 3001 bits is too large`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := WriteZip(io.Discard, tc.prefix, tc.root())
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.HasPrefix(err.Error(), "torchpt: ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want %q", err, tc.want)
			}
			if tc.name == "load error" && !errors.Is(err, loadErr) {
				t.Errorf("error %v does not wrap the Load error", err)
			}
		})
	}
}

// failWriter fails after n bytes.
type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, errors.New("no space left")
	}
	w.n -= len(p)
	return len(p), nil
}

func TestWriteZipWriterError(t *testing.T) {
	root := NewDict()
	x, _ := goldenTensor(tensor.F32, []int{8, 768}, 1)
	root.Set("emb_params", x)
	for _, n := range []int{0, 100, 5000, 24000} {
		if err := WriteZip(&failWriter{n: n}, "", root); err == nil {
			t.Errorf("writer failing after %d bytes: no error", n)
		} else if !strings.HasPrefix(err.Error(), "torchpt: ") {
			t.Errorf("error %q does not start with torchpt: ", err)
		}
	}
}

func BenchmarkWriteZip8x768(b *testing.B) {
	vec, err := goldenTensor(tensor.F32, []int{8, 768}, 1)
	if err != nil {
		b.Fatal(err)
	}
	tok := NewDict()
	tok.Set("*", int64(265))
	param := NewDict()
	param.Set("*", vec)
	root := NewDict()
	root.Set("string_to_token", tok)
	root.Set("string_to_param", param)
	root.Set("name", "EasyNegative")
	root.Set("step", int64(0))
	root.Set("sd_checkpoint", nil)
	root.Set("sd_checkpoint_name", nil)
	b.SetBytes(int64(len(vec.Data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteZip(io.Discard, "", root); err != nil {
			b.Fatal(err)
		}
	}
}
