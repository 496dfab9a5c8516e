package torchpt

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/embtool/embtool/internal/ordered"
)

// The expected bytes below are CPython 3.11's pickle.dumps(v, protocol=2)
// (the C pickler torch.save uses) without the PROTO 2 header and the STOP.

func pickleBody(t *testing.T, v any) string {
	t.Helper()
	p := newPickler()
	if err := p.save(v, 0); err != nil {
		t.Fatalf("save(%v): %v", v, err)
	}
	return hex.EncodeToString(p.buf)
}

func TestPicklerInts(t *testing.T) {
	tests := []struct{ v, want string }{
		{"0", "4b00"},
		{"1", "4b01"},
		{"127", "4b7f"},
		{"128", "4b80"},
		{"255", "4bff"},
		{"256", "4d0001"},
		{"65535", "4dffff"},
		{"65536", "4a00000100"},
		{"-1", "4affffffff"},
		{"-127", "4a81ffffff"},
		{"-128", "4a80ffffff"},
		{"-129", "4a7fffffff"},
		{"-255", "4a01ffffff"},
		{"-256", "4a00ffffff"},
		{"-257", "4afffeffff"},
		{"-32768", "4a0080ffff"},
		{"-32769", "4aff7fffff"},
		{"-8388608", "4a000080ff"},
		{"-8388609", "4affff7fff"},
		{"2147483647", "4affffff7f"},
		{"-2147483648", "4a00000080"},
		{"2147483648", "8a050000008000"},
		{"-2147483649", "8a05ffffff7fff"},
		{"4294967296", "8a050000000001"},
		{"1099511627776", "8a06000000000001"},
		{"-1099511627776", "8a060000000000ff"},
		{"140737488355328", "8a0700000000008000"},
		{"-140737488355328", "8a06000000000080"},
		{"36028797018963967", "8a07ffffffffffff7f"},
		{"9223372036854775807", "8a08ffffffffffffff7f"},
		{"-9223372036854775808", "8a080000000000000080"},
		{"18446744073709551615", "8a09ffffffffffffffff00"},
		{"18446744073709551616", "8a09000000000000000001"},
		{"-18446744073709551616", "8a090000000000000000ff"},
	}
	for _, tc := range tests {
		n, _ := new(big.Int).SetString(tc.v, 10)
		var vals []any
		vals = append(vals, n)
		if n.IsInt64() {
			i := n.Int64()
			vals = append(vals, i)
			if i == int64(int(i)) {
				vals = append(vals, int(i))
			}
			if i == int64(int32(i)) {
				vals = append(vals, int32(i))
			}
			if i == int64(int16(i)) {
				vals = append(vals, int16(i))
			}
			if i == int64(int8(i)) {
				vals = append(vals, int8(i))
			}
			if i >= 0 && i <= math.MaxUint32 {
				vals = append(vals, uint32(i))
			}
			if i >= 0 && i <= math.MaxUint16 {
				vals = append(vals, uint16(i))
			}
			if i >= 0 && i <= math.MaxUint8 {
				vals = append(vals, uint8(i))
			}
		}
		if n.IsUint64() {
			vals = append(vals, n.Uint64(), uint(n.Uint64()))
		}
		for _, v := range vals {
			if got := pickleBody(t, v); got != tc.want {
				t.Errorf("%T %s: %s, want %s", v, tc.v, got, tc.want)
			}
		}
	}
}

// TestPicklerLong1Limit: LONG1 holds up to 255 bytes; CPython would use
// LONG4 beyond, which no reader here accepts.
func TestPicklerLong1Limit(t *testing.T) {
	one := big.NewInt(1)
	// -2**2039 takes 255 bytes once the redundant sign byte is dropped.
	v := new(big.Int).Neg(new(big.Int).Lsh(one, 2039))
	got := pickleBody(t, v)
	if !strings.HasPrefix(got, "8aff0000") || len(got) != 2*257 {
		t.Errorf("-2**2039: %s… (%d bytes), want LONG1 of 255 bytes", got[:10], len(got)/2)
	}
	for _, v := range []*big.Int{
		new(big.Int).Lsh(one, 2039),
		new(big.Int).Neg(new(big.Int).Lsh(one, 2040)),
	} {
		if err := newPickler().save(v, 0); err == nil || !strings.Contains(err.Error(), "too large") {
			t.Errorf("%d-bit int: error %v, want too large", v.BitLen(), err)
		}
	}
}

