package cliptok

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// preTokens calls fn for each match of the reference's pattern
//
//	<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
//
// (regex module, IGNORECASE) over text, as re.findall does: at each
// position the alternatives are tried in order, and a position where
// none matches is skipped. Written by hand: Go's regexp has \p{L} and
// \p{N} but its \s is ASCII-only and it has no case folding of ſ.
func preTokens(text string, fn func(tok string) error) error {
	for i := 0; i < len(text); {
		n := matchAt(text[i:])
		if n == 0 {
			_, w := utf8.DecodeRuneInString(text[i:])
			i += w
			continue
		}
		if err := fn(text[i : i+n]); err != nil {
			return err
		}
		i += n
	}
	return nil
}

// matchAt returns the length of the match at the start of s, 0 if none.
func matchAt(s string) int {
	if s[0] == '<' {
		for _, sp := range [...]string{startText, endText} {
			if len(s) >= len(sp) && strings.EqualFold(s[:len(sp)], sp) {
				return len(sp)
			}
		}
	}
	if s[0] == '\'' {
		if n := contraction(s[1:]); n > 0 {
			return 1 + n
		}
	}
	r, w := utf8.DecodeRuneInString(s)
	switch {
	case isLetter(r):
		n := w
		for n < len(s) {
			r, w := utf8.DecodeRuneInString(s[n:])
			if !isLetter(r) {
				break
			}
			n += w
		}
		return n
	case unicode.IsNumber(r):
		return w
	case isOther(r):
		n := w
		for n < len(s) {
			r, w := utf8.DecodeRuneInString(s[n:])
			if !isOther(r) {
				break
			}
			n += w
		}
		return n
	}
	return 0
}

// contraction matches s|t|re|ve|m|ll|d case-insensitively (after the
// apostrophe); under IGNORECASE the `regex` module also lets ſ (U+017F)
// stand for s.
func contraction(s string) int {
	for _, c := range [...]string{"re", "ve", "ll"} {
		if len(s) >= 2 && strings.EqualFold(s[:2], c) {
			return 2
		}
	}
	r, w := utf8.DecodeRuneInString(s)
	switch r {
	case 's', 'S', 'ſ', 't', 'T', 'm', 'M', 'd', 'D':
		return w
	}
	return 0
}

func isLetter(r rune) bool { return unicode.IsLetter(r) }

// isOther is [^\s\p{L}\p{N}] under IGNORECASE: U+0345 (combining
// ypogegrammeni) folds to ι, a letter, so the negated class excludes it
// while [\p{L}] does not include it: it matches nothing and is skipped.
func isOther(r rune) bool {
	return !isRegexSpace(r) && !unicode.IsLetter(r) && !unicode.IsNumber(r) && r != 0x345
}
