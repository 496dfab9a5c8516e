package embedding

import "testing"

// TestParseStep: only the canonical decimal spelling is a step; a
// prefix ("12abc") is not read as 12.
func TestParseStep(t *testing.T) {
	for s, want := range map[string]int64{"0": 0, "12": 12, "-3": -3, "9223372036854775807": 1<<63 - 1} {
		if n, ok := parseStep(s); !ok || n != want {
			t.Errorf("parseStep(%q) = %d, %v; want %d", s, n, ok, want)
		}
	}
	for _, s := range []string{"", "12abc", " 12", "12 ", "+12", "1_2", "012", "-0", "-", "0x10", "9223372036854775808", "1e3", "12\x00"} {
		if n, ok := parseStep(s); ok {
			t.Errorf("parseStep(%q) = %d, want no step", s, n)
		}
	}
}
