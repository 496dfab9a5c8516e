package safetensors

import (
	"strings"
	"testing"

	"github.com/embtool/embtool/internal/jsonstr"
)

func TestParseString(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{`""`, "", ""},
		{`"plain"`, "plain", ""},
		{`"a\"b\\c\/d"`, `a"b\c/d`, ""},
		{`"\b\f\n\r\t"`, "\b\f\n\r\t", ""},
		{`"\u0000\u001F\u00e9\u00E9"`, "\x00\x1féé", ""},
		{`"\ud83d\ude00x"`, "😀x", ""},
		{`"\uD83D\uDE00"`, "😀", ""},
		{`"é😀"`, "é😀", ""},
		{`"abc`, "", "unterminated string"},
		{`"abc\`, "", "unterminated string"},
		{"\"a\tb\"", "", "control character 0x09"},
		{`"\a"`, "", `invalid escape \a`},
		{`"\u00g0"`, "", `invalid \u escape`},
		{`"\ud83d"`, "", `lone surrogate \ud83d`},
		{`"\ud83dx"`, "", `lone surrogate \ud83d`},
		{`"\ud83d\n"`, "", `lone surrogate \ud83d`},
		{`"\ude00"`, "", `lone surrogate \ude00`},
	}
	for _, tt := range tests {
		p := &parser{b: []byte(tt.in)}
		got, err := p.str()
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("str(%s) = %q, %v; want error %q", tt.in, got, err, tt.err)
		case tt.err == "" && (err != nil || got != tt.want || p.i != len(tt.in)):
			t.Errorf("str(%s) = %q, %v (at %d); want %q", tt.in, got, err, p.i, tt.want)
		}
	}
}

func TestParseNumber(t *testing.T) {
	tests := []struct {
		in    string
		isInt bool
		err   string
	}{
		{"0", true, ""}, {"-0", true, ""}, {"123", true, ""}, {"-5", true, ""},
		{"1.5", false, ""}, {"1e5", false, ""}, {"1E+5", false, ""}, {"-1.5e-5", false, ""},
		{"1e-400", false, ""}, {"123456789012345678901234567890", true, ""},
		{"1e400", false, "out of range"}, {"-1e400", false, "out of range"},
		{"1" + strings.Repeat("0", 400), true, "out of range"},
		{"01", false, "leading zero"}, {"1.", false, "no digits after '.'"}, {"1e", false, "no digits in exponent"},
		{"-", false, "invalid number"}, {".5", false, "invalid number"},
	}
	for _, tt := range tests {
		p := &parser{b: []byte(tt.in)}
		tok, isInt, err := p.number()
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("number(%s) = %q, %v; want error %q", tt.in, tok, err, tt.err)
		case tt.err == "" && (err != nil || tok != tt.in || isInt != tt.isInt):
			t.Errorf("number(%s) = %q, %v, %v; want int=%v", tt.in, tok, isInt, err, tt.isInt)
		}
	}
}

// TestEscapeRoundTrip checks that what Write escapes, Open decodes back,
// for every ASCII character and some others.
func TestEscapeRoundTrip(t *testing.T) {
	var all []string
	for c := range 128 {
		all = append(all, "x"+string(rune(c))+"y")
	}
	all = append(all, "", "é", "😀", "\u2028\u2029", "<>&", "\uFFFD", strings.Repeat(`\"`, 10))
	for _, s := range all {
		enc := jsonstr.AppendSerde(nil, s)
		for _, c := range enc {
			if c < 0x20 {
				t.Fatalf("encoding of %q contains raw control character 0x%02x", s, c)
			}
		}
		p := &parser{b: enc}
		got, err := p.str()
		if err != nil || got != s || p.i != len(enc) {
			t.Errorf("%q encodes as %s, decodes as %q, %v", s, enc, got, err)
		}
	}
	if got := string(jsonstr.AppendSerde(nil, "\x01\x1f\x7f")); got != `"\u0001\u001f`+"\x7f"+`"` {
		t.Errorf("control escapes = %s, want lower-case \\u00xx and DEL as is", got)
	}
}
