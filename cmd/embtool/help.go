package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"
)

// helpWidth: every help page fits an 80-column terminal.
const helpWidth = 80

// helpText is what a command's --help says besides its synopsis and
// flags: what it does, notes after the flags, and real examples.
type helpText struct {
	about, after, examples string
}

// helps are the command help pages (tokens writes its own, tokensHelp).
var helps = map[string]helpText{
	"inspect": {
		about: `Reads embeddings (files, or folders walked recursively as A1111 does) and
shows one row each: file, stored name when it differs, layout, model,
vectors × width, dtype, norms (per encoder for SDXL), training step,
checkpoint and hash. On a terminal the table fits its width; piped, or
with --wide, every column is shown. Files in a folder that are not
embeddings (previews, LoRAs) are skipped and counted; named on the
command line they fail. Exit 1 when any file fails or is unsafe.`,
		examples: `  embtool inspect ~/sd/embeddings
  embtool inspect --vectors EasyNegative.safetensors
  embtool inspect --json embeddings/ | jq -r 'select(.ok) | .path'`,
	},
	"scan": {
		about: `Scans every pickle a file holds (torch zip, legacy torch, bare pickle,
NumPy) without running it and names each import and call it would make.
A folder is walked for model files (.pt .bin .ckpt .pth .safetensors .png
.pkl .pickle .npy).`,
		after: scanStatusHelp,
		examples: `  embtool scan ~/Downloads/model.ckpt
  embtool scan ~/sd/models
  embtool scan --json suspicious.pt | jq .findings`,
	},
	"convert": {
		about: `Writes IN's embedding to OUT in the format OUT's extension names:
.pt (A1111), .safetensors (kohya; sdxl for SDXL), .bin (diffusers).
Tensors are copied bit for bit unless --dtype asks otherwise; OUT is
written to a temporary file, read back, compared, then renamed.
A checkpoint or other tensor file named as IN is converted as a plain
tensor dict (--tensors forces that).

Names: A1111 and ComfyUI trigger an embedding by its file name, diffusers
by the name stored inside. The stored name written is OUT's file name, so
every UI agrees; --name stores another (then the UIs disagree, and convert
says so).

--to converts every PATH (files, folders walked) in one run; -o mirrors
them under OUTDIR. Inputs that would write the same output are reported
before anything is written; files in a folder that are not embeddings are
skipped.`,
		after: bridgeHelp,
		examples: `  embtool convert EasyNegative.pt EasyNegative.safetensors
  embtool convert --dtype F16 --name bad_hands old.pt bad_hands.safetensors
  embtool convert --to safetensors -o converted/ ~/sd/embeddings`,
	},
	"merge": {
		about: `Blends (a weighted sum, vector by vector) or concatenates embeddings of
one model into a new one. The recipe is stored in the output's metadata.
On SDXL, --norm sets clip_l and clip_g each to X.`,
		after: `Slices: IN[slice] takes some vectors of IN, as Python indexes a list:
  a.pt[0]     the first vector       a.pt[-1]    the last
  a.pt[2:5]   vectors 2, 3 and 4     a.pt[:3]    the first three
  a.pt[::2]   every other vector     a.pt[-2:]   the last two
Quote the argument in a shell that expands brackets: 'a.pt[2:5]'.
Weights must be finite; a result that is all zero (weights that cancel)
or not finite is refused unless --force.`,
		examples: `  embtool merge -o blend.safetensors style_a.pt style_b.safetensors
  embtool merge --weights 0.7,0.3 --norm vocab -o mix.pt a.pt b.pt
  embtool merge --mode concat -o both.pt 'a.pt[:2]' 'b.pt[-2:]'`,
	},
	"compare": {
		after: compareHelp,
		examples: `  embtool compare EasyNegative.pt EasyNegative.safetensors
  embtool compare ~/sd/embeddings
  embtool compare --json a.pt b.pt`,
	},
	"plot": {
		about: `Draws each embedding's vector norms as bars (one panel per file), with
the vocabulary's mean token norm as a reference line.`,
		examples: `  embtool plot -o norms.png EasyNegative.pt badhandv4.pt
  embtool plot --clip v1-5-pruned.safetensors -o norms.svg embeddings/`,
	},
}

