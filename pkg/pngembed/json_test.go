package pngembed

import (
	"encoding/binary"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/embtool/embtool/pkg/tensor"
)

func mustParse(t *testing.T, s string) *Object {
	t.Helper()
	o, err := parseJSON([]byte(s))
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return o
}

func get(t *testing.T, o *Object, key string) any {
	t.Helper()
	v, ok := o.Get(key)
	if !ok {
		t.Fatalf("no key %q", key)
	}
	return v
}

func TestJSONValues(t *testing.T) {
	o := mustParse(t, ` { "n" : null , "t": true, "f": false, "i": -12, "x": 1.5e3, "e": 2E-2, "z": -0,
		"nan": NaN, "inf": Infinity, "ninf": -Infinity, "big": 1e400, "tiny": 1e-400,
		"s": "a\"b\\c\/d\b\f\n\r\t", "u": "caf\u00e9 \ud83d\ude00 \u00E9", "raw": "café 😀",
		"lone": "\ud800x", "list": [1, "a", [2.5, []], {}], "empty": [], "obj": {"k": [1, 2]}} `)
	wantKeys := []string{"n", "t", "f", "i", "x", "e", "z", "nan", "inf", "ninf", "big", "tiny", "s", "u", "raw", "lone", "list", "empty", "obj"}
	if !reflect.DeepEqual(o.Keys, wantKeys) {
		t.Fatalf("keys %q", o.Keys)
	}
	for key, want := range map[string]any{
		"n": nil, "t": true, "f": false, "i": -12.0, "x": 1500.0, "e": 0.02,
		"inf": math.Inf(1), "ninf": math.Inf(-1), "big": math.Inf(1), "tiny": 0.0,
		"s": "a\"b\\c/d\b\f\n\r\t", "u": "café 😀 é", "raw": "café 😀", "lone": "\uFFFDx",
		"list": []any{1.0, "a", []any{2.5, []any{}}, &Object{}}, "empty": []any{},
		"obj": &Object{Keys: []string{"k"}, Values: []any{[]any{1.0, 2.0}}},
	} {
		if got := get(t, o, key); !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", key, got, want)
		}
	}
	if z := get(t, o, "z").(float64); z != 0 || math.Signbit(z) {
		// Python: json.loads("-0") is the int 0.
		t.Errorf("-0 = %v", z)
	}
	if v := get(t, o, "nan").(float64); !math.IsNaN(v) {
		t.Errorf("NaN = %v", v)
	}
	if _, ok := o.Get("missing"); ok {
		t.Error("Get of a missing key succeeded")
	}
	// A UTF-8 byte-order mark is skipped, as json.loads(bytes) does.
	mustParse(t, "\xEF\xBB\xBF{}")
}

func TestJSONDuplicateKeys(t *testing.T) {
	// Python's dict(pairs): the first position, the last value.
	o := mustParse(t, `{"a": 1, "b": 2, "a": 3, "c": {"x": 1, "x": [2]}}`)
	if !reflect.DeepEqual(o.Keys, []string{"a", "b", "c"}) {
		t.Errorf("keys %q", o.Keys)
	}
	if v := get(t, o, "a"); v != 3.0 {
		t.Errorf("a = %v, want 3", v)
	}
	c := get(t, o, "c").(*Object)
	if !reflect.DeepEqual(c.Values, []any{[]any{2.0}}) {
		t.Errorf("c = %#v", c)
	}
	// The tensor key too: the last TORCHTENSOR is the one converted.
	o = mustParse(t, `{"t": {"TORCHTENSOR": [1.5], "TORCHTENSOR": [[1, 2]]}}`)
	tt := get(t, o, "t").(*tensor.Tensor)
	if tt.DType != tensor.I64 || !reflect.DeepEqual(tt.Shape, []int{1, 2}) {
		t.Errorf("tensor %s%v", tt.DType, tt.Shape)
	}
}

