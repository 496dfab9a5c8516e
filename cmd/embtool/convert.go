package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/embtool/embtool/pkg/embedding"
	"github.com/embtool/embtool/pkg/tensor"
	"github.com/embtool/embtool/pkg/torchpt"
	"github.com/embtool/embtool/pkg/vocab"
	"github.com/spf13/pflag"
)

const convertSynopsis = "embtool convert [--layout L] [--dtype D] [--name N] [--force] [--allow-unsafe] [--tensors] [--clip SDXL_MODEL [--bridge-k K]] IN OUT\n       embtool convert --to safetensors|pt|bin [-o OUTDIR] [--dry-run] [--force] PATH..."

// convertFlags are the flags convert and merge share.
type writeFlags struct {
	layout, dtype, name string
	force               bool
}

func (w *writeFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&w.layout, "layout", "", "a1111, kohya, diffusers or sdxl (default: by OUT's extension: .pt a1111, .safetensors kohya, .bin diffusers)")
	fs.StringVar(&w.dtype, "dtype", "", "F32, F16 or BF16 (default: keep the input's)")
	fs.StringVar(&w.name, "name", "", "the embedding's name (.pt), token (.bin) or metadata name (.safetensors)")
	fs.BoolVar(&w.force, "force", false, "overwrite OUT if it exists")
}

// target builds the write target for out, or a usage error message.
func (w *writeFlags) target(out string) (embedding.Target, string, error) {
	format, err := embedding.FormatForPath(out)
	if err != nil {
		return embedding.Target{}, "", err
	}
	t := embedding.Target{Format: format, Layout: embedding.Layout(strings.ToLower(w.layout)), Name: w.name}
	switch t.Layout {
	case "", embedding.LayoutA1111, embedding.LayoutKohya, embedding.LayoutDiffusers, embedding.LayoutSDXL:
	default:
		return t, "", fmt.Errorf("--layout %q: want a1111, kohya, diffusers or sdxl", w.layout)
	}
	if w.dtype != "" {
		dt, ok := tensor.ParseFloatDType(w.dtype)
		if !ok || dt == tensor.F64 {
			return t, "", fmt.Errorf("--dtype %q: want F32, F16 or BF16", w.dtype)
		}
		t.DType = dt
	}
	base := filepath.Base(out)
	t.Stem = strings.TrimSuffix(base, filepath.Ext(base))
	return t, format, nil
}

func runConvert(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("convert", pflag.ContinueOnError)
	var wf writeFlags
	wf.register(fs)
	allowUnsafe := fs.Bool("allow-unsafe", false, "extract the tensors of a pickle that names disallowed globals (nothing is executed)")
	tensors := fs.Bool("tensors", false, "convert every tensor as a plain dict (automatic for checkpoints and other non-embeddings)")
	to := fs.String("to", "", "batch mode: convert every PATH (files or folders) to safetensors, pt or bin")
	outDir := fs.StringP("output-dir", "o", "", "batch mode: mirror the inputs under this folder (default: beside each input)")
	dryRun := fs.Bool("dry-run", false, "batch mode: print what would be done, write nothing")
	var bf bridgeFlags
	fs.StringVar(&bf.clip, "clip", "", "SD1 → SDXL (--layout sdxl): the SDXL checkpoint or diffusers folder whose token embeddings build clip_g")
	fs.IntVar(&bf.k, "bridge-k", vocab.BridgeK, "SD1 → SDXL: how many nearest CLIP-L tokens each clip_g vector mixes")
	if done, st := parseFlags(fs, convertSynopsis, args, stdout, stderr); done {
		if st == exitOK {
			fmt.Fprint(stdout, "\n"+bridgeHelp)
		}
		return st
	}
	c := converter{opts: embedding.Options{AllowUnsafe: *allowUnsafe}, tensors: *tensors, force: wf.force, flags: wf, bridge: bf}
	if *to != "" {
		return c.batch(*to, *outDir, *dryRun, fs.Args(), stdout, stderr)
	}
	if *outDir != "" || *dryRun {
		return usageError(stderr, convertSynopsis, "-o and --dry-run go with --to (batch mode)")
	}
	if fs.NArg() != 2 {
		return usageError(stderr, convertSynopsis, "convert takes IN and OUT, got %d arguments", fs.NArg())
	}
	in, out := fs.Arg(0), fs.Arg(1)
	if _, _, err := wf.target(out); err != nil {
		return usageError(stderr, convertSynopsis, "%v", err)
	}
	if samePath(in, out) {
		return usageError(stderr, convertSynopsis, "%s is both input and output", in)
	}
	return c.convert(in, out, stdout, stderr)
}

// converter converts one file; convert and batch convert share it.
type converter struct {
	opts    embedding.Options
	tensors bool
	force   bool
	flags   writeFlags
	// skipSame: an existing output that already holds the same tensors is
	// left alone (batch mode).
	skipSame bool
	dryRun   bool
	bridge   bridgeFlags
}

