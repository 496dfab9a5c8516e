package embedding

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func ehInt(i int) *int { return &i }

func TestParseSlice(t *testing.T) {
	tests := []struct {
		text              string
		index             *int
		start, stop, step *int
		err               string
	}{
		{text: "[3]", index: ehInt(3)},
		{text: "[-1]", index: ehInt(-1)},
		{text: "[+2]", index: ehInt(2)},
		{text: "[ 4 ]", index: ehInt(4)},
		{text: "[2:5]", start: ehInt(2), stop: ehInt(5)},
		{text: "[-2:]", start: ehInt(-2)},
		{text: "[:4]", stop: ehInt(4)},
		{text: "[:]"},
		{text: "[::]"},
		{text: "[::2]", step: ehInt(2)},
		{text: "[::-1]", step: ehInt(-1)},
		{text: "[ 1 : 3 : 1 ]", start: ehInt(1), stop: ehInt(3), step: ehInt(1)},
		{text: "[50:51]", start: ehInt(50), stop: ehInt(51)},
		{text: "[]", err: "empty"},
		{text: "[ ]", err: "empty"},
		{text: "[a]", err: "not an integer"},
		{text: "[1.5]", err: "not an integer"},
		{text: "[1:2:3:4]", err: "more than two colons"},
		{text: "[::0]", err: "step cannot be zero"},
		{text: "2:3", err: "brackets"},
		{text: "[1:2", err: "brackets"},
		{text: "]", err: "brackets"},
		{text: "", err: "brackets"},
		{text: "[99999999999999999999]", err: "not an integer"},
		{text: "[2199023255553]", err: "not an integer"},
	}
	eq := func(a, b *int) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }
	for _, tc := range tests {
		s, err := ParseSlice(tc.text)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseSlice(%q) error %v, want %q", tc.text, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseSlice(%q): %v", tc.text, err)
			continue
		}
		if s.Text != tc.text || !eq(s.Index, tc.index) || !eq(s.Start, tc.start) || !eq(s.Stop, tc.stop) || !eq(s.Step, tc.step) {
			t.Errorf("ParseSlice(%q) = %+v", tc.text, s)
		}
	}
}

// ehPyRows is Python's list(range(n))[s]: slice.indices then range, or
// the index, the reference for Rows. ok is false where Python raises
// IndexError or the selection is empty.
func ehPyRows(s *Slice, n int) (rows []int, ok bool) {
	if s.Index != nil {
		i := *s.Index
		if i < 0 {
			i += n
		}
		if i < 0 || i >= n {
			return nil, false
		}
		return []int{i}, true
	}
	step := 1
	if s.Step != nil {
		step = *s.Step
	}
	// CPython's PySlice_Unpack and PySlice_AdjustIndices.
	adjust := func(p *int, def int) int {
		if p == nil {
			return def
		}
		v := *p
		if v < 0 {
			v += n
			if v < 0 {
				if step < 0 {
					return -1
				}
				return 0
			}
		} else if v >= n {
			if step < 0 {
				return n - 1
			}
			return n
		}
		return v
	}
	var start, stop int
	if step > 0 {
		start, stop = adjust(s.Start, 0), adjust(s.Stop, n)
	} else {
		start, stop = adjust(s.Start, n-1), adjust(s.Stop, -1)
	}
	for i := start; step > 0 && i < stop || step < 0 && i > stop; i += step {
		rows = append(rows, i)
	}
	return rows, len(rows) > 0
}

// ehCheckRows holds Rows to the Python reference on n rows.
func ehCheckRows(t *testing.T, s *Slice, n int) {
	t.Helper()
	got, err := s.Rows(n)
	want, ok := ehPyRows(s, n)
	if !ok {
		if err == nil {
			t.Errorf("%s on %d rows = %v, want an error", s.Text, n, got)
		}
		return
	}
	if err != nil {
		t.Errorf("%s on %d rows: %v; want %v", s.Text, n, err, want)
		return
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s on %d rows = %v, want %v", s.Text, n, got, want)
	}
	for _, r := range got {
		if r < 0 || r >= n {
			t.Errorf("%s on %d rows selects %d", s.Text, n, r)
		}
	}
}

