package cliptok

import (
	"html"
	"strings"
)

// ftfyUnescape is the HTML-entity part of ftfy.fix_text (ftfy ≥ 6,
// unescape_html="auto"), the only part of ftfy that touches ASCII text:
// the text is fixed line by line; from the first line that contains "<"
// on, nothing more is unescaped; each line is unescaped again until it
// no longer changes (fix_and_explain loops to a fixed point), at most
// maxUnescapePasses times.
func ftfyUnescape(text string) string {
	if !strings.Contains(text, "&") {
		return text
	}
	var out strings.Builder
	unescape := true
	for pos := 0; pos < len(text); {
		end := strings.IndexByte(text[pos:], '\n') + 1
		if end == 0 {
			end = len(text) - pos
		}
		seg := text[pos : pos+end]
		if unescape && strings.Contains(seg, "<") {
			unescape = false // sticky: fix_text replaces its config
		}
		if unescape {
			for i := 0; i < maxUnescapePasses; i++ {
				next := ftfyUnescapeOnce(seg)
				if next == seg {
					break
				}
				seg = next
			}
		}
		out.WriteString(seg)
		pos += end
	}
	return out.String()
}

// maxUnescapePasses bounds the fixed-point loop ("&amp;amp;…" nests).
const maxUnescapePasses = 64

// ftfyUnescapeOnce is ftfy.fixes.unescape_html: each match of
// &#?[0-9A-Za-z]{1,24}; is replaced when it is an HTML5 entity that ends
// in ";" (or the all-caps form of a lower-case one that is no entity
// itself), or a numeric reference whose decoding has no ";".
func ftfyUnescapeOnce(s string) string {
	return replaceRefs(s, func(s string) (int, string) {
		n := ftfyEntityLen(s)
		if n == 0 {
			return 0, ""
		}
		return n, ftfyReplace(s[:n])
	})
}

// ftfyEntityLen matches &#?[0-9A-Za-z]{1,24}; at the start of s.
func ftfyEntityLen(s string) int {
	j := 1
	if j < len(s) && s[j] == '#' {
		j++
	}
	start := j
	for j < len(s) && j-start < 24 && isAlnum(s[j]) {
		j++
	}
	if j == start || j >= len(s) || s[j] != ';' {
		return 0
	}
	return j + 1
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func ftfyReplace(m string) string {
	if v, ok := entityWithSemicolon(m); ok {
		return v
	}
	if strings.HasPrefix(m, "&#") {
		if d := pyUnescape(m); !strings.Contains(d, ";") {
			return d
		}
		return m
	}
	// The all-caps form of a lower-case entity, when it is none itself.
	if lower := strings.ToLower(m); lower != m && strings.ToUpper(lower) == m && html.UnescapeString(m) == m {
		if v, ok := entityWithSemicolon(lower); ok {
			return pyUpper(v)
		}
	}
	return m
}

// entityWithSemicolon looks "&name;" up among the HTML5 entities whose
// name ends in ";" (Go's table is the same WHATWG table). A partial
// decode of a legacy prefix ("&ampx;" → "&x;") keeps the ";" and so is
// no hit; only "&semi;" decodes to a ";".
func entityWithSemicolon(m string) (string, bool) {
	v := html.UnescapeString(m)
	if v == m || (strings.HasSuffix(v, ";") && m != "&semi;") {
		return "", false
	}
	return v, true
}

// pyUpper is str.upper() for entity values: Go's simple mapping, with
// the full mappings of the characters that expand.
func pyUpper(s string) string {
	var b strings.Builder
	for _, r := range s {
		if x := upperSpecial(r); x != "" {
			b.WriteString(x)
			continue
		}
		b.WriteString(strings.ToUpper(string(r)))
	}
	return b.String()
}

// upperSpecial is str.upper() of the characters whose upper case is
// longer than one character ("" for the others).
func upperSpecial(r rune) string {
	switch r {
	case 'ß':
		return "SS"
	case 'ŉ':
		return "ʼN"
	case 'ǰ':
		return "J̌"
	case 'ﬀ':
		return "FF"
	case 'ﬁ':
		return "FI"
	case 'ﬂ':
		return "FL"
	case 'ﬃ':
		return "FFI"
	case 'ﬄ':
		return "FFL"
	}
	return ""
}
