package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/embtool/embtool/pkg/embedding"
	"github.com/embtool/embtool/pkg/identify"
	"github.com/embtool/embtool/pkg/torchpt"
)

// outcome is what became of one conversion: a typed result that batch
// counts, never read back from the text printed.
type outcome int

const (
	pending      outcome = iota // prepared, not yet written
	wrote                       // written (or, with --dry-run, would be)
	sameOutput                  // the output already holds the same tensors
	inFormat                    // the input is already in the target format
	notEmbedding                // a well-formed non-embedding met in a folder walk
	duplicate                   // another input writes the same vectors to the same output
	failed                      // could not be read, planned or written
	usageFailed                 // a flag does not apply to this input
)

// skipped reports whether the outcome leaves the input alone without
// failing.
func (o outcome) skipped() bool {
	return o == sameOutput || o == inFormat || o == notEmbedding || o == duplicate
}

// job is one conversion: prepared (read and planned), then written. Its
// messages are buffered so a batch prints them in path order.
type job struct {
	in, out string
	// named: the input was named on the command line, not found by a
	// folder walk (a walk skips what is not an embedding).
	named  bool
	result outcome
	// kind is what a skipped non-embedding is, in words.
	kind   string
	format string
	target embedding.Target
	input  *embedding.Input // open while a tensor dict waits to be written
	dict   *embedding.TensorDict
	e      *embedding.Embedding
	plan   *embedding.Planned
	// hints are advice for the whole run, printed once however many
	// inputs ask for them.
	hints          []string
	stdout, stderr bytes.Buffer
}

func (j *job) fail(format string, args ...any) {
	fmt.Fprintf(&j.stderr, "embtool: "+format+"\n", args...)
	j.result = failed
	j.close()
}

func (j *job) close() {
	if j.dict != nil {
		j.dict.Close()
		j.dict = nil
	}
	if j.input != nil {
		j.input.Close()
		j.input = nil
	}
}

// status is the exit status of a single convert.
func (j *job) status() int {
	switch j.result {
	case failed:
		return exitFailed
	case usageFailed:
		return exitUsage
	}
	return exitOK
}

// flush prints the job's messages; its hints go to the run's set (nil:
// printed now).
func (j *job) flush(stdout, stderr io.Writer, hints *hintSet) {
	stdout.Write(j.stdout.Bytes())
	stderr.Write(j.stderr.Bytes())
	for _, h := range j.hints {
		if hints == nil {
			fmt.Fprintf(stderr, "embtool: %s\n", h)
		} else {
			hints.add(h)
		}
	}
}

// Hints of convert, said once per run.
const (
	hintTensors = "to convert every tensor as a plain dict, pass --tensors"
	hintUnsafe  = "nothing written for unsafe files; --allow-unsafe extracts their tensors anyway (nothing is ever executed)"
)

// prepare reads the input and plans the output: j.result stays pending
// when there is something to write.
func (c converter) prepare(j *job) {
	target, format, err := c.flags.target(j.out)
	if err != nil {
		fmt.Fprintf(&j.stderr, "embtool: %s: %v\n", j.out, err)
		j.result = usageFailed
		return
	}
	j.target, j.format = target, format
	if !c.mkdirs {
		if err := checkOutDir(j.out); err != nil {
			j.fail("%v", err)
			return
		}
	}
	in, err := embedding.Open(j.in)
	if err != nil {
		j.fail("%v", err)
		return
	}
	j.input = in
	id := in.ID
	readable := id.Err == nil || (c.opts.AllowUnsafe && errors.Is(id.Err, torchpt.ErrUnsafe))
	asDict := c.tensors || (id.Kind != identify.KindEmbedding && !id.PixelsUnread && in.HoldsTensors() && readable)
	if asDict && !c.tensors && !j.named {
		c.skip(j, id)
		return
	}
	if asDict {
		c.prepareDict(j, !c.tensors)
		return
	}
	e, sum, err := in.Embedding(c.opts)
	if err != nil {
		if id := embedding.Identified(err); !j.named && id != nil && id.Err == nil && errors.Is(err, embedding.ErrNotEmbedding) {
			c.skip(j, id)
			return
		}
		j.fail("%s: %v", j.in, err)
		if errors.Is(err, torchpt.ErrUnsafe) {
			j.hints = append(j.hints, hintUnsafe)
		}
		return
	}
	j.close()
	if reason := e.Refusal + e.OtherReason; reason != "" {
		j.fail("%s: cannot convert as an embedding: %s", j.in, reason)
		j.hints = append(j.hints, hintTensors)
		return
	}
	for _, u := range e.Unsafe {
		fmt.Fprintf(&j.stderr, "embtool: %s: %s\n", j.in, paint(colorErr, ansiRed, "warning: unsafe pickle content ignored (--allow-unsafe, nothing executed): "+u))
	}
	e, bridgeWarnings, err := c.bridge.bridgeLayout(e, &j.target, j.in, sum)
	if err != nil {
		j.fail("%s: %v", j.in, err)
		return
	}
	for _, w := range bridgeWarnings {
		fmt.Fprintf(&j.stderr, "embtool: %s: %s\n", j.in, warning(w))
	}
	plan, err := embedding.Plan(e, j.target)
	if err != nil {
		j.fail("%s: %v", j.out, err)
		return
	}
	j.e, j.plan = e, plan
}

