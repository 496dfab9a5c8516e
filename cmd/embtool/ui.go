package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/term"
)

// terminal reports whether w is a terminal (not a pipe, a file or a test
// buffer).
func terminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// colorErr and colorOut: warnings in yellow and unsafe findings in red
// on a terminal, never in a pipe, never with NO_COLOR set (no-color.org)
// or TERM=dumb. run sets them once, from its stderr and stdout.
var colorErr, colorOut bool

func colorFor(w io.Writer) bool {
	return terminal(w) && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"
}

const (
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiReset  = "\x1b[0m"
)

func paint(on bool, color, s string) string {
	if !on {
		return s
	}
	return color + s + ansiReset
}

// warning is a warning line's text after "embtool: PATH: " on stderr.
func warning(s string) string { return paint(colorErr, ansiYellow, "warning: "+s) }

// termWidth is the width to fit the table to: $COLUMNS when set (as
// ls does), else the terminal's, else 0 (not a terminal: no limit).
func termWidth(w io.Writer) int {
	if c, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && c > 0 {
		return c
	}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		if c, _, err := term.GetSize(int(f.Fd())); err == nil && c > 0 {
			return c
		}
	}
	return 0
}

// hintSet holds advice for a whole run: each hint is said once, at the
// end, however many files asked for it.
type hintSet struct {
	mu    sync.Mutex
	order []string
	seen  map[string]bool
}

func (h *hintSet) add(s string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.seen == nil {
		h.seen = map[string]bool{}
	}
	if !h.seen[s] {
		h.seen[s] = true
		h.order = append(h.order, s)
	}
}

func (h *hintSet) write(w io.Writer) {
	for _, s := range h.order {
		fmt.Fprintf(w, "embtool: hint: %s\n", s)
	}
}

// truncate cuts s to n display columns, marking the cut with "…".
func truncate(s string, n int) string {
	if n <= 0 || runeWidth(s) <= n {
		return s
	}
	r := []rune(s)
	if n == 1 {
		return "…"
	}
	return string(r[:n-1]) + "…"
}

// runeWidth counts columns as runes (the table holds no wide characters
// but file names may; those are cut by runes, which may overshoot).
func runeWidth(s string) int { return len([]rune(s)) }

// plural is "1 file", "2 files".
func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, strings.TrimSuffix(word, "s"))
}

// paintError is a failed file's error, red when the file is unsafe.
func paintError(r report) string {
	if len(r.Unsafe) > 0 {
		return paint(colorErr, ansiRed, r.Error)
	}
	return r.Error
}

// summaryLine prints a run's closing "embtool: …" line, wrapped under
// its prefix to the width of w when that is a terminal (or $COLUMNS).
func summaryLine(w io.Writer, text string) {
	lines := wrapText(text, termWidth(w), len("embtool: "))
	fmt.Fprintf(w, "embtool: %s\n", lines[0])
	for _, l := range lines[1:] {
		fmt.Fprintf(w, "         %s\n", l)
	}
}
