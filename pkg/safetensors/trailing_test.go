package safetensors

import (
	"errors"
	"strings"
	"testing"
)

// oneU8 is a header with one 1-byte tensor; tests append padding to it.
const oneU8 = `{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`

// TestHeaderPadding checks the bytes after the header object inside the
// declared header length against serde_json::from_str, which the reference
// reader (safetensors read_metadata) calls on the whole N bytes: after the
// value it skips b' ', b'\n', b'\t', b'\r' (Deserializer::parse_whitespace)
// and fails with TrailingCharacters on any other byte.
func TestHeaderPadding(t *testing.T) {
	tests := []struct {
		name    string
		pad     string
		wantErr string // "" when the reference reader accepts the file
	}{
		{"none", "", ""},
		{"spaces, as the reference writer pads", "       ", ""},
		{"tab", "\t", ""},
		{"LF", "\n", ""},
		{"CR LF", "\r\n", ""},
		{"all four", " \t\n\r", ""},
		{"one NUL", "\x00", `offset 61: header: unexpected '\x00' after the header object`},
		{"NULs", "\x00\x00\x00\x00\x00\x00\x00", `offset 61: header: unexpected '\x00'`},
		{"space then NUL", "   \x00", `offset 64: header: unexpected '\x00'`},
		{"NUL then spaces", "\x00   ", `offset 61: header: unexpected '\x00'`},
		{"NUL then a second header", "\x00" + `{"b":{}}`, `offset 61: header: unexpected '\x00'`},
		{"vertical tab", "\v", `unexpected '\v'`},
		{"form feed", "\f", `unexpected '\f'`},
		{"no-break space", "\u00a0", `unexpected '\u00a0'`},
		{"BOM", "\ufeff", `unexpected '\ufeff'`},
		{"DEL", "\x7f", `unexpected '\x7f'`},
		{"comment", " // x", `unexpected '/'`},
		{"second value", " 1", `unexpected a number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := file(oneU8+tt.pad, []byte{7})
			f, err := openBytes(b)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Open: %v; the reference reader accepts %q after the header", err, tt.pad)
				}
				if got := f.headerLen(); got != uint64(len(oneU8)+len(tt.pad)) {
					t.Errorf("headerLen = %d, want %d", got, len(oneU8)+len(tt.pad))
				}
				return
			}
			if err == nil {
				t.Fatalf("Open accepted %q after the header; serde_json refuses trailing characters", tt.pad)
			}
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q, want ErrFormat mentioning %q", err, tt.wantErr)
			}
		})
	}
}

// TestHeaderNULInsideValue checks that a NUL byte is not read as the end of
// input anywhere in the JSON, not only after it.
func TestHeaderNULInsideValue(t *testing.T) {
	for _, hdr := range []string{
		"\x00" + oneU8,
		`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}` + "\x00}",
		`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]` + "\x00}}",
		`{"a":{"dtype":"U8","shape":[1` + "\x00],\"data_offsets\":[0,1]}}",
		`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"x":` + "\x00}}",
		`{"a"` + "\x00" + `:{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`,
		"{\"a\x00\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
	} {
		if _, err := openBytes(file(hdr, []byte{7})); err == nil || !errors.Is(err, ErrFormat) {
			t.Errorf("header %q: Open error %v, want ErrFormat", hdr, err)
		}
	}
}

// TestHeaderJSONEdges covers the other places a JSON reader could differ
// from serde_json (version 1.0.x, as the safetensors crate uses it, read
// from its de.rs/read.rs): each input is accepted only where serde_json and
// the reference's serde types accept it, and refused where they refuse it
// or where the outcome depends on float rounding.
func TestHeaderJSONEdges(t *testing.T) {
	withX := func(v string) string {
		return `{"a":{"x":` + v + `,"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`
	}
	tests := []struct {
		name, hdr string
		wantErr   string
	}{
		// Whitespace before the value is skipped by serde_json too.
		{"leading whitespace", " \t\r\n" + oneU8, ""},
		{"leading NUL", "\x00" + oneU8, `not a JSON object: found '\x00'`},
		{"leading BOM", "\ufeff" + oneU8, `not a JSON object: found '\ufeff'`},
		// Numbers in fields the reference ignores are still parsed by
		// serde_json (the flattened map buffers them as serde Content).
		{"ignored 1e2", withX("1e2"), ""},
		{"ignored -0", withX("-0"), ""},
		{"ignored 1e-400 (underflows to 0 in both)", withX("1e-400"), ""},
		{"ignored 0e999999999999 (zero)", withX("0e999999999999"), ""},
		{"ignored 1e307", withX("1e307"), ""},
		{"ignored 2^64 (a float to serde_json)", withX("18446744073709551616"), ""},
		{"ignored 1e400", withX("1e400"), "out of range"},
		{"ignored 1e308 (rounding-dependent)", withX("1e308"), "too close to the float64 limit"},
		{"ignored 1.7976931348623157e308", withX("1.7976931348623157e308"), "too close to the float64 limit"},
		{"ignored -1.7976931348623157e308", withX("-1.7976931348623157e308"), "too close to the float64 limit"},
		{"ignored 17976931348623157 then 292 zeros", withX("17976931348623157" + strings.Repeat("0", 292)), "too close to the float64 limit"},
		{"ignored leading zero", withX("01"), "leading zero"},
		{"ignored +1", withX("+1"), "expected a JSON value"},
		{"ignored NaN", withX("NaN"), "expected a JSON value"},
		{"ignored Infinity", withX("Infinity"), "expected a JSON value"},
		{"ignored hex", withX("0x10"), "expected ',' or '}'"},
		// Offsets and shapes are usize to serde: only plain non-negative
		// integers up to 2^64-1.
		{"shape 1e0", `{"a":{"dtype":"U8","shape":[1e0],"data_offsets":[0,1]}}`, "not a non-negative integer"},
		{"offset 1.0", `{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1.0]}}`, "not a non-negative integer"},
		{"offset -0", `{"a":{"dtype":"U8","shape":[0],"data_offsets":[-0,0]}}`, "not a non-negative integer"},
		{"offset 00", `{"a":{"dtype":"U8","shape":[1],"data_offsets":[00,1]}}`, "leading zero"},
		// Strings: escapes are decoded before keys are matched, as serde does.
		{"escaped field names", `{"a":{"dty\u0070e":"U8","\u0073hape":[1],"data_offsets":[0,1]}}`, ""},
		{"escaped dtype", `{"a":{"dtype":"\u00558","shape":[1],"data_offsets":[0,1]}}`, ""},
		{"duplicate after unescaping", `{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"\u0061":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, `duplicate key "a"`},
		{"escaped __metadata__ twice", `{"__metadata__":{},"__metadat\u0061__":{}}`, `duplicate key "__metadata__"`},
		{"raw DEL in key", "{\"a\x7f\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", ""},
		{"raw tab in key", "{\"a\t\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", "control character 0x09"},
		{"escaped NUL in key", `{"a\u0000":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, ""},
		// Nesting: serde_json's limit is 128 levels counting the header.
		{"127 levels", withX(strings.Repeat("[", 125) + strings.Repeat("]", 125)), ""},
		{"128 levels", withX(strings.Repeat("[", 126) + strings.Repeat("]", 126)), "nested deeper than 127 levels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := openBytes(file(tt.hdr, []byte{7}))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Open: %v; serde_json and the reference accept this header", err)
				}
				if len(f.Tensors()) != 1 {
					t.Fatalf("%d tensors, want 1", len(f.Tensors()))
				}
				return
			}
			if err == nil {
				t.Fatalf("Open accepted %q, want an error mentioning %q", tt.hdr, tt.wantErr)
			}
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q, want ErrFormat mentioning %q", err, tt.wantErr)
			}
		})
	}
}
