package cliptok

import (
	"slices"
	"strings"
	"testing"
)

// FuzzEncode: any text encodes without panic to ids in range; text
// without "&" gets the same ids from both tokenizers; decoding ids
// never fails.
func FuzzEncode(f *testing.F) {
	for _, s := range []string{"", "a photo of a cat", "EasyNegative, (worst quality:1.4)", "don't ſ 'S", "ΑΣ Β", "&amp;&#59;", "\xff\xfe", "<|endoftext|>", "\u0345x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids, err := Encode(s)
		if err != nil {
			return // a word over MaxWordBytes
		}
		for _, id := range ids {
			if id < 0 || id >= VocabSize {
				t.Fatalf("id %d", id)
			}
		}
		if _, err := Decode(ids); err != nil {
			t.Fatal(err)
		}
		a, err := EncodeA1111(s)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(s, "&") && !slices.Equal(a, ids) {
			t.Fatalf("%q: A1111 %v, OpenAI %v", s, a, ids)
		}
	})
}