func (c converter) convert(in, out string, stdout, stderr io.Writer) int {
	target, format, err := c.flags.target(out)
	if err != nil {
		fmt.Fprintf(stderr, "embtool: %s: %v\n", out, err)
		return exitUsage
	}
	if c.tensors || isCheckpoint(in) {
		return c.convertTensorDict(in, out, format, target, stdout, stderr)
	}
	e, sum, err := embedding.ReadFile(in, c.opts)
	if errors.Is(err, embedding.ErrNotEmbedding) && holdsTensorDict(in) {
		fmt.Fprintf(stderr, "embtool: %s: %v; converting its tensors as a plain dict\n", in, err)
		return c.convertTensorDict(in, out, format, target, stdout, stderr)
	}
	if err != nil {
		fmt.Fprintf(stderr, "embtool: %s: %v\n", in, err)
		var ue *torchpt.UnsafeError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "embtool: nothing written; --allow-unsafe extracts the tensors anyway (nothing is ever executed)\n")
		}
		return exitFailed
	}
	if reason := e.Refusal + e.OtherReason; reason != "" {
		fmt.Fprintf(stderr, "embtool: %s: cannot convert as an embedding: %s\nembtool: to convert every tensor as a plain dict, pass --tensors\n", in, reason)
		return exitFailed
	}
	for _, u := range e.Unsafe {
		fmt.Fprintf(stderr, "embtool: %s: warning: unsafe pickle content ignored (--allow-unsafe, nothing executed): %s\n", in, u)
	}
	e, bridgeWarnings, err := c.bridge.bridgeLayout(e, &target, in, sum)
	if err != nil {
		fmt.Fprintf(stderr, "embtool: %s: %v\n", in, err)
		return exitFailed
	}
	for _, w := range bridgeWarnings {
		fmt.Fprintf(stderr, "embtool: %s: warning: %s\n", in, w)
	}
	plan, err := embedding.Plan(e, target)
	if err != nil {
		fmt.Fprintf(stderr, "embtool: %s: %v%s\n", out, err, hint(err))
		return exitFailed
	}
	if c.skipSame && !c.force {
		if old, _, err := embedding.ReadFile(out, embedding.Options{}); err == nil && plan.Verify(old, format) == nil {
			fmt.Fprintf(stdout, "skipped %s: already holds the same tensors\n", out)
			return exitOK
		}
	}
	if c.dryRun {
		return c.dryRunReport(in, out, stdout, stderr)
	}
	return savePlan(plan, e.Width, format, out, c.force, stdout, stderr)
}

// dryRunReport says what a real run would do with out.
func (c converter) dryRunReport(in, out string, stdout, stderr io.Writer) int {
	if _, err := os.Lstat(out); err == nil && !c.force {
		fmt.Fprintf(stderr, "embtool: %s: %v%s\n", out, embedding.ErrExists, hint(embedding.ErrExists))
		return exitFailed
	}
	fmt.Fprintf(stdout, "would write %s from %s\n", out, in)
	return exitOK
}

// writeEmbedding plans, saves and reports one output (merge's path).
func writeEmbedding(e *embedding.Embedding, target embedding.Target, format, out string, force bool, stdout, stderr io.Writer) int {
	plan, err := embedding.Plan(e, target)
	if err != nil {
		fmt.Fprintf(stderr, "embtool: %s: %v%s\n", out, err, hint(err))
		return exitFailed
	}
	return savePlan(plan, e.Width, format, out, force, stdout, stderr)
}

// savePlan prints the plan's warnings, saves it and reports the output.
func savePlan(plan *embedding.Planned, width int, format, out string, force bool, stdout, stderr io.Writer) int {
	for _, w := range plan.Warnings {
		fmt.Fprintf(stderr, "embtool: %s: warning: %s\n", out, w)
	}
	if err := embedding.Save(out, plan, format, force); err != nil {
		fmt.Fprintf(stderr, "embtool: %v%s\n", err, hint(err))
		return exitFailed
	}
	t := plan.Tensors[0].Tensor
	n, _ := t.Rows()
	fmt.Fprintf(stdout, "wrote %s: %s layout, %d×%d %s\n", out, plan.Layout, n, width, t.DType)
	return exitOK
}

// samePath reports whether a and b name the same file (also through links).
func samePath(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// checkpointSize: inputs this large are whole models, never embeddings
// (the largest embeddings are a few hundred KB), so they are streamed.
const checkpointSize = 64 << 20

// isCheckpoint tells a model checkpoint from an embedding by extension
// (.ckpt, .pth) or size.
func isCheckpoint(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".ckpt", ".pth":
		return true
	}
	st, err := os.Stat(path)
	return err == nil && st.Size() > checkpointSize
}

// convertTensorDict converts every tensor of in, one at a time: whole
// checkpoints of any size, or files that are not embeddings.
func (c converter) convertTensorDict(in, out, format string, target embedding.Target, stdout, stderr io.Writer) int {
	if target.Layout != "" || target.Name != "" {
		fmt.Fprintf(stderr, "embtool: %s: --layout and --name apply to embeddings, not to a plain tensor dict\n", in)
		return exitUsage
	}
	d, err := embedding.OpenTensorDict(in, c.opts)
	if err != nil {
		fmt.Fprintf(stderr, "embtool: %s: %v\n", in, err)
		return exitFailed
	}
	defer d.Close()
	if len(d.Keys) == 0 {
		fmt.Fprintf(stderr, "embtool: %s: no tensors to convert\n", in)
		return exitFailed
	}
	for _, w := range d.Warnings() {
		fmt.Fprintf(stderr, "embtool: %s: warning: %s\n", in, w)
	}
	if c.dryRun {
		return c.dryRunReport(in, out, stdout, stderr)
	}
	if err := embedding.SaveTensorDict(out, d, format, target.DType, c.force); err != nil {
		fmt.Fprintf(stderr, "embtool: %s: %v%s\n", out, err, hint(err))
		return exitFailed
	}
	fmt.Fprintf(stdout, "wrote %s: %d tensors\n", out, len(d.Keys))
	return exitOK
}

// holdsTensorDict: a torch or safetensors file, whose tensors convert can
// copy as a plain dict when it is not an embedding (an image cannot).
func holdsTensorDict(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 64)
	n, _ := f.ReadAt(head, 0)
	st, err := f.Stat()
	if err != nil {
		return false
	}
	switch embedding.Container(head[:n], st.Size()) {
	case embedding.ContainerTorchZip, embedding.ContainerTorchLegacy, embedding.ContainerSafetensors:
		return true
	}
	return false
}
