package identify

import (
	"fmt"
	"strings"

	"github.com/embtool/embtool/pkg/pngembed"
	"github.com/embtool/embtool/pkg/safetensors"
	"github.com/embtool/embtool/pkg/torchpt"
)

// Kind is what a file is.
type Kind string

// The kinds, as inspect --json names them.
const (
	KindEmbedding    Kind = "embedding"
	KindLoRA         Kind = "lora"
	KindLyCORIS      Kind = "lycoris"
	KindCheckpoint   Kind = "checkpoint"
	KindVAE          Kind = "vae"
	KindTextEncoder  Kind = "text-encoder"
	KindControlNet   Kind = "controlnet"
	KindHypernetwork Kind = "hypernetwork"
	KindUpscaler     Kind = "upscaler"
	KindTorchScript  Kind = "torchscript"
	KindImage        Kind = "image"
	KindHTML         Kind = "html"
	KindGitLFS       Kind = "git-lfs-pointer"
	KindText         Kind = "text"
	KindEmpty        Kind = "empty"
	KindUnknown      Kind = "unknown"
)

// Containers, as Result.Container names them (the torch and safetensors
// names are those of pkg/embedding).
const (
	ContainerSafetensors = "safetensors"
	ContainerTorchZip    = torchpt.FormatZip
	ContainerTorchLegacy = torchpt.FormatLegacy
	ContainerPickle      = "pickle"
	ContainerPNG         = "png"
	ContainerJPEG        = "jpeg"
	ContainerGIF         = "gif"
	ContainerWebP        = "webp"
	ContainerBMP         = "bmp"
)

// Base model families, as Result.Base names them.
const (
	BaseSD1  = "SD1"
	BaseSD2  = "SD2"
	BaseSDXL = "SDXL"
	BaseSD3  = "SD3"
	BaseFlux = "Flux"
)

// Result is what File found.
type Result struct {
	Kind Kind
	// Container is the file format (ContainerSafetensors, …), "" for
	// text, empty and unrecognised files.
	Container string

	// Embeddings: the layout and model family as pkg/embedding names
	// them, the number of vectors, their width (768+1280 = 2048 for
	// SDXL) and dtype ("F16+F32" when clip_l and clip_g differ).
	Layout  string
	Model   string
	Vectors int
	Width   int
	DType   string

	// Format is the key convention or architecture: "kohya", "diffusers",
	// "peft" (LoRA); "LoHa", "LoKr" (LyCORIS); "ESRGAN"; "CLIP-L"; ….
	Format string
	// Base is the model family the keys show (BaseSD1, …), or "".
	Base string
	// RankMin and RankMax bound the LoRA ranks (0 when not a LoRA).
	RankMin, RankMax int
	// Parts lists what a checkpoint holds besides the diffusion model
	// ("VAE", "text encoder").
	Parts []string
	// Notes are further details ("inpainting", "diffusion model only",
	// "no sd-ti-embedding text chunk", …).
	Notes []string
	// Tensors is the number of tensors (0 when not a tensor container).
	Tensors int
	// TensorBytes is the sum of their sizes.
	TensorBytes int64
	// Start is the file's first bytes, for the message about an
	// unrecognised file.
	Start []byte

	// Err is set when the file is damaged or unsafe: the kind is then
	// what its headers showed, or KindUnknown.
	Err error

	// The opened container, reading through the io.ReaderAt File was
	// given (nil when not that container, or when it did not open).
	// Torch's tensors are lazy: nothing was loaded. A Torch file opened
	// from an unsafe pickle (Err wraps torchpt.ErrUnsafe) was decoded with
	// AllowUnsafe into inert values; nothing was executed.
	Torch       *torchpt.File
	Safetensors *safetensors.File
	// PNG is the decoded sd-ti-embedding text chunk.
	PNG *pngembed.Result
	// PixelsUnread is set for a PNG without an sd-ti-embedding text chunk:
	// A1111 also looks for an embedding drawn in a pixel border, which
	// File does not decode (it is no header). Kind is KindImage.
	PixelsUnread bool
}

