package torchpt

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embtool/embtool/pkg/tensor"
)

// tpFuzzMax caps a fuzz input: the targets must stay cheap.
const tpFuzzMax = 1 << 20

// tpFuzzSeedMax caps a seed file. Every input that finds new coverage is
// minimised byte by byte (up to -fuzzminimizetime, a minute), which for a
// 200 KiB corpus file takes the whole minute each time; the smaller files
// of the corpus and the fixtures cover the same structures.
const tpFuzzSeedMax = 24 << 10

// tpFuzzSeedFiles adds every file of the given folders (no larger than
// tpFuzzSeedMax) as a seed; absent folders (the corpus in ../shared) add
// none.
func tpFuzzSeedFiles(f *testing.F, keep func(name string, b []byte) bool, dirs ...string) {
	for _, dir := range dirs {
		names, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, p := range names {
			b, err := os.ReadFile(p)
			if err != nil || len(b) > tpFuzzSeedMax || !keep(filepath.Base(p), b) {
				continue
			}
			f.Add(b)
		}
	}
}

// tpFuzzLoadAll loads every tensor under root (up to a total the fuzz
// body can afford) and checks each is dense: numel × element size bytes.
func tpFuzzLoadAll(t *testing.T, root any) {
	budget := 16 << 20
	for _, fd := range tpWalk(root) {
		n, err := tensor.NumElements(fd.t.Shape)
		if err != nil {
			t.Fatalf("%s: a tensor of shape %v was accepted: %v", strings.Join(fd.path, "/"), fd.t.Shape, err)
		}
		if n > fd.t.Storage.NumElem {
			t.Fatalf("%s: a view of %d elements over a storage of %d was accepted", strings.Join(fd.path, "/"), n, fd.t.Storage.NumElem)
		}
		size := n * fd.t.Storage.DType.Size()
		if budget -= size; budget < 0 {
			return
		}
		if _, err := tpLoadChecked(fd.t); err != nil && strings.Contains(err.Error(), "Load gave") {
			t.Fatalf("%s: %v", strings.Join(fd.path, "/"), err)
		}
	}
}

// tpFuzzOpen is the body of the file targets: Open, OpenWith(AllowUnsafe)
// and ScanFile never panic, agree with each other, fail only with the
// package's sentinel errors, and every tensor of a file that opens loads.
func tpFuzzOpen(t *testing.T, b []byte) {
	if len(b) > tpFuzzMax {
		return
	}
	s := ScanFile(bytes.NewReader(b), int64(len(b)))
	f, err := Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrUnsafe) && !errors.Is(err, ErrUnsupported) {
			t.Fatalf("error without a sentinel: %v", err)
		}
		if !strings.HasPrefix(err.Error(), "torchpt: ") {
			t.Fatalf("error not prefixed: %v", err)
		}
	} else {
		if len(f.Findings) != 0 {
			t.Fatalf("Open accepted a pickle with findings: %v", f.Findings)
		}
		if v := s.Verdict(); v != VerdictSafe {
			t.Fatalf("Open accepts a file ScanFile calls %s: %s", v, tpScanReport(s))
		}
		tpFuzzLoadAll(t, f.Root)
	}
	if s.Verdict() == VerdictSafe && (s.Format == FormatZip || s.Format == FormatLegacy) && err != nil {
		t.Fatalf("ScanFile calls safe a file Open refuses: %v", err)
	}
	if s.Verdict() == VerdictUnsafe && err == nil {
		t.Fatalf("Open accepts a file ScanFile calls unsafe")
	}
	if f, err := OpenWith(bytes.NewReader(b), int64(len(b)), Options{AllowUnsafe: true}); err == nil {
		tpFuzzLoadAll(t, f.Root)
	}
}

// FuzzOpenZip: torch zip files.
func FuzzOpenZip(f *testing.F) {
	tpFuzzSeedFiles(f, func(name string, b []byte) bool {
		return !strings.HasSuffix(name, ".jsonl") && !strings.HasSuffix(name, ".json") && !strings.HasSuffix(name, ".md")
	}, tpCorpus, tpFixtures, tpMalicious, tpCorrupt, tpZipAttacks)
	ten := tpF32(tpRange(10)...)
	f.Add(tpArchive(f, tpDictPickle(
		"a", func(p *tpP) { p.tensor("FloatStorage", "0", 10, 1, []int64{2, 2}, []int64{1, 3}) },
		"b", func(p *tpP) { p.tensor("HalfStorage", "1", 4, 0, nil, nil) },
	), map[string][]byte{"0": ten, "1": ten[:8]}))
	f.Add(tpZip(f,
		tpEntry{name: "archive/data.pkl", data: tpDictPickle("x", func(p *tpP) { p.tensor("FloatStorage", "0", 10, 0, []int64{10}, []int64{1}) }), deflate: true},
		tpEntry{name: "archive/byteorder", data: []byte("big")},
		tpEntry{name: "archive/data/0", data: ten, deflate: true},
	))
	root := NewDict()
	emb, _ := tensor.New(tensor.F16, []int{2, 3}, make([]byte, 12))
	root.Set("emb_params", emb)
	root.Set("name", "x")
	var buf bytes.Buffer
	if err := WriteZip(&buf, "fuzz", root); err == nil {
		f.Add(buf.Bytes())
	}
	f.Fuzz(tpFuzzOpen)
}

