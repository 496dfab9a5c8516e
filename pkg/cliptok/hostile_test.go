package cliptok

import (
	"errors"
	"strings"
	"testing"
)

func TestHostileInput(t *testing.T) {
	// Invalid UTF-8 is read as U+FFFD, no panic.
	for _, s := range []string{"\xff\xfe", "a\xc3", "\xed\xa0\x80", strings.Repeat("\x80", 100)} {
		if _, err := Encode(s); err != nil {
			t.Errorf("Encode(%q): %v", s, err)
		}
	}
	// One word past the limit is refused, not worked on quadratically.
	_, err := Encode(strings.Repeat("a", MaxWordBytes+1))
	if !errors.Is(err, ErrWordTooLong) {
		t.Errorf("long word: %v", err)
	}
	// Many words of the limit's size are fine.
	if _, err := Encode(strings.Repeat(strings.Repeat("ab", MaxWordBytes/2)+" ", 4)); err != nil {
		t.Error(err)
	}
	// Deeply nested entities end.
	if _, err := EncodeA1111("&" + strings.Repeat("amp;", 10000)); err != nil {
		t.Error(err)
	}
}

// Python's decode(errors="replace"): one U+FFFD per maximal valid prefix.
func TestPyDecodeUTF8(t *testing.T) {
	for in, want := range map[string]string{
		"\xe2\x82":     "\ufffd",
		"\xe2\x82a":    "\ufffda",
		"\xff\xfe":     "\ufffd\ufffd",
		"\xf0\x9f\x98": "\ufffd",
		"\xed\xa0\x80": "\ufffd\ufffd\ufffd",
		"\xc3":         "\ufffd",
		"ok":           "ok",
	} {
		if got := pyDecodeUTF8([]byte(in)); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}
