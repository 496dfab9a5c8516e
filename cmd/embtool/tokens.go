package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/embtool/embtool/internal/inputfile"
	"github.com/embtool/embtool/pkg/cliptok"
	"github.com/embtool/embtool/pkg/embedding"
	"github.com/embtool/embtool/pkg/prompt"
	"github.com/spf13/pflag"
)

const tokensSynopsis = "embtool tokens [--json] [--embeddings DIR] [--model M] PROMPT"

const tokensHelp = `Usage: ` + tokensSynopsis + `

Counts a prompt's CLIP tokens as AUTOMATIC1111's WebUI does: its attention
syntax is removed ((a:1.2), [a], \(, BREAK), the rest is tokenized with
CLIP's tokenizer, and each embedding named in the prompt counts as its
vectors (A1111: the file stem; ComfyUI: embedding:NAME). Shows the 75-token
chunks and what falls in each. PROMPT "-" reads the prompt from stdin.

TOKENS is text tokens plus embedding vectors, without start/end tokens or
padding. A1111's own counter can be higher: BREAK and the comma backtrack
pad a chunk to 75, and its counter shows that padding.

Flags:
      --embeddings DIR   embeddings folder (walked recursively, as A1111 does)
      --model M          load only embeddings for sd1, sd2 or sdxl, as A1111
                         skips those of another model (default: all); sd2
                         also tokenizes as A1111 does for SD2 (OpenAI's
                         tokenizer: HTML entities such as &amp; unescaped)
      --backtrack N      A1111's "prompt word wrap length limit" (default 20;
                         0 turns it off)
      --json             one JSON object: tokens, a1111_count, chunks, ...

Examples:
  embtool tokens "masterpiece, best quality, (red hair:1.2), 1girl"
  embtool tokens --embeddings ~/sd/embeddings \
      "EasyNegative, (worst quality:1.4), badhandv4"
  embtool tokens --json --embeddings ./embeddings - < negative.txt
`

// maxPromptBytes bounds a prompt read from stdin.
const maxPromptBytes = 256 << 10

func runTokens(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("tokens", pflag.ContinueOnError)
	asJSON := fs.Bool("json", false, "")
	dir := fs.String("embeddings", "", "")
	model := fs.String("model", "", "")
	backtrack := fs.Int("backtrack", prompt.DefaultCommaBacktrack, "")
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if err := fs.Parse(args); errors.Is(err, pflag.ErrHelp) {
		fmt.Fprint(stdout, tokensHelp)
		return exitOK
	} else if err != nil {
		return usageError(stderr, tokensSynopsis, "%v", err)
	}
	if fs.NArg() != 1 {
		return usageError(stderr, tokensSynopsis, "tokens needs one PROMPT (quote it)")
	}
	width := map[string]int{"": 0, "sd1": 768, "sd2": 1024, "sdxl": 2048}
	w, ok := width[*model]
	if !ok {
		return usageError(stderr, tokensSynopsis, "--model %q: want sd1, sd2 or sdxl", *model)
	}
	if *backtrack < 0 {
		return usageError(stderr, tokensSynopsis, "--backtrack %d: want 0 or more", *backtrack)
	}
	text := fs.Arg(0)
	if text == "-" {
		b, err := io.ReadAll(io.LimitReader(os.Stdin, maxPromptBytes+1))
		if err != nil {
			fmt.Fprintf(stderr, "embtool: reading the prompt: %v\n", err)
			return exitFailed
		}
		if len(b) > maxPromptBytes {
			fmt.Fprintf(stderr, "embtool: the prompt is over %d bytes\n", maxPromptBytes)
			return exitFailed
		}
		text = string(b)
	}
	opts := prompt.Options{CommaBacktrack: *backtrack, Encode: cliptok.EncodeA1111}
	if *model == "sd2" {
		// A1111 tokenizes for SD2 with open_clip's copy of OpenAI's
		// tokenizer (HTML entities unescaped), for SD1 and SDXL's CLIP-L
		// with Hugging Face's.
		opts.Encode = cliptok.Encode
	}
	var db *prompt.DB
	var folder *embFolder
	if *dir != "" {
		var err error
		folder, err = loadEmbFolder(*dir, w, opts.Encode)
		if err != nil {
			fmt.Fprintf(stderr, "embtool: %s: %v\n", *dir, err)
			return exitFailed
		}
		db = folder.db
		opts.Resolve = folder.resolve
		for _, s := range folder.skipped {
			fmt.Fprintf(stderr, "embtool: %s\n", s)
		}
	}
	res, err := prompt.Count(text, db, opts)
	if err != nil {
		fmt.Fprintf(stderr, "embtool: %v\n", err)
		return exitFailed
	}
	out := tokensReportOf(res)
	if folder != nil {
		out.root = folder.root
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(out); err != nil {
			fmt.Fprintf(stderr, "embtool: %v\n", err)
			return exitFailed
		}
		return exitOK
	}
	writeTokensTable(stdout, out)
	return exitOK
}

