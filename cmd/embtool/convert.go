package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/embtool/embtool/pkg/embedding"
	"github.com/embtool/embtool/pkg/tensor"
	"github.com/embtool/embtool/pkg/vocab"
	"github.com/spf13/pflag"
)

const convertSynopsis = "embtool convert [--layout L] [--dtype D] [--name N] [--force] [--tensors] IN OUT\n" +
	"embtool convert --to safetensors|pt|bin [-o OUTDIR] [--dry-run] [--force] PATH..."

// convertFlags are the flags convert and merge share.
type writeFlags struct {
	layout, dtype, name string
	force               bool
}

func (w *writeFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&w.layout, "layout", "", "a1111, kohya, diffusers or sdxl (default: by OUT's extension: .pt a1111, .safetensors kohya, .bin diffusers)")
	fs.StringVar(&w.dtype, "dtype", "", "F32, F16 or BF16 (default: keep the input's)")
	fs.StringVar(&w.name, "name", "", "the stored name (default: OUT's file name, which\nA1111 and ComfyUI use; diffusers uses the stored name)")
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
	c.barOut = stderr
	j := &job{in: in, out: out, named: true}
	c.prepare(j)
	if j.result == pending {
		// What reading said comes before the write's bar and messages.
		stdout.Write(j.stdout.Bytes())
		stderr.Write(j.stderr.Bytes())
		j.stdout.Reset()
		j.stderr.Reset()
		c.write(j)
	}
	j.flush(stdout, stderr, nil)
	return j.status()
}

// converter converts files; convert and batch convert share it.
type converter struct {
	opts    embedding.Options
	tensors bool
	force   bool
	flags   writeFlags
	// skipSame: an existing output that already holds the same tensors is
	// left alone (batch mode).
	skipSame bool
	dryRun   bool
	// mkdirs: missing output folders are created (batch -o).
	mkdirs bool
	bridge bridgeFlags
	// barOut is where a whole-checkpoint convert draws its bytes bar
	// (nil: none).
	barOut io.Writer
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
	if err := checkOutDir(out); err != nil {
		fmt.Fprintf(stderr, "embtool: %v\n", err)
		return exitFailed
	}
	for _, w := range plan.Warnings {
		fmt.Fprintf(stderr, "embtool: %s: %s\n", out, warning(w))
	}
	base := filepath.Base(out)
	if stem := strings.TrimSuffix(base, filepath.Ext(base)); plan.Name != "" && plan.Name != stem {
		fmt.Fprintf(stderr, "embtool: %s: %s\n", out, warning(fmt.Sprintf(
			"the stored name %q differs from the file name %q: A1111 and ComfyUI use %q, diffusers %q", plan.Name, stem, stem, plan.Name)))
	}
	if err := embedding.Save(out, plan, format, force); err != nil {
		fmt.Fprintf(stderr, "embtool: %v%s\n", outputError(out, err), hint(err))
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
