package torchpt

import (
	"encoding/hex"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/embtool/embtool/internal/testcorpus"
)

// TestVMSharesMemo: a container the memo shares is one Go value, with
// the items added after it was shared, as in Python; a dict key set again
// keeps its place and takes the last value.
func TestVMSharesMemo(t *testing.T) {
	p := tpPickle().raw('}', 0x94)     // d = {} (memo 0)
	p.str("l").raw(']', 0x94, 's')     // d["l"] = l = [] (memo 1)
	p.str("again").raw('h', 1, 's')    // d["again"] = l
	p.raw('h', 1).int(7).raw('a', '0') // l.append(7), after both references
	p.str("l").int(1).raw('s')         // d["l"] = 1: first place, last value
	p.raw(0x88).int(2).raw('s')        // d[True] = 2
	p.int(1).int(3).raw('s')           // d[1] = 3: the same key as True
	b := p.stop()
	_, v, vmErr, err := scanAndBuild(b, "t", "t", nil, false)
	if err != nil || vmErr != nil {
		t.Fatal(err, vmErr)
	}
	d := v.(*Dict)
	if d.Len() != 3 || d.Keys[0] != "l" || d.Values[0] != int64(1) || d.Keys[2] != true || d.Values[2] != int64(3) {
		t.Fatalf("dict %#v", d)
	}
	l, _ := d.Get("again")
	if ll, ok := l.(List); !ok || len(ll) != 1 || ll[0] != int64(7) {
		t.Fatalf("shared list %#v", l)
	}
}

// TestVMOrderedDictKeys: an OrderedDict merges 1 and True as Python does
// (pickle.loads gives OrderedDict([(1, 6)])); gopickle kept the value set
// under True, as its map told 1 and True apart.
func TestVMOrderedDictKeys(t *testing.T) {
	b := []byte("\x80\x02ccollections\nOrderedDict\n)RK\x01K\x04s\x88K\x05sK\x01K\x06s.")
	_, v, vmErr, err := scanAndBuild(b, "t", "t", nil, false)
	if err != nil || vmErr != nil {
		t.Fatal(err, vmErr)
	}
	d := v.(*Dict)
	if d.Class != "collections.OrderedDict" || d.Len() != 1 || d.Keys[0] != int64(1) || d.Values[0] != int64(6) {
		t.Fatalf("%#v, want OrderedDict([(1, 6)])", d)
	}
}

// TestVMScalars: LONG1, BININT and BINFLOAT decode to CPython's values
// (pickle.loads in CPython 3.11 gave the expected ones).
func TestVMScalars(t *testing.T) {
	big1, _ := new(big.Int).SetString("18446744073709551616", 10)
	big2, _ := new(big.Int).SetString("-2361183241434822606847", 10)
	for _, tc := range []struct {
		pickle string // hex
		want   any
	}{
		{"80028a01ff2e", int64(-1)},
		{"80028a0200802e", int64(-32768)},
		{"80028a0800000000000000802e", int64(-9223372036854775808)},
		{"80028a08ffffffffffffff7f2e", int64(9223372036854775807)},
		{"80028a09ffffffffffffffffff2e", int64(-1)},
		{"80028a090000000000000000012e", big1},
		{"80028a0a010000000000000080ff2e", big2},
		{"8002473ff80000000000002e", 1.5},
		{"80024a000000802e", int64(-2147483648)},
	} {
		b, _ := hex.DecodeString(tc.pickle)
		_, v, vmErr, err := scanAndBuild(b, "t", "t", nil, false)
		if err != nil || vmErr != nil {
			t.Fatalf("%s: %v %v", tc.pickle, err, vmErr)
		}
		if fmt.Sprintf("%T %v", v, v) != fmt.Sprintf("%T %v", tc.want, tc.want) {
			t.Errorf("%s: %T %v, want %T %v", tc.pickle, v, v, tc.want, tc.want)
		}
	}
}

// TestVMHostileRepeats: memo references that make the VM repeat work on
// a large value (set() of a large tuple, BUILD of an OrderedDict with a
// large state) cost time and memory in proportion to the pickle, not to
// the pickle times the value.
func TestVMHostileRepeats(t *testing.T) {
	const n = 40000
	// t = (0, 1, …); then set(t), n times.
	p := tpPickle().global("builtins", "set").put(0).raw('0').mark()
	for i := 0; i < n; i++ {
		p.int(int64(i % 200))
	}
	p.tuple().put(1).raw('0').raw(']')
	for i := 0; i < n; i++ {
		p.get(0).get(1).raw(0x85, 'R', 'a')
	}
	sets := p.stop()
	// od = OrderedDict(); state = {"k0": 0, …}; then BUILD od with it, n times.
	p = tpPickle().raw('}').put(0).mark()
	for i := 0; i < n; i++ {
		p.str(fmt.Sprint("k", i)).int(0)
	}
	p.raw('u', '0').global("collections", "OrderedDict").raw(')', 'R')
	for i := 0; i < n; i++ {
		p.get(0).raw('b')
	}
	builds := p.stop()
	for name, b := range map[string][]byte{"set of a tuple": sets, "BUILD of an OrderedDict": builds} {
		var err, vmErr error
		start := time.Now()
		alloc := testcorpus.Allocated(func() { _, _, vmErr, err = scanAndBuild(b, "t", "t", nil, false) })
		// Speed is shown by benchmarks, not asserted: the time is logged
		// (the BUILD case walked the state's keys per BUILD: seconds).
		t.Logf("%s: %d bytes, %v, %d bytes allocated, %v %v", name, len(b), time.Since(start), alloc, err, vmErr)
		if alloc > 64*uint64(len(b))+1<<20 {
			t.Errorf("%s: %d bytes allocated for a pickle of %d", name, alloc, len(b))
		}
	}
}