// writeHelp prints a command's help page: synopsis, what it does, its
// flags wrapped to 80 columns, notes and examples.
func writeHelp(w io.Writer, fs *pflag.FlagSet, synopsis string) {
	h := helps[fs.Name()]
	fmt.Fprintf(w, "%s\n", wrapSynopsis(synopsis))
	if h.about != "" {
		fmt.Fprintf(w, "\n%s\n", wrapLines(h.about))
	}
	fmt.Fprintf(w, "\nFlags:\n%s", flagUsages(fs))
	if h.after != "" {
		fmt.Fprintf(w, "\n%s\n", wrapLines(h.after))
	}
	if h.examples != "" {
		fmt.Fprintf(w, "\nExamples:\n%s\n", strings.TrimRight(h.examples, "\n"))
	}
}

// wrapSynopsis is "Usage: " and the synopsis, broken before an option
// group where a line would pass 80 columns.
func wrapSynopsis(synopsis string) string {
	var out []string
	for i, line := range strings.Split(synopsis, "\n") {
		line = strings.TrimSpace(line)
		prefix := "Usage: "
		if i > 0 {
			prefix = "       "
		}
		cur := prefix
		for _, word := range splitGroups(line) {
			if len(cur) > len(prefix) && runeWidth(cur)+1+runeWidth(word) > helpWidth {
				out = append(out, cur)
				cur = strings.Repeat(" ", len(prefix)+4)
			} else if cur != prefix && !strings.HasSuffix(cur, " ") {
				cur += " "
			}
			cur += word
		}
		out = append(out, cur)
	}
	return strings.Join(out, "\n")
}

// splitGroups splits a synopsis at spaces outside brackets, so an
// optional group such as [--scale F | --norm X] stays on one line.
func splitGroups(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '[':
			depth++
		case ']':
			depth--
		case ' ':
			if depth == 0 {
				if i > start {
					out = append(out, s[start:i])
				}
				start = i + 1
			}
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

// flagUsages lists the flags as pflag does, without its [=true|false]
// noise, each description wrapped to 80 columns under its flag.
func flagUsages(fs *pflag.FlagSet) string {
	type line struct{ left, usage string }
	var lines []line
	width := 0
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		left := "      --" + f.Name
		if f.Shorthand != "" {
			left = "  -" + f.Shorthand + ", --" + f.Name
		}
		varname, usage := pflag.UnquoteUsage(f)
		switch {
		case f.Value.Type() == "bool":
		case varname == "string" || varname == "int" || varname == "float":
			left += " " + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		case varname != "":
			left += " " + varname
		}
		if d := f.DefValue; d != "" && d != "false" && d != "0" && d != "[]" && !strings.Contains(usage, "default") {
			usage += fmt.Sprintf(" (default %s)", d)
		}
		lines = append(lines, line{left, strings.ReplaceAll(usage, "\n", " ")})
		width = max(width, runeWidth(left))
	})
	width = min(width, 30)
	var b strings.Builder
	for _, l := range lines {
		pad := width + 3
		text := wrapText(l.usage, helpWidth-pad, 0)
		if runeWidth(l.left) > width {
			fmt.Fprintf(&b, "%s\n", l.left)
			fmt.Fprintf(&b, "%s%s\n", strings.Repeat(" ", pad), text[0])
		} else {
			fmt.Fprintf(&b, "%s%s%s\n", l.left, strings.Repeat(" ", pad-runeWidth(l.left)), text[0])
		}
		for _, t := range text[1:] {
			fmt.Fprintf(&b, "%s%s\n", strings.Repeat(" ", pad), t)
		}
	}
	return b.String()
}

// wrapLines wraps each line of a text block longer than 80 columns,
// keeping its indentation.
func wrapLines(text string) string {
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		indent := len(line) - len(strings.TrimLeft(line, " "))
		for i, l := range wrapText(strings.TrimSpace(line), helpWidth, indent) {
			if i == 0 || indent > 0 {
				l = strings.Repeat(" ", indent) + l
			}
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
