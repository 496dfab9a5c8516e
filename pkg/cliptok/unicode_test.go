package cliptok

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// classOf is how preTokens classes one rune, in the letters of
// testdata/tokens/classes.txt.
func classOf(r rune) byte {
	switch {
	case isLetter(r):
		return 'L'
	case unicode.IsNumber(r):
		return 'N'
	case isRegexSpace(r):
		return 'S'
	case isOther(r):
		return 'O'
	}
	return '-'
}

// Every code point, classed as the reference's pattern (IGNORECASE)
// classes it (gen_tokens.py, Debian's python3-regex).
func TestCharacterClassesMatchReference(t *testing.T) {
	f, err := os.Open("../../testdata/tokens/classes.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type run struct {
		start rune
		class byte
	}
	var runs []run
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			t.Log(line)
			continue
		}
		hex, class, _ := strings.Cut(line, " ")
		n, err := strconv.ParseUint(hex, 16, 32)
		if err != nil || len(class) != 1 {
			t.Fatalf("bad line %q", line)
		}
		runs = append(runs, run{rune(n), class[0]})
	}
	agree, bad := 0, 0
	for i, ru := range runs {
		end := rune(unicode.MaxRune + 1)
		if i+1 < len(runs) {
			end = runs[i+1].start
		}
		if ru.class == 'x' {
			continue
		}
		for r := ru.start; r < end; r++ {
			if got := classOf(r); got == ru.class {
				agree++
			} else if bad++; bad < 20 {
				t.Errorf("U+%04X: class %c, reference %c", r, got, ru.class)
			}
		}
	}
	// A newer regex module (a newer Unicode than Go's) would fail here
	// on newly assigned characters: regenerate with Debian's python3-regex.
	t.Logf("%d code points agree (Go's Unicode %s)", agree, unicode.Version)
	if bad > 0 {
		t.Fatalf("%d code points class differently", bad)
	}
}

// str.lower() of every code point it changes.
func TestLowerMatchesPython(t *testing.T) {
	data, err := os.ReadFile("../../testdata/tokens/lower.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := map[rune]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Fields(line)
		var cps []rune
		for _, h := range f {
			n, err := strconv.ParseUint(h, 16, 32)
			if err != nil {
				t.Fatalf("bad line %q", line)
			}
			cps = append(cps, rune(n))
		}
		want[cps[0]] = string(cps[1:])
	}
	bad := 0
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if r >= 0xd800 && r <= 0xdfff {
			continue
		}
		w, ok := want[r]
		if !ok {
			w = string(r)
		}
		if got := pyLower(string(r)); got != w {
			if bad++; bad < 20 {
				t.Errorf("U+%04X: lower %q, Python %q", r, got, w)
			}
		}
	}
	t.Logf("%d code points that str.lower() changes, all agree", len(want))
	if bad > 0 {
		t.Fatalf("%d code points lower differently", bad)
	}
}
