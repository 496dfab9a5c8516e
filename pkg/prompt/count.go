package prompt

import (
	"strings"

	"github.com/embtool/embtool/pkg/cliptok"
)

// ChunkLength is the prompt tokens of one chunk (77 with start and end).
const ChunkLength = 75

// DefaultCommaBacktrack is A1111's comma_padding_backtrack setting.
const DefaultCommaBacktrack = 20

// commaID is ",</w>", A1111's comma_token.
const commaID = 267

// Options adjust counting.
type Options struct {
	// CommaBacktrack is A1111's "Prompt word wrap length limit": when a
	// chunk fills up, text after its last comma within this many tokens
	// moves to the next chunk. 0 turns it off.
	CommaBacktrack int
	// Resolve, when set, reads ComfyUI's "embedding:NAME" words: NAME is
	// looked up as ComfyUI does (a path or stem under its folder).
	Resolve func(name string) (*Embedding, bool)
	// Encode tokenizes each piece (nil: cliptok.EncodeA1111, A1111's for
	// SD1 and SDXL; SD2 uses cliptok.Encode).
	Encode Encoder
}

// Slot is one of a chunk's prompt positions: a text token, or one vector
// of an embedding.
type Slot struct {
	ID        int        // the token id; -1 for an embedding's vector
	Embedding *Embedding // nil for text
	Vector    int        // which of the embedding's vectors
	Weight    float64
}

// Chunk is one 75-token chunk: the slots it holds and the padding A1111
// adds after them (end-of-text tokens).
type Chunk struct {
	Slots   []Slot
	Padding int
}

// Result is a counted prompt.
type Result struct {
	// Tokens is the prompt's size: text tokens after the attention syntax
	// is removed, plus each embedding's vectors; no start/end tokens, no
	// padding.
	Tokens int
	// A1111Count is what A1111 reports (its token counter): 75 for every
	// chunk but the last, plus the last chunk's slots, so padding from
	// BREAK and the comma backtrack counts.
	A1111Count int
	Chunks     []Chunk
	// Used lists the embeddings found, in order of first use.
	Used     []*Embedding
	Warnings []string
}

// Count counts prompt as A1111's tokenize_line does, with db's
// embeddings (nil: none).
func Count(prompt string, db *DB, opts Options) (*Result, error) {
	r := &Result{}
	if loc, rest := extraNetworks(prompt); len(loc) > 0 {
		// extra_networks.parse_prompt removes <lora:…> and the like first.
		prompt = rest
		r.Warnings = append(r.Warnings, "extra networks removed before counting, as A1111 does: "+strings.Join(loc, " "))
	}
	if hasEditing(prompt) {
		r.Warnings = append(r.Warnings, "prompt editing ([a:b:n], [a|b]) and AND are not expanded: counted as written")
	}
	pieces, err := ParseAttention(prompt)
	if err != nil {
		return nil, err
	}
	if opts.Encode == nil {
		opts.Encode = cliptok.EncodeA1111
	}
	c := counter{opts: opts, db: db, r: r}
	for _, p := range pieces {
		if p.IsBreak() {
			c.next(false)
			continue
		}
		tokens, err := c.tokenize(p.Text)
		if err != nil {
			return nil, err
		}
		c.add(tokens, p.Weight)
	}
	if len(c.cur) > 0 || len(r.Chunks) == 0 {
		c.next(true)
	}
	for _, ch := range r.Chunks {
		r.Tokens += len(ch.Slots)
	}
	return r, nil
}

type counter struct {
	opts      Options
	db        *DB
	r         *Result
	cur       []Slot
	lastComma int
	comfy     []*Embedding // ComfyUI references, as token -1-i
	seen      map[*Embedding]bool
}

// next is next_chunk.
func (c *counter) next(last bool) {
	if last {
		c.r.A1111Count += len(c.cur)
	} else {
		c.r.A1111Count += ChunkLength
	}
	c.r.Chunks = append(c.r.Chunks, Chunk{Slots: c.cur, Padding: max(0, ChunkLength-len(c.cur))})
	c.cur = nil
	c.lastComma = -1
}

