package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/embtool/embtool/pkg/embedding"
)

// column is one column of the inspect table. Columns with a higher drop
// rank leave first when the table is wider than the terminal.
type column struct {
	header string
	cells  []string
	drop   int // 0: never dropped
	// shrink: the column may be cut (from the left, a path) to fit.
	shrink bool
	width  int
}

// displayPath is the file as the table shows it: relative to the folder
// argument it was found under, or as the user named it.
func displayPath(in input) string {
	if in.named || in.root == "" {
		return in.path
	}
	if rel, err := filepath.Rel(in.root, in.path); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return in.path
}

// writeTable prints the human-readable table: one row per readable file,
// its problems and warnings indented below it. width > 0 fits the table
// and its notes to that many columns (a terminal); 0 prints every column
// in full (a pipe, --wide).
func writeTable(w io.Writer, reports []report, vectors bool, width int) {
	var rows []report
	sdxl, named, steps, ckpts := false, false, false, false
	for _, r := range reports {
		if r.Container == "" {
			continue
		}
		rows = append(rows, r)
		sdxl = sdxl || r.NormClipG != nil
		named = named || storedNameShown(r) != ""
		steps = steps || r.Step != nil
		ckpts = ckpts || checkpoint(r) != "-"
	}
	cols := []*column{
		{header: "FILE", shrink: true},
		{header: "NAME", shrink: true, drop: 6},
		{header: "LAYOUT", drop: 5},
		{header: "MODEL"},
		{header: "VECTORS"},
		{header: "DTYPE", drop: 4},
		{header: "NORM min/mean/max"},
		{header: "CLIP_G NORM", drop: 0},
		{header: "STEP", drop: 2},
		{header: "CHECKPOINT", drop: 1, shrink: true},
		{header: "HASH", drop: 3},
	}
	for _, r := range rows {
		size := "-"
		if r.Vectors > 0 {
			size = fmt.Sprintf("%d×%d", r.Vectors, r.Width)
		}
		norm, normG := r.Norm, (*normSummary)(nil)
		if r.NormClipL != nil {
			norm, normG = r.NormClipL, r.NormClipG
		}
		cells := []string{r.file, storedNameShown(r), r.Layout, r.Model, size, dtypes(r),
			fmtNorm(norm), fmtNorm(normG), optInt(r.Step), checkpoint(r), r.Hash}
		for i, c := range cells {
			cols[i].cells = append(cols[i].cells, c)
		}
	}
	// Columns with nothing to say leave.
	var keep []*column
	for _, c := range cols {
		switch {
		case c.header == "NAME" && !named, c.header == "CLIP_G NORM" && !sdxl,
			c.header == "STEP" && !steps, c.header == "CHECKPOINT" && !ckpts:
			continue
		}
		keep = append(keep, c)
	}
	if sdxl {
		keep[indexOf(keep, "NORM min/mean/max")].header = "NORM (clip_l for SDXL)"
	}
	cols = keep
	for _, c := range cols {
		c.width = runeWidth(c.header)
		for _, s := range c.cells {
			c.width = max(c.width, runeWidth(s))
		}
	}
	for _, r := range reports {
		if r.Container == "" && r.kindWords != "" {
			cols[0].width = max(cols[0].width, runeWidth(r.file))
		}
	}
	if width > 0 {
		cols = fit(cols, width)
	}
	printRow := func(cells []string) {
		var b strings.Builder
		for i, c := range cols {
			s := cells[i]
			if runeWidth(s) > c.width {
				s = cut(s, c.width, c.header == "FILE")
			}
			b.WriteString(s)
			if i < len(cols)-1 {
				b.WriteString(strings.Repeat(" ", c.width-runeWidth(s)+2))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	headers := make([]string, len(cols))
	for i, c := range cols {
		headers[i] = c.header
	}
	printRow(headers)
	note := func(mark, text string, paint func(string) string) {
		for _, line := range wrapText(text, width, 6) {
			if mark != "" {
				fmt.Fprintf(w, "    %s %s\n", mark, paint(line))
				mark = ""
				continue
			}
			fmt.Fprintf(w, "      %s\n", paint(line))
		}
	}
	red := func(s string) string { return paint(colorOut, ansiRed, s) }
	yellow := func(s string) string { return paint(colorOut, ansiYellow, s) }
	i := 0
	for _, r := range reports {
		if r.Container == "" {
			if r.kindWords != "" { // not an embedding: what it is, in words
				fileW := cols[0].width
				name := cut(r.file, fileW, true)
				line := name + strings.Repeat(" ", max(fileW-runeWidth(name), 0)+2) + r.kindWords
				if width > 0 {
					line = truncate(line, width)
				}
				fmt.Fprintln(w, line)
			}
			continue
		}
		cells := make([]string, len(cols))
		for k, c := range cols {
			cells[k] = c.cells[i]
		}
		printRow(cells)
		i++
		if vectors {
			for _, t := range r.Tensors {
				for j, n := range t.Norms {
					fmt.Fprintf(w, "    %s[%d]  %.6f\n", t.Key, j, n)
				}
			}
		}
		if r.Error != "" {
			note("✗", r.Error, red)
		}
		for _, u := range r.Unsafe {
			note("✗", "unsafe: "+u, red)
		}
		for _, warn := range r.Warnings {
			note("!", warn, yellow)
		}
		writeNearest(w, r)
	}
}

// storedNameShown is the stored name when it differs from the file's
// name (for an image, the name A1111 uses differs from its file name).
func storedNameShown(r report) string {
	base := filepath.Base(r.Path)
	stem := strings.TrimSuffix(base, filepath.Ext(base))
	if r.Container == embedding.ContainerPNG && r.Name != stem {
		return r.Name
	}
	if r.StoredName != nil && *r.StoredName != stem {
		return *r.StoredName
	}
	return ""
}

func fmtNorm(s *normSummary) string {
	if s == nil {
		return "-"
	}
	return fmt.Sprintf("%.4f/%.4f/%.4f", s.Min, s.Mean, s.Max)
}

func indexOf(cols []*column, header string) int {
	for i, c := range cols {
		if c.header == header {
			return i
		}
	}
	return -1
}

// colsWidth is the width of the table's widest line.
func colsWidth(cols []*column) int {
	n := 0
	for _, c := range cols {
		n += c.width + 2
	}
	return n - 2
}

// fit makes the table fit width, giving up detail in this order: the
// checkpoint, step, hash and dtype columns; the norms' min and max; the
// length of names; the layout column; the length of paths (to 20); the
// name column; then paths down to 8 columns.
func fit(cols []*column, width int) []*column {
	dropUpTo := func(rank int) {
		for colsWidth(cols) > width {
			worst := -1
			for i, c := range cols {
				if c.drop > 0 && c.drop <= rank && (worst < 0 || c.drop < cols[worst].drop) {
					worst = i
				}
			}
			if worst < 0 {
				return
			}
			cols = append(cols[:worst:worst], cols[worst+1:]...)
		}
	}
	// Names and checkpoints are cut before the file, which says which
	// row is which.
	shrinkTo := func(floor int, file bool) {
		for _, c := range cols {
			over := colsWidth(cols) - width
			if over <= 0 {
				return
			}
			if c.shrink && (c.header == "FILE") == file && c.width > max(runeWidth(c.header), floor) {
				c.width -= min(over, c.width-max(runeWidth(c.header), floor))
			}
		}
	}
	dropUpTo(4)
	if colsWidth(cols) > width {
		meanOnly(cols)
	}
	shrinkTo(12, false)
	dropUpTo(5)
	shrinkTo(20, true)
	dropUpTo(6)
	shrinkTo(8, true)
	return cols
}

// meanOnly reduces the norm columns to the mean.
func meanOnly(cols []*column) {
	for _, c := range cols {
		if !strings.HasPrefix(c.header, "NORM") && c.header != "CLIP_G NORM" {
			continue
		}
		for k, s := range c.cells {
			if parts := strings.Split(s, "/"); len(parts) == 3 {
				c.cells[k] = parts[1]
			}
		}
		switch {
		case c.header == "CLIP_G NORM":
		case strings.Contains(c.header, "clip_l"):
			c.header = "NORM (L)"
		default:
			c.header = "NORM"
		}
		c.width = runeWidth(c.header)
		for _, s := range c.cells {
			c.width = max(c.width, runeWidth(s))
		}
	}
}

// cut shortens s to n columns: a path loses its start ("…sub/name.pt"),
// anything else its end.
func cut(s string, n int, path bool) string {
	if runeWidth(s) <= n {
		return s
	}
	if !path || n < 2 {
		return truncate(s, n)
	}
	r := []rune(s)
	return "…" + string(r[len(r)-(n-1):])
}

// wrapText breaks text into lines of at most width-indent columns at spaces
// (width 0: one line).
func wrapText(text string, width, indent int) []string {
	limit := width - indent
	if width <= 0 || limit < 20 || runeWidth(text) <= limit {
		return []string{text}
	}
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		switch {
		case line == "":
			line = word
		case runeWidth(line)+1+runeWidth(word) <= limit:
			line += " " + word
		default:
			lines = append(lines, line)
			line = word
		}
	}
	return append(lines, line)
}
