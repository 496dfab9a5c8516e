package embedding

import (
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/embtool/embtool/pkg/safetensors"
	"github.com/embtool/embtool/pkg/tensor"
	"github.com/embtool/embtool/pkg/torchpt"
)

// SaveTensorDict writes every tensor of d to path as .safetensors or a
// flat .pt dict, streaming one tensor at a time, through a temporary file
// that is synced, read back and compared (CRC-32 of every tensor's bytes
// as written) before it is renamed into place. dt converts float tensors
// when not empty.
func SaveTensorDict(path string, d *TensorDict, format string, dt tensor.DType, force bool) error {
	if format == FormatBin {
		return fmt.Errorf("a whole tensor dict is written as .safetensors or .pt, not as a diffusers .bin")
	}
	srcs := make([]*recorded, len(d.Sources))
	for i, s := range d.Sources {
		if dt != "" {
			if sdt, _ := s.Meta(); sdt.IsFloat() && sdt != dt {
				s = &converted{src: s, dt: dt}
			}
		}
		srcs[i] = &recorded{src: s}
	}
	write := func(w io.Writer, prefix string) error {
		if format == FormatSafetensors {
			named := make([]safetensors.Named, len(srcs))
			for i, s := range srcs {
				named[i] = safetensors.Named{Name: d.Keys[i], Src: s}
			}
			return safetensors.Write(w, named, d.Metadata)
		}
		root := torchpt.NewDict()
		for i, s := range srcs {
			root.Set(d.Keys[i], s)
		}
		return torchpt.WriteZip(w, prefix, root)
	}
	verify := func(tmp string) error {
		back, err := OpenTensorDict(tmp, Options{})
		if err != nil {
			return err
		}
		defer back.Close()
		if !slices.Equal(sortedCopy(back.Keys), sortedCopy(d.Keys)) {
			return fmt.Errorf("keys differ")
		}
		index := map[string]int{}
		for i, k := range back.Keys {
			index[k] = i
		}
		for i, k := range d.Keys {
			got := back.Sources[index[k]]
			gdt, gshape := got.Meta()
			wdt, wshape := srcs[i].Meta()
			if gdt != wdt || !slices.Equal(gshape, wshape) {
				return fmt.Errorf("tensor %q is %s%v, meant %s%v", k, gdt, gshape, wdt, wshape)
			}
			h := crc32.NewIEEE()
			n, err := streamOf(got).StreamTo(h)
			if err != nil {
				return fmt.Errorf("tensor %q: %w", k, err)
			}
			if n != srcs[i].n || h.Sum32() != srcs[i].crc {
				return fmt.Errorf("tensor %q: %d bytes crc %08x, wrote %d bytes crc %08x", k, n, h.Sum32(), srcs[i].n, srcs[i].crc)
			}
		}
		return nil
	}
	return atomicWrite(path, force, write, verify)
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// atomicWrite is the write-sync-verify-rename sequence every output goes
// through: the destination is either untouched or the complete new file.
// The temporary file is locked while it lives (see createLockedTemp), and
// the write first removes the temporary files of dead writers in the same
// folder (removeOrphans).
func atomicWrite(path string, force bool, write func(w io.Writer, prefix string) error, verify func(tmp string) error) error {
	if _, err := os.Lstat(path); err == nil && !force {
		return fmt.Errorf("%s: %w", path, ErrExists)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	removeOrphans(dir)
	f, unlock, err := createLockedTemp(dir, base)
	if err != nil {
		return err
	}
	// Deferred first, so it runs last: the file stays locked until it has
	// been renamed or removed.
	defer unlock()
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := write(&writebackWriter{f: f}, archivePrefix(strings.TrimSuffix(base, filepath.Ext(base)))); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := verify(tmp); err != nil {
		return fmt.Errorf("read-back check failed: %w", err)
	}
	if err := replaceFile(tmp, path); err != nil {
		return err
	}
	ok = true
	syncDir(dir)
	return nil
}

// recorded passes a source through and keeps the size and CRC-32 of the
// bytes it produced, for the read-back check.
type recorded struct {
	src tensor.Source
	n   int64
	crc uint32
}

func (r *recorded) Meta() (tensor.DType, []int) { return r.src.Meta() }

func (r *recorded) Load() (*tensor.Tensor, error) {
	t, err := r.src.Load()
	if err == nil {
		r.n, r.crc = int64(len(t.Data)), crc32.ChecksumIEEE(t.Data)
	}
	return t, err
}

func (r *recorded) StreamTo(w io.Writer) (int64, error) {
	h := crc32.NewIEEE()
	n, err := streamOf(r.src).StreamTo(io.MultiWriter(w, h))
	r.n, r.crc = n, h.Sum32()
	return n, err
}

// streamOf gives any source a StreamTo: its own, or Load then write.
func streamOf(s tensor.Source) tensor.Streamer {
	if st, ok := s.(tensor.Streamer); ok {
		return st
	}
	return loadStreamer{s}
}

type loadStreamer struct{ tensor.Source }

func (l loadStreamer) StreamTo(w io.Writer) (int64, error) {
	t, err := l.Load()
	if err != nil {
		return 0, err
	}
	n, err := w.Write(t.Data)
	return int64(n), err
}

// converted narrows or widens a float source to dt when it is loaded.
type converted struct {
	src tensor.Source
	dt  tensor.DType
}

func (c *converted) Meta() (tensor.DType, []int) {
	_, shape := c.src.Meta()
	return c.dt, shape
}

func (c *converted) Load() (*tensor.Tensor, error) {
	t, err := c.src.Load()
	if err != nil {
		return nil, err
	}
	return t.Convert(c.dt)
}

// writebackChunk: every this many bytes written, start their writeback.
const writebackChunk = 32 << 20

// writebackWriter writes to f and starts writeback of each finished chunk
// while later ones are still being produced.
type writebackWriter struct {
	f          *os.File
	off, start int64
}

func (w *writebackWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.off += int64(n)
	if w.off-w.start >= writebackChunk {
		startWriteback(w.f, w.start, w.off-w.start)
		w.start = w.off
	}
	return n, err
}
