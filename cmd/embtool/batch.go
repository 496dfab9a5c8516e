package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/embtool/embtool/pkg/embedding"
)

// batch converts every input (files, or folders walked recursively) to
// format, in parallel, writing OUT beside each input or mirrored under
// outDir. Outputs that already hold the same tensors are skipped unless
// --force; results print in path order.
func (c converter) batch(format, outDir string, dryRun bool, args []string, stdout, stderr io.Writer) int {
	format = strings.ToLower(strings.TrimPrefix(format, "."))
	if _, err := embedding.FormatForPath("x." + format); err != nil {
		return usageError(stderr, convertSynopsis, "--to %q: want safetensors, pt or bin", format)
	}
	if len(args) == 0 {
		return usageError(stderr, convertSynopsis, "--to needs at least one file or folder")
	}
	c.skipSame, c.dryRun = true, dryRun
	type result struct {
		out, err bytes.Buffer
		status   int
		skipped  bool
	}
	inputs := markClashes(expandPaths(args, embeddingExts), outDir, format)
	results := forEach(inputs, stderr, func(in input) *result {
		r := &result{}
		if in.err != nil {
			fmt.Fprintf(&r.err, "embtool: %s: %v\n", in.path, in.err)
			r.status = exitFailed
			return r
		}
		out := batchOutput(in, outDir, format)
		if samePath(in.path, out) {
			fmt.Fprintf(&r.out, "skipped %s: already .%s\n", in.path, format)
			r.skipped = true
			return r
		}
		if !dryRun && outDir != "" {
			if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
				fmt.Fprintf(&r.err, "embtool: %v\n", err)
				r.status = exitFailed
				return r
			}
		}
		r.status = c.convert(in.path, out, &r.out, &r.err)
		r.skipped = strings.HasPrefix(r.out.String(), "skipped")
		return r
	})
	status, done, skipped, failed := exitOK, 0, 0, 0
	for _, r := range results {
		stdout.Write(r.out.Bytes())
		stderr.Write(r.err.Bytes())
		switch {
		case r.status != exitOK:
			status = exitFailed
			failed++
		case r.skipped:
			skipped++
		default:
			done++
		}
	}
	verb := "converted"
	if dryRun {
		verb = "would convert"
	}
	fmt.Fprintf(stderr, "embtool: %d files: %s %d, skipped %d, failed %d\n", len(results), verb, done, skipped, failed)
	return status
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

// markClashes fails every input whose output another input also writes
// (a.pt and a.bin, or a.pt and a.safetensors mirrored under -o): run in
// parallel they would race for the file, and either result would silently
// lose the other. Names are compared case-insensitively where the file
// system usually is (Windows, macOS).
func markClashes(inputs []input, outDir, format string) []input {
	key := func(p string) string {
		p = filepath.Clean(p)
		if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
			p = strings.ToLower(p)
		}
		return p
	}
	claims := map[string][]int{}
	for i, in := range inputs {
		if in.err != nil {
			continue
		}
		if out := batchOutput(in, outDir, format); !samePath(in.path, out) {
			claims[key(out)] = append(claims[key(out)], i)
		}
	}
	for _, idx := range claims {
		if len(idx) < 2 {
			continue
		}
		for _, i := range idx {
			other := inputs[idx[0]].path
			if i == idx[0] {
				other = inputs[idx[1]].path
			}
			out := batchOutput(inputs[i], outDir, format)
			inputs[i].err = fmt.Errorf("%s would also be written from %s; convert one of them on its own", out, other)
		}
	}
	return inputs
}
