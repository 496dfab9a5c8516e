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
	if len(x) != len(y) {
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
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > tpFuzzMax {
			return
		}
		if d := tpVMDiff(b); d != "" {
			t.Fatal(d)
		}
	})
}
