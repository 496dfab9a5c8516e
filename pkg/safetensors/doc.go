// Package safetensors reads and writes the safetensors tensor container
// (formats.md §4): an 8-byte little-endian header length N, N bytes of JSON
// describing each tensor's dtype, shape and byte range, then the tensor
// bytes.
//
// Open reads and checks only the header; each Entry's bytes are read when
// Load or Reader is called, so inspecting a multi-gigabyte checkpoint costs
// one header read. Write streams: it loads and writes one tensor.Source at
// a time and produces the same bytes as the reference Rust writer
// (huggingface/safetensors `serialize`) for the same tensors and metadata.
//
// # Security
//
// Open accepts exactly the files the reference reader (`read_metadata` and
// `Metadata::validate`) accepts, except that it is stricter where readers
// could disagree: a key that appears twice in any JSON object of the header
// is an error (the reference keeps the last tensor of a given name), the
// rarely seen array form of a tensor entry is refused, and so is any JSON
// number of magnitude 1e308 or more (whether it overflows float64 depends
// on the reader's rounding). After the header object only the whitespace
// serde_json skips (space, tab, LF, CR) may fill the N bytes; a NUL or any
// other byte there is a trailing character, as it is to the reference.
// It promises that, for any input:
// it does not panic; it reads at most 8 + min(N, MaxHeaderSize) bytes
// before the header has been checked, and allocates no more than that for
// the header (in chunks of a few MiB, so a ReaderAt shorter than the size it
// was given fails at EOF instead of allocating the claimed size); the JSON
// parser recurses no deeper than serde_json's limit of 128 levels; every
// entry of a File that opened covers a byte range inside the file, the
// ranges tile the data section exactly (no holes, no overlap, no trailing
// bytes, so a valid file cannot carry a second, hidden payload), and each
// range is exactly as long as its dtype and shape require, computed with
// overflow checks. Tensor values are not inspected: NaN and Inf load as they
// are stored.
//
// Every error starts with "safetensors: ", names the file when it was
// opened with OpenNamed, and names the tensor or key and the file offset
// involved. Errors about malformed files are *FormatError values
// (internal/readerr, shared by embtool's readers) and wrap ErrFormat.
package safetensors
