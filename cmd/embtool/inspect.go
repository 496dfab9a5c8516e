package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/embtool/embtool/pkg/embedding"
	"github.com/embtool/embtool/pkg/identify"
	"github.com/spf13/pflag"
)

const inspectSynopsis = "embtool inspect [--json] [--vectors] [--nearest K --clip MODEL] PATH..."

func runInspect(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("inspect", pflag.ContinueOnError)
	asJSON := fs.Bool("json", false, "one JSON object per file (JSON Lines)")
	vectors := fs.Bool("vectors", false, "list every vector's L2 norm")
	wide := fs.BoolP("wide", "w", false, "every column in full, whatever the terminal's width\n(the default when output is not a terminal)")
	allowUnsafe := fs.Bool("allow-unsafe", false, "read tensors from a pickle that names disallowed globals (nothing is executed); the file still counts as failed")
	nearest := fs.Int("nearest", 0, "list the `K` vocabulary tokens nearest each vector by cosine (needs --clip)")
	clip := fs.String("clip", "", "the `MODEL` (a checkpoint or diffusers text encoder) whose token embeddings --nearest and the strength check use")
	if done, st := parseFlags(fs, inspectSynopsis, args, stdout, stderr); done {
		return st
	}
	if fs.NArg() == 0 {
		return usageError(stderr, inspectSynopsis, "inspect needs at least one file or folder")
	}
	if *nearest < 0 || (*nearest > 0 && *clip == "") {
		return usageError(stderr, inspectSynopsis, "--nearest K needs K >= 1 and --clip MODEL")
	}
	var vs *vocabSet
	if *clip != "" {
		var err error
		if vs, err = openVocab(*clip); err != nil {
			fmt.Fprintf(stderr, "embtool: --clip: %v\n", err)
			return exitFailed
		}
		defer vs.Close()
	}
	opts := embedding.Options{AllowUnsafe: *allowUnsafe}
	status := exitOK
	inputs := expandPaths(fs.Args(), embeddingExts)
	if len(inputs) == 0 {
		fmt.Fprintf(stderr, "embtool: no embeddings found under %s\n", strings.Join(fs.Args(), ", "))
		return exitOK
	}
	// JSON Lines go out in path order as files finish (buffered: the
	// first line at once, then at least every 50 ms), so `inspect --json
	// BIG | head` answers at once and memory stays flat; the table needs
	// every row for its column widths.
	// A bar on a terminal (stderr) counts the files; what is written
	// while it is up clears its line first.
	bar := newCountBar(int64(len(inputs)), stderr, "files")
	errOut := bar.around(stderr)
	out := newTimedWriter(bar.around(stdout), 50*time.Millisecond)
	var tally inspectTally
	var reports []report
	emit := func(r report) {
		if !r.OK && !r.Skipped {
			status = exitFailed
			fmt.Fprintf(errOut, "embtool: %s: %s\n", r.Path, paintError(r))
		}
		tally.add(r)
		if !*asJSON {
			reports = append(reports, r)
			return
		}
		// The worker encoded the line (emit runs under the pool's lock).
		if r.lineErr == nil {
			out.Write(*r.line)
			*r.line = (*r.line)[:0]
			lines.Put(r.line)
		} else {
			// One record that cannot be encoded must not end the
			// output: report it as failed and go on.
			fmt.Fprintf(errOut, "embtool: %s: %v\n", r.Path, r.lineErr)
			failed, _ := (&report{Path: r.Path, Error: "encoding the report: " + r.lineErr.Error()}).appendJSON(nil)
			out.Write(append(failed, '\n'))
			status = exitFailed
		}
	}
	stream(inputs, bar, func() func(input) report {
		rd := &embedding.Reader{Options: opts} // one buffer per worker
		read := func(in input) report {
			if in.err != nil {
				return report{Path: in.path, file: in.path, Error: in.err.Error(), Warnings: []string{}, Tensors: []tensorReport{}}
			}
			r := inspectFile(in.path, rd, *asJSON)
			r.file = displayPath(in)
			r.Skipped = r.other && !in.named
			addVocab(&r, vs, *nearest)
			r.e = nil // it shares rd's buffer, which the next Read reuses
			return r
		}
		return func(in input) report {
			r := read(in)
			if *asJSON {
				r.line = lines.Get().(*[]byte)
				*r.line, r.lineErr = r.appendJSON((*r.line)[:0])
				*r.line = append(*r.line, '\n')
			}
			return r
		}
	}, emit)
	bar.finish()
	defer tally.write(stderr)
	if tally.embeddings == 0 && status == exitOK {
		fmt.Fprintf(stderr, "embtool: no embeddings found under %s\n", strings.Join(fs.Args(), ", "))
	}
	if *asJSON {
		out.Close()
		return status
	}
	width := termWidth(stdout)
	if *wide {
		width = 0
	}
	defer out.Close()
	stdout = out
	if tally.embeddings > 0 || *vectors {
		writeTable(stdout, reports, *vectors, width)
		// Notes that hold for the whole run follow the table, once
		// (JSON carries them in each record's strength source).
		seen := map[string]bool{}
		for _, r := range reports {
			for _, h := range r.hints {
				if !seen[h] {
					seen[h] = true
					for i, line := range wrapText("* "+h, width, 2) {
						if i > 0 {
							line = "  " + line
						}
						fmt.Fprintln(stdout, line)
					}
				}
			}
		}
	}
	return status
}