// Description names the file in words: "a LoRA (kohya, rank 32, SD1)",
// "an SD1 embedding (a1111, 2×768, F32)".
func (r *Result) Description() string {
	var d []string
	add := func(s ...string) {
		for _, x := range s {
			if x != "" {
				d = append(d, x)
			}
		}
	}
	rank := ""
	switch {
	case r.RankMax > 0 && r.RankMin == r.RankMax:
		rank = fmt.Sprintf("rank %d", r.RankMax)
	case r.RankMax > 0:
		rank = fmt.Sprintf("rank %d–%d", r.RankMin, r.RankMax)
	}
	var what string
	switch r.Kind {
	case KindEmbedding:
		size := ""
		if r.Vectors > 0 {
			size = fmt.Sprintf("%d×%d", r.Vectors, r.Width)
		}
		add(r.Layout, size, r.DType)
		what = "an embedding"
		if m := strings.ToUpper(r.Model); r.Model != "" && r.Model != "unknown" {
			what = article(m) + " " + m + " embedding"
		}
	case KindLoRA:
		what = "a LoRA"
		add(r.Format, rank, r.Base)
	case KindLyCORIS:
		what = "a LyCORIS network"
		add(r.Format, rank, r.Base)
	case KindCheckpoint:
		what = "a checkpoint"
		if r.Base != "" {
			what = article(r.Base) + " " + r.Base + " checkpoint"
		}
		if len(r.Parts) > 0 {
			add("with " + strings.Join(r.Parts, " and "))
		}
	case KindVAE:
		what = "a VAE"
		add(r.Format, r.Base)
	case KindTextEncoder:
		what = "a text encoder"
		add(r.Format, r.Base)
	case KindControlNet:
		what = "a ControlNet"
		add(r.Format, r.Base)
	case KindHypernetwork:
		what = "a hypernetwork"
		add(r.Format)
	case KindUpscaler:
		what = "an upscaler"
		add(r.Format)
	case KindTorchScript:
		what = "a TorchScript archive (a program, not a state dict)"
	case KindImage:
		what = "an image"
		if r.Container != "" {
			name := strings.ToUpper(r.Container)
			if r.Container == ContainerWebP {
				name = "WebP"
			}
			what = "a " + name + " image"
		}
	case KindHTML:
		what = "an HTML page (a failed download?)"
	case KindGitLFS:
		what = "a git-lfs pointer (the download fetched the pointer, not the file)"
	case KindText:
		what = "a text file"
	case KindEmpty:
		what = "an empty file"
	default:
		what = "a file of unknown content"
		if r.Container != "" {
			what = fmt.Sprintf("a %s file of unknown content", r.Container)
		}
	}
	if r.Kind != KindEmbedding && r.Tensors > 0 {
		add(fmt.Sprintf("%d tensors", r.Tensors))
	}
	add(r.Notes...)
	if len(d) == 0 {
		return what
	}
	return what + " (" + strings.Join(d, ", ") + ")"
}

// article is "an" before a vowel and before SD (spoken "ess-dee").
func article(word string) string {
	if strings.HasPrefix(word, "SD") || word != "" && strings.ContainsRune("AEIOUaeiou", rune(word[0])) {
		return "an"
	}
	return "a"
}

// Folder is where the file belongs in an AUTOMATIC1111 install (ComfyUI's
// folder after a slash where it differs), or "" when it is no model file.
func (r *Result) Folder() string {
	switch r.Kind {
	case KindEmbedding:
		return "embeddings"
	case KindLoRA, KindLyCORIS:
		return "models/Lora"
	case KindCheckpoint:
		if r.has("diffusion model only") {
			return "models/unet (ComfyUI; A1111 loads whole checkpoints only)"
		}
		return "models/Stable-diffusion"
	case KindVAE:
		return "models/VAE"
	case KindTextEncoder:
		return "models/text_encoder (ComfyUI models/clip)"
	case KindControlNet:
		return "models/ControlNet"
	case KindHypernetwork:
		return "models/hypernetworks"
	case KindUpscaler:
		return "models/ESRGAN"
	}
	return ""
}

func (r *Result) has(note string) bool {
	for _, n := range r.Notes {
		if n == note {
			return true
		}
	}
	return false
}

// Misplaced is the message for a file found where embeddings are
// expected: what it is and where it goes.
func (r *Result) Misplaced() string {
	d := r.Description()
	switch r.Kind {
	case KindEmbedding:
		return d
	case KindHTML:
		return d + ": download the file again"
	case KindGitLFS:
		return d + ": fetch the real file (git lfs pull)"
	case KindImage:
		if r.PixelsUnread {
			return d + " without an embedding (a preview?)"
		}
		return d + ", not an embedding (a preview?)"
	case KindTorchScript:
		return d + ": no UI loads it as an embedding"
	}
	if f := r.Folder(); f != "" {
		return d + ": it goes in " + f + ", not embeddings"
	}
	return d + ", not an embedding"
}