// add is tokenize_line's loop over one piece's tokens.
func (c *counter) add(tokens []int, weight float64) {
	for pos := 0; pos < len(tokens); {
		tok := tokens[pos]
		if tok == commaID {
			c.lastComma = len(c.cur)
		} else if bt := c.opts.CommaBacktrack; bt != 0 && len(c.cur) == ChunkLength && c.lastComma != -1 && len(c.cur)-c.lastComma <= bt {
			at := c.lastComma + 1
			reloc := append([]Slot(nil), c.cur[at:]...)
			c.cur = c.cur[:at]
			c.next(false)
			c.cur = reloc
		}
		if len(c.cur) == ChunkLength {
			c.next(false)
		}
		e, n := c.find(tokens, pos)
		if e == nil {
			c.cur = append(c.cur, Slot{ID: tok, Weight: weight})
			pos++
			continue
		}
		if len(c.cur)+e.Vectors > ChunkLength {
			c.next(false)
		}
		if !c.seen[e] {
			if c.seen == nil {
				c.seen = map[*Embedding]bool{}
			}
			c.seen[e] = true
			c.r.Used = append(c.r.Used, e)
		}
		for v := 0; v < e.Vectors; v++ {
			c.cur = append(c.cur, Slot{ID: -1, Embedding: e, Vector: v, Weight: weight})
		}
		pos += n
	}
}

func (c *counter) find(tokens []int, pos int) (*Embedding, int) {
	if t := tokens[pos]; t < 0 {
		return c.comfy[-1-t], 1
	}
	return c.db.find(tokens, pos)
}

// tokenize encodes one piece; ComfyUI "embedding:NAME" words that
// resolve become a marker token each.
func (c *counter) tokenize(text string) ([]int, error) {
	if c.opts.Resolve == nil || !strings.Contains(text, "embedding:") {
		return c.opts.Encode(text)
	}
	var out []int
	rest := text
	for {
		i := comfyRef(rest)
		if i < 0 {
			break
		}
		word := rest[i+len("embedding:"):]
		if j := strings.IndexAny(word, " \n"); j >= 0 {
			word = word[:j]
		}
		e, used, ok := c.resolve(word)
		if !ok {
			// Not found: ComfyUI drops it with a warning; A1111 reads it as text.
			c.r.Warnings = append(c.r.Warnings, "embedding:"+word+" not found: counted as text")
			ids, err := c.opts.Encode(rest[:i+len("embedding:")+len(word)])
			if err != nil {
				return nil, err
			}
			out = append(out, ids...)
			rest = rest[i+len("embedding:")+len(word):]
			continue
		}
		ids, err := c.opts.Encode(rest[:i])
		if err != nil {
			return nil, err
		}
		out = append(out, ids...)
		c.comfy = append(c.comfy, e)
		out = append(out, -len(c.comfy))
		rest = rest[i+len("embedding:")+used:]
	}
	ids, err := c.opts.Encode(rest)
	if err != nil {
		return nil, err
	}
	return append(out, ids...), nil
}

// comfyRef finds "embedding:" at the start of a space-separated word.
func comfyRef(s string) int {
	for off := 0; ; {
		i := strings.Index(s[off:], "embedding:")
		if i < 0 {
			return -1
		}
		i += off
		if i == 0 || s[i-1] == ' ' || s[i-1] == '\n' {
			return i
		}
		off = i + 1
	}
}

// resolve is ComfyUI's _try_get_embedding: the word, else the word with
// its commas stripped (what follows is text again).
func (c *counter) resolve(word string) (*Embedding, int, bool) {
	if e, ok := c.opts.Resolve(word); ok {
		return e, len(word), true
	}
	stripped := strings.Trim(word, ",")
	if stripped != word && stripped != "" {
		if e, ok := c.opts.Resolve(stripped); ok {
			// Leading commas are dropped by ComfyUI; only trailing ones stay text.
			return e, strings.Index(word, stripped) + len(stripped), true
		}
	}
	return nil, 0, false
}
