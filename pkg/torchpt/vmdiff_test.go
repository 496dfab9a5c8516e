package torchpt

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The differential tests of the VM: embtool's VM (scanAndBuild) against
// the reader's earlier path, gopickle's VM and a conversion of its values
// (oldvm_test.go), on every pickle of the test files and on fuzzed ones.
// Both must build the same value tree or both refuse the pickle; and the
// scan that runs the VM must report exactly what Scan alone reports.

// tpVMDiffDirs are the folders whose files' pickles seed the tests.
var tpVMDiffDirs = []string{tpFixtures, tpCorpus, tpMalicious, tpCorrupt, tpAttacks, tpZipAttacks,
	"../../testdata/checkpoint", "../../testdata/kinds", "../../testdata/merge", "../../testdata/zip64"}

// tpAllPickles returns every pickle of the files in dirs: each .pkl
// record of a zip, the pickles of a legacy file or a bare one.
func tpAllPickles(t testing.TB, dirs ...string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, dir := range dirs {
		paths, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, path := range paths {
			b, err := os.ReadFile(path)
			if err != nil || len(b) == 0 {
				continue
			}
			name := filepath.Base(dir) + "/" + filepath.Base(path)
			if zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b))); err == nil {
				for _, e := range zr.File {
					if !strings.HasSuffix(strings.ToLower(e.Name), ".pkl") {
						continue
					}
					rc, err := e.Open()
					if err != nil {
						continue
					}
					d, err := io.ReadAll(io.LimitReader(rc, MaxPickleSize))
					rc.Close()
					if err == nil {
						out[name+":"+e.Name] = d
					}
				}
				continue
			}
			if opcodes[b[0]] == nil {
				continue
			}
			pos := int64(0)
			for i := 0; i < 5 && pos < int64(len(b)); i++ {
				res, _ := Scan(b[pos:], "")
				if res.End == 0 {
					out[fmt.Sprintf("%s:%d", name, i+1)] = b[pos:min(int64(len(b)), pos+1<<16)]
					break
				}
				out[fmt.Sprintf("%s:%d", name, i+1)] = b[pos : pos+res.End]
				pos += res.End
			}
		}
	}
	return out
}

// tpVMDiff compares both VMs on one pickle, with and without AllowUnsafe.
// It returns a description of the first difference, "" when none.
func tpVMDiff(b []byte) string {
	want, wantErr := Scan(b, "diff")
	for _, allow := range []bool{false, true} {
		res, v, vmErr, err := scanAndBuild(b, "diff", "diff", tpFuzzResolver(), allow)
		if !reflect.DeepEqual(res, want) || fmt.Sprint(err) != fmt.Sprint(wantErr) {
			return fmt.Sprintf("the scan with the VM differs from Scan: %+v %v, Scan %+v %v", res, err, want, wantErr)
		}
		if err != nil || res.disallowed != 0 || (len(res.Findings) > 0 && !allow) {
			if v != nil || vmErr != nil {
				return "a value or VM error for a refused pickle"
			}
			continue
		}
		old, oldErr := oldUnpickle(b[:res.End], "diff", tpFuzzResolver(), allow)
		switch {
		case oldErr != nil && vmErr != nil:
			if errors.Is(oldErr, ErrUnsupported) != errors.Is(vmErr, ErrUnsupported) {
				return fmt.Sprintf("allow=%v: errors of different kinds: gopickle %v, embtool %v", allow, oldErr, vmErr)
			}
		case oldErr != nil || vmErr != nil:
			if tpKnownVMDifference(oldErr, allow) {
				continue
			}
			return fmt.Sprintf("allow=%v: gopickle %v (%v), embtool %v (%v)", allow, tpShow(old), oldErr, tpShow(v), vmErr)
		default:
			if why := tpSameValue(old, v, "root"); why != "" {
				return fmt.Sprintf("allow=%v: %s", allow, why)
			}
		}
	}
	return ""
}

// tpKnownVMDifference: where gopickle departs from Python and embtool
// follows Python.
func tpKnownVMDifference(oldErr error, allow bool) bool {
	if oldErr == nil {
		return false
	}
	msg := oldErr.Error()
	for _, s := range []string{
		// SETITEMS, APPENDS, ADDITEMS with no items: CPython does nothing
		// ("nothing to do"), gopickle wants the target's type anyway.
		"requires DictSetter", "requires List", "requires SetAdder",
	} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	// gopickle resolves copy_reg._reconstructor and __builtin__.object
	// itself, before the reader's stand-ins (inert under AllowUnsafe).
	return allow && (strings.Contains(msg, "types.") || strings.Contains(msg, "object of"))
}