func TestPicklerFloats(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{
		{0, "470000000000000000"},
		{math.Copysign(0, -1), "478000000000000000"},
		{0.1, "473fb999999999999a"},
		{-2.5, "47c004000000000000"},
		{1e308, "477fe1ccf385ebc8a0"},
		{5e-324, "470000000000000001"},
		{math.Inf(1), "477ff0000000000000"},
		{math.Inf(-1), "47fff0000000000000"},
		{math.NaN(), "477ff8000000000000"},
	}
	for _, tc := range tests {
		if got := pickleBody(t, tc.v); got != tc.want {
			t.Errorf("%v: %s, want %s", tc.v, got, tc.want)
		}
	}
	if got := pickleBody(t, float32(-2.5)); got != "47c004000000000000" {
		t.Errorf("float32(-2.5): %s", got)
	}
}

func TestPicklerContainers(t *testing.T) {
	shared := NewDict()
	shared.Set("s", 1)
	tests := []struct {
		name string
		v    any
		want string
	}{
		// ["a", "a", "é✓𝔸", "", ""]: equal strings are memoized.
		{"strings", List{"a", "a", "é✓𝔸", "", ""},
			"5d710028580100000061710168015809000000c3a9e29c93f09d94b8710258000000007103680365"},
		// [(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4)]
		{"tuples", List{Tuple{}, Tuple{1}, Tuple{1, 2}, Tuple{1, 2, 3}, Tuple{1, 2, 3, 4}},
			"5d710028294b018571014b014b028671024b014b024b03877103284b014b024b034b0474710465"},
		// {1, 2, 3}
		{"set", Set{1, 2, 3},
			"635f5f6275696c74696e5f5f0a7365740a71005d7101284b014b024b0365857102527103"},
		// [None, True, False, {}, OrderedDict(), [], {"a": None}, OrderedDict(a=1)]
		{"misc", List{nil, true, false, NewDict(), &Dict{Class: classOrderedDict}, List{},
			&Dict{Map: ordered.Map[any, any]{Keys: []any{"a"}, Values: []any{nil}}},
			&Dict{Class: classOrderedDict, Map: ordered.Map[any, any]{Keys: []any{"a"}, Values: []any{1}}}},
			"5d7100284e88897d710163636f6c6c656374696f6e730a4f726465726564446963740a7102295271035d71047d710558010000006171064e7368022952710768064b017365"},
		// d = {"s": 1}; [d, d]: one object, pickled once.
		{"shared dict", List{shared, shared},
			"5d7100287d710158010000007371024b0173680165"},
	}
	for _, tc := range tests {
		if got := pickleBody(t, tc.v); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

func pickleHash(t *testing.T, v any) string {
	t.Helper()
	b, err := newPickler().dump(v)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:16])
}

// TestPicklerMemoLong: past 255 memo entries BINPUT becomes LONG_BINPUT.
// Hash of pickle.dumps([f"s{i}" for i in range(300)], 2).
func TestPicklerMemoLong(t *testing.T) {
	l := make(List, 300)
	for i := range l {
		l[i] = fmt.Sprintf("s%d", i)
	}
	b, err := newPickler().dump(l)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(b)
	if got := hex.EncodeToString(h[:]); got != "8d4b4afd2dbdda834352ee63c223b9792aa033fa3cdc9ea261bf3a92ebf17379" {
		t.Errorf("hash %s", got)
	}
	// A string memoized past 255 is fetched with LONG_BINGET.
	l = append(l, "s299")
	p := newPickler()
	if err := p.save(l, 0); err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(p.buf[len(p.buf)-6:]); got != "6a2c01000065" { // LONG_BINGET 300, APPENDS
		t.Errorf("tail %s, want LONG_BINGET 300 then APPENDS", got)
	}
}