// TestSliceRows compares Rows with Python's slicing for every slice with
// parts in -8..8 (or omitted) over 0..7 rows.
func TestSliceRows(t *testing.T) {
	parts := []string{""}
	for i := -8; i <= 8; i++ {
		parts = append(parts, strconv.Itoa(i))
	}
	for n := 0; n <= 7; n++ {
		for _, a := range parts {
			if a != "" {
				s, err := ParseSlice("[" + a + "]")
				if err != nil {
					t.Fatal(err)
				}
				ehCheckRows(t, s, n)
			}
			for _, b := range parts {
				for _, c := range parts {
					text := "[" + a + ":" + b + ":" + c + "]"
					if c == "0" {
						continue
					}
					s, err := ParseSlice(text)
					if err != nil {
						t.Fatalf("%s: %v", text, err)
					}
					ehCheckRows(t, s, n)
				}
				s, err := ParseSlice("[" + a + ":" + b + "]")
				if err != nil {
					t.Fatal(err)
				}
				ehCheckRows(t, s, n)
			}
		}
	}
	// Far out of range.
	for _, text := range []string{"[-1099511627776:]", "[:1099511627776]", "[1099511627776::-1]", "[::1099511627776]", "[::-1099511627776]"} {
		s, err := ParseSlice(text)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{0, 1, 5} {
			ehCheckRows(t, s, n)
		}
	}
}

func TestSplitSliceArg(t *testing.T) {
	dir := t.TempDir()
	literal := filepath.Join(dir, "weird[1].pt]")
	if err := os.WriteFile(literal, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		arg, path, slice, err string
	}{
		{arg: "FastNegativeV2.pt[50:51]", path: "FastNegativeV2.pt", slice: "[50:51]"},
		{arg: "EasyNegative.safetensors[:4]", path: "EasyNegative.safetensors", slice: "[:4]"},
		{arg: "dir/a[b].pt[-1]", path: "dir/a[b].pt", slice: "[-1]"},
		{arg: "plain.pt", path: "plain.pt"},
		{arg: literal, path: literal},
		{arg: "[1:2]", err: "no such file"},
		{arg: "x.pt]", err: "no such file"},
		{arg: "x.pt[a]", err: "not an integer"},
		{arg: "x.pt[::0]", err: "zero"},
	}
	for _, tc := range tests {
		path, s, err := SplitSliceArg(tc.arg)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("SplitSliceArg(%q) error %v, want %q", tc.arg, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("SplitSliceArg(%q): %v", tc.arg, err)
			continue
		}
		got := ""
		if s != nil {
			got = s.Text
		}
		if path != tc.path || got != tc.slice {
			t.Errorf("SplitSliceArg(%q) = %q, %q; want %q, %q", tc.arg, path, got, tc.path, tc.slice)
		}
	}
}

// FuzzSliceParse: ParseSlice and SplitSliceArg never panic, and a slice
// that parses selects exactly what Python selects from n rows, all within
// [0, n).
func FuzzSliceParse(f *testing.F) {
	for _, s := range []string{"[2:5]", "[-2:]", "[3]", "[::2]", "[::-1]", "[-1]", "[50:51]", "a.pt[1:]", "[1:2:3]",
		"[ -3 : : -2 ]", "[+1]", "[:]", "[]", "[::0]", "x]", "[0x10]", "[1_0]", "[-1099511627776:1099511627776:-7]"} {
		f.Add(s, uint16(8))
	}
	f.Fuzz(func(t *testing.T, text string, n16 uint16) {
		if len(text) > 256 {
			return
		}
		n := int(n16 % 4096)
		if path, s, err := SplitSliceArg(text); err == nil && s != nil {
			if !strings.HasSuffix(text, s.Text) || path+s.Text != text {
				t.Errorf("SplitSliceArg(%q) = %q + %q", text, path, s.Text)
			}
		}
		s, err := ParseSlice(text)
		if err != nil {
			return
		}
		if s.Step != nil && *s.Step == 0 {
			t.Fatalf("ParseSlice(%q) accepted step 0", text)
		}
		ehCheckRows(t, s, n)
	})
}
