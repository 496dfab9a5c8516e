package torchpt

import (
	"errors"
	"strings"
	"testing"
)

// The expected values below were produced by CPython 3.11.2's C
// unpickler (pickle.loads(b"S" + operand + b"\n.", encoding="utf-8"),
// pickle.loads(b"V" + operand + b"\n."), int(s, 10)), not by this code.

func TestStringText(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"'abc'", "abc", true},
		{"\"a'b\"", "a'b", true},
		{"'\\x41\\n\\t'", "A\n\t", true},
		{"'\\101'", "A", true},
		{"'\\1012'", "A2", true},
		{"'\\400'", "\u0000", true},
		{"'\\q'", "\\q", true},
		{"'\\8'", "\\8", true},
		{"'\\a\\b\\f\\v'", "\u0007\b\f\u000b", true},
		{"'\\\\'", "\\", true},
		{"'\\''", "'", true},
		{"'a\\'", "", false},  // ValueError: trailing backslash
		{"'\\x4'", "", false}, // ValueError: invalid \x escape
		{"'abc", "", false},   // not quoted
		{"abc", "", false},
		{"'\\777'", "", false}, // 0xff is not UTF-8
		{"'\xc3\xa9'", "é", true},
		{"''", "", true},
	} {
		got, r := stringText([]byte(tc.in))
		if ok := r.verdict == textOK; ok != tc.ok || got != tc.want {
			t.Errorf("STRING %q: %q (verdict %d %s), want %q ok=%v", tc.in, got, r.verdict, r.why, tc.want, tc.ok)
		}
		if !tc.ok && r.verdict != textRefused {
			t.Errorf("STRING %q: verdict %d, want refused (CPython raises)", tc.in, r.verdict)
		}
	}
}

func TestUnicodeText(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"abc", "abc", true},
		{"a\\", "a\\", true},
		{"\\\\u0041", "\\\\u0041", true},
		{"\\\\\\u0041", "\\\\A", true},
		{"\\q", "\\q", true},
		{"\\u00e9x", "éx", true},
		{"\\u00zz", "", false},
		{"\\U0001F600", "😀", true},
		{"\\U00110000", "", false},
		{"\xe9", "é", true},
		{"\\u004", "", false},
		{"pos\\u0069x", "posix", true},
	} {
		got, r := unicodeText([]byte(tc.in))
		if ok := r.verdict == textOK; ok != tc.ok || got != tc.want {
			t.Errorf("UNICODE %q: %q (verdict %d %s), want %q ok=%v", tc.in, got, r.verdict, r.why, tc.want, tc.ok)
		}
	}
	// A lone surrogate stays distinct from U+FFFD.
	if a, _ := unicodeText([]byte("\\ud800")); a == "\ufffd" || a == "" {
		t.Errorf("surrogate decoded to %q", a)
	}
}

// TestMemoIndexText: only the canonical spelling is read; every other
// spelling int(s, 10) accepts is ambiguous, and one it refuses is an error.
func TestMemoIndexText(t *testing.T) {
	for in, want := range map[string]uint64{"0": 0, "10": 10, "4294967295": 1<<32 - 1} {
		if v, r := memoIndexText([]byte(in)); r.verdict != textOK || v != want {
			t.Errorf("%q: %d %v", in, v, r)
		}
	}
	// int(s, 10): 10, 10, 10, 10, 10, 0; "1\x000" is 1 for the C parser.
	for _, in := range []string{"1_0", "010", " 10", "10 ", "+10", "-0", "1\x000", "-1"} {
		if _, r := memoIndexText([]byte(in)); r.verdict != textAmbiguous {
			t.Errorf("%q: verdict %d, want ambiguous", in, r.verdict)
		}
	}
	// int(s, 10) raises ("0x1" too, which the scan calls ambiguous: it
	// has digits, and embtool does not model every way to refuse them).
	for _, in := range []string{"x", "", "\x001"} {
		if _, r := memoIndexText([]byte(in)); r.verdict != textRefused {
			t.Errorf("%q: verdict %d, want refused", in, r.verdict)
		}
	}
}

