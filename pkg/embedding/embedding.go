// Package embedding knows what a textual-inversion embedding is: it reads
// any container (torch zip or legacy, safetensors, A1111 PNG), recognises
// the layout each UI writes (formats.md §12), and names the model family.
//
// # Security
//
// Reading goes through the container packages, which never run a pickle.
// Every output is written through internal/atomicfile: to a locked
// temporary file (TempPrefix) in the destination folder, synced, read
// back, compared with what was meant and only then renamed, so the
// destination is always the old file or the complete new one. A write
// removes the temporary files of dead writers in its folder (over a minute
// old, lock free) and reports each through OnOrphanRemoved; a file whose
// lock is held, a file just created, and the unlocked temporary files of
// older embtool versions are never removed.
package embedding

import (
	"github.com/embtool/embtool/pkg/tensor"
)

// Layout is how the vectors are arranged in the file's top-level object.
type Layout string

// The layouts of design.md §1.
const (
	LayoutA1111     Layout = "a1111"             // string_to_param dict (V1)
	LayoutTI        Layout = "textual-inversion" // string_to_param ParameterDict (V2)
	LayoutDiffusers Layout = "diffusers"         // one "<token>" key (V3)
	LayoutKohya     Layout = "kohya"             // emb_params (V4)
	LayoutSDXL      Layout = "sdxl"              // clip_l + clip_g (V5)
	LayoutOther     Layout = "other"             // tensors, but no layout a UI loads
)

// Model is the model family an embedding's width belongs to.
type Model string

// The model families.
const (
	ModelSD1     Model = "sd1"  // 768 (CLIP ViT-L/14)
	ModelSD2     Model = "sd2"  // 1024 (OpenCLIP ViT-H)
	ModelSDXL    Model = "sdxl" // 768 + 1280
	ModelUnknown Model = "unknown"
)

// Container formats.
const (
	ContainerTorchZip    = "torch-zip"
	ContainerTorchLegacy = "torch-legacy"
	ContainerSafetensors = "safetensors"
	ContainerPNG         = "png"
)

// Keys of the SDXL layout.
const (
	KeyClipL = "clip_l"
	KeyClipG = "clip_g"
)

// Named is one tensor of the file with the key it is stored under.
type Named struct {
	Key    string
	Tensor *tensor.Tensor
}

// Embedding is a decoded embedding file.
type Embedding struct {
	Container string
	Layout    Layout
	Model     Model
	// Vectors holds the embedding's vectors: one tensor for SD1/SD2
	// layouts, clip_l then clip_g for SDXL. Empty for LayoutOther.
	Vectors []Named
	// All is every tensor found, in file order (for reports).
	All []Named
	// Count is the number of vectors (rows), Width the sum of the widths
	// of Vectors (2048 for SDXL).
	Count, Width int

	StoredName       *string // the "name" field inside the file
	Step             *int64
	SDCheckpoint     *string
	SDCheckpointName *string
	// Metadata is the safetensors __metadata__ (nil if none).
	Metadata map[string]string
	// Token is the placeholder the file names ("*" for A1111, the
	// diffusers key), when there is one.
	Token string
	// Warnings are things a user should know; none stops reading.
	Warnings []string
	// Refusal is set when the file holds tensors but no UI can load it as
	// one embedding (several terms): A1111's reason, in words.
	Refusal string
	// OtherReason says why a readable embedding has LayoutOther (a T5
	// width, a bare tensor): it is reported but not converted.
	OtherReason string
	// Unsafe lists pickle findings when reading was asked to go on anyway.
	Unsafe []string
	// stats[i] describes Vectors[i]: norms, non-finite and zero rows.
	stats []vectorStats
}

// ModelForWidth names the family of a single-encoder width.
func ModelForWidth(w int) Model {
	switch w {
	case 768:
		return ModelSD1
	case 1024:
		return ModelSD2
	}
	return ModelUnknown
}