// TestPicklerBatching compares CPython's SETITEMS/APPENDS batching for
// {f"k{i}": i}, OrderedDict of the same and list(range(n)): hashes (first
// 16 bytes of sha256) of the whole pickle.dumps(…, 2).
func TestPicklerBatching(t *testing.T) {
	tests := []struct {
		n                int
		dict, odict, lst string
	}{
		{0, "ad2598304a8af697d0c335a50a3e5a1b", "f415ed8a5f5414778834b70e68576b4c", "a4f82e84e67aa7b6f1c1c917b333fe0f"},
		{1, "d5a12b328bbf532fb8ae0bdf4e15894e", "177a3a4da00fb461f8e34ccc86b5a610", "da118804e50efaf4bdb75566536ff988"},
		{2, "186e0c061670d067cbd0667fd2fe3efb", "ded22c026bd1b0b8904766549d73f442", "1b90926fb83a3f9f5726d7b2a194f708"},
		{999, "ecd1ac22cad7616e8a7d6c6274788717", "d77b29fc15beefe43911d25642d27855", "574784f256dcc22b252bfea5bd148abd"},
		{1000, "4c419e623f3fffbd83f3105c3e637c5d", "8c6154e46f97293e6b325be218e6d1a1", "0938ccfe2af9f9700ba3df175870872d"},
		{1001, "5f7e312181dee612c435874e4e1ef897", "483776ab88c2cc8834f344a14175ac58", "ce66e289147d5c0923016225d5d7c546"},
		{1999, "3abe89e2a096c1799b6a5bb964cb6320", "b909c1236b4596a07454ead99bfeb197", "26927d26d41d28367eab60dfd087bfa2"},
		{2000, "82e667d9f2d86a69cc601829cd386754", "5bdc3f95b59c005b938d39fb308f6633", "fe5039a9b14dff1fe8df9bac9a0ad4a9"},
		{2001, "5056f11eb7cdb7bd74e039bfd0b59c8f", "507c30e20c87fb51ef1c95b9879d211b", "d401755777127c2204ef4bb8b7c230b2"},
		{3000, "3e4756c8bca14282a7e3fc0dd3912b40", "699bddd2c2ff7014ce507ab7187a8e0e", "3ad8a05a15420fb7ba866505dcb17b3f"},
	}
	for _, tc := range tests {
		d := NewDict()
		od := &Dict{Class: classOrderedDict}
		l := List{}
		for i := 0; i < tc.n; i++ {
			k := fmt.Sprintf("k%d", i)
			d.Keys, d.Values = append(d.Keys, k), append(d.Values, i)
			od.Keys, od.Values = append(od.Keys, k), append(od.Values, i)
			l = append(l, i)
		}
		if got := pickleHash(t, d); got != tc.dict {
			t.Errorf("dict of %d: %s, want %s", tc.n, got, tc.dict)
		}
		if got := pickleHash(t, od); got != tc.odict {
			t.Errorf("OrderedDict of %d: %s, want %s", tc.n, got, tc.odict)
		}
		if got := pickleHash(t, l); got != tc.lst {
			t.Errorf("list of %d: %s, want %s", tc.n, got, tc.lst)
		}
	}
}

func TestPicklerHashKey(t *testing.T) {
	same := [][]any{
		{1, int64(1), uint8(1), true, 1.0, float32(1), big.NewInt(1)},
		{0, false, 0.0, math.Copysign(0, -1)},
		{"a"},
		{Tuple{1, "a"}, Tuple{true, "a"}},
		{nil},
		{2.5, float32(2.5)},
		{new(big.Int).Lsh(big.NewInt(1), 70), math.Ldexp(1, 70)},
	}
	seen := map[string]int{}
	for g, group := range same {
		for _, k := range group {
			h, ok := hashKey(k)
			if !ok || h == "" {
				t.Fatalf("%T %v: not hashable", k, k)
			}
			if prev, dup := seen[h]; dup && prev != g {
				t.Errorf("%T %v collides with group %d", k, k, prev)
			}
			seen[h] = g
		}
	}
	for _, k := range []any{List{1}, Set{1}, NewDict(), Tuple{List{}}, []byte("a"), (*big.Int)(nil)} {
		if _, ok := hashKey(k); ok {
			t.Errorf("%T hashable", k)
		}
	}
	if h, ok := hashKey(math.NaN()); !ok || h != "" {
		t.Errorf("NaN: %q %v", h, ok)
	}
	// NaN keys never collide, as in Python.
	d := &Dict{Map: ordered.Map[any, any]{Keys: []any{math.NaN(), math.NaN()}, Values: []any{1, 2}}}
	if _, err := newPickler().dump(d); err != nil {
		t.Errorf("two NaN keys: %v", err)
	}
	if _, err := newPickler().dump(Set{1, true}); err == nil || !strings.Contains(err.Error(), "duplicate set element") {
		t.Errorf("Set{1, true}: %v", err)
	}
}
