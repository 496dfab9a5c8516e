package cliptok

import "testing"

// invalidCharref is CPython's html._invalid_charrefs (this table is
// printed from CPython 3.11's html module), and nothing else.
func TestInvalidCharref(t *testing.T) {
	want := map[rune]string{
		0x00: "\ufffd", 0x0d: "\u000d", 0x80: "\u20ac", 0x81: "\u0081", 0x82: "\u201a", 0x83: "\u0192", 0x84: "\u201e",
		0x85: "\u2026", 0x86: "\u2020", 0x87: "\u2021", 0x88: "\u02c6", 0x89: "\u2030", 0x8a: "\u0160", 0x8b: "\u2039",
		0x8c: "\u0152", 0x8d: "\u008d", 0x8e: "\u017d", 0x8f: "\u008f", 0x90: "\u0090", 0x91: "\u2018", 0x92: "\u2019",
		0x93: "\u201c", 0x94: "\u201d", 0x95: "\u2022", 0x96: "\u2013", 0x97: "\u2014", 0x98: "\u02dc", 0x99: "\u2122",
		0x9a: "\u0161", 0x9b: "\u203a", 0x9c: "\u0153", 0x9d: "\u009d", 0x9e: "\u017e", 0x9f: "\u0178",
	}
	for r := rune(-1); r <= 0x10ffff+1; r++ {
		got, ok := invalidCharref(r)
		w, wok := want[r]
		if ok != wok || got != w {
			t.Errorf("invalidCharref(%#x) = %q, %v; want %q, %v", r, got, ok, w, wok)
		}
	}
}

// upperSpecial: CPython's str.upper() of each character it covers.
func TestUpperSpecial(t *testing.T) {
	for r, want := range map[rune]string{'ß': "SS", 'ŉ': "ʼN", 'ǰ': "J̌", 'ﬀ': "FF", 'ﬁ': "FI", 'ﬂ': "FL", 'ﬃ': "FFI", 'ﬄ': "FFL", 'a': "", 'ẞ': ""} {
		if got := upperSpecial(r); got != want {
			t.Errorf("upperSpecial(%q) = %q, want %q", r, got, want)
		}
	}
}
