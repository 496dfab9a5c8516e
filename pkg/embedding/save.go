package embedding

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/embtool/embtool/internal/atomicfile"
)

// TempPrefix starts the name of every temporary file embtool writes, so a
// file left by a crash is recognisable and never read as an embedding.
const TempPrefix = atomicfile.TempPrefix

// ErrExists: the output exists and overwriting was not asked for (Save's
// force is false).
var ErrExists = atomicfile.ErrExists

// OnOrphanRemoved, when not nil, is called with the path of every orphaned
// temporary file a write removes. It may be called from several goroutines
// at once.
var OnOrphanRemoved func(path string)

// Save writes p to path in format without ever leaving a partial file at
// path: it writes a temporary file in the same folder, syncs it, reads it
// back and compares it with p, and only then renames it over path.
func Save(path string, p *Planned, format string, force bool) error {
	write := func(w io.Writer, prefix string) error { return p.Write(w, format, prefix) }
	verify := func(tmp string) error {
		back, _, err := ReadFile(tmp, Options{})
		if err != nil {
			return fmt.Errorf("reading back what was written: %w", err)
		}
		return p.Verify(back, format)
	}
	return atomicWrite(path, force, write, verify)
}

// archivePrefix is the zip folder name: torch.save uses the file stem. A
// stem that would make an odd folder name (A1111's regex wants no '/')
// falls back to torch's buffer name, "archive".
func archivePrefix(stem string) string {
	if stem == "" || strings.ContainsAny(stem, "/\\") || stem == "." || stem == ".." {
		return "archive"
	}
	return stem
}

// atomicWrite writes path through atomicfile.Write, handing write the
// zip folder name torch.save would use for it.
func atomicWrite(path string, force bool, write func(w io.Writer, prefix string) error, verify func(tmp string) error) error {
	base := filepath.Base(path)
	prefix := archivePrefix(strings.TrimSuffix(base, filepath.Ext(base)))
	opts := atomicfile.Options{Overwrite: force, OnOrphanRemoved: OnOrphanRemoved}
	return atomicfile.Write(path, opts, func(w io.Writer) error { return write(w, prefix) }, verify)
}

// Verify checks that e, read back from a written file, holds exactly what
// p meant: the same layout, tensors bit for bit, and the same fields.
func (p *Planned) Verify(e *Embedding, format string) error {
	if e.Layout != p.Layout {
		return fmt.Errorf("layout %s, meant %s", e.Layout, p.Layout)
	}
	if len(e.Vectors) != len(p.Tensors) {
		return fmt.Errorf("%d tensors, meant %d", len(e.Vectors), len(p.Tensors))
	}
	for i, want := range p.Tensors {
		got := e.Vectors[i]
		if got.Key != want.Key || got.Tensor.DType != want.Tensor.DType ||
			!reflect.DeepEqual(got.Tensor.Shape, want.Tensor.Shape) || !bytes.Equal(got.Tensor.Data, want.Tensor.Data) {
			return fmt.Errorf("tensor %q (%s %v) differs from %q (%s %v)", got.Key, got.Tensor.DType, got.Tensor.Shape, want.Key, want.Tensor.DType, want.Tensor.Shape)
		}
	}
	if p.Layout == LayoutA1111 || format == FormatSafetensors {
		if p.Name != "" && deref(e.StoredName) != p.Name {
			return fmt.Errorf("name %q, meant %q", deref(e.StoredName), p.Name)
		}
		if !sameInt(e.Step, p.Step) || deref(e.SDCheckpoint) != deref(p.Ckpt) || deref(e.SDCheckpointName) != deref(p.CkptName) {
			return fmt.Errorf("step or checkpoint fields differ")
		}
	}
	if !(len(e.Metadata) == 0 && len(p.Metadata) == 0) && !reflect.DeepEqual(e.Metadata, p.Metadata) {
		return fmt.Errorf("metadata %v, meant %v", e.Metadata, p.Metadata)
	}
	return nil
}

func sameInt(a, b *int64) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

// SameVectors reports whether p and q would write the same tensors: the
// same keys, dtypes, shapes and bytes (names and metadata aside).
func (p *Planned) SameVectors(q *Planned) bool {
	if p.Layout != q.Layout || len(p.Tensors) != len(q.Tensors) {
		return false
	}
	for i, a := range p.Tensors {
		b := q.Tensors[i]
		if a.Key != b.Key || a.Tensor.DType != b.Tensor.DType ||
			!reflect.DeepEqual(a.Tensor.Shape, b.Tensor.Shape) || !bytes.Equal(a.Tensor.Data, b.Tensor.Data) {
			return false
		}
	}
	return true
}