func TestNumberText(t *testing.T) {
	ok := map[byte][]string{
		'I': {"0", "1", "-5", "01", "00", "123456789012345678901234567890"},
		'L': {"0L", "-12L", "12345678901234567890L"},
		'F': {"1.5", "-0.0", "1e+100", "2.5e-05", "inf", "-inf", "nan", "3"},
	}
	for op, list := range ok {
		for _, in := range list {
			if r := numberText(op, []byte(in)); r.verdict != textOK {
				t.Errorf("%c%q: %v", op, in, r)
			}
		}
	}
	// Spellings CPython reads (strtol base 0, int() with underscores or
	// spaces, a NUL where the C parser stops) but not canonical.
	amb := map[byte][]string{
		'I': {"0x10", "010", "1_0", " 5", "5 ", "+5", "-0", "\x00", "5\x00junk", "1L"},
		'L': {"12", "1_0L", "0x10L", " 1L", "12\x00L"},
		'F': {"1_0.5", " 1.5", "1.", ".5", "1E5", "Infinity", "1.5\x00x"},
	}
	for op, list := range amb {
		for _, in := range list {
			if r := numberText(op, []byte(in)); r.verdict != textAmbiguous {
				t.Errorf("%c%q: verdict %d, want ambiguous", op, in, r.verdict)
			}
		}
	}
	for op, in := range map[byte]string{'I': "abc", 'L': "L", 'F': "\x00"} {
		if r := numberText(op, []byte(in)); r.verdict != textRefused {
			t.Errorf("%c%q: verdict %d, want refused", op, in, r.verdict)
		}
	}
}

func TestModuleNameText(t *testing.T) {
	cases := map[string]textVerdict{
		"posix": textOK, "torch._utils": textOK,
		"os\x00": textAmbiguous, "posix\x00junk": textAmbiguous, // "os\x00" imports the frozen os
		"": textRefused, "\x01\x00\x00": textRefused, "{\x00": textRefused,
	}
	for in, want := range cases {
		if r := moduleNameText(in); r.verdict != want {
			t.Errorf("%q: verdict %d, want %d", in, r.verdict, want)
		}
	}
}

// TestScanAmbiguous: the scanner stops at an ambiguous operand with an
// unsafe finding that names the offset and what CPython would read.
func TestScanAmbiguous(t *testing.T) {
	for name, tc := range map[string]struct {
		p    []byte
		want []string
	}{
		"PUT 1_0":          {tpPickle().raw('N').raw([]byte("p1_0\n")...).stop(), []string{"offset 3", "PUT", "ambiguous", `"1_0"`}},
		"GET 1_0":          {tpPickle().raw('N').raw([]byte("p10\ng1_0\n")...).stop(), []string{"offset 7", "GET", "ambiguous"}},
		"INT 0x10":         {tpPickle().raw([]byte("I0x10\n")...).stop(), []string{"INT", "ambiguous", "strtol"}},
		"UNICODE straddle": {tpBare().raw(0x80, 4, 0x95, 3, 0, 0, 0, 0, 0, 0, 0).raw([]byte("Vab\n")...).stop(), []string{"offset 11", "UNICODE", "frame", "offset 14"}},
		"STOP in frame":    {tpBare().raw(0x80, 4, 0x95, 4, 0, 0, 0, 0, 0, 0, 0, 'N', '.', 'N', 'N').bytes(), []string{"STOP leaves 2 bytes of the frame"}},
		"FRAME in frame":   {tpBare().raw(0x80, 4, 0x95, 10, 0, 0, 0, 0, 0, 0, 0, 0x95, 1, 0, 0, 0, 0, 0, 0, 0, 'N', '.').bytes(), []string{"offset 11", "FRAME inside an unfinished frame"}},
	} {
		res, err := Scan(tc.p, "t")
		var ue *UnsafeError
		if !errors.As(err, &ue) || len(res.Findings) == 0 {
			t.Errorf("%s: err %v, findings %v; want an ambiguous finding", name, err, res.Findings)
			continue
		}
		msg := res.Findings[len(res.Findings)-1].String()
		for _, w := range tc.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: %q does not contain %q", name, msg, w)
			}
		}
	}
	// Frames that end at opcode boundaries are fine, FRAME right at the end
	// of the previous one too.
	ok := tpBare().raw(0x80, 4, 0x95, 2, 0, 0, 0, 0, 0, 0, 0, 'N', '0', 0x95, 2, 0, 0, 0, 0, 0, 0, 0, 'N', '.')
	if _, err := Scan(ok.bytes(), "t"); err != nil {
		t.Errorf("consecutive frames: %v", err)
	}
}
