package embedding

import (
	"fmt"
	"hash/crc32"
	"io"
	"slices"

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
