package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/embtool/embtool/pkg/embedding"
	"github.com/embtool/embtool/pkg/identify"
	"github.com/spf13/pflag"
)

const inspectSynopsis = "embtool inspect [--json] [--vectors] [--nearest K --clip MODEL] PATH..."

func runInspect(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("inspect", pflag.ContinueOnError)
	asJSON := fs.Bool("json", false, "one JSON object per file (JSON Lines)")
	vectors := fs.Bool("vectors", false, "list every vector's L2 norm")
	allowUnsafe := fs.Bool("allow-unsafe", false, "read tensors from a pickle that names disallowed globals (nothing is executed); the file still counts as failed")
	nearest := fs.Int("nearest", 0, "list the K vocabulary tokens nearest each vector by cosine (needs --clip)")
	clip := fs.String("clip", "", "a checkpoint or diffusers text encoder whose token embeddings --nearest and the strength check use")
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
	// JSON Lines go out in path order as files finish (buffered: the
	// first line at once, then at least every 50 ms), so `inspect --json
	// BIG | head` answers at once and memory stays flat; the table needs
	// every row for its column widths.
	out := newTimedWriter(stdout, 50*time.Millisecond)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	var tally inspectTally
	var reports []report
	emit := func(r report) {
		if !r.OK {
			status = exitFailed
			fmt.Fprintf(stderr, "embtool: %s: %s\n", r.Path, r.Error)
		}
		tally.add(r)
		if !*asJSON {
			reports = append(reports, r)
			return
		}
		// report.MarshalJSON writes compact JSON without HTML escaping:
		// written as is, it is what enc.Encode would write, without
		// the Encoder's second pass over the bytes.
		b, err := r.MarshalJSON()
		if err == nil {
			out.Write(append(b, '\n'))
		} else {
			// One record that cannot be encoded must not end the
			// output: report it as failed and go on.
			fmt.Fprintf(stderr, "embtool: %s: %v\n", r.Path, err)
			enc.Encode(report{Path: r.Path, Error: "encoding the report: " + err.Error()})
			status = exitFailed
		}
	}
	stream(expandPaths(fs.Args(), embeddingExts), stderr, func() func(input) report {
		rd := &embedding.Reader{Options: opts} // one buffer per worker
		return func(in input) report {
			if in.err != nil {
				return report{Path: in.path, Error: in.err.Error(), Warnings: []string{}, Tensors: []tensorReport{}}
			}
			r := inspectFile(in.path, rd, *asJSON)
			addVocab(&r, vs, *nearest)
			return r
		}
	}, emit)
	defer tally.write(stderr)
	if *asJSON {
		out.Close()
		return status
	}
	writeTable(out, reports, *vectors)
	out.Close()
	return status
}

// writeTable prints the human-readable table: one row per readable file,
// its problems and warnings indented below it.
func writeTable(w io.Writer, reports []report, vectors bool) {
	header := []string{"NAME", "LAYOUT", "MODEL", "VECTORS", "DTYPE", "NORM min/mean/max", "STEP", "CHECKPOINT", "HASH"}
	var rows [][]string
	for _, r := range reports {
		if r.Container == "" {
			continue // unreadable: reported on stderr
		}
		min, mean, max := normStats(r)
		size := "-"
		if r.Vectors > 0 {
			size = fmt.Sprintf("%d×%d", r.Vectors, r.Width)
		}
		rows = append(rows, []string{r.Name, r.Layout, r.Model, size, dtypes(r),
			fmt.Sprintf("%.4f/%.4f/%.4f", min, mean, max), optInt(r.Step), checkpoint(r), r.Hash})
	}
	widths := make([]int, len(header))
	for _, row := range append([][]string{header}, rows...) {
		for i, c := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	printRow := func(row []string) {
		var b strings.Builder
		for i, c := range row {
			b.WriteString(c)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)+2))
			}
		}
		fmt.Fprintln(w, b.String())
	}
	printRow(header)
	i := 0
	for _, r := range reports {
		if r.Container == "" {
			if r.kindWords != "" { // not an embedding: what it is, in words
				name := filepath.Base(r.Path)
				fmt.Fprintf(w, "%s%s%s\n", name, strings.Repeat(" ", max(widths[0]-utf8.RuneCountInString(name), 0)+2), r.kindWords)
			}
			continue
		}
		printRow(rows[i])
		i++
		if vectors {
			for _, t := range r.Tensors {
				for j, n := range t.Norms {
					fmt.Fprintf(w, "    %s[%d]  %.6f\n", t.Key, j, n)
				}
			}
		}
		if r.Error != "" {
			fmt.Fprintf(w, "    ✗ %s\n", r.Error)
		}
		for _, u := range r.Unsafe {
			fmt.Fprintf(w, "    ✗ unsafe: %s\n", u)
		}
		for _, warn := range r.Warnings {
			fmt.Fprintf(w, "    ! %s\n", warn)
		}
		writeNearest(w, r)
	}
}

func normStats(r report) (min, mean, max float64) {
	all := r.rowNorms
	if all == nil {
		for _, t := range r.Tensors {
			all = append(all, t.Norms...)
		}
	}
	if len(all) == 0 {
		return 0, 0, 0
	}
	min, max = math.Inf(1), math.Inf(-1)
	for _, n := range all {
		min, max = math.Min(min, n), math.Max(max, n)
		mean += n
	}
	return min, mean / float64(len(all)), max
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
// the summary that ends a run over several files.
type inspectTally struct {
	n, failed, unsafe      int
	layouts, models, kinds map[string]int
}

func (t *inspectTally) add(r report) {
	if t.layouts == nil {
		t.layouts, t.models, t.kinds = map[string]int{}, map[string]int{}, map[string]int{}
	}
	t.n++
	if r.Kind != "" && r.Kind != string(identify.KindEmbedding) && r.Kind != string(identify.KindUnknown) {
		t.kinds[r.Kind]++
	}
	if len(r.Unsafe) > 0 {
		t.unsafe++
	}
	if !r.OK {
		t.failed++
	}
	if r.Container != "" && r.OK {
		t.layouts[r.Layout]++
		t.models[r.Model]++
	}
}

// write ends a run over several files with counts by layout and model,
// and the failures.
func (t *inspectTally) write(w io.Writer) {
	if t.n < 2 {
		return
	}
	others := ""
	if len(t.kinds) > 0 {
		others = " (not embeddings: " + counts(t.kinds) + ")"
	}
	fmt.Fprintf(w, "embtool: %d files: %d ok (%s; %s), %d failed%s, %d unsafe\n",
		t.n, t.n-t.failed, counts(t.layouts), counts(t.models), t.failed, others, t.unsafe)
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
