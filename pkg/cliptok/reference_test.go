package cliptok

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"os"
	"slices"
	"testing"
)

// The expected ids come from OpenAI's simple_tokenizer.py run by
// testdata/gen/gen_tokens.py (ftfy stubbed as the identity).

type refCase struct {
	Group string `json:"group"`
	Text  string `json:"text"`
	IDs   []int  `json:"ids"`
}

func readJSONL[T any](t testing.TB, path string) []T {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var c T
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEncodeMatchesReference(t *testing.T) {
	cases := readJSONL[refCase](t, "../../testdata/tokens/expected.jsonl")
	if len(cases) < 300 {
		t.Fatalf("only %d reference prompts", len(cases))
	}
	groups := map[string]int{}
	for _, c := range cases {
		got, err := Encode(c.Text)
		if err != nil {
			t.Errorf("%q: %v", c.Text, err)
			continue
		}
		if !slices.Equal(got, c.IDs) {
			t.Errorf("%s %q:\n got %v\nwant %v", c.Group, c.Text, got, c.IDs)
			continue
		}
		groups[c.Group]++
	}
	t.Logf("agree with simple_tokenizer.py on %d prompts: %v", len(cases), groups)
}

func TestDecodeEveryID(t *testing.T) {
	f, err := os.Open("../../testdata/tokens/decode.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	if err := json.NewDecoder(zr).Decode(&want); err != nil {
		t.Fatal(err)
	}
	if len(want) != VocabSize {
		t.Fatalf("reference has %d ids, want %d", len(want), VocabSize)
	}
	bad := 0
	for id, w := range want {
		got, err := TokenText(id)
		if err != nil || got != w {
			if bad++; bad < 10 {
				t.Errorf("id %d: got %q (%v), want %q", id, got, err, w)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d ids decode differently", bad)
	}
}

// The round trip of the reference: encode then decode gives the cleaned,
// lower-cased text with a space after each word.
func TestDecodeRoundTrip(t *testing.T) {
	ids, _ := Encode("A photo of an astronaut, riding a horse!")
	got, err := Decode(ids)
	if want := "a photo of an astronaut , riding a horse ! "; err != nil || got != want {
		t.Fatalf("got %q, %v; want %q", got, err, want)
	}
}

func TestConstants(t *testing.T) {
	for id, sym := range map[int]string{StartID: "<|startoftext|>", EndID: "<|endoftext|>", 267: ",</w>", 320: "a</w>", 0: "!", 256: "!</w>"} {
		got, err := symbol(id)
		if err != nil || got != sym {
			t.Errorf("symbol(%d) = %q, %v; want %q", id, got, err, sym)
		}
		if back, ok := ID(sym); !ok || back != id {
			t.Errorf("ID(%q) = %d, %v; want %d", sym, back, ok, id)
		}
	}
	if _, err := symbol(VocabSize); err == nil {
		t.Error("symbol(VocabSize): no error")
	}
	if _, err := TokenText(-1); err == nil {
		t.Error("TokenText(-1): no error")
	}
}
