package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/embtool/embtool/pkg/compare"
	"github.com/embtool/embtool/pkg/embedding"
	"github.com/spf13/pflag"
)

const compareSynopsis = "embtool compare [--json] A B | PATH..."

const compareHelp = `Two files: for each vector of A, the best-matching vector of B and its
cosine (float64), and the relation: identical, contains (every vector of B
is in A, at the rows shown), contained, overlap (a vector shared, or a pair
at cosine >= 0.999) or unrelated.
A folder or more than two files: groups of duplicates, containments and
name clashes (files A1111 or ComfyUI load under one trigger word), with the
file each UI picks.
Two vectors are the same when their values are bit-equal after rounding both
to the coarser dtype of the two files (F16, BF16, else F32): a .pt and its
F16 .safetensors conversion are identical; a rescaled copy is not (it is
shown with its scale). Folders are indexed by hashing rows, not all pairs.
`

func runCompare(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("compare", pflag.ContinueOnError)
	asJSON := fs.Bool("json", false, "one JSON object per pair or group (JSON Lines)")
	if done, st := parseFlags(fs, compareSynopsis, args, stdout, stderr); done {
		return st
	}
	if fs.NArg() == 0 {
		return usageError(stderr, compareSynopsis, "compare needs two files, or a folder")
	}
	inputs := expandPaths(fs.Args(), embeddingExts)
	if len(inputs) == 0 {
		fmt.Fprintf(stderr, "embtool: no embeddings found under %s\n", strings.Join(fs.Args(), ", "))
		return exitOK
	}
	type loaded struct {
		item *compare.Item
		file compare.File
		err  error
	}
	res := forEach(inputs, stderr, func(in input) loaded {
		if in.err != nil {
			return loaded{err: in.err}
		}
		e, _, err := embedding.ReadFile(in.path, embedding.Options{})
		if err != nil {
			return loaded{err: err}
		}
		it, err := compare.FromEmbedding(in.path, e)
		if err != nil {
			return loaded{err: err}
		}
		return loaded{item: it, file: compare.File{Path: in.path, Root: in.root, Name: promptName(in.path, e)}}
	})
	status := exitOK
	var items []*compare.Item
	var files []compare.File
	for i, r := range res {
		if r.err != nil {
			fmt.Fprintf(stderr, "embtool: %s: %v\n", inputs[i].path, r.err)
			status = exitFailed
			continue
		}
		items = append(items, r.item)
		files = append(files, r.file)
	}
	pairMode := fs.NArg() == 2 && len(inputs) == 2 && !isDir(fs.Arg(0)) && !isDir(fs.Arg(1))
	if pairMode {
		if len(items) != 2 {
			return exitFailed
		}
		p := compare.ComparePair(items[0], items[1])
		if *asJSON {
			writeJSONLine(stdout, p)
		} else {
			writePair(stdout, p, items[0], items[1])
		}
		return status
	}
	groups := compare.Groups(items)
	groups = append(groups, compare.NameClashes(files)...)
	if *asJSON {
		for _, g := range groups {
			writeJSONLine(stdout, g)
		}
		return status
	}
	writeGroups(stdout, groups)
	fmt.Fprintf(stderr, "embtool: %d embeddings compared: %d findings\n", len(items), len(groups))
	return status
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func writeJSONLine(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

func writePair(w io.Writer, p compare.Pair, a, b *compare.Item) {
	fmt.Fprintf(w, "A: %s (%d×%d)\nB: %s (%d×%d)\n", a.Path, a.Rows, a.Width, b.Path, b.Rows, b.Width)
	line := p.Relation
	switch p.Relation {
	case compare.Identical:
		line += ": the same vectors in the same order"
	case compare.Contains:
		line += ": every vector of B is in A, at rows " + rowRanges(p.At) + " of A"
	case compare.Contained:
		line += ": every vector of A is in B, at rows " + rowRanges(p.At) + " of B"
	case compare.Overlap:
		line += ": some vectors shared or nearly parallel"
	}
	fmt.Fprintf(w, "relation: %s (values compared at %s)\n", line, p.Precision)
	if p.Note != "" {
		fmt.Fprintf(w, "note: %s\n", p.Note)
	}
	for _, m := range p.Rows {
		extra := ""
		switch {
		case m.Same:
			extra = "  same vector"
		case m.Scale != nil:
			extra = fmt.Sprintf("  same direction, %.4f× B's norm", *m.Scale)
		}
		fmt.Fprintf(w, "  A[%d] ~ B[%d]  cos %.6f%s\n", m.A, m.B, float64(m.Cos), extra)
	}
}

func writeGroups(w io.Writer, groups []compare.Group) {
	for _, g := range groups {
		switch g.Relation {
		case compare.Duplicates:
			fmt.Fprintf(w, "duplicates: %s\n", strings.Join(g.Paths, " = "))
		case compare.Contains:
			fmt.Fprintf(w, "contains: %s contains %s at rows %s\n", g.A, g.B, rowRanges(g.At))
		case compare.NameClash:
			fmt.Fprintf(w, "name-clash %q: %s\n", g.Name, strings.Join(g.Paths, ", "))
			fmt.Fprintf(w, "    A1111 loads %s\n", g.A1111)
			if g.ComfyUI != "" {
				fmt.Fprintf(w, "    ComfyUI loads %s\n", g.ComfyUI)
			}
			if g.Note != "" {
				fmt.Fprintf(w, "    %s\n", g.Note)
			}
		}
	}
	if len(groups) == 0 {
		fmt.Fprintln(w, "no duplicates, containments or name clashes")
	}
}

// rowRanges writes 59,60,61 as "59–61".
func rowRanges(rows []int) string {
	var parts []string
	for i := 0; i < len(rows); {
		j := i
		for j+1 < len(rows) && rows[j+1] == rows[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d–%d", rows[i], rows[j]))
		} else {
			parts = append(parts, fmt.Sprint(rows[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}