func dtypes(r report) string {
	var ds []string
	for _, t := range r.Tensors {
		if len(ds) == 0 || ds[len(ds)-1] != t.DType {
			ds = append(ds, t.DType)
		}
	}
	return strings.Join(ds, "+")
}

func optInt(p *int64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprint(*p)
}

func checkpoint(r report) string {
	var parts []string
	if r.SDCheckpointName != nil {
		parts = append(parts, *r.SDCheckpointName)
	}
	if r.SDCheckpoint != nil {
		parts = append(parts, "["+*r.SDCheckpoint+"]")
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

// inspectTally counts the files of a run by layout, model and kind, for
// the summary that ends a run over several files; it keeps no report,
// so a long run's memory stays flat.
type inspectTally struct {
	n, failed, unsafe, skipped, embeddings int
	layouts, models, kinds, skippedKinds   map[string]int
}

func (t *inspectTally) add(r report) {
	if t.layouts == nil {
		t.layouts, t.models, t.kinds, t.skippedKinds = map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
	}
	t.n++
	if r.Container != "" {
		t.embeddings++
	}
	other := r.Kind != "" && r.Kind != string(identify.KindEmbedding) && r.Kind != string(identify.KindUnknown)
	if len(r.Unsafe) > 0 {
		t.unsafe++
	}
	switch {
	case r.Skipped:
		t.skipped++
		t.skippedKinds[r.Kind]++
	case !r.OK:
		t.failed++
		if other {
			t.kinds[r.Kind]++
		}
	}
	if r.Container != "" && r.OK {
		t.layouts[r.Layout]++
		t.models[r.Model]++
	}
}

// write ends a run over several files with counts by layout and model,
// the skipped and the failures.
func (t *inspectTally) write(w io.Writer) {
	if t.n < 2 {
		return
	}
	others, skip := "", ""
	if len(t.kinds) > 0 {
		others = " (not embeddings: " + counts(t.kinds) + ")"
	}
	if t.skipped > 0 {
		skip = fmt.Sprintf(", %d skipped (not embeddings: %s)", t.skipped, counts(t.skippedKinds))
	}
	summaryLine(w, fmt.Sprintf("%d files: %d ok (%s; %s)%s, %d failed%s, %d unsafe",
		t.n, t.n-t.failed-t.skipped, counts(t.layouts), counts(t.models), skip, t.failed, others, t.unsafe))
}

// counts formats a tally as "a1111 3, kohya 2", largest first.
func counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// lines recycles inspect --json's line buffers: a line lives from the
// worker that encodes it until it is written, in path order.
var lines = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}