// skip marks a well-formed file that is not an embedding, met in a walk.
func (c converter) skip(j *job, id *identify.Result) {
	j.result, j.kind = notEmbedding, id.Description()
	fmt.Fprintf(&j.stdout, "skipped %s: %s\n", j.in, j.kind)
	j.close()
}

// prepareDict opens every tensor of the input as a plain dict: whole
// checkpoints of any size, or files that are not embeddings.
func (c converter) prepareDict(j *job, say bool) {
	if j.target.Layout != "" || c.flags.name != "" {
		fmt.Fprintf(&j.stderr, "embtool: %s: --layout and --name apply to embeddings, not to a plain tensor dict\n", j.in)
		j.result = usageFailed
		j.close()
		return
	}
	if say {
		fmt.Fprintf(&j.stderr, "embtool: %s: %s; converting its tensors as a plain dict\n", j.in, j.input.ID.Description())
	}
	d, err := j.input.TensorDict(c.opts)
	if err != nil {
		j.fail("%s: %v", j.in, err)
		return
	}
	if len(d.Keys) == 0 {
		j.fail("%s: no tensors to convert", j.in)
		return
	}
	for _, w := range d.Warnings() {
		fmt.Fprintf(&j.stderr, "embtool: %s: %s\n", j.in, warning(w))
	}
	j.dict = d
}

// write saves a prepared job: an existing output that already holds the
// same tensors is left alone (batch mode), --dry-run only says what would
// be written.
func (c converter) write(j *job) {
	defer j.close()
	if c.skipSame && !c.force && j.plan != nil {
		if old, _, err := embedding.ReadFile(j.out, embedding.Options{}); err == nil && j.plan.Verify(old, j.format) == nil {
			fmt.Fprintf(&j.stdout, "skipped %s: already holds the same tensors\n", j.out)
			j.result = sameOutput
			return
		}
	}
	if err := checkOutDir(j.out); err != nil && !(c.dryRun && c.mkdirs) {
		j.fail("%v", err)
		return
	}
	if c.dryRun {
		if _, err := os.Lstat(j.out); err == nil && !c.force {
			j.fail("%s: %v", j.out, embedding.ErrExists)
			return
		}
		fmt.Fprintf(&j.stdout, "would write %s from %s\n", j.out, j.in)
		j.result = wrote
		return
	}
	if j.dict != nil {
		err := saveDict(j.out, j.dict, j.format, j.target.DType, c.force, j.input.ID.TensorBytes, c.barOut)
		if err != nil {
			j.fail("%s: %v", j.out, outputError(j.out, err))
			return
		}
		fmt.Fprintf(&j.stdout, "wrote %s: %d tensors\n", j.out, len(j.dict.Keys))
		j.result = wrote
		return
	}
	if savePlan(j.plan, j.e.Width, j.format, j.out, c.force, &j.stdout, &j.stderr) != exitOK {
		j.result = failed
		return
	}
	j.result = wrote
}

// checkOutDir says plainly when the folder an output goes in is missing,
// so no error names the temporary file that could not be created there.
func checkOutDir(out string) error {
	dir := filepath.Dir(out)
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("%s: folder %s does not exist", out, dir)
	case err != nil:
		return err
	case !st.IsDir():
		return fmt.Errorf("%s: %s is not a folder", out, dir)
	}
	return nil
}

// outputError replaces the name of a temporary file in a write error by
// the output's own name: the user never sees embtool's temp names.
func outputError(out string, err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) && strings.Contains(filepath.Base(pe.Path), embedding.TempPrefix) {
		return fmt.Errorf("cannot write %s: %v", out, pe.Err)
	}
	return err
}
