package jsonstr

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestAppendGoMatchesEncodingJSON: every byte, every short sequence of
// awkward pieces (invalid and truncated UTF-8, U+2028/9, controls, quotes)
// and random bytes come out as encoding/json writes them.
func TestAppendGoMatchesEncodingJSON(t *testing.T) {
	check := func(s string) {
		t.Helper()
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.Encode(s)
		if got, want := string(AppendGo(nil, s)), strings.TrimSuffix(buf.String(), "\n"); got != want {
			t.Fatalf("%q: %s, encoding/json %s", s, got, want)
		}
	}
	for c := 0; c < 256; c++ {
		check(string([]byte{byte(c)}))
		check("a" + string([]byte{byte(c)}) + "é")
	}
	pieces := []string{"\"", "\\", "\n", "\x00", "\x1f", "\x7f", "<>&", "\u2028", "\u2029", "é", "🙂", "\xff", "\xe2\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80"}
	rng := rand.New(rand.NewPCG(1, 1))
	for trial := 0; trial < 20000; trial++ {
		var b strings.Builder
		for i := rng.IntN(6); i > 0; i-- {
			if rng.IntN(3) == 0 {
				b.WriteByte(byte(rng.Uint32()))
			} else {
				b.WriteString(pieces[rng.IntN(len(pieces))])
			}
		}
		check(b.String())
	}
}

// TestAppendSerde: serde_json's escapes (checked against its output in
// pkg/safetensors' writer tests); everything else, including invalid
// UTF-8, U+2028 and '<', is copied as it is.
func TestAppendSerde(t *testing.T) {
	cases := map[string]string{
		"plain":           `"plain"`,
		"q\"b\\":          `"q\"b\\"`,
		"\b\f\n\r\t":      `"\b\f\n\r\t"`,
		"\x00\x01\x1f":    `"\u0000\u0001\u001f"`,
		"\x7f<>&/é\u2028": "\"\x7f<>&/é\u2028\"",
		"\xff":            "\"\xff\"",
	}
	for in, want := range cases {
		if got := string(AppendSerde(nil, in)); got != want {
			t.Errorf("%q: %s, want %s", in, got, want)
		}
	}
}

// TestAppendFloat: shortest round-tripping form, null where not finite.
func TestAppendFloat(t *testing.T) {
	for x, want := range map[float64]string{0.1: "0.1", 1e21: "1e+21", 0.3413712978363037: "0.3413712978363037", math.Inf(1): "null", math.Inf(-1): "null", math.NaN(): "null"} {
		if got := string(AppendFloat(nil, x)); got != want {
			t.Errorf("%v: %s, want %s", x, got, want)
		}
	}
}
