package embedding

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/embtool/embtool/internal/sniff"
	"github.com/embtool/embtool/pkg/safetensors"
	"github.com/embtool/embtool/pkg/tensor"
	"github.com/embtool/embtool/pkg/torchpt"
)

// TensorDict is every tensor of a file under flat, dotted keys, read
// lazily: how a whole checkpoint is converted, one tensor at a time.
type TensorDict struct {
	Container string
	Keys      []string
	Sources   []tensor.Source
	Metadata  map[string]string
	// Skipped names the entries that are not tensors (global_step, epoch...).
	Skipped []string
	// Aliased lists groups of keys that share storage bytes; safetensors
	// cannot alias, so each is written as its own copy.
	Aliased [][]string
	close   func() error
}

// Close releases the underlying file.
func (d *TensorDict) Close() error {
	if d.close != nil {
		return d.close()
	}
	return nil
}

// OpenTensorDict reads the tensors of a torch or safetensors file without
// loading them. A checkpoint's "state_dict" wrapper is unwrapped, as
// Stable Diffusion loaders do; nested dicts are flattened with dots.
func OpenTensorDict(path string, opts Options) (*TensorDict, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	d, err := openTensorDict(fh, path, opts)
	if err != nil {
		fh.Close()
		return nil, err
	}
	d.close = fh.Close
	return d, nil
}

// openTensorDict reads the tensor dict of the open file fh (named path),
// which it does not close.
func openTensorDict(fh *os.File, path string, opts Options) (*TensorDict, error) {
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	size := st.Size()
	head, _ := sniff.Head(fh, size)
	switch Container(head, size) {
	case ContainerSafetensors:
		f, err := safetensors.OpenNamed(fh, size, path)
		if err != nil {
			return nil, err
		}
		d := &TensorDict{Container: ContainerSafetensors, Metadata: f.Metadata()}
		for _, e := range f.Tensors() {
			d.Keys = append(d.Keys, e.Name)
			d.Sources = append(d.Sources, e)
		}
		return d, nil
	case ContainerTorchZip, ContainerTorchLegacy:
		f, err := torchpt.OpenWith(fh, size, torchpt.Options{AllowUnsafe: opts.AllowUnsafe})
		if err != nil {
			return nil, err
		}
		d := &TensorDict{Container: f.Format}
		root := f.Root
		if top, ok := root.(*torchpt.Dict); ok {
			if sd, ok := top.Get("state_dict"); ok {
				if sdd, ok := sd.(*torchpt.Dict); ok {
					for i, k := range top.Keys {
						if k != "state_dict" {
							d.walk(fmt.Sprint(k), top.Values[i])
						}
					}
					root = sdd
				}
			}
		}
		d.walk("", root)
		d.findAliases()
		return d, nil
	}
	return nil, errors.New("not a torch or safetensors file")
}

// walk collects tensors under dotted keys and names everything else.
func (d *TensorDict) walk(key string, v any) {
	join := func(k any) string {
		s := fmt.Sprint(k)
		if key == "" {
			return s
		}
		return key + "." + s
	}
	switch x := v.(type) {
	case *torchpt.Tensor:
		d.Keys = append(d.Keys, key)
		d.Sources = append(d.Sources, x)
	case *torchpt.Dict:
		for i, k := range x.Keys {
			d.walk(join(k), x.Values[i])
		}
	case *torchpt.Object:
		if p, ok := x.State.Get("_parameters"); ok {
			d.walk(key, p)
			return
		}
		d.Skipped = append(d.Skipped, key)
	default:
		if key == "" {
			key = "(root)"
		}
		d.Skipped = append(d.Skipped, key)
	}
}

// findAliases groups tensors whose views overlap in one storage.
func (d *TensorDict) findAliases() {
	byStorage := map[*torchpt.Storage][]int{}
	for i, s := range d.Sources {
		if t, ok := s.(*torchpt.Tensor); ok {
			byStorage[t.Storage] = append(byStorage[t.Storage], i)
		}
	}
	for _, idx := range byStorage {
		if len(idx) < 2 {
			continue
		}
		var group []string
		for _, i := range idx {
			group = append(group, d.Keys[i])
		}
		sort.Strings(group)
		d.Aliased = append(d.Aliased, group)
	}
	sort.Slice(d.Aliased, func(i, j int) bool { return d.Aliased[i][0] < d.Aliased[j][0] })
}

// Warnings says what a conversion of d leaves out or changes.
func (d *TensorDict) Warnings() []string {
	var out []string
	if len(d.Skipped) > 0 {
		out = append(out, fmt.Sprintf("%d entries are not tensors and are not written: %s", len(d.Skipped), listSome(d.Skipped, 8)))
	}
	for _, g := range d.Aliased {
		out = append(out, fmt.Sprintf("tensors %s share one storage; each is written as its own copy", strings.Join(g, ", ")))
	}
	return out
}