func i64s(t *testing.T, tt *tensor.Tensor) []int64 {
	t.Helper()
	out := make([]int64, len(tt.Data)/8)
	for i := range out {
		out[i] = int64(binary.LittleEndian.Uint64(tt.Data[8*i:]))
	}
	return out
}

func TestJSONTensors(t *testing.T) {
	for _, tc := range []struct {
		json  string
		dtype tensor.DType
		shape []int
		f64   []float64
		i64   []int64
	}{
		{`[[0.5, -1.0], [2.0, 3.25]]`, tensor.F64, []int{2, 2}, []float64{0.5, -1, 2, 3.25}, nil},
		{`[[1, 2, 3]]`, tensor.I64, []int{1, 3}, nil, []int64{1, 2, 3}},
		{`[1, 2.0]`, tensor.F64, []int{2}, []float64{1, 2}, nil},
		{`[1, 2e0]`, tensor.F64, []int{2}, []float64{1, 2}, nil},
		{`[[1], [2.5]]`, tensor.F64, []int{2, 1}, []float64{1, 2.5}, nil},
		{`[-9223372036854775808, 9223372036854775807]`, tensor.I64, []int{2}, nil, []int64{math.MinInt64, math.MaxInt64}},
		{`[1e0, 9223372036854775808]`, tensor.F64, []int{2}, []float64{1, 9223372036854775808}, nil},
		{`0.25`, tensor.F64, []int{}, []float64{0.25}, nil},
		{`-7`, tensor.I64, []int{}, nil, []int64{-7}},
		{`NaN`, tensor.F64, []int{}, []float64{math.NaN()}, nil},
		{`[]`, tensor.F64, []int{0}, []float64{}, nil},
		{`[[], []]`, tensor.F64, []int{2, 0}, []float64{}, nil},
		{`[[[1.0, Infinity]], [[-Infinity, NaN]]]`, tensor.F64, []int{2, 1, 2}, []float64{1, math.Inf(1), math.Inf(-1), math.NaN()}, nil},
	} {
		o := mustParse(t, `{"t": {"other": "ignored", "TORCHTENSOR": `+tc.json+`}}`)
		tt, ok := get(t, o, "t").(*tensor.Tensor)
		if !ok {
			t.Errorf("%s: not a tensor: %#v", tc.json, get(t, o, "t"))
			continue
		}
		if tt.DType != tc.dtype || len(tt.Shape) != len(tc.shape) || len(tc.shape) > 0 && !reflect.DeepEqual(tt.Shape, tc.shape) {
			t.Errorf("%s: %s%v, want %s%v", tc.json, tt.DType, tt.Shape, tc.dtype, tc.shape)
			continue
		}
		if tc.dtype == tensor.I64 {
			if got := i64s(t, tt); !reflect.DeepEqual(got, tc.i64) {
				t.Errorf("%s: %v", tc.json, got)
			}
			continue
		}
		got, _ := tt.Float64s()
		for i := range tc.f64 {
			g, w := got[i], tc.f64[i]
			if math.Float64bits(g) != math.Float64bits(w) && !(math.IsNaN(g) && math.IsNaN(w)) {
				t.Errorf("%s: [%d] = %v, want %v", tc.json, i, g, w)
			}
		}
		if len(got) != len(tc.f64) {
			t.Errorf("%s: %d values", tc.json, len(got))
		}
		if len(tc.f64) > 0 && math.IsNaN(tc.f64[len(tc.f64)-1]) {
			// NaN is stored canonically, as Python's float('nan').
			if b := binary.LittleEndian.Uint64(tt.Data[len(tt.Data)-8:]); b != 0x7FF8000000000000 {
				t.Errorf("%s: NaN bits %x", tc.json, b)
			}
		}
	}
	// A tensor at the root is not an object.
	if _, err := parseJSON([]byte(`{"TORCHTENSOR": [1.0]}`)); err == nil || !strings.Contains(err.Error(), "tensor, not an object") {
		t.Errorf("root tensor: %v", err)
	}
}