func tpShow(v any) string {
	s := fmt.Sprintf("%#v", v)
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// tpSameValue compares two value trees of the value model.
func tpSameValue(a, b any, path string) string {
	diff := func() string { return fmt.Sprintf("%s: gopickle %s, embtool %s", path, tpShow(a), tpShow(b)) }
	switch x := a.(type) {
	case *Dict:
		y, ok := b.(*Dict)
		if !ok || x.Class != y.Class || x.Len() != y.Len() {
			return diff()
		}
		for i := range x.Keys {
			if d := tpSameValue(x.Keys[i], y.Keys[i], fmt.Sprintf("%s.key%d", path, i)); d != "" {
				return d
			}
			if d := tpSameValue(x.Values[i], y.Values[i], fmt.Sprintf("%s[%v]", path, x.Keys[i])); d != "" {
				return d
			}
		}
		return ""
	case Tuple:
		y, ok := b.(Tuple)
		if !ok {
			return diff()
		}
		return tpSameItems(x, y, path)
	case List:
		y, ok := b.(List)
		if !ok {
			return diff()
		}
		return tpSameItems(x, y, path)
	case *Tensor:
		y, ok := b.(*Tensor)
		if !ok || x.Offset != y.Offset || !reflect.DeepEqual(x.Shape, y.Shape) || !reflect.DeepEqual(x.Stride, y.Stride) ||
			x.RequiresGrad != y.RequiresGrad || x.Parameter != y.Parameter {
			return diff()
		}
		return tpSameValue(x.Storage, y.Storage, path+".storage")
	case *Storage:
		y, ok := b.(*Storage)
		if !ok || x.Key != y.Key || x.DType != y.DType || x.NumElem != y.NumElem || x.Location != y.Location {
			return diff()
		}
		return ""
	case *Object:
		y, ok := b.(*Object)
		if !ok || x.Class != y.Class {
			return diff()
		}
		return tpSameValue(x.State, y.State, path+".state")
	case *Opaque:
		if y, ok := b.(*Opaque); !ok || x.Name != y.Name {
			return diff()
		}
		return ""
	case *storageClass:
		if y, ok := b.(*storageClass); !ok || x.name != y.name {
			return diff()
		}
		return ""
	case *pdictClass:
		if _, ok := b.(*pdictClass); !ok {
			return diff()
		}
		return ""
	case *big.Int:
		if y, ok := b.(*big.Int); !ok || x.Cmp(y) != 0 {
			return diff()
		}
		return ""
	case []byte:
		if y, ok := b.([]byte); !ok || !bytes.Equal(x, y) {
			return diff()
		}
		return ""
	case float64:
		y, ok := b.(float64)
		if !ok || (math.Float64bits(x) != math.Float64bits(y) && !(math.IsNaN(x) && math.IsNaN(y))) {
			return diff()
		}
		return ""
	case nil, bool, int64, string:
		if reflect.TypeOf(a) != reflect.TypeOf(b) || a != b {
			return diff()
		}
		return ""
	}
	return fmt.Sprintf("%s: unexpected %T from gopickle", path, a)
}

func tpSameItems(x, y []any, path string) string {
	if len(x) != len(y) || (x == nil) != (y == nil) {
		return fmt.Sprintf("%s: %d items from gopickle, %d from embtool", path, len(x), len(y))
	}
	for i := range x {
		if d := tpSameValue(x[i], y[i], fmt.Sprintf("%s[%d]", path, i)); d != "" {
			return d
		}
	}
	return ""
}

// TestVMMatchesGopickle runs the differential check on every pickle of
// the test files and the corpus.
func TestVMMatchesGopickle(t *testing.T) {
	pickles := tpAllPickles(t, tpVMDiffDirs...)
	if len(pickles) < 50 {
		t.Fatalf("only %d pickles found", len(pickles))
	}
	decoded := 0
	for name, b := range pickles {
		if d := tpVMDiff(b); d != "" {
			t.Errorf("%s: %s", name, d)
		}
		if _, v, _, err := scanAndBuild(b, "", "", tpFuzzResolver(), false); err == nil && v != nil {
			decoded++
		}
	}
	t.Logf("%d pickles, %d decoded without AllowUnsafe", len(pickles), decoded)
}

// FuzzVMDiff: the differential check on fuzzed pickles.
func FuzzVMDiff(f *testing.F) {
	for _, b := range tpAllPickles(f, tpVMDiffDirs...) {
		if len(b) <= tpFuzzSeedMax {
			f.Add(b)
		}
	}
	f.Add(tpKitchenSink())
	f.Add(tpMemoTree(6))
	for _, b := range tpVMDiffCases() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > tpFuzzMax {
			return
		}
		if d := tpVMDiff(b); d != "" {
			t.Fatal(d)
		}
	})
}

