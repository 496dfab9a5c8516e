package embedding

import (
	"archive/zip"
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
	"github.com/embtool/embtool/pkg/torchpt"
)

const (
	ehFixtures  = "../../testdata/fixtures"
	ehMalicious = "../../testdata/malicious"
	ehCorrupt   = "../../testdata/corrupt"
)

type ehFile struct {
	path string
	exp  map[string]any
	size int
}

func ehHostileFiles(t *testing.T) []ehFile {
	var out []ehFile
	for _, dir := range []string{ehMalicious, ehCorrupt} {
		for _, exp := range testcorpus.JSONL(t, filepath.Join(dir, "expected.jsonl")) {
			p := filepath.Join(dir, exp["file"].(string))
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, ehFile{path: p, exp: exp, size: int(st.Size())})
		}
	}
	if len(out) < 50 {
		t.Fatalf("only %d hostile files", len(out))
	}
	return out
}

// TestHostileReadFile: ReadFile refuses every malicious and corrupt file
// with an error (never a panic) that names what expected.jsonl says.
func TestHostileReadFile(t *testing.T) {
	for _, h := range ehHostileFiles(t) {
		t.Run(filepath.Base(filepath.Dir(h.path))+"/"+filepath.Base(h.path), func(t *testing.T) {
			e, sum, err := ReadFile(h.path, Options{})
			if err == nil {
				t.Fatalf("read as %s %s embedding", e.Container, e.Layout)
			}
			if !testcorpus.ReasonMatches(err.Error(), h.exp) {
				t.Errorf("error %q names none of %v", err, h.exp["reason_any"])
			}
			if want, _ := h.exp["sha256"].(string); want != "" && sum != "" && sum != want {
				t.Errorf("sha256 %s, expected.jsonl says %s", sum, want)
			}
		})
	}
}

// TestHostileReadFileMemory: ReadFile of a hostile file allocates at most
// 4 × its size + 1 MiB.
func TestHostileReadFileMemory(t *testing.T) {
	for _, h := range ehHostileFiles(t) {
		got := testcorpus.Allocated(func() { ReadFile(h.path, Options{}) })
		if bound := testcorpus.MemBound(h.size); got > bound {
			t.Errorf("%s (%d bytes): ReadFile allocated %d bytes, more than %d", h.path, h.size, got, bound)
		}
	}
}

// ---------------------------------------------------------------------------
// Files built in code.

type ehP struct{ b []byte }

func ehPickle() *ehP { return &ehP{b: []byte{0x80, 2}} }

func (p *ehP) raw(b ...byte) *ehP { p.b = append(p.b, b...); return p }

func (p *ehP) str(s string) *ehP {
	p.b = binary.LittleEndian.AppendUint32(append(p.b, 'X'), uint32(len(s)))
	p.b = append(p.b, s...)
	return p
}

func (p *ehP) int(n int64) *ehP {
	if n >= 0 && n < 1<<31 {
		p.b = binary.LittleEndian.AppendUint32(append(p.b, 'J'), uint32(n))
		return p
	}
	p.b = binary.LittleEndian.AppendUint64(append(p.b, 0x8a, 8), uint64(n))
	return p
}

func (p *ehP) global(module, name string) *ehP {
	p.b = append(append(p.b, 'c'), module+"\n"+name+"\n"...)
	return p
}

func (p *ehP) put(i uint32) *ehP {
	p.b = binary.LittleEndian.AppendUint32(append(p.b, 'r'), i)
	return p
}
func (p *ehP) get(i uint32) *ehP {
	p.b = binary.LittleEndian.AppendUint32(append(p.b, 'j'), i)
	return p
}

func (p *ehP) ints(xs ...int64) *ehP {
	p.raw('(')
	for _, x := range xs {
		p.int(x)
	}
	return p.raw('t')
}

// tensor pushes _rebuild_tensor_v2 of a view of storage data/<key>.
func (p *ehP) tensor(key string, numel, offset int64, size, stride []int64) *ehP {
	p.global("torch._utils", "_rebuild_tensor_v2").raw('(')
	p.raw('(').str("storage").global("torch", "FloatStorage").str(key).str("cpu").int(numel).raw('t', 'Q')
	p.int(offset).ints(size...).ints(stride...).raw(0x89)
	p.global("collections", "OrderedDict").raw(')', 'R')
	return p.raw('t', 'R')
}