func TestJSONErrors(t *testing.T) {
	deep := strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)
	deepObj := strings.Repeat(`{"a":`, MaxDepth+1) + "1" + strings.Repeat("}", MaxDepth+1)
	okDeep := `{"a": ` + strings.Repeat("[", MaxDepth-1) + strings.Repeat("]", MaxDepth-1) + "}"
	mustParse(t, okDeep)
	for _, tc := range []struct{ json, want string }{
		{``, "end of document"},
		{`   `, "end of document"},
		{`[1]`, "array, not an object"},
		{`"s"`, "string, not an object"},
		{`3`, "number, not an object"},
		{`{} {}`, "extra data"},
		{`{"a" 1}`, "expected ':'"},
		{`{"a": 1,}`, "expected a string key"},
		{`{"a": [1,]}`, "expected a value"},
		{`{"a": [1 2]}`, "expected ',' or ']'"},
		{`{"a": 1 "b": 2}`, "expected ',' or '}'"},
		{`{a: 1}`, "expected a string key"},
		{`{"a": 01}`, "expected ',' or '}'"},
		{`{"a": 1.}`, "expected ',' or '}'"},
		{`{"a": .5}`, "expected a value"},
		{`{"a": +1}`, "expected a value"},
		{`{"a": -}`, "malformed number"},
		{`{"a": -NaN}`, "malformed number"},
		{`{"a": nan}`, "expected a value"},
		{`{"a": infinity}`, "expected a value"},
		{`{"a": tru}`, "expected a value"},
		{`{"a": "x`, "unterminated string"},
		{`{"a": "x\`, "unterminated string"},
		{"{\"a\": \"x\ny\"}", "control character"},
		{`{"a": "\x"}`, "invalid escape"},
		{`{"a": "\u12"}`, "invalid \\u escape"},
		{`{"a": "\u12G4"}`, "invalid \\u escape"},
		{`{"a": [1`, "unterminated array"},
		{`{"a": 1`, "unterminated object"},
		{"{\"a\": \"\xff\"}", "not valid UTF-8"},
		{"\xFF\xFE{\x00}\x00", "UTF-16"},
		{deep, "nesting deeper than"},
		{deepObj, "nesting deeper than"},
		{`{"t": {"TORCHTENSOR": [[1.0, 2.0], [3.0]]}}`, "ragged"},
		{`{"t": {"TORCHTENSOR": [[1.0, 2.0], 3.0]}}`, "ragged"},
		{`{"t": {"TORCHTENSOR": [1.0, [2.0]]}}`, "ragged"},
		{`{"t": {"TORCHTENSOR": [[1.0], [[2.0]]]}}`, "ragged"},
		{`{"t": {"TORCHTENSOR": [[[1.0]], [2.0]]}}`, "ragged"},
		{`{"t": {"TORCHTENSOR": [[1.0], []]}}`, "ragged"},
		{`{"t": {"TORCHTENSOR": ["a"]}}`, "non-numeric element (a string)"},
		{`{"t": {"TORCHTENSOR": [true]}}`, "non-numeric element (a boolean)"},
		{`{"t": {"TORCHTENSOR": [[1.0], [null]]}}`, "non-numeric"},
		{`{"t": {"TORCHTENSOR": null}}`, "non-numeric element (null)"},
		{`{"t": {"TORCHTENSOR": {"a": 1}}}`, "non-numeric element (an object)"},
		{`{"t": {"TORCHTENSOR": [{"TORCHTENSOR": 1.0}]}}`, "non-numeric element (a tensor)"},
		{`{"t": {"TORCHTENSOR": [1, 9223372036854775808]}}`, "out of int64 range"},
	} {
		_, err := parseJSON([]byte(tc.json))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.json, err, tc.want)
		}
	}
}

func TestJSONMaxElements(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a large document")
	}
	var b strings.Builder
	b.WriteString(`{"a": [`)
	for i := range MaxElements {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("0")
	}
	b.WriteString("]}")
	_, err := parseJSON([]byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("got %v, want the element cap", err)
	}
}
