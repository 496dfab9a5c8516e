package prompt

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Piece is one run of prompt text with its attention weight. A BREAK is
// the piece {"BREAK", -1}, as in A1111.
type Piece struct {
	Text   string
	Weight float64
}

// IsBreak reports whether p is a chunk break.
func (p Piece) IsBreak() bool { return p.Text == "BREAK" && p.Weight == -1 }

const (
	roundMultiplier  = 1.1
	squareMultiplier = 1 / 1.1
)

// ParseAttention is parse_prompt_attention: the prompt's pieces with
// their weights, runs of equal weight merged. An explicit weight that
// Python's float() refuses ("(a:1.2.3)") is an error: A1111 fails there.
func ParseAttention(text string) ([]Piece, error) {
	var res []Piece
	var round, square []int
	multiply := func(start int, m float64) {
		for p := start; p < len(res); p++ {
			res[p].Weight *= m
		}
	}
	for len(text) > 0 {
		tok, weight, n := nextAttentionToken(text)
		text = text[n:]
		switch {
		case strings.HasPrefix(tok, `\`):
			res = append(res, Piece{tok[1:], 1})
		case tok == "(":
			round = append(round, len(res))
		case tok == "[":
			square = append(square, len(res))
		case weight != "" && len(round) > 0:
			w, err := strconv.ParseFloat(asciiDigits(weight), 64)
			if err != nil && !errors.Is(err, strconv.ErrRange) { // Python: too large is inf
				return nil, fmt.Errorf("weight %q: A1111 cannot read it as a number", weight)
			}
			multiply(round[len(round)-1], w)
			round = round[:len(round)-1]
		case tok == ")" && len(round) > 0:
			multiply(round[len(round)-1], roundMultiplier)
			round = round[:len(round)-1]
		case tok == "]" && len(square) > 0:
			multiply(square[len(square)-1], squareMultiplier)
			square = square[:len(square)-1]
		default:
			for i, part := range splitBreak(tok) {
				if i > 0 {
					res = append(res, Piece{"BREAK", -1})
				}
				res = append(res, Piece{part, 1})
			}
		}
	}
	for _, pos := range round {
		multiply(pos, roundMultiplier)
	}
	for _, pos := range square {
		multiply(pos, squareMultiplier)
	}
	if len(res) == 0 {
		res = []Piece{{"", 1}}
	}
	for i := 0; i+1 < len(res); {
		if res[i].Weight == res[i+1].Weight {
			res[i].Text += res[i+1].Text
			res = append(res[:i+1], res[i+2:]...)
		} else {
			i++
		}
	}
	return res, nil
}

// nextAttentionToken matches re_attention at the start of s (non-empty):
//
//	\\\( | \\\) | \\\[ | \\] | \\\\ | \\ | \( | \[ | :([+-]?[.\d]+)\) | \) | ] | [^\\()\[\]:]+ | :
//
// It returns the match, the weight group (""when absent) and its length.
func nextAttentionToken(s string) (tok, weight string, n int) {
	switch s[0] {
	case '\\':
		if len(s) > 1 && strings.IndexByte(`()[]\`, s[1]) >= 0 {
			return s[:2], "", 2
		}
		return s[:1], "", 1
	case '(', '[', ')', ']':
		return s[:1], "", 1
	case ':':
		j := 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		k := j
		for k < len(s) {
			r, w := utf8.DecodeRuneInString(s[k:])
			if r != '.' && !unicode.IsDigit(r) {
				break
			}
			k += w
		}
		if k > j && k < len(s) && s[k] == ')' {
			return s[:k+1], s[1:k], k + 1
		}
		return s[:1], "", 1
	}
	i := strings.IndexAny(s, `\()[]:`)
	if i < 0 {
		i = len(s)
	}
	return s[:i], "", i
}

// splitBreak is re.split(r"\s*\bBREAK\b\s*", text): BREAK as a whole
// word, with the whitespace around it.
func splitBreak(text string) []string {
	var parts []string
	from := 0 // where the current part starts
	for search := 0; ; {
		i := strings.Index(text[search:], "BREAK")
		if i < 0 {
			break
		}
		i += search
		end := i + len("BREAK")
		if !wordBoundary(text, i) || !wordBoundary(text, end) {
			search = i + 1
			continue
		}
		start := i
		for start > from {
			r, w := utf8.DecodeLastRuneInString(text[:start])
			if !isPySpace(r) {
				break
			}
			start -= w
		}
		for end < len(text) {
			r, w := utf8.DecodeRuneInString(text[end:])
			if !isPySpace(r) {
				break
			}
			end += w
		}
		parts = append(parts, text[from:start])
		from, search = end, end
	}
	return append(parts, text[from:])
}

// wordBoundary is Python re's \b at byte i (str pattern: \w is Unicode
// letters, numbers and "_").
func wordBoundary(s string, i int) bool {
	before, after := false, false
	if i > 0 {
		r, _ := utf8.DecodeLastRuneInString(s[:i])
		before = isWord(r)
	}
	if i < len(s) {
		r, _ := utf8.DecodeRuneInString(s[i:])
		after = isWord(r)
	}
	return before != after
}

func isWord(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) }

// isPySpace is Python re's \s on str: str.isspace().
func isPySpace(r rune) bool { return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f) }

// asciiDigits writes Unicode decimal digits as ASCII ones: Python's
// float() reads "١.٥" as 1.5.
func asciiDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r < utf8.RuneSelf || !unicode.IsDigit(r) {
			return r
		}
		// Decimal digits come in runs of ten from zero, and Go's Nd table
		// ranges start at a zero.
		for _, rg := range unicode.Nd.R16 {
			if r >= rune(rg.Lo) && r <= rune(rg.Hi) {
				return '0' + (r-rune(rg.Lo))%10
			}
		}
		for _, rg := range unicode.Nd.R32 {
			if r >= rune(rg.Lo) && r <= rune(rg.Hi) {
				return '0' + (r-rune(rg.Lo))%10
			}
		}
		return r
	}, s)
}
