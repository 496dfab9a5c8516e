// Package identify says what a file is from its headers and structure
// alone — the step every command takes before it reads a tensor, in the
// manner of image.DecodeConfig before image.Decode.
//
// [File] reads the first bytes (internal/sniff names the container),
// then only what describes the contents: the safetensors header, the
// torch zip directory and its pickles without their storages, a legacy
// torch file's pickles (a prefix of at most 64 KiB or four times their
// length, never its storages as such), a PNG's chunks, a few
// hundred bytes of text. From the key names, shapes and dtypes it names
// the kind — an embedding (with layout, model family, vectors × width
// and dtype) or a LoRA, LyCORIS, checkpoint, VAE, text encoder,
// ControlNet, hypernetwork, upscaler, TorchScript archive, image, HTML
// page, git-lfs pointer, text, an empty file — and where the file
// belongs in a Stable Diffusion install.
//
// The key conventions are those of the loaders that use the files:
// ComfyUI's comfy/model_detection.py (UNet context width from
// attn2.to_k, SD3 joint_blocks, Flux double_blocks), kohya-ss/sd-scripts
// (lora_unet_/lora_te_/lora_te1_/lora_te2_, lora_down/lora_up/alpha),
// LyCORIS (hada_w1_a, lokr_w1), A1111 (hypernetworks keyed by context
// width, ControlNet control_model.), diffusers and PEFT (lora_A/lora_B).
//
// # Security
//
// Nothing in a file is executed: torch pickles go through torchpt's
// scanner and restricted VM, and tensors stay lazy — no storage is read.
// Reads are bounded by the container readers' limits (safetensors
// MaxHeaderSize, torchpt MaxPickleSize, pngembed MaxChunkSize) and the
// walk over a decoded pickle is bounded in depth and in the number of
// values visited. A damaged or unsafe file gets the kind its headers
// show, or KindUnknown, together with the reader's error in Result.Err.
package identify
