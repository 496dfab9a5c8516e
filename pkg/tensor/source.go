package tensor

import "io"

// Source is a tensor whose bytes may not have been read yet: a tensor in a
// safetensors file, a view into a torch storage, or a Tensor in memory.
// Writers take Sources so that a large checkpoint is read one tensor at a
// time.
type Source interface {
	// Meta is the dtype and the (dense, row-major) shape Load will return.
	Meta() (DType, []int)
	// Load reads and materialises the tensor.
	Load() (*Tensor, error)
}

// Meta implements Source.
func (t *Tensor) Meta() (DType, []int) { return t.DType, t.Shape }

// Load implements Source; t is already in memory.
func (t *Tensor) Load() (*Tensor, error) { return t, nil }

// Streamer is a Source that can copy its dense little-endian bytes to a
// writer without holding them in memory: writers prefer it, so converting
// a multi-gigabyte checkpoint costs a buffer, not a tensor.
type Streamer interface {
	Source
	// StreamTo writes exactly the bytes Load would return.
	StreamTo(w io.Writer) (int64, error)
}