// FuzzOpenLegacy: legacy (non-zip) torch files.
func FuzzOpenLegacy(f *testing.F) {
	tpFuzzSeedFiles(f, func(name string, b []byte) bool {
		return len(b) > 0 && b[0] == 0x80
	}, tpCorpus, tpFixtures, tpMalicious, tpCorrupt)
	ten := tpF32(tpRange(10)...)
	obj := tpDictPickle("x", func(p *tpP) { p.legacyTensor("FloatStorage", "94557139474528", 10, 1, []int64{3}, []int64{3}) })
	f.Add(tpLegacy(obj, tpKeyList("94557139474528"), tpLegacyStorage{"94557139474528", 10, ten}))
	view := tpDictPickle("x", func(p *tpP) {
		p.tensorFrom(func(p *tpP) {
			p.mark().str("storage").global("torch", "FloatStorage").str("1").str("cpu").int(10).
				str("2").int(4).int(5).raw(0x87, 't', 'Q')
		}, 1, []int64{2}, []int64{2})
	})
	f.Add(tpLegacy(view, tpKeyList("1"), tpLegacyStorage{"1", 10, ten}))
	f.Fuzz(tpFuzzOpen)
}

// tpFuzzResolver makes storages of zeros for any well-formed persistent
// id, as the zip reader would from records of the right size.
func tpFuzzResolver() storageResolver {
	cache := map[string]*Storage{}
	return func(pid Tuple) (any, error) {
		dt, key, loc, numel, err := storageFromID(pid, 1<<16)
		if err != nil {
			return nil, err
		}
		if s, ok := cache[key]; ok {
			if s.DType != dt || s.NumElem != numel {
				return nil, errors.New("storage referenced twice differently")
			}
			return s, nil
		}
		s := &Storage{Key: key, DType: dt, NumElem: numel, Location: loc}
		s.load = func() ([]byte, error) { return make([]byte, numel*dt.Size()), nil }
		cache[key] = s
		return s, nil
	}
}

// FuzzScan: Scan never panics on any bytes and reports an End within
// them; a pickle it passes (no finding, no opcode the VM may not run) is
// decoded by the VM without a panic, and every tensor in it loads.
func FuzzScan(f *testing.F) {
	for _, p := range tpFixturePickles(f) {
		f.Add(p)
	}
	f.Add(tpKitchenSink())
	f.Add(tpPosixSystem)
	// Text operands and frames as CPython reads them (gen_pickle_attacks.py).
	tpFuzzSeedFiles(f, func(name string, b []byte) bool { return strings.HasSuffix(name, ".pkl") }, tpAttacks)
	f.Add([]byte("\x80\x02N(0p1_0\ng10\n0Vpos\\u0069x\nS'sys\\164em'\n\x93I01\nL5L\nF1.5\n0000."))
	f.Add(tpMemoTree(6))
	f.Add(tpDictPickle(
		"a", func(p *tpP) { p.tensor("FloatStorage", "0", 10, 1, []int64{2, 2}, []int64{1, 3}) },
		"b", func(p *tpP) { p.tensor("LongStorage", "1", 3, 1, nil, nil) },
		"c", func(p *tpP) { p.global("collections", "OrderedDict").raw(')', 'R').str("k").raw('N', 's') },
		"d", func(p *tpP) { p.global("__builtin__", "set").raw(']', 0x85, 'R') },
	))
	f.Add(tpPickle().global("torch.nn.modules.container", "ParameterDict").raw(')', 0x81).
		raw('}').str("_parameters").global("collections", "OrderedDict").raw(')', 'R').str("*").
		global("torch._utils", "_rebuild_parameter").mark().tensor("FloatStorage", "0", 4, 0, []int64{4}, []int64{1}).
		raw(0x88).global("collections", "OrderedDict").raw(')', 'R').tuple().raw('R', 's', 's', 'b').stop())
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > tpFuzzMax {
			return
		}
		res, err := Scan(b, "fuzz")
		if res == nil {
			t.Fatal("nil result")
		}
		if err != nil {
			var fe *FormatError
			var ue *UnsafeError
			switch {
			case errors.As(err, &ue):
				// An ambiguous reading: reported as a finding at an offset.
				if len(ue.Findings) != 1 || !strings.Contains(ue.Findings[0].Why, "ambiguous: ") || len(res.Findings) == 0 {
					t.Fatalf("unsafe error without its ambiguous finding: %v", err)
				}
				if o := ue.Findings[0].Offset; o < 0 || o > int64(len(b)) {
					t.Fatalf("finding offset %d outside the input", o)
				}
			case !errors.As(err, &fe) || fe.Offset < 0 || fe.Offset > int64(len(b)):
				t.Fatalf("error without an offset within the input: %v", err)
			}
			return
		}
		if res.End <= 0 || res.End > int64(len(b)) || b[res.End-1] != '.' {
			t.Fatalf("End %d of %d bytes", res.End, len(b))
		}
		if res.disallowed != 0 {
			return // the reader refuses it before the VM (scanAndLoad)
		}
		allow := len(res.Findings) > 0
		_, v, vmErr, err := scanAndBuild(b, "fuzz", "fuzz", tpFuzzResolver(), allow)
		if err == nil {
			err = vmErr
		}
		if err != nil {
			if strings.Contains(err.Error(), "malformed pickle: ") {
				t.Fatalf("the VM panicked on a pickle Scan passed: %v", err)
			}
			return
		}
		tpFuzzLoadAll(t, v)
	})
}