// embFolder is an embeddings folder as A1111 loads it.
type embFolder struct {
	root    string
	db      *prompt.DB
	byPath  map[string]*prompt.Embedding // cleaned path → embedding
	skipped []string
}

// loadEmbFolder reads every embedding under root (A1111's walk: zero-byte
// files and preview images skipped, any failure skips the file). width
// > 0 keeps only embeddings of that width, as A1111's expected_shape.
func loadEmbFolder(root string, width int, encode prompt.Encoder) (*embFolder, error) {
	st, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("not a folder")
	}
	f := &embFolder{root: filepath.Clean(root), db: prompt.NewDB(encode), byPath: map[string]*prompt.Embedding{}}
	for _, in := range expandPaths([]string{root}, embeddingExts) {
		if in.err != nil {
			f.skipped = append(f.skipped, fmt.Sprintf("%s: skipped: %v", in.path, in.err))
			continue
		}
		e, err := readVectorCount(in.path)
		if err != nil {
			if !errors.Is(err, errEmptyFile) {
				f.skipped = append(f.skipped, fmt.Sprintf("%s: skipped: %v", in.path, err))
			}
			continue
		}
		if width > 0 && e.Width != width {
			continue
		}
		ext := filepath.Ext(in.path)
		name := strings.TrimSuffix(filepath.Base(in.path), ext)
		if strings.EqualFold(ext, ".png") && e.StoredName != nil {
			name = *e.StoredName // A1111 names image embeddings by their stored name
		}
		pe := prompt.Embedding{Name: name, Vectors: e.Count, Path: in.path}
		if err := f.db.Register(pe); err != nil {
			f.skipped = append(f.skipped, fmt.Sprintf("%s: skipped: %v", in.path, err))
			continue
		}
		f.byPath[filepath.Clean(in.path)], _ = f.db.Get(name)
	}
	for _, r := range f.db.Replaced {
		f.skipped = append(f.skipped, "name clash: "+r)
	}
	return f, nil
}

var errEmptyFile = errors.New("empty file")

// readVectorCount decodes one file through a file handle: no hash, and
// only the parts the reader asks for.
func readVectorCount(path string) (*embedding.Embedding, error) {
	fh, size, err := inputfile.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	if size == 0 {
		return nil, errEmptyFile // A1111 skips these silently
	}
	e, err := embedding.Decode(fh, size, embedding.Options{})
	if err != nil {
		return nil, err
	}
	if e.Refusal != "" {
		return nil, errors.New(e.Refusal)
	}
	if e.Count == 0 {
		return nil, fmt.Errorf("no vectors")
	}
	return e, nil
}

// resolve is ComfyUI's lookup of embedding:NAME: NAME as a path under
// the folder or any subfolder, else NAME plus .safetensors, .pt, .bin.
func (f *embFolder) resolve(name string) (*prompt.Embedding, bool) {
	if name == "" {
		return nil, false
	}
	var hit *prompt.Embedding
	filepath.WalkDir(f.root, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		for _, suffix := range []string{"", ".safetensors", ".pt", ".bin"} {
			if e, ok := f.byPath[filepath.Join(p, name+suffix)]; ok {
				hit = e
				return filepath.SkipAll
			}
		}
		return nil
	})
	return hit, hit != nil
}

// tokensReport is the JSON of embtool tokens. Field names are stable.
type tokensReport struct {
	Tokens     int               `json:"tokens"`
	A1111Count int               `json:"a1111_count"`
	A1111Limit int               `json:"a1111_limit"`
	Chunks     []chunkReport     `json:"chunks"`
	Embeddings []embeddingReport `json:"embeddings"`
	Warnings   []string          `json:"warnings"`
	root       string            // the embeddings folder, for short paths in the table
}

type chunkReport struct {
	Tokens  int          `json:"tokens"`
	Padding int          `json:"padding"`
	Text    string       `json:"text"`
	Items   []itemReport `json:"items"`
	words   []string     // for the table: text split at spaces, each embedding one word
}

type itemReport struct {
	ID        *int        `json:"id,omitempty"`
	Text      string      `json:"text,omitempty"`
	Embedding string      `json:"embedding,omitempty"`
	Vectors   int         `json:"vectors,omitempty"`
	Weight    jsonFloat64 `json:"weight"`
}

type embeddingReport struct {
	Name    string `json:"name"`
	Vectors int    `json:"vectors"`
	Path    string `json:"path"`
}

// jsonFloat64 writes a non-finite weight ("(a:1e999)" is inf in A1111)
// as null.
type jsonFloat64 float64

