package main

import (
	"io"

	"github.com/embtool/embtool/pkg/embedding"
	"github.com/embtool/embtool/pkg/tensor"
)

// saveDict writes a whole tensor dict (a checkpoint) with a bar of the
// bytes done on barOut when it is a terminal; total is the tensors' size.
func saveDict(out string, d *embedding.TensorDict, format string, dt tensor.DType, force bool, total int64, barOut io.Writer) error {
	bar := newBytesBar(total, barOut)
	if bar != nil {
		for i, s := range d.Sources {
			d.Sources[i] = &countedSource{Source: s, bar: bar}
		}
	}
	err := embedding.SaveTensorDict(out, d, format, dt, force)
	bar.finish()
	return err
}

// countedSource advances a bar by the bytes a tensor streams.
type countedSource struct {
	tensor.Source
	bar *progress
}

func (c *countedSource) Load() (*tensor.Tensor, error) {
	t, err := c.Source.Load()
	if err == nil {
		c.bar.add(int64(len(t.Data)))
	}
	return t, err
}

func (c *countedSource) StreamTo(w io.Writer) (int64, error) {
	if st, ok := c.Source.(tensor.Streamer); ok {
		return st.StreamTo(&barWriter{w, c.bar})
	}
	t, err := c.Load()
	if err != nil {
		return 0, err
	}
	n, err := w.Write(t.Data)
	return int64(n), err
}

type barWriter struct {
	w   io.Writer
	bar *progress
}

func (b *barWriter) Write(p []byte) (int, error) {
	n, err := b.w.Write(p)
	b.bar.add(int64(n))
	return n, err
}
