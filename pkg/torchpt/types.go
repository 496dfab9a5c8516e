package torchpt

import (
	"io"

	"github.com/embtool/embtool/internal/ordered"

	"github.com/embtool/embtool/pkg/tensor"
)

// The Python values a torch file decodes to, and a writer accepts, are:
// nil, bool, int64, *big.Int (ints beyond 64 bits), float64, string,
// []byte, Tuple, List, *Dict, *Set, *Tensor (read) or any tensor.Source
// (write), and *Object for the few allowed classes (ParameterDict).

// Dict is an ordered Python dict or collections.OrderedDict: an
// ordered.Map whose Set compares keys with == (only hashable keys — nil,
// bool, int64, float64, string, Tuple of those — are accepted by the
// reader).
type Dict struct {
	// Class is "dict" or "collections.OrderedDict".
	Class string
	ordered.Map[any, any]
}

// NewDict returns an empty plain dict.
func NewDict() *Dict { return &Dict{Class: "dict"} }

// Get returns the value of a string key.
func (d *Dict) Get(key string) (any, bool) { return d.Map.Get(key) }

// Tuple is a Python tuple.
type Tuple []any

// List is a Python list.
type List []any

// Set is a Python set, in insertion order.
type Set []any

// Object is an instance of one of the few non-container classes the
// allow-list admits and keeps (torch.nn.modules.container.ParameterDict):
// its class name and the state dict BUILD gave it.
type Object struct {
	Class string
	State *Dict
}

// Tensor is a tensor stored in a torch file: a view (offset, shape,
// stride, in elements) into a storage. Its bytes are read by Load.
type Tensor struct {
	Storage      *Storage
	Offset       int
	Shape        []int
	Stride       []int
	RequiresGrad bool
	// Parameter is true when the tensor was wrapped in torch.nn.Parameter.
	Parameter bool
}

// Storage is one storage record of a torch file: its key (the record name
// under data/, or a legacy root key), dtype and element count.
type Storage struct {
	Key      string
	DType    tensor.DType
	NumElem  int
	Location string
	// load reads the whole storage, little-endian. Set by the reader.
	load func() ([]byte, error)
	data []byte
	// at and base locate the storage's bytes in the file when they can be
	// read in place (a stored zip record or a legacy file, little-endian);
	// at is nil otherwise. crc is the zip record's CRC-32, when hasCRC.
	at     io.ReaderAt
	base   int64
	crc    uint32
	hasCRC bool
}
