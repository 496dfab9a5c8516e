package cliptok

import (
	"html"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// isPySpace is Python's str.isspace(), which str.strip() uses: Unicode
// White_Space plus U+001C–U+001F (bidi class B/S).
func isPySpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// isRegexSpace is `\s` of the `regex` module on str patterns: Unicode
// White_Space, which is Go's unicode.IsSpace.
func isRegexSpace(r rune) bool { return unicode.IsSpace(r) }

// pyStrip is Python's str.strip().
func pyStrip(s string) string { return strings.TrimFunc(s, isPySpace) }

// whitespaceClean is the reference's whitespace_clean: runs of `\s`
// become one space, then str.strip().
func whitespaceClean(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	inSpace := false
	for _, r := range s {
		if isRegexSpace(r) {
			if !inSpace {
				b.WriteByte(' ')
			}
			inSpace = true
			continue
		}
		inSpace = false
		b.WriteRune(r)
	}
	return pyStrip(b.String())
}

// pyLower is Python's str.lower(): the simple lowercase mapping, plus
// SpecialCasing's unconditional U+0130 → "i̇" and the Final_Sigma rule.
func pyLower(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i, r := range s {
		switch {
		case r < utf8.RuneSelf:
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
			b.WriteByte(byte(r))
		case r == 0x130:
			b.WriteString("i\u0307")
		case r == 0x3a3:
			if finalSigma(s, i) {
				b.WriteRune(0x3c2)
			} else {
				b.WriteRune(0x3c3)
			}
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// finalSigma is CPython's rule for the capital sigma at byte i: a cased
// letter before it and none after it, skipping case-ignorable runes.
func finalSigma(s string, i int) bool {
	before := false
	for j := i; j > 0; {
		r, n := utf8.DecodeLastRuneInString(s[:j])
		j -= n
		if isCaseIgnorable(r) {
			continue
		}
		before = isCased(r)
		break
	}
	if !before {
		return false
	}
	for j := i + utf8.RuneLen(0x3a3); j < len(s); {
		r, n := utf8.DecodeRuneInString(s[j:])
		j += n
		if isCaseIgnorable(r) {
			continue
		}
		return !isCased(r)
	}
	return true
}

// isCased and isCaseIgnorable follow Unicode's derived properties as
// CPython uses them (_PyUnicode_IsCased, _PyUnicode_IsCaseIgnorable).
func isCased(r rune) bool {
	return unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r) ||
		unicode.Is(unicode.Other_Lowercase, r) || unicode.Is(unicode.Other_Uppercase, r)
}

func isCaseIgnorable(r rune) bool {
	switch r {
	case '\'', '.', ':', 0xb7, 0x387, 0x55f, 0x5f4, 0x2018, 0x2019, 0x2024, 0x2027,
		0xfe13, 0xfe52, 0xfe55, 0xff07, 0xff0e, 0xff1a: // Word_Break MidLetter, MidNumLet, Single_Quote
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}

// pyUnescape is Python's html.unescape.
func pyUnescape(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	return replaceRefs(s, charref)
}

// replaceRefs rewrites s at each '&': ref says how many bytes from there
// it replaces and with what (0: none, the '&' stays). Python's
// html.unescape and ftfy's unescape_html both scan this way.
func replaceRefs(s string, ref func(string) (int, string)) string {
	var b strings.Builder
	b.Grow(len(s))
	for {
		i := strings.IndexByte(s, '&')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		s = s[i:]
		n, repl := ref(s)
		if n == 0 {
			b.WriteByte('&')
			s = s[1:]
			continue
		}
		b.WriteString(repl)
		s = s[n:]
	}
}

// charref matches html._charref at the start of s ("&…") and returns the
// bytes it spans (0: no match) and their replacement.
// Pattern: &(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)
func charref(s string) (int, string) {
	if len(s) < 2 {
		return 0, ""
	}
	if s[1] == '#' {
		hex := len(s) > 2 && (s[2] == 'x' || s[2] == 'X')
		start := 2
		if hex {
			start = 3
		}
		j := start
		for j < len(s) && isDigit(s[j], hex) {
			j++
		}
		if j == start {
			return 0, ""
		}
		digits := s[start:j]
		if j < len(s) && s[j] == ';' {
			j++
		}
		return j, numericRef(digits, hex)
	}
	// A name: 1–32 characters (runes) not in "\t\n\f <&#;".
	j, count := 1, 0
	for j < len(s) && count < 32 {
		r, n := utf8.DecodeRuneInString(s[j:])
		if strings.ContainsRune("\t\n\f <&#;", r) {
			break
		}
		j += n
		count++
	}
	if count == 0 {
		return 0, ""
	}
	if j < len(s) && s[j] == ';' {
		j++
	}
	// Go's table is WHATWG's, as html.entities.html5, and for a name of
	// letters and digits it takes the longest legacy prefix as Python
	// does; other characters end Go's name where Python's prefix search
	// ends too. So Go's decoding of exactly this match is Python's.
	return j, html.UnescapeString("&" + s[1:j])
}

func isDigit(c byte, hex bool) bool {
	if c >= '0' && c <= '9' {
		return true
	}
	return hex && (c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F')
}

// numericRef is html._replace_charref for "#…".
func numericRef(digits string, hex bool) string {
	base := 10
	if hex {
		base = 16
	}
	digits = strings.TrimLeft(digits, "0")
	num := uint64(0)
	if digits != "" {
		var err error
		num, err = strconv.ParseUint(digits, base, 64)
		if err != nil || num > 0x10ffff {
			return "\ufffd" // too large (Python: any size > 0x10FFFF)
		}
	}
	if r, ok := invalidCharref(rune(num)); ok {
		return r
	}
	if num >= 0xd800 && num <= 0xdfff {
		return "\ufffd"
	}
	if invalidCodepoint(rune(num)) {
		return ""
	}
	return string(rune(num))
}

// invalidCharref is html._invalid_charrefs: NUL, CR and the C1 range
// 0x80–0x9F read as Windows-1252. (A switch and an array, not a map:
// nothing to build when a program starts.)
func invalidCharref(r rune) (string, bool) {
	switch {
	case r == 0x00:
		return "\ufffd", true
	case r == 0x0d:
		return "\r", true
	case r >= 0x80 && r <= 0x9f:
		return c1Charrefs[r-0x80], true
	}
	return "", false
}

// c1Charrefs are html._invalid_charrefs 0x80 to 0x9F, in order.
var c1Charrefs = [32]string{
	"\u20ac", "\u0081", "\u201a", "\u0192", "\u201e", "\u2026", "\u2020", "\u2021",
	"\u02c6", "\u2030", "\u0160", "\u2039", "\u0152", "\u008d", "\u017d", "\u008f",
	"\u0090", "\u2018", "\u2019", "\u201c", "\u201d", "\u2022", "\u2013", "\u2014",
	"\u02dc", "\u2122", "\u0161", "\u203a", "\u0153", "\u009d", "\u017e", "\u0178",
}

// invalidCodepoint is html._invalid_codepoints: these references vanish.
func invalidCodepoint(r rune) bool {
	switch {
	case r >= 0x1 && r <= 0x8, r == 0xb, r >= 0xe && r <= 0x1f, r >= 0x7f && r <= 0x9f,
		r >= 0xfdd0 && r <= 0xfdef:
		return true
	}
	return r&0xfffe == 0xfffe && r <= 0x10ffff
}
