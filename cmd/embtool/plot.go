package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/embtool/embtool/pkg/embedding"
	"github.com/embtool/embtool/pkg/embplot"
	"github.com/spf13/pflag"
)

const plotSynopsis = "embtool plot -o OUT.png|OUT.svg [--clip MODEL] [--force] PATH..."

func runPlot(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("plot", pflag.ContinueOnError)
	out := fs.StringP("output", "o", "", "the picture to write: .png (1200 px wide) or .svg")
	clip := fs.String("clip", "", "a checkpoint or text encoder: draw its mean token norm over the norm bars (default: the CLIP-L reference figure for 768-wide embeddings)")
	force := fs.Bool("force", false, "overwrite OUT if it exists")
	if done, st := parseFlags(fs, plotSynopsis, args, stdout, stderr); done {
		return st
	}
	if *out == "" || fs.NArg() == 0 {
		return usageError(stderr, plotSynopsis, "plot needs -o OUT and at least one embedding")
	}
	format, err := embplot.FormatForPath(*out)
	if err != nil {
		return usageError(stderr, plotSynopsis, "%v", err)
	}
	if err := checkOutDir(*out); err != nil {
		fmt.Fprintf(stderr, "embtool: %v\n", err)
		return exitFailed
	}
	if _, err := os.Lstat(*out); err == nil && !*force {
		fmt.Fprintf(stderr, "embtool: %s: %v%s\n", *out, embedding.ErrExists, hint(embedding.ErrExists))
		return exitFailed
	}
	status := exitOK
	var series []embplot.Series
	widths := map[int]bool{}
	for _, in := range expandPaths(fs.Args(), embeddingExts) {
		if in.err != nil {
			fmt.Fprintf(stderr, "embtool: %s: %v\n", in.path, in.err)
			status = exitFailed
			continue
		}
		s, err := plotSeries(in.path)
		if err != nil {
			fmt.Fprintf(stderr, "embtool: %s: %v\n", in.path, err)
			status = exitFailed
			continue
		}
		series = append(series, s)
		widths[s.Width] = true
	}
	if len(series) == 0 {
		fmt.Fprintln(stderr, "embtool: nothing to plot")
		return exitFailed
	}
	var opts embplot.Options
	if len(widths) == 1 {
		var vs *vocabSet
		if *clip != "" {
			if vs, err = openVocab(*clip); err != nil {
				fmt.Fprintf(stderr, "embtool: --clip: %v\n", err)
				return exitFailed
			}
			defer vs.Close()
		}
		if enc, mean, _, ok := vs.meanNorm(series[0].Width); ok {
			opts.VocabMean = mean
			opts.VocabLabel = encoderName[enc] + " token mean norm"
			if vs == nil {
				opts.VocabLabel += " (reference, approx.)"
			}
		}
	}
	var buf bytes.Buffer
	if err := embplot.Write(&buf, format, series, opts); err != nil {
		fmt.Fprintf(stderr, "embtool: %s: %v\n", *out, err)
		return exitFailed
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		fmt.Fprintf(stderr, "embtool: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "wrote %s: %d embeddings\n", *out, len(series))
	return status
}

// plotSeries reads one embedding's vectors as float64 rows (SDXL: clip_l
// then clip_g in one row).
func plotSeries(path string) (embplot.Series, error) {
	e, _, err := embedding.ReadFile(path, embedding.Options{})
	if err != nil {
		return embplot.Series{}, err
	}
	if e.Refusal != "" || len(e.Vectors) == 0 {
		return embplot.Series{}, fmt.Errorf("no embedding vectors to plot: %s", e.Refusal+e.OtherReason)
	}
	base := filepath.Base(path)
	s := embplot.Series{Name: strings.TrimSuffix(base, filepath.Ext(base)), Width: e.Width}
	s.Rows = make([][]float64, e.Count)
	for i, v := range e.Vectors {
		vals, err := v.Tensor.Float64s()
		if err != nil {
			return s, err
		}
		_, w := v.Tensor.Rows()
		if i == 0 && len(e.Vectors) > 1 {
			s.Split = w
		}
		for r := range s.Rows {
			if (r+1)*w <= len(vals) {
				s.Rows[r] = append(s.Rows[r], vals[r*w:(r+1)*w]...)
			}
		}
	}
	return s, nil
}
