// Package jsonstr writes the JSON values embtool writes by hand: strings
// the two ways it needs them, and floats.
//
// Strings as serde_json writes them (safetensors headers, which Rust
// readers parse and which embtool writes byte for byte as the reference
// implementation does), and as Go's encoding/json writes them with HTML
// escaping off (inspect --json, whose lines must be what encoding/json
// would write). Both escape '"', '\' and the control characters U+0000 to
// U+001F (as \b, \f, \n, \r, \t or \u00xx, lower-case hex); encoding/json
// also writes invalid UTF-8 as \ufffd and escapes U+2028 and U+2029.
// Floats in the shortest form that reads back as the same float64, and
// null where not finite (JSON has no NaN or Infinity).
//
// # Security
//
// Any byte string gives valid JSON in the encoding/json form; the serde
// form passes bytes of 0x80 and up through unchanged, which is valid JSON
// when the string is valid UTF-8 (the safetensors writer's callers check
// names and metadata before writing).
package jsonstr

import (
	"math"
	"strconv"
	"unicode/utf8"
)

const hex = "0123456789abcdef"

// AppendSerde appends s as serde_json writes a string: only '"', '\' and
// the control characters are escaped; '<', '>', '&', '/', DEL and
// non-ASCII are written as they are.
func AppendSerde(b []byte, s string) []byte { return appendString(b, s, false) }

// AppendGo appends s as encoding/json writes it with SetEscapeHTML(false).
func AppendGo(b []byte, s string) []byte { return appendString(b, s, true) }

func appendString(b []byte, s string, goForm bool) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf && goForm {
			r, size := utf8.DecodeRuneInString(s[i:])
			switch {
			case r == utf8.RuneError && size == 1:
				b = append(b, s[start:i]...)
				b = append(b, `\ufffd`...)
			case r == '\u2028' || r == '\u2029':
				b = append(b, s[start:i]...)
				b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			default:
				i += size
				continue
			}
			i += size
			start = i
			continue
		}
		if c >= 0x20 && c != '"' && c != '\\' {
			i++
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// AppendFloat appends x in the shortest form that reads back as the same
// float64, or null where x is not finite (JSON has no NaN or Infinity).
func AppendFloat(b []byte, x float64) []byte {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, x, 'g', -1, 64)
}
