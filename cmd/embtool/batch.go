package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/embtool/embtool/pkg/embedding"
)

// batch converts every input (files, or folders walked recursively) to
// format, in parallel, writing OUT beside each input or mirrored under
// outDir. Every input is read and planned first: inputs that would write
// the same output are found before anything is written. Outputs that
// already hold the same tensors are skipped unless --force; a folder
// walk skips files that are not embeddings; results print in path order.
func (c converter) batch(format, outDir string, dryRun bool, args []string, stdout, stderr io.Writer) int {
	format = strings.ToLower(strings.TrimPrefix(format, "."))
	if _, err := embedding.FormatForPath("x." + format); err != nil {
		return usageError(stderr, convertSynopsis, "--to %q: want safetensors, pt or bin", format)
	}
	if len(args) == 0 {
		return usageError(stderr, convertSynopsis, "--to needs at least one file or folder")
	}
	c.skipSame, c.dryRun, c.mkdirs = true, dryRun, outDir != ""
	inputs := expandPaths(args, embeddingExts)
	if len(inputs) == 0 {
		fmt.Fprintf(stderr, "embtool: no embeddings found under %s\n", strings.Join(args, ", "))
		return exitOK
	}
	jobs := forEach(inputs, stderr, func(in input) *job {
		j := &job{in: in.path, named: in.named}
		if in.err != nil {
			j.fail("%s: %v", in.path, in.err)
			return j
		}
		j.out = batchOutput(in, outDir, format)
		if samePath(in.path, j.out) {
			fmt.Fprintf(&j.stdout, "skipped %s: already .%s\n", in.path, format)
			j.result = inFormat
			return j
		}
		c.prepare(j)
		return j
	})
	resolveCollisions(jobs)
	var todo []*job
	for _, j := range jobs {
		if j.result == pending {
			todo = append(todo, j)
		}
	}
	forEachItem(todo, stderr, "written", func(j *job) struct{} {
		if c.mkdirs && !dryRun {
			if err := os.MkdirAll(filepath.Dir(j.out), 0o755); err != nil {
				j.fail("%v", err)
				return struct{}{}
			}
		}
		c.write(j)
		return struct{}{}
	})
	var hints hintSet
	status := exitOK
	tally := map[outcome]int{}
	for _, j := range jobs {
		j.flush(stdout, stderr, &hints)
		tally[j.result]++
		if j.result == failed || j.result == usageFailed {
			status = exitFailed
		}
	}
	hints.write(stderr)
	writeBatchSummary(stderr, len(jobs), tally, dryRun)
	return status
}

// writeBatchSummary ends a batch with counts: converted, skipped (and
// why), failed.
func writeBatchSummary(w io.Writer, n int, tally map[outcome]int, dryRun bool) {
	verb := "converted"
	if dryRun {
		verb = "would convert"
	}
	skipped := 0
	var why []string
	for _, o := range []struct {
		o         outcome
		one, many string
	}{
		{sameOutput, "up to date", "up to date"},
		{inFormat, "already in that format", "already in that format"},
		{notEmbedding, "not an embedding", "not embeddings"},
		{duplicate, "duplicate", "duplicates"},
	} {
		if n := tally[o.o]; n > 0 {
			skipped += n
			word := o.many
			if n == 1 {
				word = o.one
			}
			why = append(why, fmt.Sprintf("%d %s", n, word))
		}
	}
	detail := ""
	if len(why) > 1 || tally[notEmbedding] > 0 || tally[duplicate] > 0 {
		detail = " (" + strings.Join(why, ", ") + ")"
	}
	summaryLine(w, fmt.Sprintf("%s: %s %d, skipped %d%s, failed %d", plural(n, "file"), verb, tally[wrote], skipped, detail, tally[failed]+tally[usageFailed]))
}

// resolveCollisions finds inputs that would write the same output before
// anything is written. When they all hold the same vectors, the first is
// written and the others are skipped as its duplicates; otherwise none
// of them is written, and they are reported together.
func resolveCollisions(jobs []*job) {
	byOut := map[string][]*job{}
	var order []string
	for _, j := range jobs {
		if j.result != pending {
			continue
		}
		key := filepath.Clean(j.out)
		if runtimeFoldsCase {
			key = strings.ToLower(key)
		}
		if byOut[key] == nil {
			order = append(order, key)
		}
		byOut[key] = append(byOut[key], j)
	}
	for _, key := range order {
		group := byOut[key]
		if len(group) < 2 {
			continue
		}
		same := true
		for _, j := range group[1:] {
			if j.plan == nil || group[0].plan == nil || !group[0].plan.SameVectors(j.plan) {
				same = false
			}
		}
		names := make([]string, len(group))
		for i, j := range group {
			names[i] = j.in
		}
		if same {
			for _, j := range group[1:] {
				fmt.Fprintf(&j.stdout, "skipped %s: same vectors as %s, which writes %s\n", j.in, group[0].in, group[0].out)
				j.result = duplicate
				j.close()
			}
			continue
		}
		group[0].fail("%s: %d inputs would write it and their vectors differ: %s; none of them is written (convert them one by one, or rename one)",
			group[0].out, len(group), strings.Join(names, ", "))
		for _, j := range group[1:] {
			j.result = failed
			j.close()
		}
	}
}

// batchOutput is the output path of one input: beside it, or under outDir
// at the input's path relative to the argument it was found under.
func batchOutput(in input, outDir, format string) string {
	stem := strings.TrimSuffix(in.path, filepath.Ext(in.path))
	if outDir == "" {
		return stem + "." + format
	}
	rel, err := filepath.Rel(in.root, in.path)
	if err != nil || strings.HasPrefix(rel, "..") {
		rel = filepath.Base(in.path)
	}
	return filepath.Join(outDir, strings.TrimSuffix(rel, filepath.Ext(rel))+"."+format)
}
