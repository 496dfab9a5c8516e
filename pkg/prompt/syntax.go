package prompt

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Two of A1111's regexps, matched by hand (a regexp would be compiled at
// every start of embtool, or pull the regexp package in); syntax_test.go
// holds each to its regexp.

// extraNetworks finds A1111's extra-network tags, as
// extra_networks.re_extra_net `<(\w+):([^>]+)>` (Python's \w is Unicode:
// `<([\p{L}\p{N}_]+):([^>]+)>`), leftmost first and not overlapping. It
// returns them and s without them; (nil, s) when there are none.
func extraNetworks(s string) (found []string, rest string) {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '<')
		if j < 0 {
			break
		}
		i += j
		n := extraNetworkAt(s[i:])
		if n == 0 {
			i++
			continue
		}
		found = append(found, s[i:i+n])
		b.WriteString(s[last:i])
		i += n
		last = i
	}
	if found == nil {
		return nil, s
	}
	b.WriteString(s[last:])
	return found, b.String()
}

// extraNetworkAt is the length of the tag s starts with ('<'), 0 if none.
func extraNetworkAt(s string) int {
	k := 1
	for k < len(s) {
		r, w := utf8.DecodeRuneInString(s[k:])
		if r != '_' && !unicode.IsLetter(r) && !unicode.IsNumber(r) {
			break
		}
		k += w
	}
	if k == 1 || k >= len(s) || s[k] != ':' {
		return 0
	}
	k++
	e := strings.IndexByte(s[k:], '>')
	if e <= 0 { // no '>', or nothing before it
		return 0
	}
	return k + e + 1
}

// hasEditing reports whether s holds prompt editing or AND, as the
// regexp `\[[^\[\]]*(:[^\[\]]*\]|\|)|\bAND\b` (Go's \b is ASCII): a '['
// whose run of non-bracket characters holds a '|', or holds a ':' and
// ends at a ']'; or AND as a whole word.
func hasEditing(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			colon := false
			j := i + 1
			for ; j < len(s) && s[j] != '[' && s[j] != ']'; j++ {
				switch s[j] {
				case '|':
					return true
				case ':':
					colon = true
				}
			}
			if colon && j < len(s) && s[j] == ']' {
				return true
			}
		case 'A':
			if strings.HasPrefix(s[i:], "AND") && (i == 0 || !asciiWord(s[i-1])) && (i+3 == len(s) || !asciiWord(s[i+3])) {
				return true
			}
		}
	}
	return false
}

// asciiWord is Go regexp's \w: [0-9A-Za-z_].
func asciiWord(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