func (f jsonFloat64) MarshalJSON() ([]byte, error) {
	return appendJSONFloat(nil, float64(f)), nil
}

func tokensReportOf(r *prompt.Result) tokensReport {
	out := tokensReport{
		Tokens:     r.Tokens,
		A1111Count: r.A1111Count,
		A1111Limit: (max(r.A1111Count, 1) + prompt.ChunkLength - 1) / prompt.ChunkLength * prompt.ChunkLength,
		Chunks:     []chunkReport{},
		Embeddings: []embeddingReport{},
		Warnings:   append([]string{}, r.Warnings...),
	}
	for _, ch := range r.Chunks {
		c := chunkReport{Tokens: len(ch.Slots), Padding: ch.Padding, Items: []itemReport{}}
		var text, run strings.Builder
		for i := 0; i < len(ch.Slots); i++ {
			s := ch.Slots[i]
			if s.Embedding != nil {
				n := 1
				for i+n < len(ch.Slots) && ch.Slots[i+n].Embedding == s.Embedding && ch.Slots[i+n].Vector == s.Vector+n {
					n++
				}
				c.Items = append(c.Items, itemReport{Embedding: s.Embedding.Name, Vectors: n, Weight: jsonFloat64(s.Weight)})
				label := fmt.Sprintf("<%s×%d>", s.Embedding.Name, n)
				c.words = append(c.words, strings.Fields(run.String())...)
				c.words = append(c.words, label)
				run.Reset()
				text.WriteString(label + " ")
				i += n - 1
				continue
			}
			t, _ := cliptok.TokenText(s.ID)
			id := s.ID
			c.Items = append(c.Items, itemReport{ID: &id, Text: t, Weight: jsonFloat64(s.Weight)})
			text.WriteString(t)
			run.WriteString(t)
		}
		c.words = append(c.words, strings.Fields(run.String())...)
		c.Text = strings.TrimSpace(text.String())
		out.Chunks = append(out.Chunks, c)
	}
	for _, e := range r.Used {
		out.Embeddings = append(out.Embeddings, embeddingReport{Name: e.Name, Vectors: e.Vectors, Path: e.Path})
	}
	return out
}

// tableWidth is the width the table keeps to.
const tableWidth = 80

func writeTokensTable(w io.Writer, r tokensReport) {
	fmt.Fprintf(w, "TOKENS %d   (A1111 counter %d/%d)\n", r.Tokens, r.A1111Count, r.A1111Limit)
	fmt.Fprintf(w, "%-5s  %6s  %3s  %s\n", "CHUNK", "TOKENS", "PAD", "CONTENT")
	const indent = 5 + 2 + 6 + 2 + 3 + 2
	for i, c := range r.Chunks {
		lines := wrap(c.words, tableWidth-indent)
		if len(lines) == 0 {
			lines = []string{""}
		}
		fmt.Fprintf(w, "%-5d  %6d  %3d  %s\n", i+1, c.Tokens, c.Padding, lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintf(w, "%s%s\n", strings.Repeat(" ", indent), l)
		}
	}
	if len(r.Embeddings) > 0 {
		nameW := len("EMBEDDING")
		for _, e := range r.Embeddings {
			nameW = max(nameW, utf8.RuneCountInString(e.Name))
		}
		fmt.Fprintf(w, "\n%-*s  %7s  %s\n", nameW, "EMBEDDING", "VECTORS", "FILE")
		for _, e := range r.Embeddings {
			path := e.Path
			if rel, err := filepath.Rel(r.root, e.Path); err == nil && r.root != "" {
				path = rel // --json has the full path
			}
			fmt.Fprintf(w, "%-*s  %7d  %s\n", nameW, e.Name, e.Vectors, path)
		}
	}
	for _, warn := range r.Warnings {
		for i, l := range wrap(strings.Fields(warn), tableWidth-2) {
			if i == 0 {
				fmt.Fprintf(w, "! %s\n", l)
			} else {
				fmt.Fprintf(w, "  %s\n", l)
			}
		}
	}
}

// wrap fills lines of at most width runes with words (a longer word is
// cut).
func wrap(words []string, width int) []string {
	var lines []string
	var cur []rune
	for _, word := range words {
		rw := []rune(word)
		for len(rw) > width {
			if len(cur) > 0 {
				lines, cur = append(lines, string(cur)), nil
			}
			lines, rw = append(lines, string(rw[:width])), rw[width:]
		}
		if len(cur) > 0 && len(cur)+1+len(rw) > width {
			lines, cur = append(lines, string(cur)), nil
		}
		if len(cur) > 0 {
			cur = append(cur, ' ')
		}
		cur = append(cur, rw...)
	}
	if len(cur) > 0 {
		lines = append(lines, string(cur))
	}
	return lines
}
