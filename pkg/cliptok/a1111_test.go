package cliptok

import (
	"slices"
	"testing"
)

// AUTOMATIC1111 tokenizes with the Hugging Face CLIPTokenizer, whose
// _tokenize is whitespace_clean(ftfy.fix_text(text)).lower(): no
// html.unescape (OpenAI's basic_clean calls it twice). ftfy, which A1111
// has (open-clip-torch requires it), decodes entities itself, but only
// those that end in ";", none from the first line holding "<" on, and no
// numeric reference that decodes to ";". The expected ids are the
// reference tokenizer's on the text ftfy hands over (gen_tokens.py).
func TestA1111HTMLEntities(t *testing.T) {
	type a1111Case struct {
		Text      string `json:"text"`
		AfterFtfy string `json:"after_ftfy"`
		IDs       []int  `json:"ids"`
		OpenAIIDs []int  `json:"openai_ids"`
	}
	differ := 0
	for _, c := range readJSONL[a1111Case](t, "../../testdata/tokens/a1111.jsonl") {
		got, err := EncodeA1111(c.Text)
		if err != nil || !slices.Equal(got, c.IDs) {
			t.Errorf("EncodeA1111(%q) = %v, %v; want %v (the ids of %q)", c.Text, got, err, c.IDs, c.AfterFtfy)
		}
		open, _ := Encode(c.Text)
		if !slices.Equal(open, c.OpenAIIDs) {
			t.Errorf("Encode(%q) = %v; want %v", c.Text, open, c.OpenAIIDs)
		}
		if !slices.Equal(c.IDs, c.OpenAIIDs) {
			differ++
		}
	}
	// The cases where the two differ, spelled out.
	for text, want := range map[string][2]string{
		"&amp":      {"&amp", "&"},           // no semicolon: only html.unescape decodes it
		"&#59;":     {"&#59;", ";"},          // ftfy refuses a reference that decodes to ";"
		"&lt;3 <b>": {"&lt;3 <b>", "<3 <b>"}, // a "<" in the line: ftfy leaves entities alone
	} {
		a, _ := EncodeA1111(text)
		wantA, _ := encode(want[0])
		o, _ := Encode(text)
		wantO, _ := encode(want[1])
		if !slices.Equal(a, wantA) || !slices.Equal(o, wantO) || slices.Equal(a, o) {
			t.Errorf("%q: A1111 %v (want %v), OpenAI %v (want %v)", text, a, wantA, o, wantO)
		}
	}
	if differ < 5 {
		t.Errorf("only %d cases differ between A1111 and OpenAI", differ)
	}
}

// Plain text (no "&") is the same for both.
func TestA1111PlainEqualsOpenAI(t *testing.T) {
	for _, c := range readJSONL[refCase](t, "../../testdata/tokens/expected.jsonl") {
		if c.Group == "entity" {
			continue
		}
		a, err := EncodeA1111(c.Text)
		if err != nil || !slices.Equal(a, c.IDs) {
			t.Errorf("EncodeA1111(%q) = %v, %v; want %v", c.Text, a, err, c.IDs)
		}
	}
}
