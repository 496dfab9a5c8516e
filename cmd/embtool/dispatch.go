package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// runNotCommand handles a first argument that names no command. An
// existing path means `embtool FILE...`, which inspects every argument:
// what a drag-and-drop onto embtool.exe (or "Open with") passes. Anything
// else is a usage error that suggests the nearest command.
func runNotCommand(args []string, stdout, stderr io.Writer) int {
	first := args[0]
	if !strings.HasPrefix(first, "-") {
		if _, err := os.Stat(first); err == nil {
			return runInspect(args, stdout, stderr)
		}
	}
	if looksLikePath(first) {
		fmt.Fprintf(stderr, "embtool: %s: no such file or folder, and not a command\n\n%s", first, usage)
		return exitUsage
	}
	fmt.Fprintf(stderr, "embtool: unknown command %q", first)
	if s := suggestCommand(first); s != "" {
		fmt.Fprintf(stderr, "; did you mean %s?", s)
	}
	fmt.Fprintf(stderr, "\n\n%s", usage)
	return exitUsage
}

// looksLikePath: a separator, a drive letter or an extension embtool reads.
func looksLikePath(s string) bool {
	if strings.ContainsAny(s, `/\`) || filepath.VolumeName(s) != "" || (len(s) >= 2 && s[1] == ':') {
		return true
	}
	return pickleExts[strings.ToLower(filepath.Ext(s))]
}

// suggestCommand is the command nearest to s by edit distance, if it is
// near enough to be a typo (at most a third of the longer name, and at
// least one edit allowed), or a command s is a prefix of; "" otherwise.
func suggestCommand(s string) string {
	s = strings.ToLower(s)
	names := make([]string, 0, len(commands)+2)
	for name := range commands {
		names = append(names, name)
	}
	names = append(names, "help", "version")
	sort.Strings(names) // ties go to the first name, the same on every run
	best, bestDist := "", -1
	for _, name := range names {
		d := editDistance(s, name)
		if len(s) >= 3 && strings.HasPrefix(name, s) {
			d = 0
		}
		if bestDist < 0 || d < bestDist {
			best, bestDist = name, d
		}
	}
	limit := max(len(s), len(best)) / 3
	if limit < 1 {
		limit = 1
	}
	if bestDist > limit {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in runes,
// with an adjacent swap counting as one edit (optimal string alignment).
// Command-line arguments are short; the cost is len(a)·len(b).
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 {
		ra = ra[:64] // a typo of a command name is never this long
	}
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
