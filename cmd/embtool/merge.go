package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/embtool/embtool/pkg/embedding"
	"github.com/spf13/pflag"
)

const mergeSynopsis = "embtool merge [--mode blend|concat] [--weights w1,w2,...] [--scale F | --norm X|vocab [--clip MODEL]] [--vectors N] [--force] -o OUT IN[slice]..."

func runMerge(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("merge", pflag.ContinueOnError)
	var wf writeFlags
	wf.register(fs)
	out := fs.StringP("output", "o", "", "the output file (.pt, .safetensors or .bin)")
	mode := fs.String("mode", embedding.ModeBlend, "blend (weighted sum, vector by vector) or concat (stack the vectors)")
	weights := fs.String("weights", "", "blend weights, one per input (default: 1/n each)")
	scale := fs.Float64("scale", 0, "multiply every vector by F")
	norm := fs.String("norm", "", "rescale every vector to L2 norm X, or to the vocabulary's mean token norm with 'vocab' (zero vectors stay zero)")
	clip := fs.String("clip", "", "--norm vocab: the checkpoint or text encoder whose mean token norm to use (default: the CLIP-L reference figure)")
	vectors := fs.Int("vectors", 0, "crop or zero-pad the result to N vectors")
	if done, st := parseFlags(fs, mergeSynopsis, args, stdout, stderr); done {
		return st
	}
	if *out == "" {
		return usageError(stderr, mergeSynopsis, "merge needs -o OUT")
	}
	if fs.NArg() == 0 {
		return usageError(stderr, mergeSynopsis, "merge needs at least one input")
	}
	if fs.Changed("scale") && fs.Changed("norm") {
		return usageError(stderr, mergeSynopsis, "--scale and --norm exclude each other")
	}
	opts := embedding.MergeOptions{Mode: *mode}
	if *mode != embedding.ModeBlend && *mode != embedding.ModeConcat {
		return usageError(stderr, mergeSynopsis, "--mode %q: want blend or concat", *mode)
	}
	if fs.Changed("weights") {
		for _, w := range strings.Split(*weights, ",") {
			f, err := strconv.ParseFloat(strings.TrimSpace(w), 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return usageError(stderr, mergeSynopsis, "--weights: %q is not a finite number", w)
			}
			opts.Weights = append(opts.Weights, f)
		}
	}
	if fs.Changed("scale") {
		if math.IsNaN(*scale) || math.IsInf(*scale, 0) {
			return usageError(stderr, mergeSynopsis, "--scale %v: want a finite number", *scale)
		}
		opts.Scale = scale
	}
	if fs.Changed("norm") && *norm == "vocab" {
		byWidth, source, err := vocabNorms(*clip)
		if err != nil {
			fmt.Fprintf(stderr, "embtool: --norm vocab: %v\n", err)
			return exitFailed
		}
		opts.NormByWidth, opts.NormSource = byWidth, source
	} else if fs.Changed("norm") {
		x, err := strconv.ParseFloat(*norm, 64)
		if err != nil || x < 0 || math.IsNaN(x) || math.IsInf(x, 0) {
			return usageError(stderr, mergeSynopsis, "--norm %q: want a non-negative number or vocab", *norm)
		}
		opts.Norm = &x
	}
	if *clip != "" && *norm != "vocab" {
		return usageError(stderr, mergeSynopsis, "--clip goes with --norm vocab")
	}
	if fs.Changed("vectors") {
		if *vectors < 1 {
			return usageError(stderr, mergeSynopsis, "--vectors must be at least 1")
		}
		opts.Vectors = vectors
	}
	target, format, err := wf.target(*out)
	if err != nil {
		return usageError(stderr, mergeSynopsis, "%v", err)
	}
	var inputs []embedding.MergeInput
	for _, arg := range fs.Args() {
		path, slice, err := embedding.SplitSliceArg(arg)
		if err != nil {
			return usageError(stderr, mergeSynopsis, "%v", err)
		}
		if samePath(path, *out) {
			return usageError(stderr, mergeSynopsis, "%s is both input and output", path)
		}
		e, sum, err := embedding.ReadFile(path, embedding.Options{})
		if err != nil {
			fmt.Fprintf(stderr, "embtool: %s: %v\n", path, err)
			return exitFailed
		}
		inputs = append(inputs, embedding.MergeInput{Path: path, Slice: slice, SHA256: sum, E: e})
	}
	merged, warnings, err := embedding.Merge(inputs, opts)
	if err != nil {
		fmt.Fprintf(stderr, "embtool: %v\n", err)
		return exitFailed
	}
	for _, w := range warnings {
		fmt.Fprintf(stderr, "embtool: %s\n", warning(w))
	}
	if bad := nonsense(merged); bad != "" && !wf.force {
		fmt.Fprintf(stderr, "embtool: %s: nothing written: the result %s (--force writes it anyway)\n", *out, bad)
		return exitFailed
	}
	// The recipe travels as target metadata: safetensors __metadata__, or
	// the A1111 .pt's __metadata__ dict; other layouts warn that it is lost.
	target.Metadata = merged.Metadata
	merged.Metadata = nil
	return writeEmbedding(merged, target, format, *out, wf.force, stdout, stderr)
}

// nonsense says what is wrong with a merge result no UI can use: every
// vector zero (weights that cancel, such as 1,-1 on one file) or values
// that are not finite; "" when it is usable.
func nonsense(e *embedding.Embedding) string {
	zero := true
	for i := range e.Vectors {
		for _, n := range e.VectorNorms(i) {
			if math.IsNaN(n) || math.IsInf(n, 0) {
				return "holds values that are not finite (NaN or infinite)"
			}
			if n != 0 {
				zero = false
			}
		}
	}
	if zero {
		return "is all zero (the weights cancel out)"
	}
	return ""
}