// tpVMDiffCases are pickles written to reach what the corpus rarely has:
// containers shared and changed after, repeated keys, sets, a
// ParameterDict, parameters, big ints, bytes, and under AllowUnsafe
// disallowed calls, BUILD on them, INST, OBJ and NEWOBJ_EX.
func tpVMDiffCases() map[string][]byte {
	ten := func(p *tpP) { p.tensor("FloatStorage", "0", 10, 1, []int64{2, 2}, []int64{1, 3}) }
	out := map[string][]byte{}
	p := tpPickle().raw('}').put(0).str("l").raw(']').put(1).raw('s').str("t").get(1).get(1).raw(0x86, 's')
	p.get(1).int(1).raw('a', '0').str("l").int(5).raw('s').raw(0x88).int(6).raw('s').int(1).int(7).raw('s')
	p.raw('G', 0x3f, 0xf0, 0, 0, 0, 0, 0, 0).int(8).raw('s')
	out["shared list, repeated keys"] = p.stop()
	p = tpPickle().global("collections", "OrderedDict").raw(')', 'R').put(0).mark().str("a").int(1).str("b").int(2).str("a").int(3).raw('u')
	p.str("self").get(0).raw('s')
	out["OrderedDict containing itself"] = p.stop()
	p = tpPickle().raw('}').mark().str("s1").global("builtins", "set").raw(']', 'K', 1, 'a', 0x85, 'R')
	p.str("s2").global("builtins", "set").mark().int(1).int(2).raw('t', 0x85, 'R')
	p.str("s3").global("builtins", "set").raw(')', 'R').str("e").raw(0x8f, '(', 'K', 1, 0x90, '0', ')')
	p.str("big").raw(0x8a, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9).str("bytes").raw('B', 2, 0, 0, 0, 1, 2).raw('u')
	out["sets, ints, bytes"] = p.stop()
	p = tpPickle().raw('}').str("pd").global("torch.nn.modules.container", "ParameterDict").raw(')', 0x81).
		raw('}').str("_parameters").global("collections", "OrderedDict").raw(')', 'R').str("*").
		global("torch._utils", "_rebuild_parameter").mark()
	ten(p)
	p.raw(0x88).global("collections", "OrderedDict").raw(')', 'R').tuple().raw('R', 's', 's', 'b', 's')
	p.str("t").mark()
	ten(p)
	p.put(5).get(5).raw('l', 's')
	out["ParameterDict, parameter, tensors"] = p.stop()
	p = tpPickle().raw('}').str("x").global("os", "system").str("echo").raw(0x85, 'R').raw('}', 'b', 's')
	p.str("y").global("posix", "system").raw(')', 0x81, 's')
	p.str("z").mark().str("a").raw('i').raw([]byte("os\nsystem\n")...).raw('s')
	p.str("w").mark().global("os", "getcwd").raw('o', 's')
	p.str("v").global("os", "getcwd").raw(')', '}', 0x92, 's')
	p.str("u").global("os", "getcwd").raw('s')
	out["AllowUnsafe: disallowed calls"] = p.stop()
	return out
}

// TestVMMatchesGopickleCases runs the differential check on tpVMDiffCases.
func TestVMMatchesGopickleCases(t *testing.T) {
	for name, b := range tpVMDiffCases() {
		if _, err := Scan(b, ""); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if d := tpVMDiff(b); d != "" {
			t.Errorf("%s: %s", name, d)
		}
		for _, allow := range []bool{false, true} {
			_, v, vmErr, err := scanAndBuild(b, "", "", tpFuzzResolver(), allow)
			t.Logf("%s allow=%v: %s %v %v", name, allow, tpShow(v), vmErr, err)
		}
	}
}
