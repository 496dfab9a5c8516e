package torchpt

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Text operands (protocol 0: INT, LONG, FLOAT, PUT, GET, STRING, UNICODE,
// GLOBAL, INST) are read by CPython's C unpickler with strtol, int() and
// the escape decoders, which accept many spellings of one value ("1_0",
// " 10", "0x0a", "10\x00junk"). embtool reads only the canonical form the
// pickler writes; any other spelling CPython accepts is reported as
// ambiguous, and a spelling CPython refuses is a plain format error, since
// the unpickler stops there too.

// textVerdict says how a text operand reads.
type textVerdict uint8

const (
	textOK        textVerdict = iota // canonical: embtool reads what CPython reads
	textRefused                      // CPython raises an error on it
	textAmbiguous                    // CPython accepts a spelling embtool does not follow
)

// textResult is a text operand's verdict, with what it means.
type textResult struct {
	verdict textVerdict
	why     string
}

var textCanonical = textResult{}

func textRefuse(format string, args ...any) textResult {
	return textResult{textRefused, fmt.Sprintf(format, args...)}
}

func textAmbig(format string, args ...any) textResult {
	return textResult{textAmbiguous, fmt.Sprintf(format, args...)}
}

// cString is b up to its first NUL byte.
func cString(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

func hasDigit(b []byte) bool {
	return bytes.ContainsAny(b, "0123456789")
}

// isCanonicalDecimal is -?(0|[1-9][0-9]*) when signed, else (0|[1-9][0-9]*).
func isCanonicalDecimal(b []byte, signed bool) bool {
	if signed && len(b) > 0 && b[0] == '-' {
		b = b[1:]
		if len(b) == 1 && b[0] == '0' {
			return false // "-0"
		}
	}
	if len(b) == 0 || (b[0] == '0' && len(b) > 1) {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// numberText judges the operand of INT, LONG or FLOAT (without its '\n').
// The value itself never matters to the scan; only whether CPython reads
// the same thing.
func numberText(op byte, line []byte) textResult {
	var ok bool
	switch op {
	case 'I':
		// Booleans are I01 / I00 (CPython: a 2-character operand of value
		// 0 or 1 is a bool), ints -?[1-9][0-9]* or 0.
		ok = string(line) == "01" || string(line) == "00" || isCanonicalDecimal(line, true)
	case 'L':
		ok = bytes.HasSuffix(line, []byte("L")) && isCanonicalDecimal(line[:len(line)-1], true)
	case 'F':
		ok = isCanonicalFloat(line)
	}
	// CPython's C parsers see the text up to the first NUL.
	text := cString(line)
	switch {
	case ok:
		return textCanonical
	case len(line) == 0:
		return textRefuse("empty operand")
	case op == 'I' && len(text) == 0:
		// strtol converts nothing and stops at the NUL: CPython reads 0.
		return textAmbig("operand %q starts with a NUL byte, which CPython reads as 0", line)
	case !hasDigit(text) && !(op == 'F' && containsFold(text, "inf", "nan")):
		return textRefuse("operand %q is not a number", line)
	case len(text) < len(line):
		return textAmbig("operand %q holds a NUL byte, where CPython's C parser stops reading", line)
	}
	return textAmbig("operand %q is not the canonical spelling, which CPython may still read as a number (strtol base 0, int() with underscores or spaces)", line)
}

func containsFold(b []byte, words ...string) bool {
	l := strings.ToLower(string(b))
	for _, w := range words {
		if strings.Contains(l, w) {
			return true
		}
	}
	return false
}

// isCanonicalFloat is repr(float): -?digits[.digits][e[+-]digits], inf,
// -inf or nan.
func isCanonicalFloat(b []byte) bool {
	s := string(b)
	switch s {
	case "inf", "-inf", "nan":
		return true
	}
	s = strings.TrimPrefix(s, "-")
	mant, exp, hasExp := strings.Cut(s, "e")
	whole, frac, hasFrac := strings.Cut(mant, ".")
	if !allDigits(whole) || whole == "" || (hasFrac && !allDigits(frac)) || (hasFrac && frac == "") {
		return false
	}
	if hasExp {
		if len(exp) > 0 && (exp[0] == '+' || exp[0] == '-') {
			exp = exp[1:]
		}
		if exp == "" || !allDigits(exp) {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// memoIndexText reads the operand of PUT or GET: CPython parses it with
// int(s, 10), which takes "1_0" as 10 and " 10 " as 10.
func memoIndexText(line []byte) (uint64, textResult) {
	if isCanonicalDecimal(line, false) && len(line) <= 19 {
		var v uint64
		for _, c := range line {
			v = v*10 + uint64(c-'0')
		}
		return v, textCanonical
	}
	text := cString(line)
	switch {
	case len(line) == 0:
		return 0, textRefuse("empty memo index")
	case !hasDigit(text):
		return 0, textRefuse("memo index %q is not a number", line)
	case len(text) < len(line):
		return 0, textAmbig("memo index %q holds a NUL byte, where CPython stops reading", line)
	}
	return 0, textAmbig("memo index %q is not canonical; CPython reads it with int(s, 10), which accepts underscores, signs, spaces and leading zeros", line)
}

// stringText decodes the operand of STRING as CPython does: it must be
// quoted ('...' or "..."); the body is decoded with PyBytes_DecodeEscape
// (\\ \' \" \a \b \f \n \r \t \v, \xHH, octal of 1-3 digits taken
// modulo 256, any other backslash pair kept verbatim, a trailing backslash
// an error) and then with the unpickler's encoding (torch.load: utf-8).
func stringText(line []byte) (string, textResult) {
	n := len(line)
	if n < 2 || line[0] != line[n-1] || (line[0] != '\'' && line[0] != '"') {
		return "", textRefuse("STRING operand %q is not quoted", line)
	}
	body := line[1 : n-1]
	out := make([]byte, 0, len(body))
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		if i+1 >= len(body) {
			return "", textRefuse("STRING operand ends with a lone backslash")
		}
		i++
		switch e := body[i]; e {
		case '\\', '\'', '"':
			out = append(out, e)
		case 'a':
			out = append(out, 7)
		case 'b':
			out = append(out, 8)
		case 'f':
			out = append(out, 12)
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'v':
			out = append(out, 11)
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := int(e - '0')
			for k := 0; k < 2 && i+1 < len(body) && body[i+1] >= '0' && body[i+1] <= '7'; k++ {
				i++
				v = v*8 + int(body[i]-'0')
			}
			out = append(out, byte(v))
		case 'x':
			if i+2 >= len(body) {
				return "", textRefuse("truncated \\x escape in STRING operand")
			}
			h, ok1 := unhex(body[i+1])
			l, ok2 := unhex(body[i+2])
			if !ok1 || !ok2 {
				return "", textRefuse("invalid \\x escape in STRING operand")
			}
			out = append(out, h<<4|l)
			i += 2
		default:
			out = append(out, '\\', e)
		}
	}
	if !utf8.Valid(out) {
		return "", textRefuse("STRING operand is not UTF-8 text")
	}
	return string(out), textCanonical
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// unicodeText decodes the operand of UNICODE as CPython's
// raw-unicode-escape codec does: bytes are Latin-1 code points; a
// backslash followed by u or U starts a \uXXXX or \UXXXXXXXX escape (an
// error when truncated or beyond U+10FFFF); a backslash followed by
// anything else is kept with that character, and a trailing one is kept.
// A lone surrogate (which a Go string cannot hold as text) is written in
// its 3-byte generalised UTF-8 form, so distinct names stay distinct.
func unicodeText(line []byte) (string, textResult) {
	var sb []byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c != '\\' || i+1 >= len(line) {
			sb = utf8.AppendRune(sb, rune(c))
			continue
		}
		if line[i+1] != 'u' && line[i+1] != 'U' {
			sb = utf8.AppendRune(sb, '\\')
			sb = utf8.AppendRune(sb, rune(line[i+1]))
			i++
			continue
		}
		width := 4
		if line[i+1] == 'U' {
			width = 8
		}
		if i+2+width > len(line) {
			return "", textRefuse("truncated \\%c escape in UNICODE operand", line[i+1])
		}
		var r rune
		for _, h := range line[i+2 : i+2+width] {
			v, ok := unhex(h)
			if !ok {
				return "", textRefuse("truncated \\%c escape in UNICODE operand", line[i+1])
			}
			r = r<<4 | rune(v)
		}
		if r > utf8.MaxRune || r < 0 {
			return "", textRefuse("\\U escape beyond U+10FFFF in UNICODE operand")
		}
		if r >= 0xd800 && r <= 0xdfff {
			sb = append(sb, 0xe0|byte(r>>12), 0x80|byte(r>>6)&0x3f, 0x80|byte(r)&0x3f)
		} else {
			sb = utf8.AppendRune(sb, r)
		}
		i += 1 + width
	}
	return string(sb), textCanonical
}

// moduleNameText judges the module of GLOBAL, INST or STACK_GLOBAL.
// Python's import truncates some names at a NUL byte ("os\x00" imports the
// frozen os module), so a name holding NUL whose start could name a module
// is ambiguous; one whose start cannot (the length bytes of a safetensors
// header read as a GLOBAL) fails the import in CPython.
func moduleNameText(module string) textResult {
	if module == "" {
		// import('') raises ValueError (torch's find_class returns a
		// storage type for a name holding "Storage" first: no import).
		return textRefuse("empty module name, which CPython cannot import")
	}
	i := strings.IndexByte(module, 0)
	if i < 0 {
		return textCanonical
	}
	if isDottedIdent(module[:i]) {
		return textAmbig("module name %q holds a NUL byte; CPython's import may read it as %q", module, module[:i])
	}
	return textRefuse("module name %q holds a NUL byte and CPython cannot import it", module)
}

// isDottedIdent is an ASCII Python dotted name.
func isDottedIdent(s string) bool {
	if s == "" {
		return false
	}
	for _, part := range strings.Split(s, ".") {
		if part == "" || (part[0] >= '0' && part[0] <= '9') {
			return false
		}
		for i := 0; i < len(part); i++ {
			c := part[i]
			if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				return false
			}
		}
	}
	return true
}