// ehZip is a torch zip under archive/ with stored records.
func ehZip(t testing.TB, pkl []byte, storages map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	put := func(name string, data []byte) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	put("archive/data.pkl", pkl)
	for k, v := range storages {
		put("archive/data/"+k, v)
	}
	put("archive/version", []byte("3\n"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func ehWrite(t *testing.T, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "x.pt")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestHostileHugeNumel is the case: about 1 KiB of torch zip whose
// pickle claims a tensor of 2^40 elements. ReadFile fails clearly, naming
// the storage, without allocating anything of that size.
func TestHostileHugeNumel(t *testing.T) {
	built := ehZip(t, ehPickle().raw('}').str("emb_params").
		tensor("0", 1<<40, 0, []int64{1 << 30, 1 << 10}, []int64{1 << 10, 1}).raw('s', '.').b,
		map[string][]byte{"0": make([]byte, 16)})
	for name, path := range map[string]string{
		"built":                          ehWrite(t, built),
		"testdata/corrupt/huge_numel.pt": filepath.Join(ehCorrupt, "huge_numel.pt"),
	} {
		st, _ := os.Stat(path)
		if st.Size() > 2048 {
			t.Errorf("%s: %d bytes, not about 1 KiB", name, st.Size())
		}
		var err error
		got := testcorpus.Allocated(func() { _, _, err = ReadFile(path, Options{}) })
		if err == nil || !strings.Contains(err.Error(), `storage "0"`) || !strings.Contains(err.Error(), "1099511627776") {
			t.Errorf("%s: error %v; want one naming storage \"0\" and its 2^40 elements", name, err)
		}
		if got > 1<<20 {
			t.Errorf("%s: allocated %d bytes", name, got)
		}
	}
}

// TestHostileRepeatedTensor: one tensor repeated under many keys (through
// the memo), or many views of the whole of one storage, would be copied
// once per key; ReadFile stops at twice the file's size instead. The keys
// are terms of string_to_param, so that the file is identified as an
// embedding (a thousand loose tensors are not one, and are never loaded).
func TestHostileRepeatedTensor(t *testing.T) {
	const numel, keys = 16 << 10, 1000 // a 64 KiB storage, 1000 keys
	storage := map[string][]byte{"0": make([]byte, 4*numel)}

	memo := ehPickle().raw('}', '(').str("string_to_param").raw('}', '(').str("k0").tensor("0", numel, 0, []int64{numel}, []int64{1}).put(1)
	for i := 1; i < keys; i++ {
		memo.str(fmt.Sprintf("k%d", i)).get(1)
	}
	views := ehPickle().raw('}', '(').str("string_to_param").raw('}', '(')
	for i := 0; i < keys; i++ {
		views.str(fmt.Sprintf("k%d", i)).tensor("0", numel, 0, []int64{numel}, []int64{1})
	}
	for name, pkl := range map[string][]byte{"memo": memo.raw('u', 'u', '.').b, "views": views.raw('u', 'u', '.').b} {
		b := ehZip(t, pkl, storage)
		path := ehWrite(t, b)
		var err error
		got := testcorpus.Allocated(func() { _, _, err = ReadFile(path, Options{}) })
		if err == nil || !strings.Contains(err.Error(), "overlap") {
			t.Errorf("%s: error %v", name, err)
		}
		// Copying every key would take keys × 64 KiB = 64 MiB. Decoding a
		// pickle of a thousand tensors costs some 5 KiB per tensor, so
		// the bound here is linear in the file, not the 4× of testdata.
		if bound := 32*uint64(len(b)) + 1<<20; got > bound {
			t.Errorf("%s: %d keys of a %d-byte tensor: allocated %d bytes for a file of %d, more than %d", name, keys, 4*numel, got, len(b), bound)
		}
	}
	// Two keys sharing one storage, each half of it, read fine.
	ok := ehPickle().raw('}', '(').
		str("clip_l").tensor("0", numel, 0, []int64{1, numel / 2}, []int64{numel / 2, 1}).
		str("clip_g").tensor("0", numel, numel/2, []int64{1, numel / 2}, []int64{numel / 2, 1}).raw('u', '.').b
	if _, _, err := ReadFile(ehWrite(t, ehZip(t, ok, storage)), Options{}); err != nil {
		t.Errorf("two halves of one storage: %v", err)
	}
}

// TestHostileMemoTree: a pickle of a few hundred bytes whose lists hold
// the list before them twice (2^60 values once expanded) fails at once.
func TestHostileMemoTree(t *testing.T) {
	p := ehPickle().raw(']').put(0)
	for k := uint32(0); k < 60; k++ {
		p.raw(']').get(k).raw('a').get(k).raw('a').put(k + 1).raw('0')
	}
	pkl := ehPickle().raw('}').str("emb_params").raw(p.b[2:]...).get(60).raw('s', '.').b
	b := ehZip(t, pkl, nil)
	var err error
	got := testcorpus.Allocated(func() { _, _, err = ReadFile(ehWrite(t, b), Options{}) })
	if err == nil || !strings.Contains(err.Error(), "data.pkl") {
		t.Errorf("error %v", err)
	}
	if got > testcorpus.MemBound(len(b)) {
		t.Errorf("allocated %d bytes for a file of %d", got, len(b))
	}
}

// ---------------------------------------------------------------------------
// Fuzzing.

// ehCheckEmbedding checks what Decode returns holds together.
func ehCheckEmbedding(t *testing.T, e *Embedding) {
	if e == nil {
		t.Fatal("nil embedding and no error")
	}
	check := func(what string, ns []Named) {
		for _, v := range ns {
			if v.Tensor == nil {
				t.Fatalf("%s %q: nil tensor", what, v.Key)
			}
			n, err := tensor.ByteSize(v.Tensor.DType, v.Tensor.Shape)
			if err != nil || len(v.Tensor.Data) != n {
				t.Fatalf("%s %q: %s%v with %d bytes (%v)", what, v.Key, v.Tensor.DType, v.Tensor.Shape, len(v.Tensor.Data), err)
			}
		}
	}
	check("vector", e.Vectors)
	check("tensor", e.All)
	if len(e.Vectors) > 0 {
		if e.Count < 0 || e.Width < 0 {
			t.Fatalf("count %d width %d", e.Count, e.Width)
		}
		if norms := e.RowNorms(); len(norms) != e.Count && e.Layout != LayoutSDXL {
			t.Fatalf("%d norms for %d vectors", len(norms), e.Count)
		}
	}
}

// FuzzDecode: Decode never panics on any bytes, and what it accepts holds
// together (tensors of the size their dtype and shape need).
func FuzzDecode(f *testing.F) {
	for _, dir := range []string{ehFixtures, ehMalicious, ehCorrupt, "../../../shared/corpus/real"} {
		names, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, p := range names {
			if strings.HasSuffix(p, ".jsonl") || strings.HasSuffix(p, ".json") || strings.HasSuffix(p, ".md") {
				continue
			}
			b, err := os.ReadFile(p)
			// Small files only: every input with new coverage is
			// minimised byte by byte, a minute each for large ones.
			if err == nil && len(b) <= 24<<10 {
				f.Add(b)
			}
		}
	}
	f.Add(ehZip(f, ehPickle().raw('}').str("emb_params").tensor("0", 8, 0, []int64{2, 4}, []int64{4, 1}).raw('s', '.').b,
		map[string][]byte{"0": make([]byte, 32)}))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<20 {
			return
		}
		e, err := Decode(bytes.NewReader(b), int64(len(b)), Options{})
		if err == nil {
			ehCheckEmbedding(t, e)
		}
		// Reading on anyway must not panic either.
		if e, err := Decode(bytes.NewReader(b), int64(len(b)), Options{AllowUnsafe: true}); err == nil {
			ehCheckEmbedding(t, e)
		}
	})
}

// TestAttacksRefused: every file of testdata/attacks runs code under
// torch.load (testdata/gen proves it in CI), so reading it as an
// embedding fails as unsafe — with AllowUnsafe too, for those whose view
// is ambiguous or that are not a torch file at all (the polyglot).
func TestAttacksRefused(t *testing.T) {
	paths, _ := filepath.Glob("../../testdata/attacks/*/*")
	n := 0
	for _, p := range paths {
		if strings.HasSuffix(p, ".jsonl") || strings.HasSuffix(p, ".md") {
			continue
		}
		n++
		if e, _, err := ReadFile(p, Options{}); !errors.Is(err, torchpt.ErrUnsafe) {
			t.Errorf("%s: read as %v, error %v; want unsafe", p, e != nil, err)
		}
	}
	if n < 30 {
		t.Fatalf("only %d attack files", n)
	}
	p := "../../testdata/attacks/pickle/polyglot_safetensors.pt"
	if _, _, err := ReadFile(p, Options{AllowUnsafe: true}); !errors.Is(err, torchpt.ErrUnsafe) {
		t.Errorf("%s with AllowUnsafe: %v, want unsafe", p, err)
	}
}
