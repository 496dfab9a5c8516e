package prompt

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

// The doctests of A1111's parse_prompt_attention, and a few more whose
// results were worked out from its code by hand.
func TestParseAttention(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []Piece
	}{
		{"normal text", []Piece{{"normal text", 1}}},
		{"an (important) word", []Piece{{"an ", 1}, {"important", 1.1}, {" word", 1}}},
		{"(unbalanced", []Piece{{"unbalanced", 1.1}}},
		{`\(literal\]`, []Piece{{"(literal]", 1}}},
		{"(unnecessary)(parens)", []Piece{{"unnecessaryparens", 1.1}}},
		{"a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).", []Piece{
			{"a ", 1}, {"house", 1.5730000000000004}, {" ", 1.1}, {"on", 1}, {" a ", 1.1},
			{"hill", 0.55}, {", sun, ", 1.1}, {"sky", 1.4641000000000006}, {".", 1.1}}},
		{"", []Piece{{"", 1}}},
		{"EasyNegative, (worst quality:1.4), badhandv4", []Piece{{"EasyNegative, ", 1}, {"worst quality", 1.4}, {", badhandv4", 1}}},
		{"a BREAK b", []Piece{{"a", 1}, {"BREAK", -1}, {"b", 1}}},
		{"aBREAKb BREAK,c", []Piece{{"aBREAKb", 1}, {"BREAK", -1}, {",c", 1}}},
		{"BREAK BREAK", []Piece{{"", 1}, {"BREAK", -1}, {"", 1}, {"BREAK", -1}, {"", 1}}},
		// Inside parentheses BREAK's -1 is multiplied too: it is text then.
		{"(a BREAK b)", []Piece{{"a", 1.1}, {"BREAK", -1.1}, {"b", 1.1}}},
		{"a:b", []Piece{{"a:b", 1}}},
		{":1.2) x", []Piece{{":1.2) x", 1}}},
		{"(a:-1)", []Piece{{"a", -1}}},
		{"(a:.5)", []Piece{{"a", 0.5}}},
		{"(a:١.٥)", []Piece{{"a", 1.5}}},
		{`a\b`, []Piece{{"ab", 1}}}, // a lone backslash is dropped
		{`\\`, []Piece{{`\`, 1}}},
		{"(a:" + strings.Repeat("9", 400) + ")", []Piece{{"a", math.Inf(1)}}},
		{"[a:b:0.5]", []Piece{{"a:b:0.5", 1 / 1.1}}},
	} {
		got, err := ParseAttention(c.in)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseAttention(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	if _, err := ParseAttention("(a:1.2.3)"); err == nil {
		t.Error("(a:1.2.3): no error (Python's float() refuses it)")
	}
}
